using System.Diagnostics;
using System.Text.Json;
using RiskEngine.Redis;
using StackExchange.Redis;

namespace RiskEngine.Benchmarks;

/// <summary>
/// <c>stream-load --input FILE --redis HOST:PORT --stream NAME --partitions P</c>: appends every line of a JSON Lines
/// file to its account's partition of a Redis stream input (<see cref="StreamPartitioner"/>, as a producer would), 500
/// per pipelined batch, for measuring stream workers (<c>--input redis-stream:NAME --partitions P</c>).
/// </summary>
public static class StreamLoad
{
    /// <summary>Loads the file; returns the exit code.</summary>
    public static int Run(string[] args)
    {
        var input = Program.StringArg(args, "--input", "");
        var configuration = Program.StringArg(args, "--redis", "127.0.0.1:6379");
        var name = Program.StringArg(args, "--stream", "ev");
        var partitions = Program.IntArg(args, "--partitions", 8);
        if (input.Length == 0)
        {
            Console.Error.WriteLine("usage: stream-load --input FILE --redis HOST:PORT --stream NAME --partitions P");
            return 2;
        }
        using var redis = ConnectionMultiplexer.Connect(configuration);
        var db = redis.GetDatabase();
        var started = Stopwatch.GetTimestamp();
        long count = 0;
        foreach (var chunk in File.ReadLines(input).Where(l => l.Length > 0).Chunk(500))
        {
            var batch = db.CreateBatch();
            var adds = chunk.Select(l => StreamPartitioner.PublishAsync(batch, name, partitions, AccountOf(l), l)).ToList();
            batch.Execute();
            Task.WhenAll(adds).GetAwaiter().GetResult();
            count += chunk.Length;
        }
        Console.Error.WriteLine($"appended {count} events to {name}:0..{partitions - 1} in {Stopwatch.GetElapsedTime(started).TotalSeconds:0.0} s");
        return 0;
    }

    private static string AccountOf(string line)
    {
        using var doc = JsonDocument.Parse(line);
        return doc.RootElement.TryGetProperty("account", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString()! : "";
    }
}

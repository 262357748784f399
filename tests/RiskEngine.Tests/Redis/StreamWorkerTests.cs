using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using RiskEngine.Benchmarks.Traffic;
using RiskEngine.Events;
using RiskEngine.Redis;
using RiskEngine.Tests.Worker;
using StackExchange.Redis;

namespace RiskEngine.Tests.Redis;

/// <summary>Several worker processes on one partitioned Redis stream.</summary>
[Collection("redis")]
[Trait("Category", "EndToEnd")]
public sealed class StreamWorkerTests(RedisFixture redis)
{
    private static string Sample(string name) => Path.Combine(AppContext.BaseDirectory, "samples", name);

    [Fact]
    public void Partitions_follow_fnv1a_32()
    {
        // Reference values of FNV-1a 32 (the empty string is the offset basis; "a" is a published test vector).
        Assert.Equal(2166136261u, StreamPartitioner.Fnv1a32(""));
        Assert.Equal(0xe40c292cu, StreamPartitioner.Fnv1a32("a"));
        Assert.Equal(0xbf9cf968u, StreamPartitioner.Fnv1a32("foobar"));
        Assert.Equal((int)(0xbf9cf968u % 8), StreamPartitioner.PartitionOf("foobar", 8));
    }

    [Fact]
    public async Task A_stream_of_poison_events_gives_one_record_per_entry_decides_every_valid_one_and_dead_letters_the_bad_ones()
    {
        var name = "in" + Guid.NewGuid().ToString("N")[..8];
        var output = "out" + Guid.NewGuid().ToString("N")[..8];
        var db = redis.Connection.GetDatabase();
        foreach (var line in Engine.PoisonEvents.Lines) await StreamPartitioner.PublishAsync(db, name, 1, "acct", line);

        var data = Directory.CreateTempSubdirectory("riskengine-stream-poison-");
        try
        {
            var (code, log) = await WorkerProcess.RunAsync("--policy", Sample("policy.example.json"), "--store", "redis", "--redis", redis.Configuration,
                "--input", $"redis-stream:{name}", "--partitions", "1", "--group", "g", "--output", $"redis-stream:{output}", "--once", "--data", data.FullName);
            Assert.True(code == 0, log);
        }
        finally
        {
            data.Delete(recursive: true);
        }
        JsonObject Record(StreamEntry e) => JsonNode.Parse((string)e["record"]!)!.AsObject();
        var records = (await db.StreamRangeAsync(output)).Select(Record).ToList();
        var dead = (await db.StreamRangeAsync(output + ":dead")).Select(Record).ToList();
        Engine.PoisonEvents.AssertHandled(records, dead);
    }

    [Fact]
    public async Task Two_workers_one_killed_midway_decide_every_event_once_with_the_single_worker_freezes()
    {
        var name = "in" + Guid.NewGuid().ToString("N")[..8];
        var output = "out" + Guid.NewGuid().ToString("N")[..8];
        const int partitions = 8;
        var lines = new TrafficGenerator(500, 20_000, seed: 77).Generate(20_000).ToList();
        var db = redis.Connection.GetDatabase();
        await StreamProducer.PublishAsync(db, name, partitions, lines);

        string[] Args(string consumer) => ["--policy", Sample("policy.example.json"), "--store", "redis", "--redis", redis.Configuration,
            "--input", $"redis-stream:{name}", "--partitions", $"{partitions}", "--group", "g", "--consumer", consumer,
            "--output", $"redis-stream:{output}", "--once", "--RiskEngine:LeaseTtl=00:00:02", "--data", Path.GetTempPath()];
        using var a = WorkerProcess.Start(Args("worker-a"));
        using var b = WorkerProcess.Start(Args("worker-b"));
        // Kill one midway: once a quarter of the records are out.
        Assert.True(await a.WaitUntilAsync(() => db.StreamLength(output) > lines.Count / 4, TimeSpan.FromMinutes(2)), a.Log + b.Log);
        Assert.False(a.HasExited, "worker a finished before it could be killed");
        a.KillHard();
        Assert.True(await b.WaitForExitAsync(TimeSpan.FromMinutes(4)) == 0, b.Log);

        var records = (await db.StreamRangeAsync(output)).Select(e => JsonNode.Parse((string)e["record"]!)!).ToList();
        var decisions = records.Where(r => (string)r["type"]! is "decision" or "rejected").ToList();
        Assert.Equal(lines.Count, decisions.Count);
        Assert.Equal(lines.Count, decisions.Select(d => (string)d["event"]!).Distinct().Count());
        Assert.DoesNotContain(decisions, d => d["duplicate"] is not null);
        var frozen = records.Where(r => (string)r["type"]! == "account.frozen").Select(r => $"{r["account"]}/{r["event"]}").ToList();
        Assert.Equal(frozen.Count, frozen.Distinct().Count());
        var unfrozen = records.Where(r => (string)r["type"]! == "account.unfrozen").Select(r => $"{r["account"]}/{r["event"]}").ToList();
        Assert.Equal(unfrozen.Count, unfrozen.Distinct().Count());

        // One worker, in memory, on the same events in the same per-account order.
        await using var provider = new ServiceCollection().AddRiskEngine(o =>
        {
            o.PolicyPath = Sample("policy.example.json");
            o.MaxFutureSkew = null;
        }).BuildServiceProvider();
        var engine = provider.GetRequiredService<IRiskEngine>();
        var expected = new List<string>();
        foreach (var line in lines)
        {
            var d = (await engine.EvaluateAsync(EventParser.Parse(Encoding.UTF8.GetBytes(line)).Event!)).Decision!;
            expected.AddRange(d.Events.OfType<AccountFrozen>().Select(f => $"{f.Account}/{f.Event}"));
        }
        Assert.NotEmpty(expected);
        Assert.Equal(expected.Order(), frozen.Order());
    }

    [Theory]
    [InlineData("file")]
    [InlineData("-")]
    public async Task The_redis_store_with_a_file_or_standard_input_is_refused_at_start(string input)
    {
        // Its positions and output journal would live in memory: a restart would cut the output file to nothing and
        // answer every event again as a duplicate, without the account events it caused.
        var dir = Directory.CreateTempSubdirectory("riskengine-redis-file-");
        try
        {
            var events = Path.Combine(dir.FullName, "in.jsonl");
            File.Copy(Sample("events.example.jsonl"), events);
            var output = Path.Combine(dir.FullName, "out.jsonl");
            var (code, log) = await WorkerProcess.RunAsync("--policy", Sample("policy.example.json"), "--store", "redis", "--redis", redis.Configuration,
                "--input", input == "file" ? events : "-", "--output", output, "--data", Path.Combine(dir.FullName, "data"), "--once");
            Assert.True(code == 2, log);
            Assert.Contains("--store redis", log, StringComparison.Ordinal);
            Assert.Contains("redis-stream:", log, StringComparison.Ordinal);
            Assert.False(File.Exists(output));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_worker_pauses_while_redis_is_unreachable_and_resumes_without_losing_or_doubling_events()
    {
        var (server, configuration) = RedisFixture.StartPrivateServer();
        try
        {
            ConnectionMultiplexer? producer = null;
            for (var i = 0; producer is null; i++)
            {
                try { producer = await ConnectionMultiplexer.ConnectAsync(configuration + ",abortConnect=true,connectTimeout=2000"); }
                catch (RedisConnectionException) when (i < 200) { await Task.Delay(25); } // the server is still starting
            }
            await using var _ = producer;
            var db = producer.GetDatabase();
            // Small batches and enough events that the worker is still busy when the outage comes (batched, it is fast).
            var lines = new TrafficGenerator(200, 6_000, seed: 12).Generate(6_000).ToList();
            await StreamProducer.PublishAsync(db, "ev", 4, lines);

            using var worker = WorkerProcess.Start("--policy", Sample("policy.example.json"), "--store", "redis",
                "--redis", configuration + ",syncTimeout=1000,asyncTimeout=1000", "--input", "redis-stream:ev", "--partitions", "4",
                "--output", "redis-stream:out", "--once", "--RiskEngine:LeaseTtl=00:00:03", "--RiskEngine:MaxDeliveries=1", "--batch-size", "4", "--data", Path.GetTempPath());
            Assert.True(await worker.WaitUntilAsync(() => db.StreamLength("out") > 300, TimeSpan.FromMinutes(2)), worker.Log);

            // Freeze the server (SIGSTOP): the worker's calls time out; it must pause, not fail or skip events.
            using (var stop = Process.Start("kill", ["-STOP", server.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) await stop.WaitForExitAsync();
            var paused = await worker.WaitForLogAsync("Redis unavailable", TimeSpan.FromSeconds(60));
            using (var cont = Process.Start("kill", ["-CONT", server.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) await cont.WaitForExitAsync();
            Assert.True(paused, worker.Log);

            Assert.True(await worker.WaitForExitAsync(TimeSpan.FromMinutes(3)) == 0, worker.Log);
            var records = (await db.StreamRangeAsync("out")).Select(e => JsonNode.Parse((string)e["record"]!)!).ToList();
            var decided = records.Where(r => (string)r["type"]! is "decision" or "rejected").Select(r => (string)r["event"]!).ToList();
            Assert.Equal(lines.Count, decided.Count);
            Assert.Equal(lines.Count, decided.Distinct().Count());
            Assert.DoesNotContain(records, r => r["duplicate"] is not null);
            Assert.DoesNotContain(await db.StreamRangeAsync("out:dead"), e => !e["error"].IsNull); // retries after a pause are not failed attempts
        }
        finally
        {
            using (var cont = Process.Start("kill", ["-CONT", server.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) await cont.WaitForExitAsync();
            server.Kill();
            await server.WaitForExitAsync();
            server.Dispose();
        }
    }
}

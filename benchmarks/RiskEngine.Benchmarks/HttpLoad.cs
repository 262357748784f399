using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace RiskEngine.Benchmarks;

/// <summary>
/// <c>http-load --url URL --key KEY --input FILE [--clients 64] [--events N] [--warmup N] [--json]</c>: drives a
/// running RiskEngine server over loopback with <c>POST /v1/events</c>, one event per request, from N concurrent
/// clients on HTTP/1.1 keep-alive connections, and reports decisions per second and latency percentiles. Each
/// account's events go to one client, in file order, so the server sees every account's events in order (as a
/// payment service calling it per user would send them).
/// </summary>
public static class HttpLoad
{
    /// <summary>Runs the load; returns the exit code (1 when any request failed).</summary>
    public static int Run(string[] args)
    {
        var url = Program.StringArg(args, "--url", "http://127.0.0.1:5080").TrimEnd('/');
        var key = Program.StringArg(args, "--key", Environment.GetEnvironmentVariable("RISKENGINE_KEY") ?? "");
        var input = Program.StringArg(args, "--input", "");
        var clients = Program.IntArg(args, "--clients", 64);
        var limit = Program.LongArg(args, "--events", long.MaxValue);
        var warmup = Program.IntArg(args, "--warmup", 2_000);
        var json = Program.Flag(args, "--json");
        if (input.Length == 0 || key.Length == 0)
        {
            Console.Error.WriteLine("usage: http-load --url URL --key KEY (or RISKENGINE_KEY) --input FILE [--clients 64] [--events N] [--warmup N] [--json]");
            return 2;
        }

        var lines = File.ReadLines(input).Where(l => l.Length > 0).Take((int)Math.Min(limit, int.MaxValue)).ToArray();
        var queues = new List<byte[]>[clients];
        for (var i = 0; i < clients; i++) queues[i] = [];
        foreach (var line in lines) queues[(int)((uint)StringComparer.Ordinal.GetHashCode(AccountOf(line)) % (uint)clients)].Add(Encoding.UTF8.GetBytes(line));

        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = clients,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            AutomaticDecompression = DecompressionMethods.None,
            UseProxy = false,
        };
        using var http = new HttpClient(handler) { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestVersion = HttpVersion.Version11;
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);

        // Warm-up: the first events of each client, not measured (JIT, connection set-up, tiered compilation).
        var warm = Math.Min(warmup / Math.Max(clients, 1), queues.Min(q => q.Count) / 4);
        RunClients(http, queues, 0, warm, out _, out _);

        var started = Stopwatch.GetTimestamp();
        var latencies = RunClients(http, queues, warm, int.MaxValue, out var failures, out var statuses);
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        Array.Sort(latencies);
        double P(double q) => latencies.Length == 0 ? 0 : latencies[Math.Min(latencies.Length - 1, (int)(q * latencies.Length))] * 1000.0 / Stopwatch.Frequency;
        var rate = latencies.Length / seconds;
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                requests = latencies.Length, clients, seconds = Math.Round(seconds, 2), decisionsPerSecond = Math.Round(rate),
                p50Ms = Math.Round(P(0.50), 3), p90Ms = Math.Round(P(0.90), 3), p99Ms = Math.Round(P(0.99), 3), maxMs = Math.Round(P(1), 3),
                failures, statuses,
            }));
        }
        else
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{latencies.Length} decisions over HTTP/1.1 from {clients} clients in {seconds:0.00} s: {rate:0} decisions/s; latency p50 {P(0.5):0.00} ms, p90 {P(0.9):0.00} ms, p99 {P(0.99):0.00} ms, max {P(1):0.00} ms; {failures} failed"));
            foreach (var (status, count) in statuses) Console.WriteLine($"  HTTP {status}: {count}");
        }
        return failures == 0 ? 0 : 1;
    }

    private static long[] RunClients(HttpClient http, List<byte[]>[] queues, int from, int to, out long failures, out SortedDictionary<int, long> statuses)
    {
        var perClient = new List<long>[queues.Length];
        var failed = 0L;
        var codes = new SortedDictionary<int, long>();
        var tasks = new Task[queues.Length];
        for (var c = 0; c < queues.Length; c++)
        {
            var mine = queues[c];
            var times = perClient[c] = new List<long>(Math.Max(0, Math.Min(to, mine.Count) - from));
            tasks[c] = Task.Run(async () =>
            {
                for (var i = from; i < Math.Min(to, mine.Count); i++)
                {
                    using var content = new ByteArrayContent(mine[i]);
                    content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                    var t0 = Stopwatch.GetTimestamp();
                    using var response = await http.PostAsync("/v1/events", content);
                    await response.Content.LoadIntoBufferAsync();
                    times.Add(Stopwatch.GetTimestamp() - t0);
                    var status = (int)response.StatusCode;
                    lock (codes) codes[status] = codes.GetValueOrDefault(status) + 1;
                    // 422 is a decided rejection of a malformed event, not a failure of the service.
                    if (status is not (200 or 422)) Interlocked.Increment(ref failed);
                }
            });
        }
        Task.WaitAll(tasks);
        failures = failed;
        statuses = codes;
        return perClient.SelectMany(x => x).ToArray();
    }

    private static string AccountOf(string line)
    {
        using var doc = JsonDocument.Parse(line);
        return doc.RootElement.TryGetProperty("account", out var a) ? a.GetString() ?? "" : "";
    }
}

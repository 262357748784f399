using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RiskEngine.Benchmarks.Baseline;
using RiskEngine.Benchmarks.Traffic;
using RiskEngine.Events;
using RiskEngine.State;

namespace RiskEngine.Benchmarks;

/// <summary>
/// End-to-end decision throughput through <see cref="IRiskEngine"/> with the in-memory store on generated traffic,
/// against the hand-written baseline on the same events in the same run.
/// <c>throughput --accounts N --events N --threads 1|2 [--batch N] [--seed S] [--json]</c>. With <c>--batch</c> each
/// thread hands the engine N events at a time (<see cref="IRiskEngine.EvaluateBatchAsync"/>); latency is then the
/// batch's time divided by its size.
/// </summary>
/// </summary>
public static class ThroughputHarness
{
    /// <summary>Runs the harness; returns the exit code.</summary>
    public static int Run(string[] args)
    {
        var accounts = Program.IntArg(args, "--accounts", 100_000);
        var count = Program.IntArg(args, "--events", 200_000);
        var threads = Program.IntArg(args, "--threads", 1);
        var batch = Program.IntArg(args, "--batch", 1);
        var seed = Program.IntArg(args, "--seed", 1);
        var json = Program.Flag(args, "--json");
        var redis = Program.StringArg(args, "--redis", "");
        void Say(string s) { if (!json) Console.Error.WriteLine(s); }

        Say($"generating {count:N0} events for {accounts:N0} accounts (seed {seed})...");
        var events = new List<RiskEvent>(count);
        foreach (var line in new TrafficGenerator(accounts, count, seed).Generate(count))
        {
            if (EventParser.Parse(Encoding.UTF8.GetBytes(line)).Event is { } e) events.Add(e);
        }

        // Per-account order must hold, so each thread owns a fixed share of the accounts.
        var shares = Enumerable.Range(0, threads).Select(_ => new List<RiskEvent>(events.Count / threads + 1)).ToArray();
        foreach (var e in events) shares[(int)((uint)StringComparer.Ordinal.GetHashCode(e.Account.Value) % (uint)threads)].Add(e);

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var memoryBefore = GC.GetTotalMemory(forceFullCollection: true);
        var store = new InMemoryRiskStateStore();
        var services = new ServiceCollection().AddSingleton<IRiskStateStore>(store);
        if (redis.Length > 0) services.AddRiskEngineRedis(redis, "bench" + Environment.ProcessId); // --redis HOST:PORT: shared state in Redis
        using var provider = services.AddRiskEngine(o => o.MaxFutureSkew = null).BuildServiceProvider();
        var engine = provider.GetRequiredService<IRiskEngine>();

        // Warm-up on a separate engine so JIT and rule compilation are not measured, and state starts empty.
        using (var warm = new ServiceCollection().AddRiskEngine(o => o.MaxFutureSkew = null).BuildServiceProvider())
        {
            var w = warm.GetRequiredService<IRiskEngine>();
            if (batch <= 1)
            {
                foreach (var e in events.Take(20_000)) _ = w.EvaluateAsync(e).AsTask().GetAwaiter().GetResult();
            }
            else
            {
                foreach (var chunk in events.Take(20_000).Chunk(batch)) _ = w.EvaluateBatchAsync(chunk).AsTask().GetAwaiter().GetResult();
            }
        }

        var latencies = shares.Select(s => new long[s.Count]).ToArray();
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var pauseBefore = GC.GetTotalPauseDuration();
        int[] collectionsBefore = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
        var wall = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            var share = shares[t];
            var lat = latencies[t];
            if (batch <= 1)
            {
                for (var i = 0; i < share.Count; i++)
                {
                    var start = Stopwatch.GetTimestamp();
                    _ = Wait(engine.EvaluateAsync(share[i]));
                    lat[i] = Stopwatch.GetTimestamp() - start;
                }
                return;
            }
            for (var i = 0; i < share.Count; i += batch)
            {
                var slice = share.GetRange(i, Math.Min(batch, share.Count - i));
                var start = Stopwatch.GetTimestamp();
                _ = Wait(engine.EvaluateBatchAsync(slice));
                var each = (Stopwatch.GetTimestamp() - start) / slice.Count;
                for (var j = 0; j < slice.Count; j++) lat[i + j] = each;
            }
        }) { IsBackground = true }).ToArray();
        foreach (var w in workers) w.Start();
        foreach (var w in workers) w.Join();
        wall.Stop();
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        var paused = GC.GetTotalPauseDuration() - pauseBefore;
        var collections = string.Join("/", Enumerable.Range(0, 3).Select(g => GC.CollectionCount(g) - collectionsBefore[g]));
        var memoryAfter = GC.GetTotalMemory(forceFullCollection: true);

        var baseline = new HandWrittenEvaluator(engine.Policy);
        var baseWall = Stopwatch.StartNew();
        foreach (var e in events) baseline.Decide(e);
        baseWall.Stop();

        var all = latencies.SelectMany(l => l).Order().ToArray();
        double Us(double q) => all.Length == 0 ? 0 : all[Math.Min(all.Length - 1, (int)(q * all.Length))] * 1_000_000.0 / Stopwatch.Frequency;
        var result = new Dictionary<string, object>
        {
            ["decisions"] = events.Count,
            ["threads"] = threads,
            ["batch"] = batch,
            ["store"] = redis.Length > 0 ? "redis" : "memory",
            ["accountsTracked"] = redis.Length > 0 ? accounts : store.AccountCount,
            ["decisionsPerSecond"] = Math.Round(events.Count / wall.Elapsed.TotalSeconds),
            ["p50Us"] = Math.Round(Us(0.50), 2),
            ["p99Us"] = Math.Round(Us(0.99), 2),
            ["p999Us"] = Math.Round(Us(0.999), 2),
            ["allocatedBytesPerDecision"] = Math.Round((double)allocated / events.Count),
            ["gcPausePercent"] = Math.Round(100 * paused.TotalSeconds / wall.Elapsed.TotalSeconds, 1),
            ["gcCollections"] = collections,
            ["bytesPerAccount"] = redis.Length > 0 ? 0 : Math.Round((double)(memoryAfter - memoryBefore) / Math.Max(1, store.AccountCount)),
            ["baselineDecisionsPerSecond"] = Math.Round(events.Count / baseWall.Elapsed.TotalSeconds),
        };
        result["ratioToBaseline"] = Math.Round((double)result["baselineDecisionsPerSecond"] / (double)result["decisionsPerSecond"], 1);
        GC.KeepAlive(engine);
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(result));
        }
        else
        {
            foreach (var (k, v) in result) Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{k,-28} {v:N0}"));
        }
        return 0;
    }

    /// <summary>A synchronous caller's wait: no Task is made for a call that already completed (the in-memory store's case).</summary>
    private static T Wait<T>(ValueTask<T> pending) => pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();
}

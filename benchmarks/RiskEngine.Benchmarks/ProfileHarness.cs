using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using RiskEngine.Decisions;
using RiskEngine.Domain;
using RiskEngine.Events;
using RiskEngine.Rules;
using RiskEngine.State;

namespace RiskEngine.Benchmarks;

/// <summary>Rough per-step costs of one decision (<c>profile</c>), to see where time goes before reaching for BenchmarkDotNet.</summary>
internal static class ProfileHarness
{
    public static int Run()
    {
        using var provider = new ServiceCollection().AddRiskEngine(o => o.MaxFutureSkew = null).BuildServiceProvider();
        var engine = provider.GetRequiredService<IRiskEngine>();
        var store = provider.GetRequiredService<IRiskStateStore>();
        var rules = provider.GetRequiredService<RiskEngine.Policies.IPolicyProvider>().Current;
        var t0 = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
        const int n = 200_000;
        var events = Enumerable.Range(0, n).Select(i => new TransactionAttempt(EventId.Create($"p{i}"), t0.AddSeconds(i * 30), AccountId.Create($"a{i % 1000}"),
            Money.Create(10m, "USD"), CountryCode.Create("US"), DeviceId.Create("d"))).ToArray();
        foreach (var e in events.Take(20_000)) engine.EvaluateAsync(e).AsTask().Wait();

        void Time(string name, Action<int> body)
        {
            var alloc = GC.GetAllocatedBytesForCurrentThread();
            var sw = Stopwatch.StartNew();
            for (var i = 20_000; i < n; i++) body(i);
            sw.Stop();
            var per = (n - 20_000);
            Console.WriteLine($"{name,-28} {sw.Elapsed.TotalMicroseconds / per,8:0.00} us {(GC.GetAllocatedBytesForCurrentThread() - alloc) / per,8} B");
        }

        Time("fingerprint", i => events[i].Fingerprint());
        Time("find decision", i => store.FindDecisionAsync(events[i].Account, events[i].Id).AsTask().Wait());
        Time("load account (copy)", i => store.LoadAccountAsync(events[i].Account).AsTask().Wait());
        var state = store.LoadAccountAsync(events[0].Account).AsTask().Result.State;
        Time("rules.Fire (one fact)", i =>
        {
            rules.Fire(new TransactionFact { Attempt = events[i], Currency = "USD", CurrencySupported = true });
        });
        Time("decide (facts+fire+apply)", i => DecisionMaker.Decide(rules, events[i], state.Clone(), 0));
        var other = new InMemoryRiskStateStore();
        Time("load+decide+commit (bare)", i =>
        {
            var snap = other.LoadAccountAsync(events[i].Account).AsTask().Result;
            var d = DecisionMaker.Decide(rules, events[i], snap.State, 0);
            other.CommitAsync(new AccountCommit(events[i].Account, snap.Version, snap.State, "fp", d, events[i].At.AddDays(7))).AsTask().Wait();
        });
        Time("engine.EvaluateAsync", i => engine.EvaluateAsync(events[i]).AsTask().Wait());

        // The same work in batches of 512 distinct accounts: the NRules step alone, and the whole engine.
        var facts = events.Select(e => (EventFact)new TransactionFact { Attempt = e, Currency = "USD", CurrencySupported = true, CapsApply = true, Amount = 10m, PerTransactionCap = 1e6m, DailyCap = 1e6m, MonthlyCap = 1e6m }).ToArray();
        void TimeBatch(string name, Action<ArraySegment<int>> body)
        {
            var alloc = GC.GetAllocatedBytesForCurrentThread();
            var sw = Stopwatch.StartNew();
            var idx = Enumerable.Range(20_000, n - 20_000).ToArray();
            for (var i = 0; i < idx.Length; i += 512) body(new ArraySegment<int>(idx, i, Math.Min(512, idx.Length - i)));
            sw.Stop();
            var per = n - 20_000;
            Console.WriteLine($"{name,-28} {sw.Elapsed.TotalMicroseconds / per,8:0.00} us {(GC.GetAllocatedBytesForCurrentThread() - alloc) / per,8} B");
        }
        TimeBatch("rules.Fire (512 facts)", seg => rules.Fire(seg.Select(i => facts[i]).ToList()));
        var fresh = new ServiceCollection().AddRiskEngine(o => o.MaxFutureSkew = null).BuildServiceProvider();
        var batchEngine = fresh.GetRequiredService<IRiskEngine>();
        var distinct = Enumerable.Range(0, n).Select(i => new TransactionAttempt(EventId.Create($"q{i}"), t0.AddSeconds(i), AccountId.Create($"b{i}"),
            Money.Create(10m, "USD"), CountryCode.Create("US"), DeviceId.Create("d"))).ToArray();
        TimeBatch("engine batch of 512", seg => batchEngine.EvaluateBatchAsync(seg.Select(i => (RiskEvent)distinct[i]).ToList()).AsTask().Wait());
        var singleEngine = new ServiceCollection().AddRiskEngine(o => o.MaxFutureSkew = null).BuildServiceProvider().GetRequiredService<IRiskEngine>();
        Time("engine single (same events)", i => singleEngine.EvaluateAsync(distinct[i]).AsTask().Wait());
        return 0;
    }
}

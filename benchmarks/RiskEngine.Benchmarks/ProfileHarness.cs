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
        return 0;
    }
}

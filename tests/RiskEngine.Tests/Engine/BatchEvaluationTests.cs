using System.Text;
using Microsoft.Extensions.DependencyInjection;
using RiskEngine.Benchmarks.Traffic;
using RiskEngine.Decisions;
using RiskEngine.Domain;
using RiskEngine.Events;
using RiskEngine.Pipeline;
using RiskEngine.State;

namespace RiskEngine.Tests.Engine;

/// <summary>A batch answers each event exactly as a call per event would, in input order.</summary>
public sealed class BatchEvaluationTests
{
    private static string Describe(EvaluationResult r) => r.Decision is { } d
        ? $"{d.EventId} {d.Outcome} [{string.Join(",", d.Reasons.Select(h => h.Code))}] events:{string.Join(",", d.Events.Select(e => e.Type))} dup:{d.Duplicate}"
        : $"rejected {r.Rejection!.Field}: {r.Rejection.Error}";

    [Theory]
    [InlineData(512)]
    [InlineData(7)]
    public async Task Batches_decide_generated_traffic_exactly_as_one_call_per_event(int batchSize)
    {
        var lines = new TrafficGenerator(accounts: 300, events: 30_000, seed: 4242, span: TimeSpan.FromDays(2)).Generate(30_000).ToList();
        var events = lines.Select(l => EventParser.Parse(Encoding.UTF8.GetBytes(l)).Event!).ToList();
        events.AddRange(events.Take(500)); // re-deliveries: answered as duplicates either way

        await using var single = new ServiceCollection().AddRiskEngine(o => o.MaxFutureSkew = null).BuildServiceProvider();
        await using var batched = new ServiceCollection().AddRiskEngine(o => o.MaxFutureSkew = null).BuildServiceProvider();
        var one = single.GetRequiredService<IRiskEngine>();
        var many = batched.GetRequiredService<IRiskEngine>();

        var expected = new List<string>();
        foreach (var e in events) expected.Add(Describe(await one.EvaluateAsync(e)));
        var actual = new List<string>();
        foreach (var chunk in events.Chunk(batchSize)) actual.AddRange((await many.EvaluateBatchAsync(chunk)).Select(Describe));

        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++) Assert.True(expected[i] == actual[i], $"event {i + 1}:\n  one by one: {expected[i]}\n  batched:    {actual[i]}");
        Assert.Contains(actual, a => a.Contains(" Freeze ", StringComparison.Ordinal));
        Assert.Contains(actual, a => a.Contains("dup:True", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Events_of_one_account_in_one_batch_are_decided_in_order()
    {
        await using var t = new TestEngine();
        t.Time.SetUtcNow(TestEngine.T0 + TimeSpan.FromHours(1));
        var batch = Enumerable.Range(0, 6).Select(i => (RiskEvent)t.Tx("a", 5000, after: TimeSpan.FromMinutes(i), totp: true)).ToList();
        var results = await t.Engine.EvaluateBatchAsync(batch);
        // 20,000 a day: four allowed, then the daily cap.
        Assert.Equal([Outcome.Allow, Outcome.Allow, Outcome.Allow, Outcome.Allow, Outcome.Deny, Outcome.Deny], results.Select(r => r.Decision!.Outcome));
    }

    [Fact]
    public async Task A_bug_while_deciding_one_event_of_a_batch_rejects_that_event_only()
    {
        await using var t = new TestEngine();
        t.Time.SetUtcNow(TestEngine.T0 + TimeSpan.FromHours(1));
        var batch = new List<RiskEvent>
        {
            t.Tx("a", 10),
            new PoisonEvent(EventId.Create("bad"), TestEngine.T0, AccountId.Create("b")),
            t.Tx("b", 10, after: TimeSpan.FromMinutes(1)),
            t.Tx("c", 10),
        };
        var results = await t.Engine.EvaluateBatchAsync(batch);
        Assert.Equal(Outcome.Allow, results[0].Decision!.Outcome);
        Assert.Null(results[1].Rejection!.Field);
        Assert.Contains("bad", results[1].Rejection!.Error, StringComparison.Ordinal);
        Assert.Equal(Outcome.Allow, results[2].Decision!.Outcome);
        Assert.Equal(Outcome.Allow, results[3].Decision!.Outcome);
    }

    [Fact]
    public async Task Failed_sign_ins_earlier_in_a_batch_count_towards_the_ip_throttle_of_later_ones()
    {
        await using var t = new TestEngine(p => p["logins"]!["ipThrottle"]!["maxFailures"] = 3);
        t.Time.SetUtcNow(TestEngine.T0 + TimeSpan.FromHours(1));
        var batch = Enumerable.Range(0, 5).Select(i => (RiskEvent)t.Login($"victim-{i}", false, TimeSpan.FromMinutes(i), ip: "203.0.113.9")).ToList();
        var results = await t.Engine.EvaluateBatchAsync(batch);
        Assert.Equal([false, false, false, true, true], results.Select(r => r.Decision!.HasReason("login.ip_throttled")));
    }

    [Fact]
    public async Task A_store_that_cannot_be_reached_fails_closed_for_the_events_it_could_not_serve()
    {
        var store = new FlakyStore(new InMemoryRiskStateStore(), failAccount: "down");
        await using var t = new TestEngine(store: store);
        t.Time.SetUtcNow(TestEngine.T0 + TimeSpan.FromHours(1));
        var results = await t.Engine.EvaluateBatchAsync([t.Tx("up", 10), t.Tx("down", 10), t.Tx("up", 10, after: TimeSpan.FromMinutes(1))]);
        Assert.Equal(Outcome.Allow, results[0].Decision!.Outcome);
        Assert.Equal(ResultKind.Unavailable, results[1].Kind);
        Assert.Null(results[1].Decision);
        Assert.True(results[1].Outage!.FailClosed.HasReason("engine.unavailable"));
        Assert.Equal(Outcome.Deny, results[1].GetDecisionOrThrow().Outcome);
        Assert.Equal(Outcome.Allow, results[2].Decision!.Outcome);
    }

    [Fact]
    public async Task After_an_outage_an_account_s_later_events_in_the_batch_wait_too_so_none_is_decided_before_it()
    {
        var store = new FlakyStore(new InMemoryRiskStateStore(), failAccount: "down") { FailOnce = true };
        await using var t = new TestEngine(store: store);
        t.Time.SetUtcNow(TestEngine.T0 + TimeSpan.FromHours(1));
        var results = await t.Engine.EvaluateBatchAsync([t.Tx("down", 10), t.Tx("down", 10, after: TimeSpan.FromMinutes(1)), t.Tx("up", 10)]);
        Assert.Equal(ResultKind.Unavailable, results[0].Kind);
        Assert.Equal(ResultKind.Unavailable, results[1].Kind); // the store answered again, but this event must not go first
        Assert.Equal(ResultKind.Decided, results[2].Kind);
        Assert.Empty((await store.LoadAccountAsync(AccountId.Create("down"))).State.Allowed);
    }

    [Fact]
    public async Task A_failed_sign_in_that_is_rejected_does_not_count_towards_another_account_s_throttle()
    {
        await using var t = new TestEngine(p => p["logins"]!["ipThrottle"]!["maxFailures"] = 1);
        t.Time.SetUtcNow(TestEngine.T0 + TimeSpan.FromDays(41));
        await t.Engine.EvaluateAsync(t.Login("late", true, TimeSpan.FromDays(40)));
        RiskEvent[] batch = [t.Login("late", false, TimeSpan.Zero, ip: "203.0.113.9"), t.Login("other", false, TimeSpan.FromMinutes(1), ip: "203.0.113.9")];
        var one = new List<EvaluationResult>();
        await using (var single = new TestEngine(p => p["logins"]!["ipThrottle"]!["maxFailures"] = 1))
        {
            single.Time.SetUtcNow(t.Time.GetUtcNow());
            await single.Engine.EvaluateAsync(single.Login("late", true, TimeSpan.FromDays(40)));
            foreach (var e in batch) one.Add(await single.Engine.EvaluateAsync(e));
        }
        var many = await t.Engine.EvaluateBatchAsync(batch);
        Assert.Equal("at", many[0].Rejection!.Field); // out of order: rejected, its failure never recorded
        Assert.Equal(Describe(one[1]), Describe(many[1]));
        Assert.False(many[1].Decision!.HasReason("login.ip_throttled"));
    }

    private sealed record PoisonEvent(EventId Id, DateTimeOffset At, AccountId Account) : RiskEvent(Id, At, Account)
    {
        public override string Canonical() => "poison:" + Id.Value;
    }

    /// <summary>A store whose reads for one account fail as an unreachable store's would.</summary>
    private sealed class FlakyStore(IRiskStateStore inner, string failAccount) : IRiskStateStore
    {
        private bool _failed;

        /// <summary>Fail the first read only: the store is back by the account's next event.</summary>
        public bool FailOnce { get; init; }

        private ValueTask<T> Guard<T>(AccountId account, Func<ValueTask<T>> call)
        {
            if (account.Value != failAccount || (FailOnce && _failed)) return call();
            _failed = true;
            throw new StateStoreUnavailableException("down for this test");
        }

        public ValueTask<StoredDecision?> FindDecisionAsync(AccountId account, EventId eventId, CancellationToken cancellationToken = default) =>
            Guard(account, () => inner.FindDecisionAsync(account, eventId, cancellationToken));

        public ValueTask<AccountSnapshot> LoadAccountAsync(AccountId account, CancellationToken cancellationToken = default) =>
            Guard(account, () => inner.LoadAccountAsync(account, cancellationToken));

        public ValueTask<int> CountIpFailuresAsync(string ip, DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken = default) =>
            inner.CountIpFailuresAsync(ip, since, until, cancellationToken);

        public ValueTask<IReadOnlyList<AccountId>> ListFrozenAsync(string reason, DateTimeOffset frozenAtOrBefore, int max, CancellationToken cancellationToken = default) =>
            inner.ListFrozenAsync(reason, frozenAtOrBefore, max, cancellationToken);

        public ValueTask<CommitStatus> CommitAsync(AccountCommit commit, CancellationToken cancellationToken = default) =>
            Guard(commit.Account, () => inner.CommitAsync(commit, cancellationToken));
    }
}

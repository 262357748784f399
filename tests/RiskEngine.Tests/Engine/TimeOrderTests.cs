using Microsoft.Extensions.DependencyInjection;
using RiskEngine.Decisions;
using RiskEngine.Domain;
using RiskEngine.Events;

namespace RiskEngine.Tests.Engine;

/// <summary>
/// With the future-skew check off (replay, backtest, <c>--once</c>), event times are the producer's word: one event
/// claiming a far-future time must not reset an account's caps or expire other accounts' records.
/// </summary>
public sealed class TimeOrderTests
{
    private static readonly DateTimeOffset FarFuture = new(2099, 6, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>An engine as replay runs it: no future-skew check.</summary>
    private static TestEngine Replay(Action<System.Text.Json.Nodes.JsonObject>? policy = null) =>
        new(policy, services: s => s.Configure<RiskEngineOptions>(o => o.MaxFutureSkew = null));

    [Fact]
    public async Task A_far_future_event_cannot_empty_an_account_s_cap_windows()
    {
        await using var t = Replay();
        DecisionAssert.Is(await t.Decide(t.Tx("a", 5000, totp: true)), Outcome.Allow);
        DecisionAssert.Is(await t.Decide(t.Tx("a", 5000, after: TimeSpan.FromMinutes(1), totp: true)), Outcome.Allow);
        DecisionAssert.Is(await t.Decide(t.Tx("a", 5000, after: TimeSpan.FromMinutes(2), totp: true)), Outcome.Allow);
        DecisionAssert.Is(await t.Decide(t.Tx("a", 5000, after: TimeSpan.FromMinutes(3), totp: true)), Outcome.Allow);

        // The replay clock stays at T0: only the event claims 2099.
        var future = t.Tx("a", 1) with { At = FarFuture };
        Assert.True((await t.Engine.EvaluateAsync(future)).IsDecided);

        var allowed = 20000m;
        for (var i = 0; i < 8; i++)
        {
            var result = await t.Engine.EvaluateAsync(t.Tx("a", 4900, after: TimeSpan.FromMinutes(10 + i), totp: true));
            if (result.Decision is { Outcome: Outcome.Allow }) allowed += 4900;
            else if (result.Rejection is { } r)
            {
                Assert.Equal("at", r.Field);
                Assert.Contains("out of order", r.Error, StringComparison.Ordinal);
            }
        }
        Assert.True(allowed <= 20000m, $"{allowed} allowed against a daily cap of 20000");
    }

    [Fact]
    public async Task An_event_a_little_out_of_order_is_still_decided()
    {
        await using var t = Replay();
        await t.Decide(t.Tx("a", 10, after: TimeSpan.FromDays(29)));
        var late = await t.Engine.EvaluateAsync(t.Tx("a", 10));
        Assert.True(late.IsDecided);
        var tooLate = await t.Engine.EvaluateAsync(t.Tx("a", 10, after: TimeSpan.FromDays(-2)));
        Assert.Equal("at", tooLate.Rejection!.Field);
    }

    [Fact]
    public async Task A_far_future_event_does_not_expire_other_accounts_idempotency_records()
    {
        await using var t = Replay();
        var first = t.Tx("a", 10);
        DecisionAssert.Is(await t.Decide(first), Outcome.Allow);
        for (var i = 0; i < 20; i++) // enough commits to drain any expiry queue
            await t.Engine.EvaluateAsync(t.Tx($"b{i}", 10) with { At = FarFuture });

        var again = (await t.Engine.EvaluateAsync(first)).GetDecisionOrThrow();
        Assert.True(again.Duplicate, "a re-delivery of an event inside its window must be answered as a duplicate");
        Assert.Single((await t.Store.LoadAccountAsync(AccountId.Create("a"))).State.Allowed);
    }

    [Fact]
    public async Task Idempotency_records_expire_by_the_engine_s_clock()
    {
        await using var t = Replay(p => p["idempotencyWindow"] = "1h");
        var first = t.Tx("a", 10);
        await t.Decide(first);
        t.Time.Advance(TimeSpan.FromHours(2));
        for (var i = 0; i < 3; i++) await t.Decide(t.Tx($"b{i}", 10, after: TimeSpan.FromHours(2)));
        Assert.Null(await t.Store.FindDecisionAsync(AccountId.Create("a"), first.Id));
    }
}

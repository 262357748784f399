using System.Text.Json.Nodes;
using RiskEngine.Decisions;
using RiskEngine.Domain;
using RiskEngine.Events;
using RiskEngine.State;

namespace RiskEngine.Tests.State;

public sealed class EngineStateTests
{
    [Fact]
    public async Task A_repeated_event_returns_the_stored_decision_and_applies_nothing_twice()
    {
        await using var t = new TestEngine();
        var burst = Enumerable.Range(0, 6).Select(i => t.Tx("a", 1m, after: TimeSpan.FromSeconds(i))).ToList();
        foreach (var e in burst) await t.Decide(e);
        Assert.Single(t.Sink.Events);

        var again = await t.Decide(burst[^1]);
        Assert.True(again.Duplicate);
        Assert.Equal(Outcome.Freeze, again.Outcome);
        Assert.Empty(again.Events);
        Assert.Single(t.Sink.Events);
        var first = await t.Decide(burst[0]);
        Assert.True(first.Duplicate);
        Assert.Equal(Outcome.Allow, first.Outcome);
    }

    [Fact]
    public async Task The_same_id_with_another_payload_is_rejected_on_id()
    {
        await using var t = new TestEngine();
        var e = t.Tx("a", 10m);
        await t.Decide(e);
        var result = await t.Engine.EvaluateAsync(e with { Amount = Money.Create(11m, "USD") });
        Assert.False(result.IsDecided);
        Assert.Equal("id", result.Rejection!.Field);
        var other = await t.Engine.EvaluateAsync(e with { Account = AccountId.Create("b") });
        Assert.Equal("id", other.Rejection!.Field);
    }

    [Fact]
    public async Task Events_far_in_the_future_of_the_engine_clock_are_rejected_on_at()
    {
        await using var t = new TestEngine();
        var future = await t.Engine.EvaluateAsync(t.Tx("a", 1m, after: TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1)));
        Assert.Equal("at", future.Rejection!.Field);
        Assert.True((await t.Engine.EvaluateAsync(t.Tx("a", 1m, after: TimeSpan.FromMinutes(5)))).IsDecided);
    }

    [Fact]
    public async Task Too_many_decimal_places_for_the_asset_are_rejected_on_amount_and_change_nothing()
    {
        await using var t = new TestEngine();
        var r = await t.Engine.EvaluateAsync(t.Tx("a", 0.123456789m, "BTC"));
        Assert.Equal("amount", r.Rejection!.Field);
        Assert.Contains("8", r.Rejection.Error, StringComparison.Ordinal);
        var snapshot = await t.Store.LoadAccountAsync(AccountId.Create("a"));
        Assert.Equal(0, snapshot.Version);
    }

    [Fact]
    public async Task Parallel_decisions_for_one_account_lose_no_update_and_never_exceed_a_cap()
    {
        await using var t = new TestEngine(p => p.Remove("velocity"));
        var attempts = Enumerable.Range(0, 200).Select(_ => t.Tx("hot", 1000m)).ToArray();
        var results = await Task.WhenAll(attempts.Select(a => Task.Run(async () => await t.Engine.EvaluateAsync(a))));

        var allowed = results.Count(r => r.Decision!.Outcome == Outcome.Allow);
        Assert.Equal(20, allowed); // daily cap 20,000 / 1,000 each: exactly twenty, never more
        Assert.All(results.Where(r => r.Decision!.Outcome != Outcome.Allow), r => Assert.True(r.Decision!.HasReason("cap.daily")));
        var snapshot = await t.Store.LoadAccountAsync(AccountId.Create("hot"));
        Assert.Equal(200, snapshot.Version); // every decision committed exactly once
        Assert.Equal(20, snapshot.State.Allowed.Count);
    }

    [Fact]
    public async Task Parallel_bursts_freeze_an_account_exactly_once()
    {
        await using var t = new TestEngine();
        var attempts = Enumerable.Range(0, 50).Select(_ => t.Tx("burst", 1m)).ToArray();
        var results = await Task.WhenAll(attempts.Select(a => Task.Run(async () => await t.Engine.EvaluateAsync(a))));
        Assert.Equal(5, results.Count(r => r.Decision!.Outcome == Outcome.Allow));
        Assert.Equal(1, results.Count(r => r.Decision!.Outcome == Outcome.Freeze));
        Assert.Single(t.Sink.Events);
    }

    [Fact]
    public async Task Account_memory_stays_bounded_by_the_policy_windows()
    {
        await using var t = new TestEngine();
        // One small transaction every 30 minutes for 40 days, and a sign-in from a new device every 2 hours.
        for (var i = 0; i < 40 * 48; i++)
        {
            await t.Decide(t.Tx("steady", 0.01m, after: TimeSpan.FromMinutes(30 * i)));
            if (i % 4 == 0) await t.Decide(t.Login("steady", true, TimeSpan.FromMinutes(30 * i) + TimeSpan.FromSeconds(1), device: $"d{i}", totp: true));
        }
        var state = (await t.Store.LoadAccountAsync(AccountId.Create("steady"))).State;
        Assert.InRange(state.Allowed.Count, 1, 30 * 48);     // 30 days of allowed transactions, no more
        Assert.InRange(state.Attempts.Count, 0, 1);               // the 60 s velocity window
        Assert.InRange(state.KnownDevices.Count, 1, AccountState.MaxKnownPlaces);
    }

    [Fact]
    public async Task Freeze_events_point_to_support_in_every_language_of_the_policy()
    {
        await using var t = new TestEngine();
        for (var i = 0; i < 6; i++) await t.Decide(t.Tx("a", 1m, after: TimeSpan.FromSeconds(i)));
        var frozen = Assert.IsType<AccountFrozen>(Assert.Single(t.Sink.Events));
        Assert.Equal("+1-800-555-0100", frozen.Support.Phone);
        Assert.Equal("support@wallet.example", frozen.Support.Email);
        Assert.Equal(2, frozen.Support.Social.Count);
        Assert.Contains("account id", frozen.Support.Prepare);
        Assert.Equal(["en", "zh-CN"], frozen.Message.Keys.Order());
        Assert.Contains("unusually high number of transactions", frozen.Message["en"], StringComparison.Ordinal);
        Assert.Contains("短时间内交易异常频繁", frozen.Message["zh-CN"], StringComparison.Ordinal);
        Assert.All(frozen.Message.Values, m =>
        {
            Assert.DoesNotContain("{", m, StringComparison.Ordinal);
            Assert.Contains("+1-800-555-0100", m, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task Account_status_reports_freeze_self_service_and_cool_down()
    {
        await using var t = new TestEngine();
        for (var i = 0; i < 6; i++) await t.Decide(t.Tx("a", 1m, after: TimeSpan.FromSeconds(i)));
        var status = await t.Engine.GetAccountStatusAsync(AccountId.Create("a"));
        Assert.True(status.Frozen);
        Assert.Equal("velocity.count", status.FreezeReason);
        Assert.True(status.SelfService);
        Assert.Equal(TestEngine.T0 + TimeSpan.FromSeconds(5) + TimeSpan.FromHours(24), status.UnfreezesAt);
        Assert.False((await t.Engine.GetAccountStatusAsync(AccountId.Create("nobody"))).Frozen);
    }

    [Fact]
    public async Task The_policy_in_force_can_be_swapped_and_decisions_record_its_version()
    {
        await using var t = new TestEngine();
        var before = await t.Decide(t.Tx("a", 6000m, totp: true));
        DecisionAssert.Is(before, Outcome.Allow);
        var provider = t.Policies;
        var stricter = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "samples", "policy.example.json")))!;
        stricter["assets"]!["USD"]!["perTransaction"] = 5000;
        provider.Swap(RiskEngine.Policies.PolicyLoader.Load(System.Text.Encoding.UTF8.GetBytes(stricter.ToJsonString()), "stricter"));
        var after = await t.Decide(t.Tx("b", 6000m, totp: true));
        DecisionAssert.Is(after, Outcome.Deny, "cap.per_transaction");
        Assert.NotEqual(before.PolicyVersion, after.PolicyVersion);
        Assert.Equal(t.Engine.Policy.Version, after.PolicyVersion);
    }

    [Fact]
    public async Task Expired_cool_downs_are_lifted_by_the_timer_without_waiting_for_an_event()
    {
        await using var t = new TestEngine();
        for (var i = 0; i < 6; i++) await t.Decide(t.Tx("a", 1m, after: TimeSpan.FromSeconds(i)));
        t.Time.Advance(TimeSpan.FromHours(23));
        Assert.Empty(await t.Engine.ExpireCoolDownsAsync());
        t.Time.Advance(TimeSpan.FromHours(1));
        var lifted = Assert.Single(await t.Engine.ExpireCoolDownsAsync());
        Assert.Equal("cooldown", lifted.By);
        Assert.Equal("velocity.count", lifted.Reason);
        Assert.Equal(TestEngine.T0 + TimeSpan.FromSeconds(5) + TimeSpan.FromHours(24), lifted.At);
        Assert.False((await t.Engine.GetAccountStatusAsync(AccountId.Create("a"))).Frozen);
        Assert.Equal(lifted, t.Sink.Events[^1]);
        Assert.Empty(await t.Engine.ExpireCoolDownsAsync());
    }
}

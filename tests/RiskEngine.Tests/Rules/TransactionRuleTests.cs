using System.Text.Json.Nodes;
using RiskEngine.Decisions;
using RiskEngine.Domain;
using RiskEngine.Events;

namespace RiskEngine.Tests.Rules;

public sealed class TransactionRuleTests
{
    private static readonly TimeSpan Min = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task PerTransactionCapRule_denies_above_the_cap_and_allows_at_it()
    {
        await using var t = new TestEngine();
        DecisionAssert.Is(await t.Decide(t.Tx("a", 10000.01m, totp: true)), Outcome.Deny, "cap.per_transaction");
        DecisionAssert.Is(await t.Decide(t.Tx("a", 10000m, totp: true, after: Min)), Outcome.Allow);
    }

    [Fact]
    public async Task DailyCapRule_counts_allowed_transactions_over_a_trailing_half_open_24_hours()
    {
        await using var t = new TestEngine();
        DecisionAssert.Is(await t.Decide(t.Tx("a", 10000m, totp: true)), Outcome.Allow);
        DecisionAssert.Is(await t.Decide(t.Tx("a", 9000m, totp: true, after: Min)), Outcome.Allow);
        // A denied attempt does not use up the cap.
        DecisionAssert.Is(await t.Decide(t.Tx("a", 10001m, totp: true, after: 2 * Min)), Outcome.Deny, "cap.per_transaction");
        DecisionAssert.Is(await t.Decide(t.Tx("a", 1000m, after: 3 * Min)), Outcome.Allow);
        DecisionAssert.Is(await t.Decide(t.Tx("a", 0.01m, after: 4 * Min)), Outcome.Deny, "cap.daily");
        // Exactly 24 h after the first: it has left the window (t − 24h, t], so 10,000 is free again.
        DecisionAssert.Is(await t.Decide(t.Tx("a", 10000m, totp: true, after: TimeSpan.FromHours(24))), Outcome.Allow);
    }

    [Fact]
    public async Task MonthlyCapRule_counts_allowed_transactions_over_30_days()
    {
        await using var t = new TestEngine();
        for (var day = 0; day < 5; day++)
        {
            DecisionAssert.Is(await t.Decide(t.Tx("a", 10000m, totp: true, after: TimeSpan.FromDays(day))), Outcome.Allow);
            DecisionAssert.Is(await t.Decide(t.Tx("a", 10000m, totp: true, after: TimeSpan.FromDays(day) + Min)), Outcome.Allow);
        }
        DecisionAssert.Is(await t.Decide(t.Tx("a", 1m, after: TimeSpan.FromDays(6))), Outcome.Deny, "cap.monthly");
        DecisionAssert.Is(await t.Decide(t.Tx("a", 1m, after: TimeSpan.FromDays(30) + Min)), Outcome.Allow);
    }

    [Fact]
    public async Task StepUpRule_challenges_above_the_threshold_unless_totp_verified()
    {
        await using var t = new TestEngine();
        DecisionAssert.Is(await t.Decide(t.Tx("a", 5000.01m)), Outcome.Challenge, "cap.step_up");
        DecisionAssert.Is(await t.Decide(t.Tx("a", 5000m, after: Min)), Outcome.Allow);
        DecisionAssert.Is(await t.Decide(t.Tx("b", 6000m, totp: true)), Outcome.Allow);
    }

    [Fact]
    public async Task UnsupportedCurrencyRule_denies_currencies_the_policy_does_not_list()
    {
        await using var t = new TestEngine();
        DecisionAssert.Is(await t.Decide(t.Tx("a", 1m, "XAU")), Outcome.Deny, "currency.unsupported");
        DecisionAssert.Is(await t.Decide(t.Tx("a", 0.00000001m, "BTC", after: Min)), Outcome.Allow);
    }

    [Fact]
    public async Task RegionAvailabilityRule_deny_mode_checks_origin_residence_and_counterparty()
    {
        await using var t = new TestEngine();
        DecisionAssert.Is(await t.Decide(t.Tx("a", 1m, country: "KP")), Outcome.Deny, "region.unavailable");
        DecisionAssert.Is(await t.Decide(t.Tx("b", 1m) with { Residence = CountryCode.Create("IR") }), Outcome.Deny, "region.unavailable");
        DecisionAssert.Is(await t.Decide(t.Tx("c", 1m) with { Counterparty = CountryCode.Create("CU") }), Outcome.Deny, "region.unavailable");
        DecisionAssert.Is(await t.Decide(t.Tx("d", 1m, country: "GB") with { Counterparty = CountryCode.Create("FR") }), Outcome.Allow);
    }

    [Fact]
    public async Task RegionAvailabilityRule_allow_mode_denies_unlisted_countries_in_checked_fields_only()
    {
        await using var t = new TestEngine(p => p["regions"] = new JsonObject
        {
            ["mode"] = "allow",
            ["countries"] = new JsonArray("US", "GB"),
            ["check"] = new JsonArray("origin"),
        });
        DecisionAssert.Is(await t.Decide(t.Tx("a", 1m, country: "FR")), Outcome.Deny, "region.unavailable");
        DecisionAssert.Is(await t.Decide(t.Tx("b", 1m, country: "GB") with { Residence = CountryCode.Create("KP") }), Outcome.Allow);
    }

    [Fact]
    public async Task VelocityFreezeRule_freezes_on_more_than_maxCount_in_the_window_and_frozen_accounts_are_denied()
    {
        await using var t = new TestEngine();
        for (var i = 0; i < 5; i++) DecisionAssert.Is(await t.Decide(t.Tx("a", 1m, after: TimeSpan.FromSeconds(10 * i))), Outcome.Allow);
        var freeze = await t.Decide(t.Tx("a", 1m, after: TimeSpan.FromSeconds(50)));
        DecisionAssert.Is(freeze, Outcome.Freeze, "velocity.count");
        var frozen = Assert.IsType<AccountFrozen>(Assert.Single(freeze.Events));
        Assert.Equal("velocity.count", frozen.Reason);
        Assert.True(frozen.SelfService);
        Assert.Equal(frozen, Assert.Single(t.Sink.Events));

        var denied = await t.Decide(t.Tx("a", 1m, after: TimeSpan.FromMinutes(30)));
        DecisionAssert.Is(denied, Outcome.Deny, "account.frozen");
        Assert.Empty(denied.Events);
        Assert.True((await t.Engine.GetAccountStatusAsync(AccountId.Create("a"))).Frozen);
    }

    [Fact]
    public async Task VelocityFreezeRule_window_is_half_open()
    {
        await using var t = new TestEngine();
        // Six attempts, the first exactly 60 s before the last: only five are inside (t − 60s, t].
        for (var i = 0; i < 5; i++) DecisionAssert.Is(await t.Decide(t.Tx("a", 1m, after: TimeSpan.FromSeconds(12 * i))), Outcome.Allow);
        DecisionAssert.Is(await t.Decide(t.Tx("a", 1m, after: TimeSpan.FromSeconds(60))), Outcome.Allow);
        DecisionAssert.Is(await t.Decide(t.Tx("a", 1m, after: TimeSpan.FromSeconds(61))), Outcome.Freeze, "velocity.count");
    }

    [Fact]
    public async Task VelocityFreezeRule_counts_value_when_the_entry_has_maxAmount()
    {
        await using var t = new TestEngine(p => p["velocity"]!.AsArray().Add(new JsonObject
        {
            ["id"] = "value", ["window"] = "1h", ["maxAmount"] = 1000, ["currency"] = "USD", ["then"] = "deny",
        }));
        DecisionAssert.Is(await t.Decide(t.Tx("a", 600m)), Outcome.Allow);
        var d = await t.Decide(t.Tx("a", 500m, after: TimeSpan.FromMinutes(10)));
        DecisionAssert.Is(d, Outcome.Deny, "velocity.amount");
        Assert.Contains(d.Reasons, r => r.Rule == "VelocityFreezeRule/value");
    }

    [Fact]
    public async Task Cool_down_lifts_a_freeze_at_the_next_event_after_it_ends()
    {
        await using var t = new TestEngine();
        for (var i = 0; i < 6; i++) await t.Decide(t.Tx("a", 1m, after: TimeSpan.FromSeconds(i)));
        DecisionAssert.Is(await t.Decide(t.Tx("a", 1m, after: TimeSpan.FromHours(23))), Outcome.Deny, "account.frozen");
        var d = await t.Decide(t.Tx("a", 1m, after: TimeSpan.FromHours(24) + TimeSpan.FromSeconds(5)));
        DecisionAssert.Is(d, Outcome.Allow);
        var unfrozen = Assert.IsType<AccountUnfrozen>(Assert.Single(d.Events));
        Assert.Equal("cooldown", unfrozen.By);
        Assert.Equal(TestEngine.T0 + TimeSpan.FromSeconds(5) + TimeSpan.FromHours(24), unfrozen.At);
    }

    [Fact]
    public async Task Support_unfreeze_lifts_the_freeze_and_clears_velocity_windows()
    {
        await using var t = new TestEngine();
        var acct = AccountId.Create("a");
        DecisionAssert.Is(await t.Decide(new SupportUnfreeze(t.NextId(), TestEngine.T0, acct, "agent-1", "test")),
            Outcome.Deny, "account.not_frozen");
        for (var i = 0; i < 6; i++) await t.Decide(t.Tx("a", 1m, after: TimeSpan.FromSeconds(i)));
        var d = await t.Decide(new SupportUnfreeze(t.NextId(), TestEngine.T0 + TimeSpan.FromSeconds(10), acct, "agent-1", "called"));
        DecisionAssert.Is(d, Outcome.Allow);
        var e = Assert.IsType<AccountUnfrozen>(Assert.Single(d.Events));
        Assert.Equal("agent-1", e.By);
        Assert.Equal("velocity.count", e.Reason);
        // Still inside the minute of the burst: not frozen again.
        DecisionAssert.Is(await t.Decide(t.Tx("a", 1m, after: TimeSpan.FromSeconds(11))), Outcome.Allow);
    }

    [Fact]
    public async Task Arranged_limits_need_totp_stay_under_the_maximum_and_raise_caps_until_they_end()
    {
        await using var t = new TestEngine();
        var acct = AccountId.Create("a");
        LimitArrangement Limit(decimal amount, bool totp) =>
            new(t.NextId(), TestEngine.T0, acct, Money.Create(amount, "USD"), TestEngine.T0 + TimeSpan.FromHours(2)) { TotpVerified = totp };

        DecisionAssert.Is(await t.Decide(Limit(50000m, totp: false)), Outcome.Deny, "limit.unauthenticated");
        DecisionAssert.Is(await t.Decide(Limit(100000.01m, totp: true)), Outcome.Deny, "limit.above_max");
        DecisionAssert.Is(await t.Decide(t.Tx("a", 30000m, totp: true, after: Min)), Outcome.Deny, "cap.per_transaction");
        DecisionAssert.Is(await t.Decide(Limit(50000m, totp: true)), Outcome.Allow);
        DecisionAssert.Is(await t.Decide(t.Tx("a", 30000m, totp: true, after: 2 * Min)), Outcome.Allow);
        DecisionAssert.Is(await t.Decide(t.Tx("a", 25000m, totp: true, after: 3 * Min)), Outcome.Deny, "cap.daily");
        // Once the arrangement ends, the ordinary caps apply again.
        DecisionAssert.Is(await t.Decide(t.Tx("b", 1m)), Outcome.Allow);
        DecisionAssert.Is(await t.Decide(t.Tx("a", 10001m, totp: true, after: TimeSpan.FromHours(2))), Outcome.Deny, "cap.per_transaction");
    }
}

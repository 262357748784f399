using System.Text.Json.Nodes;
using RiskEngine.Decisions;
using RiskEngine.Domain;
using RiskEngine.Events;
using RiskEngine.Policies;

namespace RiskEngine.Tests.Wallet;

/// <summary>The contract's second-wave input types: a failed or refunded payment, and activity the user did not do.</summary>
public sealed class ReversalAndReportTests
{
    private static TransactionReversal Reversal(TestEngine t, string account, EventId transaction, TimeSpan after) =>
        new(t.NextId(), TestEngine.T0 + after, AccountId.Create(account), transaction) { Reason = "refund" };

    private static ActivityReport Report(TestEngine t, string account, TimeSpan after, string by = "user") =>
        new(t.NextId(), TestEngine.T0 + after, AccountId.Create(account), by) { Note = "I did not make this payment" };

    [Fact]
    public async Task A_reversed_payment_stops_counting_towards_the_daily_cap_but_velocity_still_counts_the_attempt()
    {
        await using var t = new TestEngine(p => p.Remove("velocity"));
        var first = t.Tx("a", 9_000m, totp: true);
        DecisionAssert.Is(await t.Decide(first), Outcome.Allow);
        DecisionAssert.Is(await t.Decide(t.Tx("a", 9_000m, after: TimeSpan.FromMinutes(1), totp: true)), Outcome.Allow);
        // 18,000 used of the 20,000 daily cap: another 9,000 is over it ...
        DecisionAssert.Is(await t.Decide(t.Tx("a", 9_000m, after: TimeSpan.FromMinutes(2), totp: true)), Outcome.Deny, "cap.daily");
        // ... until the first payment is refunded.
        DecisionAssert.Is(await t.Decide(Reversal(t, "a", first.Id, TimeSpan.FromMinutes(3))), Outcome.Allow, "reversal.applied");
        DecisionAssert.Is(await t.Decide(t.Tx("a", 9_000m, after: TimeSpan.FromMinutes(4), totp: true)), Outcome.Allow);
    }

    [Fact]
    public async Task A_second_reversal_of_the_same_payment_is_a_duplicate_and_changes_nothing()
    {
        await using var t = new TestEngine();
        var pay = t.Tx("a", 100m);
        await t.Decide(pay);
        DecisionAssert.Is(await t.Decide(Reversal(t, "a", pay.Id, TimeSpan.FromMinutes(1))), Outcome.Allow, "reversal.applied");
        DecisionAssert.Is(await t.Decide(Reversal(t, "a", pay.Id, TimeSpan.FromMinutes(2))), Outcome.Deny, "reversal.duplicate");
    }

    [Fact]
    public async Task A_reversal_of_an_unknown_a_refused_or_another_accounts_payment_is_unknown()
    {
        await using var t = new TestEngine();
        var theirs = t.Tx("b", 100m);
        await t.Decide(theirs);
        var refused = t.Tx("a", 50_000m); // above the per-transaction cap
        DecisionAssert.Is(await t.Decide(refused), Outcome.Deny, "cap.per_transaction", "cap.step_up");
        DecisionAssert.Is(await t.Decide(Reversal(t, "a", EventId.Create("never-seen"), TimeSpan.FromMinutes(1))), Outcome.Deny, "reversal.unknown");
        DecisionAssert.Is(await t.Decide(Reversal(t, "a", refused.Id, TimeSpan.FromMinutes(2))), Outcome.Deny, "reversal.unknown");
        DecisionAssert.Is(await t.Decide(Reversal(t, "a", theirs.Id, TimeSpan.FromMinutes(3))), Outcome.Deny, "reversal.unknown");
    }

    [Fact]
    public async Task A_report_freezes_the_account_for_support_only_and_a_second_report_does_not_freeze_it_again()
    {
        await using var t = new TestEngine();
        var first = await t.Decide(Report(t, "a", TimeSpan.Zero));
        DecisionAssert.Is(first, Outcome.Freeze, "account.reported");
        var frozen = Assert.IsType<AccountFrozen>(Assert.Single(first.Events));
        Assert.Equal("account.reported", frozen.Reason);
        Assert.False(frozen.SelfService);
        DecisionAssert.Is(await t.Decide(t.Tx("a", 10m, after: TimeSpan.FromMinutes(1))), Outcome.Deny, "account.frozen");

        var again = await t.Decide(Report(t, "a", TimeSpan.FromMinutes(2), by: "agent-7"));
        Assert.Equal(Outcome.Freeze, again.Outcome);
        Assert.Empty(again.Events); // already frozen: no second account.frozen
        Assert.Single(t.Sink.Events);
        Assert.False((await t.Engine.GetAccountStatusAsync(AccountId.Create("a"))).SelfService);
    }

    [Fact]
    public void A_policy_that_lets_a_second_factor_lift_a_reported_freeze_is_refused()
    {
        var errors = TestPolicies.ErrorsOf(p => p["freeze"]!["selfService"]!.AsArray().Add("account.reported"));
        Assert.Contains(errors, x => x.Path == "$.freeze.selfService[1]" && x.Message.Contains("support only", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""{"type":"reversal","id":"r1","at":"2026-11-27T10:00:00Z","account":"a"}""", "transaction", "transaction is required")]
    [InlineData("""{"type":"reversal","id":"r1","at":"2026-11-27T10:00:00Z","account":"a","transaction":""}""", "transaction", "transaction must be a non-empty string")]
    [InlineData("""{"type":"reversal","id":"r1","at":"2026-11-27T10:00:00Z","account":"a","transaction":"t1","reason":""}""", "reason", "reason must be 1 to 512 characters")]
    [InlineData("""{"type":"report","id":"r1","at":"2026-11-27T10:00:00Z","account":"a"}""", "by", "by is required")]
    [InlineData("""{"type":"report","id":"r1","at":"2026-11-27T10:00:00Z","account":"a","by":"user","event":7}""", "event", "event must be a string")]
    public void Malformed_reversals_and_reports_are_rejected_on_their_field(string line, string field, string error)
    {
        var parsed = EventParser.Parse(System.Text.Encoding.UTF8.GetBytes(line));
        Assert.Null(parsed.Event);
        Assert.Equal(field, parsed.Rejection!.Field);
        Assert.Contains(error, parsed.Rejection.Error, StringComparison.Ordinal);
    }
}

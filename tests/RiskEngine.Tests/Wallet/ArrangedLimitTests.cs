using System.Text.Json.Nodes;
using RiskEngine.Decisions;
using RiskEngine.Domain;
using RiskEngine.Events;

namespace RiskEngine.Tests.Wallet;

/// <summary>A limit arranged in advance works for the transfer it was made for, lasts a bounded time, and can be cancelled.</summary>
public sealed class ArrangedLimitTests
{
    private static LimitArrangement Arrange(TestEngine t, decimal amount, TimeSpan after, TimeSpan lasting) =>
        new(t.NextId(), TestEngine.T0 + after, AccountId.Create("a"), Money.Create(amount, "USD"), TestEngine.T0 + after + lasting) { TotpVerified = true };

    [Fact]
    public async Task The_transfer_a_limit_was_arranged_for_is_not_denied_on_the_monthly_cap()
    {
        await using var t = new TestEngine(p => p.Remove("velocity"));
        // 60,000 of the 100,000 monthly cap already used over the last weeks.
        for (var d = 0; d < 6; d++) DecisionAssert.Is(await t.Decide(t.Tx("a", 10_000m, after: TimeSpan.FromDays(d), totp: true)), Outcome.Allow);
        DecisionAssert.Is(await t.Decide(Arrange(t, 50_000m, TimeSpan.FromDays(7), TimeSpan.FromDays(2))), Outcome.Allow);
        // Before this change: denied cap.monthly (60,000 + 50,000 > 100,000).
        DecisionAssert.Is(await t.Decide(t.Tx("a", 50_000m, after: TimeSpan.FromDays(7.5), totp: true)), Outcome.Allow);
        // The limit made room for that transfer, not for a second one.
        DecisionAssert.Is(await t.Decide(t.Tx("a", 10_000m, after: TimeSpan.FromDays(8.6), totp: true)), Outcome.Deny, "cap.monthly");
    }

    [Fact]
    public async Task A_limit_lasting_longer_than_max_duration_is_denied()
    {
        await using var t = new TestEngine();
        DecisionAssert.Is(await t.Decide(Arrange(t, 20_000m, TimeSpan.Zero, TimeSpan.FromDays(400))), Outcome.Deny, "limit.too_long");
        DecisionAssert.Is(await t.Decide(Arrange(t, 20_000m, TimeSpan.FromMinutes(1), TimeSpan.FromDays(30))), Outcome.Allow);
        await using var strict = new TestEngine(p => p["limits"] = JsonNode.Parse("""{"maxDuration": "7d"}"""));
        DecisionAssert.Is(await strict.Decide(Arrange(strict, 20_000m, TimeSpan.Zero, TimeSpan.FromDays(8))), Outcome.Deny, "limit.too_long");
    }

    [Fact]
    public async Task A_cancelled_limit_no_longer_raises_the_caps()
    {
        await using var t = new TestEngine();
        DecisionAssert.Is(await t.Decide(Arrange(t, 30_000m, TimeSpan.Zero, TimeSpan.FromDays(3))), Outcome.Allow);
        var cancel = EventParser.Parse("""{"type":"limit","id":"c1","at":"2026-11-27T10:01:00Z","account":"a","currency":"USD","cancel":true}"""u8).Event!;
        DecisionAssert.Is(await t.Decide(cancel), Outcome.Allow, "limit.cancelled");
        DecisionAssert.Is(await t.Decide(t.Tx("a", 25_000m, after: TimeSpan.FromMinutes(2), totp: true)), Outcome.Deny, "cap.per_transaction");
    }

    [Theory]
    [InlineData("""{"type":"limit","id":"c1","at":"2026-11-27T10:00:00Z","account":"a","currency":"USD","amount":5,"cancel":true}""", "amount", "amount must be absent when cancel is true")]
    [InlineData("""{"type":"limit","id":"c1","at":"2026-11-27T10:00:00Z","account":"a","currency":"USD","until":"2026-11-28T10:00:00Z","cancel":true}""", "until", "until must be absent when cancel is true")]
    [InlineData("""{"type":"limit","id":"c1","at":"2026-11-27T10:00:00Z","account":"a","cancel":true}""", "currency", "currency is required")]
    [InlineData("""{"type":"limit","id":"c1","at":"2026-11-27T10:00:00Z","account":"a","currency":"USD","cancel":"yes"}""", "cancel", "cancel must be")]
    public void A_malformed_cancellation_is_rejected_on_its_field(string line, string field, string error)
    {
        var parsed = EventParser.Parse(System.Text.Encoding.UTF8.GetBytes(line));
        Assert.Equal(field, parsed.Rejection!.Field);
        Assert.Contains(error, parsed.Rejection.Error, StringComparison.Ordinal);
    }
}

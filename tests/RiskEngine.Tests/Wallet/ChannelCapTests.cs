using System.Text.Json.Nodes;
using RiskEngine.Decisions;
using RiskEngine.Domain;
using RiskEngine.Events;
using RiskEngine.Policies;

namespace RiskEngine.Tests.Wallet;

/// <summary>Payment channels cap amounts on top of the asset's caps, counting only their own allowed payments.</summary>
public sealed class ChannelCapTests
{
    private static void Channels(JsonObject p)
    {
        p.Remove("velocity");
        p["channels"] = JsonNode.Parse("""{"card": {"USD": {"perTransaction": 2000, "daily": 3000, "monthly": 5000}}}""");
    }

    private static TransactionAttempt Pay(TestEngine t, decimal amount, string? channel, TimeSpan after) =>
        t.Tx("a", amount, after: after) with { Channel = channel };

    [Fact]
    public async Task A_channel_caps_its_own_payments_per_transaction_per_day_and_per_month()
    {
        await using var t = new TestEngine(Channels);
        DecisionAssert.Is(await t.Decide(Pay(t, 2500m, "card", TimeSpan.Zero)), Outcome.Deny, "cap.channel.per_transaction");
        DecisionAssert.Is(await t.Decide(Pay(t, 2000m, "card", TimeSpan.FromMinutes(1))), Outcome.Allow);
        DecisionAssert.Is(await t.Decide(Pay(t, 1500m, "card", TimeSpan.FromMinutes(2))), Outcome.Deny, "cap.channel.daily");
        // Other channels, and payments without one, count towards the asset's caps only.
        DecisionAssert.Is(await t.Decide(Pay(t, 4000m, "bank", TimeSpan.FromMinutes(3))), Outcome.Allow);
        DecisionAssert.Is(await t.Decide(Pay(t, 4000m, null, TimeSpan.FromMinutes(4))), Outcome.Allow);
        DecisionAssert.Is(await t.Decide(Pay(t, 1000m, "card", TimeSpan.FromMinutes(5))), Outcome.Allow);
        // Days later the daily window is clear, but the card's month holds 3,000 of 5,000.
        DecisionAssert.Is(await t.Decide(Pay(t, 2000m, "card", TimeSpan.FromDays(2))), Outcome.Allow);
        DecisionAssert.Is(await t.Decide(Pay(t, 1000m, "card", TimeSpan.FromDays(4))), Outcome.Deny, "cap.channel.monthly");
    }

    [Fact]
    public async Task A_reversed_card_payment_frees_the_cards_daily_cap()
    {
        await using var t = new TestEngine(Channels);
        var first = Pay(t, 2000m, "card", TimeSpan.Zero);
        DecisionAssert.Is(await t.Decide(first), Outcome.Allow);
        DecisionAssert.Is(await t.Decide(Pay(t, 1500m, "card", TimeSpan.FromMinutes(1))), Outcome.Deny, "cap.channel.daily");
        await t.Decide(new TransactionReversal(t.NextId(), TestEngine.T0 + TimeSpan.FromMinutes(2), AccountId.Create("a"), first.Id));
        DecisionAssert.Is(await t.Decide(Pay(t, 1500m, "card", TimeSpan.FromMinutes(3))), Outcome.Allow);
    }

    [Theory]
    [InlineData("""{"card": {"EUR": {"daily": 10}}}""", "$.channels.card.EUR", "not one of the policy's assets")]
    [InlineData("""{"card": {"USD": {}}}""", "$.channels.card.USD", "at least one of")]
    [InlineData("""{"card": {"USD": {"daily": -1}}}""", "$.channels.card.USD.daily", "greater than 0")]
    [InlineData("""{"card": {"USD": {"weekly": 10}}}""", "$.channels.card.USD.weekly", "")]
    public void A_bad_channels_section_is_refused_with_its_path(string section, string path, string reason)
    {
        var errors = TestPolicies.ErrorsOf(p => p["channels"] = JsonNode.Parse(section));
        Assert.Contains(errors, x => x.Path == path && x.Message.Contains(reason, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""{"type":"transaction","id":"t1","at":"2026-11-27T10:00:00Z","account":"a","amount":1,"currency":"USD","country":"US","device":"d","channel":""}""", "channel must be a non-empty string")]
    [InlineData("""{"type":"transaction","id":"t1","at":"2026-11-27T10:00:00Z","account":"a","amount":1,"currency":"USD","country":"US","device":"d","channel":"a-channel-name-longer-than-32-chars"}""", "the limit is 32")]
    public void A_bad_channel_is_rejected_on_its_field(string line, string error)
    {
        var parsed = EventParser.Parse(System.Text.Encoding.UTF8.GetBytes(line));
        Assert.Equal("channel", parsed.Rejection!.Field);
        Assert.Contains(error, parsed.Rejection.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_transaction_without_a_channel_keeps_the_fingerprint_it_had_before_channels()
    {
        var line = """{"type":"transaction","id":"t1","at":"2026-11-27T10:00:00Z","account":"a","amount":1,"currency":"USD","country":"US","device":"d"}""";
        var e = EventParser.Parse(System.Text.Encoding.UTF8.GetBytes(line)).Event!;
        Assert.Equal("11:transaction;2:t1;18:639313704000000000;1:a;1:1;3:USD;2:US;1:d;-;-;-;-;", e.Canonical());
        Assert.NotEqual(e.Fingerprint(), (((TransactionAttempt)e) with { Channel = "card" }).Fingerprint());
    }
}

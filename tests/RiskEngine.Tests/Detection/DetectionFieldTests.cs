using System.Text.Json.Nodes;
using RiskEngine.Decisions;
using RiskEngine.Events;

namespace RiskEngine.Tests.Detection;

/// <summary>The contract's detection fields: location jitter is not travel; card testing counts tiny payments.</summary>
public sealed class DetectionFieldTests
{
    [Fact]
    public async Task Sign_ins_a_few_kilometres_apart_seconds_apart_are_jitter_below_min_km_and_travel_without_it()
    {
        async Task<Decision> SecondSignIn(Action<JsonObject> edit)
        {
            await using var t = new TestEngine(edit);
            DecisionAssert.Is(await t.Decide(t.Login("a", true, TimeSpan.Zero, at: new GeoPoint(31.2304, 121.4737))), Outcome.Allow);
            // ~7 km across Shanghai, 20 seconds later: 1,260 km/h on paper.
            return await t.Decide(t.Login("a", true, TimeSpan.FromSeconds(20), at: new GeoPoint(31.2304, 121.5466)));
        }

        DecisionAssert.Is(await SecondSignIn(_ => { }), Outcome.Freeze, "login.impossible_travel");
        DecisionAssert.Is(await SecondSignIn(p => p["logins"]!["impossibleTravel"]!["minKm"] = 10), Outcome.Allow);
    }

    [Fact]
    public async Task A_velocity_entry_with_below_counts_only_tiny_payments_of_its_currency()
    {
        static void CardTesting(JsonObject p) =>
            p["velocity"] = JsonNode.Parse("""[{"id": "card-testing", "window": "10m", "maxCount": 3, "currency": "USD", "below": 5, "then": "freeze"}]""");

        await using var t = new TestEngine(CardTesting);
        for (var i = 0; i < 3; i++) DecisionAssert.Is(await t.Decide(t.Tx("tester", 1m, after: TimeSpan.FromSeconds(i))), Outcome.Allow);
        DecisionAssert.Is(await t.Decide(t.Tx("tester", 1m, after: TimeSpan.FromSeconds(3))), Outcome.Freeze, "velocity.count");

        await using var u = new TestEngine(CardTesting);
        for (var i = 0; i < 6; i++) DecisionAssert.Is(await u.Decide(u.Tx("shopper", 40m, after: TimeSpan.FromSeconds(i))), Outcome.Allow);
        for (var i = 0; i < 3; i++) DecisionAssert.Is(await u.Decide(u.Tx("shopper", 1m, currency: "CNY", after: TimeSpan.FromSeconds(10 + i))), Outcome.Allow);
    }

    [Fact]
    public void Below_without_a_currency_and_a_negative_min_km_are_refused()
    {
        Assert.Contains(TestPolicies.ErrorsOf(p => p["velocity"] = JsonNode.Parse("""[{"id": "x", "window": "10m", "maxCount": 3, "below": 5}]""")),
            e => e.Path == "$.velocity[0].below" && e.Message.Contains("currency", StringComparison.Ordinal));
        Assert.Contains(TestPolicies.ErrorsOf(p => p["logins"]!["impossibleTravel"]!["minKm"] = -1), e => e.Path == "$.logins.impossibleTravel.minKm");
    }
}

/// <summary>Transactions from a new device or country (account takeover draining below the step-up threshold).</summary>
public sealed class TransactionNoveltyTests
{
    private static void Novelty(JsonObject p)
    {
        p["transactions"] = JsonNode.Parse("""{"newDevice": "challenge", "newCountry": "challenge"}""");
        p.Remove("velocity");
    }

    private static TransactionAttempt Pay(TestEngine t, string device, string country, int minute, bool totp = false) =>
        new(t.NextId(), TestEngine.T0.AddMinutes(minute), RiskEngine.Domain.AccountId.Create("a"), RiskEngine.Domain.Money.Create(50m, "USD"),
            RiskEngine.Domain.CountryCode.Create(country), RiskEngine.Domain.DeviceId.Create(device)) { TotpVerified = totp };

    [Fact]
    public async Task A_payment_from_a_new_device_or_country_is_challenged_until_verified_and_then_known()
    {
        await using var t = new TestEngine(Novelty);
        DecisionAssert.Is(await t.Decide(Pay(t, "dev-1", "US", 0)), Outcome.Allow); // an account's first event: never challenged
        DecisionAssert.Is(await t.Decide(Pay(t, "dev-1", "US", 1)), Outcome.Allow); // known from the allowed payment
        DecisionAssert.Is(await t.Decide(Pay(t, "dev-9", "US", 2)), Outcome.Challenge, "payment.new_device");
        DecisionAssert.Is(await t.Decide(Pay(t, "dev-1", "NG", 3)), Outcome.Challenge, "payment.new_country");
        DecisionAssert.Is(await t.Decide(Pay(t, "dev-9", "US", 4, totp: true)), Outcome.Allow); // step-up satisfies it ...
        DecisionAssert.Is(await t.Decide(Pay(t, "dev-9", "US", 5)), Outcome.Allow); // ... and the device is known now
    }

    [Fact]
    public async Task A_device_from_an_allowed_sign_in_is_known_to_payments_and_the_rules_are_off_by_default()
    {
        await using var t = new TestEngine(Novelty);
        DecisionAssert.Is(await t.Decide(t.Login("a", true, TimeSpan.Zero, device: "phone", country: "US")), Outcome.Allow);
        DecisionAssert.Is(await t.Decide(Pay(t, "phone", "US", 1)), Outcome.Allow);

        await using var off = new TestEngine(p => p.Remove("velocity"));
        DecisionAssert.Is(await off.Decide(Pay(off, "dev-1", "US", 0)), Outcome.Allow);
        DecisionAssert.Is(await off.Decide(Pay(off, "dev-9", "NG", 1)), Outcome.Allow);
    }
}

/// <summary>Structuring: payments kept just below the step-up threshold, again and again.</summary>
public sealed class StructuringTests
{
    private static void Structuring(JsonObject p)
    {
        p["structuring"] = JsonNode.Parse("""{"window": "24h", "nearBelow": 0.8, "maxCount": 2, "then": "challenge"}""");
        p.Remove("velocity");
    }

    [Fact]
    public async Task The_third_payment_just_below_the_threshold_in_a_day_is_challenged_and_step_up_satisfies_it()
    {
        await using var t = new TestEngine(Structuring); // USD challengeAbove 5,000: near is 4,000–5,000
        DecisionAssert.Is(await t.Decide(t.Tx("a", 4_900m, after: TimeSpan.FromHours(1))), Outcome.Allow);
        DecisionAssert.Is(await t.Decide(t.Tx("a", 4_800m, after: TimeSpan.FromHours(2))), Outcome.Allow);
        DecisionAssert.Is(await t.Decide(t.Tx("a", 100m, after: TimeSpan.FromHours(3))), Outcome.Allow); // not near: not counted
        DecisionAssert.Is(await t.Decide(t.Tx("a", 4_950m, after: TimeSpan.FromHours(4))), Outcome.Challenge, "cap.structuring");
        DecisionAssert.Is(await t.Decide(t.Tx("a", 4_950m, after: TimeSpan.FromHours(5), totp: true)), Outcome.Allow);
        // A day after the first ones, the window has moved on.
        DecisionAssert.Is(await t.Decide(t.Tx("a", 4_500m, after: TimeSpan.FromHours(30))), Outcome.Allow);
    }

    [Theory]
    [InlineData("""{"window": "24h", "nearBelow": 1.2, "maxCount": 2}""", "$.structuring.nearBelow")]
    [InlineData("""{"window": "40d", "nearBelow": 0.8, "maxCount": 2}""", "$.structuring.window")]
    [InlineData("""{"window": "24h", "nearBelow": 0.8}""", "$.structuring.maxCount")]
    public void A_bad_structuring_section_is_refused_with_its_path(string section, string path) =>
        Assert.Contains(TestPolicies.ErrorsOf(p => p["structuring"] = JsonNode.Parse(section)), e => e.Path == path);
}

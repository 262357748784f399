using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using RiskEngine.Benchmarks.Traffic;
using RiskEngine.Events;

namespace RiskEngine.Tests.Benchmarks;

/// <summary>The generator produces what real traffic does, labelled, and the same bytes for the same seed.</summary>
public sealed class TrafficGeneratorTests
{
    private const int Events = 80_000;
    private static readonly Lazy<List<Line>> Stream = new(() =>
        new TrafficGenerator(accounts: 20_000, events: Events, seed: 7, span: TimeSpan.FromDays(3)).Generate(Events).Select(Line.Parse).ToList());

    private sealed record Line(string Raw, JsonObject J)
    {
        public static Line Parse(string raw) => new(raw, JsonNode.Parse(raw)!.AsObject());
        public string Type => (string)J["type"]!;
        public string Id => (string)J["id"]!;
        public string Account => (string)J["account"]!;
        public DateTimeOffset At => DateTimeOffset.Parse((string)J["at"]!, CultureInfo.InvariantCulture);
        public string Label => (string)J["label"]!;
        public string Scenario => (string)J["scenario"]!;
        public bool Retry => (string?)J[TrafficGenerator.SimulationField] == TrafficGenerator.TotpPassed;
        public bool Claims => (string?)J["authenticated"] == "totp";
        public bool Success => Type == "login" && (bool)J["success"]!;
        public bool HasCoords => J["lat"] is not null;
        public double Lat => (double)J["lat"]!;
        public double Lon => (double)J["lon"]!;
        public string Device => (string)J["device"]!;
        public string Country => (string)J["country"]!;
        public double Amount => (double)J["amount"]!;
        public string Currency => (string)J["currency"]!;
    }

    private static double Km(Line a, Line b) => TrafficGenerator.Km(a.Lat, a.Lon, b.Lat, b.Lon);

    [Fact]
    public void The_same_seed_gives_the_same_bytes_and_another_seed_another_stream()
    {
        static string Bytes(int seed) => string.Join('\n', new TrafficGenerator(500, 5_000, seed, TimeSpan.FromDays(1)).Generate(5_000));
        Assert.Equal(Bytes(3), Bytes(3));
        Assert.NotEqual(Bytes(3), Bytes(4));
    }

    [Fact]
    public void Every_line_is_a_valid_event_with_a_unique_id_a_label_and_a_scenario_and_the_stream_spans_the_days_asked_for()
    {
        var lines = Stream.Value;
        Assert.Equal(Events, lines.Count);
        foreach (var l in lines)
        {
            var parsed = EventParser.Parse(Encoding.UTF8.GetBytes(l.Raw));
            Assert.True(parsed.Event is not null, $"{parsed.Rejection}: {l.Raw}");
            Assert.Contains(l.Label, new[] { "legit", "fraud" });
            Assert.Equal(l.Label == "legit", l.Scenario.StartsWith("legit_", StringComparison.Ordinal));
        }
        Assert.Equal(lines.Count, lines.Select(l => l.Id).Distinct().Count());
        Assert.True(lines.Zip(lines.Skip(1)).All(p => p.First.At <= p.Second.At), "lines are in time order");
        var span = lines[^1].At - lines[0].At;
        Assert.InRange(span.TotalDays, 2.85, 3.15);
    }

    [Fact]
    public void Victims_call_support_20_minutes_to_3_hours_after_an_attack_on_their_account()
    {
        var lines = Stream.Value;
        var calls = lines.Where(l => l.Scenario == "legit_support_unfreeze").ToList();
        Assert.NotEmpty(calls);
        foreach (var call in calls)
        {
            // The call comes 20 minutes to 3 hours after the attack ends, which is up to 5 minutes after its last event
            // (another attack on the same account may overlap it).
            Assert.Contains(lines, l => l.Account == call.Account && l.Scenario is "ato_drain" or "card_testing" or "impossible_travel"
                && call.At - l.At >= TimeSpan.FromMinutes(20) && call.At - l.At <= TimeSpan.FromMinutes(185));
        }
    }

    [Fact]
    public void Every_behaviour_appears_with_its_label()
    {
        var lines = Stream.Value;
        var scenarios = lines.GroupBy(l => (l.Label, l.Scenario)).ToDictionary(g => g.Key, g => g.Count());
        foreach (var s in new[] { "legit_payment", "legit_sign_in", "legit_app_opens", "legit_shopping_burst", "legit_large_payment", "legit_trip", "legit_support_unfreeze" })
            Assert.True(scenarios.GetValueOrDefault(("legit", s)) > 20, s);
        foreach (var s in new[] { "ato_drain", "card_testing", "structuring", "credential_stuffing", "impossible_travel", "unavailable_region" })
            Assert.True(scenarios.GetValueOrDefault(("fraud", s)) > 20, s);
        Assert.InRange(lines.Count(l => l.Label == "fraud") / (double)lines.Count, 0.02, 0.10);

        // Customers with two devices use both; attackers' devices are never a customer's.
        var legitDevices = lines.Where(l => l.Label == "legit").Select(l => l.Device).ToHashSet(StringComparer.Ordinal);
        Assert.Contains(legitDevices, d => d.EndsWith('b'));
        foreach (var l in lines.Where(l => l.Scenario is "card_testing" or "ato_drain"))
            Assert.DoesNotContain(l.Device, legitDevices);

        // Drains and structuring stay just below the step-up threshold; card testing is tiny.
        foreach (var l in lines.Where(l => l.Type == "transaction" && l.Scenario is "ato_drain" or "structuring"))
            Assert.InRange(l.Amount / TrafficGenerator.StepUpThresholds[l.Currency], 0.9, 1.0 - 1e-9);
        foreach (var l in lines.Where(l => l.Scenario == "card_testing"))
            Assert.True(l.Amount <= (l.Currency == "BTC" ? 0.0001 : 3), l.Raw);

        // Credential stuffing: failed sign-ins across many accounts from one address.
        var stuffing = lines.Where(l => l.Scenario == "credential_stuffing").GroupBy(l => (string)l.J["ip"]!).MaxBy(g => g.Count())!;
        Assert.True(stuffing.Select(l => l.Account).Distinct().Count() >= 25);
        Assert.True(stuffing.Count(l => !l.Success) >= 0.9 * stuffing.Count());

        // Far-away sign-ins come minutes after the real user's.
        foreach (var far in lines.Where(l => l.Scenario == "impossible_travel" && l.Type == "login"))
        {
            var real = lines.Last(l => l.Account == far.Account && l.Label == "legit" && l.Success && l.At <= far.At);
            Assert.InRange((far.At - real.At).TotalMinutes, 5, 40);
            Assert.True(Km(real, far) > 2000, far.Raw);
        }
    }

    [Fact]
    public void Repeated_app_opens_are_10_to_30_seconds_and_5_to_8_km_apart()
    {
        var pairs = 0;
        foreach (var account in Stream.Value.Where(l => l.Scenario == "legit_app_opens").GroupBy(l => l.Account))
        {
            var list = account.ToList();
            for (var i = 1; i < list.Count; i++)
            {
                var (a, b) = (list[i - 1], list[i]);
                if (a.Retry || b.Retry || (b.At - a.At).TotalSeconds > 30) continue; // another series, or a TOTP retry in between
                Assert.InRange((b.At - a.At).TotalSeconds, 10, 30);
                Assert.InRange(Km(a, b), 4.99, 8.01);
                pairs++;
            }
        }
        Assert.True(pairs > 200, $"{pairs} pairs");
    }

    [Fact]
    public void Trips_take_at_least_the_flight_at_800_kmh_plus_airport_time_from_the_customer_s_own_device()
    {
        var trips = 0;
        foreach (var account in Stream.Value.Where(l => l.Label == "legit" && l.Success && l.HasCoords).GroupBy(l => l.Account))
        {
            var list = account.ToList();
            for (var i = 1; i < list.Count; i++)
            {
                var (a, b) = (list[i - 1], list[i]);
                var km = Km(a, b);
                if (km < 100) continue;
                var hours = (b.At - a.At).TotalHours;
                Assert.True(hours >= km / TrafficGenerator.FlightKmh + TrafficGenerator.MinAirportTime.TotalHours, $"{km:0} km in {hours:0.00} h: {b.Raw}");
                Assert.Equal("legit_trip", b.Scenario);
                Assert.StartsWith("d", b.Device, StringComparison.Ordinal);
                trips++;
            }
        }
        Assert.True(trips > 20, $"{trips} flights");
    }

    [Fact]
    public void A_totp_retry_is_a_new_event_that_follows_a_challengeable_attempt_of_the_same_customer()
    {
        var lines = Stream.Value;
        var retries = 0;
        var legit = lines.Where(l => l.Label == "legit").GroupBy(l => l.Account).ToDictionary(g => g.Key, g => g.ToList());
        foreach (var (_, list) in legit)
        {
            for (var i = 0; i < list.Count; i++)
            {
                var r = list[i];
                if (!r.Retry) continue;
                retries++;
                Assert.True(r.Claims, r.Raw);
                var first = list.Take(i).Last(l => l.Type == r.Type && l.Scenario == r.Scenario && !l.Claims);
                Assert.NotEqual(first.Id, r.Id);
                Assert.InRange((r.At - first.At).TotalSeconds, 15, 300);
                if (r.Type == "transaction")
                {
                    Assert.Equal(first.Amount, r.Amount);
                    Assert.True(r.Amount > TrafficGenerator.StepUpThresholds[r.Currency], r.Raw); // a step-up amount
                }
                else
                {
                    // A device or country the customer never signed in from before.
                    var before = list.Take(i).Where(l => l.Success && l != first).ToList();
                    Assert.NotEmpty(before);
                    Assert.True(before.All(l => l.Device != r.Device) || before.All(l => l.Country != r.Country), r.Raw);
                    Assert.Equal(first.Device, r.Device);
                }
            }
        }
        Assert.True(retries > 100, $"{retries} retries");
        Assert.Contains(lines, l => l.Scenario == "legit_large_payment" && l.Retry);
        Assert.Contains(lines, l => l.Scenario == "legit_trip" && l.Retry);
        // Attackers claim a code they never typed: no simulation mark.
        Assert.Contains(lines, l => l.Label == "fraud" && l.Claims);
        Assert.DoesNotContain(lines, l => l.Label == "fraud" && l.Retry);
    }

    [Fact]
    public void Shopping_bursts_are_4_or_5_payments_within_minutes_never_more_than_5_in_60_seconds()
    {
        var bursts = 0;
        foreach (var account in Stream.Value.Where(l => l.Scenario == "legit_shopping_burst").GroupBy(l => l.Account))
        {
            var list = account.ToList();
            for (var i = 0; i < list.Count; i++)
            {
                Assert.True(list.Count(l => l.At > list[i].At.AddSeconds(-60) && l.At <= list[i].At) <= 5);
                if (i >= 3 && (list[i].At - list[i - 3].At).TotalMinutes <= 6) bursts++;
            }
        }
        Assert.True(bursts > 100, $"{bursts}");
    }
}

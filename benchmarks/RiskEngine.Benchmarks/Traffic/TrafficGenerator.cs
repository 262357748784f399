using System.Globalization;
using System.Text;
using Bogus;

namespace RiskEngine.Benchmarks.Traffic;

/// <summary>
/// Seeded, realistic traffic in the wire contract's format: a population of accounts with home cities, one or two
/// devices and spending habits, doing what real customers do — app opens with GPS/IP-geolocation jitter, single
/// payments, shopping bursts, large payments and sign-ins from a new device or country confirmed with TOTP, trips
/// with plausible flight times — and attackers: account takeover draining just below the step-up threshold from a
/// new device, card testing, structuring, credential stuffing, far-away sign-ins minutes after the real user, and
/// payments involving unavailable regions. Every line carries <c>label</c> (<c>legit</c> or <c>fraud</c>) and
/// <c>scenario</c>; a legitimate retry after a challenge also carries <see cref="SimulationField"/> =
/// <see cref="TotpPassed"/> (the customer typed a valid TOTP code just before it; see <c>riskengine backtest</c>).
/// The same seed gives the same stream.
/// </summary>
public sealed class TrafficGenerator
{
    /// <summary>
    /// Simulation-only field, like <c>label</c> and <c>scenario</c>: the engine's parser ignores it. A replay that
    /// evaluates labelled traffic (the backtest) verifies a real TOTP code for the account at the event's time before
    /// deciding a line that carries it, so a verified step-up is recorded the way a live caller would.
    /// </summary>
    public const string SimulationField = "simulation";

    /// <summary>The value of <see cref="SimulationField"/> on a retry whose customer passed a TOTP check.</summary>
    public const string TotpPassed = "totp_passed";

    /// <summary>Cruising speed for trips (km/h); with airport time on top, no trip is faster than this.</summary>
    public const double FlightKmh = 800;

    /// <summary>Least time spent at airports per trip, on top of the flight.</summary>
    public static readonly TimeSpan MinAirportTime = TimeSpan.FromHours(2);

    /// <summary>Step-up thresholds (<c>challengeAbove</c> of the shipped default policy) the generated behaviour is measured against.</summary>
    public static readonly IReadOnlyDictionary<string, double> StepUpThresholds = new Dictionary<string, double>(StringComparer.Ordinal)
    {
        ["USD"] = 5000, ["CNY"] = 35000, ["BTC"] = 0.1,
    };

    private static readonly Place[] Cities =
    [
        new("US", 40.71, -74.01), new("US", 37.77, -122.42), new("GB", 51.51, -0.13), new("DE", 52.52, 13.40), new("FR", 48.86, 2.35),
        new("JP", 35.68, 139.69), new("CN", 31.23, 121.47), new("SG", 1.35, 103.82), new("BR", -23.55, -46.63), new("AU", -33.87, 151.21),
        new("IN", 19.08, 72.88), new("CA", 43.65, -79.38),
    ];

    private static readonly string[] Unavailable = ["KP", "IR", "CU", "SY"];

    /// <summary>Mean events one action emits (calibrated on generated streams), so <c>events</c> lines span about <c>span</c>.</summary>
    private const double EventsPerAction = 1.49;

    private readonly Faker _f;
    private readonly Account[] _accounts;
    private readonly DateTimeOffset _start;
    private readonly double _meanGapMs;
    private readonly PriorityQueue<string, (long Ticks, long Seq)> _queue = new();
    private long _seq;
    private long _id;

    /// <summary>Creates a generator for <paramref name="accounts"/> accounts and about <paramref name="events"/> events spread over <paramref name="span"/>.</summary>
    public TrafficGenerator(int accounts, long events, int seed, TimeSpan? span = null, DateTimeOffset? start = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(accounts, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(events, 1);
        _f = new Faker { Random = new Randomizer(seed) };
        _start = start ?? new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
        _meanGapMs = (span ?? TimeSpan.FromDays(1)).TotalMilliseconds / events * EventsPerAction;
        _accounts = new Account[accounts];
        for (var i = 0; i < accounts; i++)
        {
            var city = _f.Random.ArrayElement(Cities);
            var crypto = _f.Random.Double() < 0.03;
            _accounts[i] = new Account(
                $"u{i}",
                city,
                _f.Random.Double() < 0.3 ? [$"d{i}a", $"d{i}b"] : [$"d{i}a"],
                crypto ? "BTC" : city.Country == "CN" ? "CNY" : "USD",
                crypto ? Math.Round(_f.Random.Double(0.001, 0.02), 6) : Math.Round(Math.Exp(_f.Random.Double(2.5, 6.5)), 2),
                _f.Internet.Ip());
        }
    }

    /// <summary>The number of accounts.</summary>
    public int AccountCount => _accounts.Length;

    /// <summary>Yields <paramref name="events"/> JSON lines in time order.</summary>
    public IEnumerable<string> Generate(long events)
    {
        var t = _start;
        long emitted = 0;
        while (emitted < events)
        {
            t = t.AddMilliseconds(-Math.Log(1 - _f.Random.Double()) * _meanGapMs);
            Act(t);
            // Everything queued before t (actions spread over minutes, trips over hours) is final: emit it in time order.
            while (_queue.TryPeek(out _, out var key) && key.Ticks <= t.UtcTicks && emitted < events)
            {
                yield return _queue.Dequeue();
                emitted++;
            }
        }
    }

    /// <summary>Writes <paramref name="events"/> lines to <paramref name="path"/> (or standard output for <c>-</c>).</summary>
    public void WriteTo(string path, long events)
    {
        using var writer = path == "-" ? new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) : new StreamWriter(path, false, new UTF8Encoding(false), 1 << 16);
        foreach (var line in Generate(events)) { writer.Write(line); writer.Write('\n'); }
    }

    /// <summary>One action at <paramref name="t"/>: about 95 % of the emitted events are legitimate.</summary>
    private void Act(DateTimeOffset t)
    {
        var roll = _f.Random.Double();
        if (roll < 0.0030) { CardTesting(t); return; }
        if (roll < 0.0060) { AccountTakeover(t); return; }
        if (roll < 0.0090) { ImpossibleTravel(t); return; }
        if (roll < 0.0095) { CredentialStuffing(t); return; }
        if (roll < 0.0115) { Structuring(t); return; }
        if (roll < 0.0130) { UnavailableRegion(t); return; }

        if (Idle(t) is not { } a) return; // everyone picked is on a plane or busy: nothing this tick
        if (a.Place != a.Home && t >= a.ReturnAt) { FlyHome(a, t); return; }
        roll = _f.Random.Double();
        if (roll < 0.42) Payment(a, t);
        else if (roll < 0.72) SignIn(a, t, "legit_sign_in");
        else if (roll < 0.82) AppOpens(a, t);
        else if (roll < 0.87) ShoppingBurst(a, t);
        else if (roll < 0.876) LargePayment(a, t);
        else if (roll < 0.880 && a.Place == a.Home) Trip(a, t);
        else Payment(a, t);
    }

    // ---- legitimate behaviour ----

    private void Payment(Account a, DateTimeOffset t)
    {
        var amount = Amount(a.Currency, a.Habit * Math.Exp(_f.Random.Double(-0.8, 0.8)));
        Pay(a, t, "legit_payment", amount, PaymentDevice(a));
    }

    /// <summary>An app open: one sign-in near where the customer is; 2 % mistype the password first.</summary>
    private void SignIn(Account a, DateTimeOffset t, string scenario)
    {
        var device = a.Devices.Length > 1 && _f.Random.Double() < 0.25 ? a.Devices[1] : a.Devices[0];
        var spot = Near(a.Place, _f.Random.Double(0, 3));
        if (_f.Random.Double() < 0.02)
        {
            Emit(t, "legit", scenario, Login(a.Id, t, false, device, a.Place.Country, a.CurrentIp, spot));
            t = t.AddSeconds(_f.Random.Double(4, 15));
        }
        a.BusyUntil = SuccessfulSignIn(a, t, scenario, device, spot);
    }

    /// <summary>Repeated app opens 10–30 s apart, each 5–8 km from the one before (GPS / IP-geolocation jitter).</summary>
    private void AppOpens(Account a, DateTimeOffset t)
    {
        var device = a.Devices[0];
        var spot = Near(a.Place, _f.Random.Double(0, 3));
        var n = _f.Random.Int(2, 4);
        for (var i = 0; i < n; i++)
        {
            if (i > 0)
            {
                t = t.AddSeconds(_f.Random.Double(10, 30));
                spot = Move(spot, _f.Random.Double(5, 8));
            }
            t = SuccessfulSignIn(a, t, "legit_app_opens", device, spot);
        }
        a.BusyUntil = t;
    }

    /// <summary>4–5 payments within a few minutes (a shopping trip), never more than 5 in any 60 s.</summary>
    private void ShoppingBurst(Account a, DateTimeOffset t)
    {
        var device = PaymentDevice(a);
        var n = _f.Random.Int(4, 5);
        for (var i = 0; i < n; i++)
        {
            if (i > 0) t = t.AddSeconds(_f.Random.Double(15, 90));
            t = Pay(a, t, "legit_shopping_burst", Amount(a.Currency, a.Habit * Math.Exp(_f.Random.Double(-1.2, 0.3))), device);
        }
        a.BusyUntil = t;
    }

    /// <summary>A payment above the step-up threshold: challenged, then confirmed with TOTP as a new attempt.</summary>
    private void LargePayment(Account a, DateTimeOffset t)
    {
        var top = StepUpThresholds[a.Currency];
        var amount = Amount(a.Currency, top * _f.Random.Double(1.05, 1.8));
        var device = PaymentDevice(a);
        Emit(t, "legit", "legit_large_payment", Transaction(a.Id, t, amount, a.Currency, a.Place.Country, device, a.CurrentIp, null, totp: false));
        a.BusyUntil = Pay(a, TotpRetryTime(a, t), "legit_large_payment", amount, device, totpPassed: true);
    }

    /// <summary>
    /// A trip: a sign-in at home, a flight at <see cref="FlightKmh"/> plus 2–4 h at airports, a sign-in on arrival
    /// from the customer's own device (a new country: confirmed with TOTP), then 12–48 h abroad.
    /// </summary>
    private void Trip(Account a, DateTimeOffset t)
    {
        var dest = FarCity(a.Home);
        var device = a.Devices[0];
        t = SuccessfulSignIn(a, t, "legit_trip", device, Near(a.Home, _f.Random.Double(0, 3)));
        var landed = Land(a, t, dest);
        a.ReturnAt = landed.AddHours(_f.Random.Double(12, 48));
    }

    private void FlyHome(Account a, DateTimeOffset t) => Land(a, t, a.Home);

    /// <summary>Flies from where the account last signed in to <paramref name="dest"/>; the first sign-in there ends the trip leg.</summary>
    private DateTimeOffset Land(Account a, DateTimeOffset departed, Place dest)
    {
        var km = Km(a.Place.Lat, a.Place.Lon, dest.Lat, dest.Lon);
        var arrival = departed + TimeSpan.FromHours(km / FlightKmh) + MinAirportTime + TimeSpan.FromMinutes(_f.Random.Double(0, 120));
        a.Place = dest;
        a.CurrentIp = dest == a.Home ? a.Ip : _f.Internet.Ip();
        var end = SuccessfulSignIn(a, arrival, "legit_trip", a.Devices[0], Near(dest, _f.Random.Double(0, 3)));
        a.BusyUntil = end;
        return end;
    }

    /// <summary>
    /// A successful sign-in; when it is one a policy challenges (a device or country the account never signed in
    /// from), the customer passes TOTP and signs in again as a new event. Returns the time of the last event.
    /// </summary>
    private DateTimeOffset SuccessfulSignIn(Account a, DateTimeOffset t, string scenario, string device, Place spot)
    {
        var novel = a.SignedIn && (!a.LoginDevices.Contains(device) || !a.LoginCountries.Contains(spot.Country));
        Emit(t, "legit", scenario, Login(a.Id, t, true, device, spot.Country, a.CurrentIp, spot));
        if (novel)
        {
            t = TotpRetryTime(a, t);
            Emit(t, "legit", scenario, Login(a.Id, t, true, device, spot.Country, a.CurrentIp, spot, totp: true), totpPassed: true);
        }
        a.SignedIn = true;
        a.LoginDevices.Add(device);
        a.LoginCountries.Add(spot.Country);
        return t;
    }

    /// <summary>A payment; the device is one the customer already signed in with (an app signs in before it pays).</summary>
    private DateTimeOffset Pay(Account a, DateTimeOffset t, string scenario, string amount, string device, bool totpPassed = false)
    {
        var counterparty = _f.Random.Double() < 0.2 ? _f.Random.ArrayElement(Cities).Country : null;
        Emit(t, "legit", scenario, Transaction(a.Id, t, amount, a.Currency, a.Place.Country, device, a.CurrentIp, counterparty, totpPassed), totpPassed);
        return t;
    }

    private string PaymentDevice(Account a) =>
        a.Devices.Length > 1 && a.LoginDevices.Contains(a.Devices[1]) && _f.Random.Double() < 0.25 ? a.Devices[1] : a.Devices[0];

    /// <summary>
    /// 15–120 s after a challenge (open the authenticator, type the code), and never in the 30 s TOTP step of the
    /// account's previous check: one code is accepted once.
    /// </summary>
    private DateTimeOffset TotpRetryTime(Account a, DateTimeOffset challenged)
    {
        var at = challenged.AddSeconds(_f.Random.Double(15, 120));
        if (at < a.LastTotp.AddSeconds(31)) at = a.LastTotp.AddSeconds(31 + _f.Random.Double(0, 30));
        a.LastTotp = at;
        return at;
    }

    // ---- attacks ----

    /// <summary>Account takeover: minutes after the real user, a new device signs in (usually from another country) and drains just below the step-up threshold.</summary>
    private void AccountTakeover(DateTimeOffset t)
    {
        if (Idle(t) is not { } a) return;
        var end = SuccessfulSignIn(a, t, "legit_sign_in", a.Devices[0], Near(a.Place, _f.Random.Double(0, 3)));
        var where = _f.Random.Double() < 0.8 ? FarCity(a.Place) : a.Place; // 20 % tunnel into the victim's own country
        var device = "x" + _f.Random.Hash(10);
        var ip = _f.Internet.Ip();
        var at = end.AddMinutes(_f.Random.Double(3, 20));
        if (_f.Random.Double() < 0.7)
        {
            // 30 % go straight to the payment API with a stolen session; the rest sign in (coordinates from their exit IP half the time).
            var spot = _f.Random.Bool() ? Near(where, 2) : null;
            Emit(at, "fraud", "ato_drain", Login(a.Id, at, true, device, where.Country, ip, spot));
            if (_f.Random.Bool())
            {
                at = at.AddSeconds(_f.Random.Double(20, 60)); // claims a code it never typed
                Emit(at, "fraud", "ato_drain", Login(a.Id, at, true, device, where.Country, ip, spot, totp: true));
            }
            at = at.AddMinutes(_f.Random.Double(1, 5));
        }
        var top = StepUpThresholds[a.Currency];
        for (var i = _f.Random.Int(3, 6); i > 0; i--)
        {
            Emit(at, "fraud", "ato_drain", Transaction(a.Id, at, Amount(a.Currency, top * _f.Random.Double(0.9, 0.995)), a.Currency, where.Country, device, ip, null, totp: false));
            at = at.AddMinutes(_f.Random.Double(1, 4));
        }
        a.BusyUntil = at;
        SupportCall(a, at);
    }

    /// <summary>Card testing: a burst of 8–20 tiny payments seconds apart from a device the account never used.</summary>
    private void CardTesting(DateTimeOffset t)
    {
        var a = Any();
        var device = "ct" + _f.Random.Hash(10);
        var ip = _f.Internet.Ip();
        var country = _f.Random.Double() < 0.5 ? a.Home.Country : _f.Random.ArrayElement(Cities).Country;
        var n = _f.Random.Int(8, 20);
        for (var i = 0; i < n; i++)
        {
            var tiny = a.Currency == "BTC" ? _f.Random.Double(0.00001, 0.00005) : _f.Random.Double(0.5, 3);
            Emit(t, "fraud", "card_testing", Transaction(a.Id, t, Amount(a.Currency, tiny), a.Currency, country, device, ip, null, totp: false));
            t = t.AddSeconds(_f.Random.Double(1, 5));
        }
        SupportCall(a, t);
    }

    /// <summary>Structuring: the account's owner moves money in 4–8 payments just below the step-up threshold.</summary>
    private void Structuring(DateTimeOffset t)
    {
        var a = Any();
        var top = StepUpThresholds[a.Currency];
        for (var i = _f.Random.Int(4, 8); i > 0; i--)
        {
            Emit(t, "fraud", "structuring", Transaction(a.Id, t, Amount(a.Currency, top * _f.Random.Double(0.9, 0.995)), a.Currency, a.Home.Country, a.Devices[0], a.Ip, _f.Random.ArrayElement(Cities).Country, totp: false));
            t = t.AddMinutes(_f.Random.Double(3, 30));
        }
    }

    /// <summary>Credential stuffing: 30–60 sign-ins across accounts from one address, nearly all with a wrong password.</summary>
    private void CredentialStuffing(DateTimeOffset t)
    {
        var ip = _f.Internet.Ip();
        var n = _f.Random.Int(30, 60);
        for (var i = 0; i < n; i++)
        {
            var a = Any();
            Emit(t, "fraud", "credential_stuffing", Login(a.Id, t, _f.Random.Double() < 0.03, "bot-" + _f.Random.Int(0, 3), a.Home.Country, ip, null));
            t = t.AddSeconds(_f.Random.Double(2, 10));
        }
    }

    /// <summary>A sign-in with the customer's own device id from far away, 5–40 minutes after the real user; sometimes a payment or two follows.</summary>
    private void ImpossibleTravel(DateTimeOffset t)
    {
        if (Idle(t) is not { } a) return;
        var end = SuccessfulSignIn(a, t, "legit_sign_in", a.Devices[0], Near(a.Place, _f.Random.Double(0, 3)));
        var far = FarCity(a.Place);
        var ip = _f.Internet.Ip();
        var at = end.AddMinutes(_f.Random.Double(5, 40));
        Emit(at, "fraud", "impossible_travel", Login(a.Id, at, true, a.Devices[0], far.Country, ip, Near(far, 2)));
        for (var i = _f.Random.Int(0, 2); i > 0; i--)
        {
            at = at.AddMinutes(_f.Random.Double(1, 5));
            Emit(at, "fraud", "impossible_travel", Transaction(a.Id, at, Amount(a.Currency, a.Habit * 3), a.Currency, far.Country, a.Devices[0], ip, null, totp: false));
        }
        a.BusyUntil = at;
        SupportCall(a, at);
    }

    /// <summary>
    /// The victim of an attack hears of it (the freeze notice, a declined payment) and calls support 20 minutes to
    /// 3 hours later; the agent checks who they are and lifts the freeze (an <c>unfreeze</c> event; when the policy
    /// froze nothing it is refused as <c>account.not_frozen</c>, which is what the agent would see). Legitimate.
    /// </summary>
    private void SupportCall(Account a, DateTimeOffset attackEnded)
    {
        var at = attackEnded.AddMinutes(_f.Random.Double(20, 180));
        Emit(at, "legit", "legit_support_unfreeze",
            $$"""{"type":"unfreeze","id":"{{Id()}}","at":"{{Time(at)}}","account":"{{a.Id}}","by":"agent-{{_f.Random.Int(1, 40)}}","reason":"identity checked after reported suspicious activity"}""");
    }

    private void UnavailableRegion(DateTimeOffset t)
    {
        var a = Any();
        var where = _f.Random.ArrayElement(Unavailable);
        var origin = _f.Random.Bool();
        Emit(t, "fraud", "unavailable_region", Transaction(a.Id, t, Amount(a.Currency, a.Habit), a.Currency, origin ? where : a.Home.Country, a.Devices[0], null, origin ? null : where, totp: false));
    }

    // ---- helpers ----

    private Account Any() => _accounts[_f.Random.Int(0, _accounts.Length - 1)];

    /// <summary>An account not on a plane or in the middle of something else (three tries), or none.</summary>
    private Account? Idle(DateTimeOffset t)
    {
        for (var i = 0; i < 3; i++)
        {
            var a = Any();
            if (a.BusyUntil <= t) return a;
        }
        return null;
    }

    private static string Transaction(string account, DateTimeOffset t, string amount, string currency, string country, string device, string? ip, string? counterparty, bool totp) =>
        $$"""{"type":"transaction","id":"{{Id()}}","at":"{{Time(t)}}","account":"{{account}}","amount":{{amount}},"currency":"{{currency}}","country":"{{country}}","device":"{{device}}"{{(ip is null ? "" : $",\"ip\":\"{ip}\"")}}{{(counterparty is null ? "" : $",\"counterpartyCountry\":\"{counterparty}\"")}}{{(totp ? ",\"authenticated\":\"totp\"" : "")}}}""";

    private static string Login(string account, DateTimeOffset t, bool ok, string device, string country, string ip, Place? spot, bool totp = false)
    {
        var geo = spot is { } p ? string.Create(CultureInfo.InvariantCulture, $",\"lat\":{p.Lat:0.#####},\"lon\":{p.Lon:0.#####}") : "";
        return $$"""{"type":"login","id":"{{Id()}}","at":"{{Time(t)}}","account":"{{account}}","success":{{(ok ? "true" : "false")}},"device":"{{device}}","country":"{{country}}","ip":"{{ip}}"{{geo}}{{(totp ? ",\"authenticated\":\"totp\"" : "")}}}""";
    }

    /// <summary>The id placeholder, numbered when the line is queued.</summary>
    private static string Id() => "\u0001";

    private Place FarCity(Place from)
    {
        while (true)
        {
            var c = _f.Random.ArrayElement(Cities);
            if (c.Country != from.Country && Math.Abs(c.Lon - from.Lon) > 40) return c;
        }
    }

    /// <summary>A point <paramref name="km"/> from <paramref name="p"/> in a random direction.</summary>
    private Place Near(Place p, double km) => Move(p, km);

    private Place Move(Place p, double km)
    {
        var bearing = _f.Random.Double(0, 2 * Math.PI);
        var lat = p.Lat + km * Math.Cos(bearing) / 111.195;
        var lon = p.Lon + km * Math.Sin(bearing) / (111.195 * Math.Cos(p.Lat * Math.PI / 180));
        return p with { Lat = Math.Round(lat, 5), Lon = Math.Round(lon, 5) };
    }

    /// <summary>Great-circle distance (haversine, mean Earth radius), as the engine computes it.</summary>
    public static double Km(double lat1, double lon1, double lat2, double lon2)
    {
        const double r = 6371.0088;
        static double Rad(double d) => d * Math.PI / 180;
        var dLat = Rad(lat2 - lat1);
        var dLon = Rad(lon2 - lon1);
        var h = Math.Sin(dLat / 2) * Math.Sin(dLat / 2) + Math.Cos(Rad(lat1)) * Math.Cos(Rad(lat2)) * Math.Sin(dLon / 2) * Math.Sin(dLon / 2);
        return 2 * r * Math.Asin(Math.Min(1, Math.Sqrt(h)));
    }

    private static string Amount(string currency, double value)
    {
        var btc = currency == "BTC";
        var v = Math.Max(Math.Round(value, btc ? 8 : 2), btc ? 0.00000001 : 0.01);
        return v.ToString(btc ? "0.########" : "0.##", CultureInfo.InvariantCulture);
    }

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private void Emit(DateTimeOffset at, string label, string scenario, string json, bool totpPassed = false)
    {
        var id = "g" + (++_id).ToString(CultureInfo.InvariantCulture);
        var sim = totpPassed ? $",\"{SimulationField}\":\"{TotpPassed}\"" : "";
        _queue.Enqueue(json.Replace("\u0001", id, StringComparison.Ordinal)[..^1] + $",\"label\":\"{label}\",\"scenario\":\"{scenario}\"{sim}}}", (at.UtcTicks, ++_seq));
    }

    private sealed record Place(string Country, double Lat, double Lon);

    private sealed class Account(string id, Place home, string[] devices, string currency, double habit, string ip)
    {
        public string Id { get; } = id;
        public Place Home { get; } = home;
        public string[] Devices { get; } = devices;
        public string Currency { get; } = currency;
        public double Habit { get; } = habit;
        public string Ip { get; } = ip;

        /// <summary>Where the customer is (home, or abroad on a trip) and the address they use there.</summary>
        public Place Place { get; set; } = home;
        public string CurrentIp { get; set; } = ip;
        public DateTimeOffset ReturnAt { get; set; }

        /// <summary>On a plane, or in the middle of an action whose events are still queued.</summary>
        public DateTimeOffset BusyUntil { get; set; }
        public DateTimeOffset LastTotp { get; set; }
        public bool SignedIn { get; set; }
        public HashSet<string> LoginDevices { get; } = new(StringComparer.Ordinal);
        public HashSet<string> LoginCountries { get; } = new(StringComparer.Ordinal);
    }
}

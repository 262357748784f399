using System.Globalization;
using System.Text;
using Bogus;

namespace RiskEngine.Benchmarks.Traffic;

/// <summary>
/// Seeded, realistic traffic in the wire contract's format: a population of accounts with home countries, devices
/// and spending habits; legitimate payments and sign-ins; and labelled attack scenarios. Every line carries
/// <c>label</c> (<c>legit</c> or <c>fraud</c>) and <c>scenario</c>. The same seed gives the same stream.
/// </summary>
public sealed class TrafficGenerator
{
    private static readonly (string Country, double Lat, double Lon)[] Cities =
    [
        ("US", 40.71, -74.01), ("US", 37.77, -122.42), ("GB", 51.51, -0.13), ("DE", 52.52, 13.40), ("FR", 48.86, 2.35),
        ("JP", 35.68, 139.69), ("CN", 31.23, 121.47), ("SG", 1.35, 103.82), ("BR", -23.55, -46.63), ("AU", -33.87, 151.21),
        ("IN", 19.08, 72.88), ("CA", 43.65, -79.38),
    ];

    private static readonly string[] Unavailable = ["KP", "IR", "CU", "SY"];

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
        _meanGapMs = (span ?? TimeSpan.FromDays(1)).TotalMilliseconds / events;
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

    /// <summary>The account ids, for tools that need them.</summary>
    public int AccountCount => _accounts.Length;

    /// <summary>Yields <paramref name="events"/> JSON lines in time order.</summary>
    public IEnumerable<string> Generate(long events)
    {
        var t = _start;
        long emitted = 0;
        while (emitted < events)
        {
            t = t.AddMilliseconds(-Math.Log(1 - _f.Random.Double()) * _meanGapMs);
            var roll = _f.Random.Double();
            // Attack scenarios emit several events each; these weights keep about 88% of events legitimate.
            if (roll < 0.820) LegitTransaction(t);
            else if (roll < 0.9765) LegitLogin(t);
            else if (roll < 0.9805) CardTesting(t);
            else if (roll < 0.9845) AccountTakeover(t);
            else if (roll < 0.9905) ImpossibleTravel(t);
            else if (roll < 0.9920) CredentialStuffing(t);
            else if (roll < 0.9950) Structuring(t);
            else UnavailableRegion(t);

            // Everything queued before t (attacks spread over minutes) is final: emit it in time order.
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

    private Account Any() => _accounts[_f.Random.Int(0, _accounts.Length - 1)];

    private void LegitTransaction(DateTimeOffset t)
    {
        var a = Any();
        var amount = Amount(a, a.Habit * Math.Exp(_f.Random.Double(-0.8, 0.8)));
        var big = _f.Random.Double() < 0.02;
        if (big) amount = Amount(a, a.Habit * 20);
        var counterparty = _f.Random.Double() < 0.2 ? $",\"counterpartyCountry\":\"{_f.Random.ArrayElement(Cities).Country}\"" : "";
        Emit(t, "legit", "payment", $$"""{"type":"transaction","id":"{{NextId()}}","at":"{{Time(t)}}","account":"{{a.Id}}","amount":{{amount}},"currency":"{{a.Currency}}","country":"{{a.Home.Country}}","device":"{{_f.Random.ArrayElement(a.Devices)}}","ip":"{{a.Ip}}"{{counterparty}}{{(big ? ",\"authenticated\":\"totp\"" : "")}}}""");
    }

    private void LegitLogin(DateTimeOffset t)
    {
        var a = Any();
        var ok = _f.Random.Double() < 0.97;
        Emit(t, "legit", "sign_in", Login(a, t, ok, _f.Random.ArrayElement(a.Devices), a.Home, a.Ip));
    }

    private void CardTesting(DateTimeOffset t)
    {
        var a = Any();
        var n = _f.Random.Int(8, 15);
        for (var i = 0; i < n; i++)
        {
            var at = t.AddSeconds(i * _f.Random.Double(1, 4));
            Emit(at, "fraud", "card_testing", $$"""{"type":"transaction","id":"{{NextId()}}","at":"{{Time(at)}}","account":"{{a.Id}}","amount":{{Amount(a, _f.Random.Double(1, 5) * (a.Currency == "BTC" ? 0.0001 : 1))}},"currency":"{{a.Currency}}","country":"{{a.Home.Country}}","device":"{{a.Devices[0]}}"}""");
        }
    }

    private void AccountTakeover(DateTimeOffset t)
    {
        var a = Any();
        var far = FarCity(a.Home);
        var device = "x" + _f.Random.Hash(10);
        var ip = _f.Internet.Ip();
        Emit(t, "fraud", "account_takeover", Login(a, t, true, device, far, ip));
        for (var i = 1; i <= _f.Random.Int(2, 3); i++)
        {
            var at = t.AddMinutes(i * 2);
            Emit(at, "fraud", "account_takeover", $$"""{"type":"transaction","id":"{{NextId()}}","at":"{{Time(at)}}","account":"{{a.Id}}","amount":{{Amount(a, a.Habit * 40)}},"currency":"{{a.Currency}}","country":"{{far.Country}}","device":"{{device}}","ip":"{{ip}}"}""");
        }
    }

    private void ImpossibleTravel(DateTimeOffset t)
    {
        var a = Any();
        Emit(t, "legit", "sign_in", Login(a, t, true, a.Devices[0], a.Home, a.Ip));
        var at = t.AddMinutes(_f.Random.Int(20, 40));
        Emit(at, "fraud", "impossible_travel", Login(a, at, true, a.Devices[0], FarCity(a.Home), _f.Internet.Ip()));
    }

    private void CredentialStuffing(DateTimeOffset t)
    {
        var ip = _f.Internet.Ip();
        var n = _f.Random.Int(25, 40);
        for (var i = 0; i < n; i++)
        {
            var a = Any();
            var at = t.AddSeconds(i * _f.Random.Double(5, 15));
            Emit(at, "fraud", "credential_stuffing", Login(a, at, _f.Random.Double() < 0.03, "bot-" + _f.Random.Int(0, 3), a.Home, ip, coords: false));
        }
    }

    private void Structuring(DateTimeOffset t)
    {
        var a = Any();
        if (a.Currency != "USD") return;
        for (var i = 0; i < _f.Random.Int(4, 6); i++)
        {
            var at = t.AddMinutes(i * _f.Random.Int(5, 15));
            Emit(at, "fraud", "structuring", $$"""{"type":"transaction","id":"{{NextId()}}","at":"{{Time(at)}}","account":"{{a.Id}}","amount":{{_f.Random.Int(4900, 4999)}},"currency":"USD","country":"{{a.Home.Country}}","device":"{{a.Devices[0]}}","counterpartyCountry":"{{_f.Random.ArrayElement(Cities).Country}}"}""");
        }
    }

    private void UnavailableRegion(DateTimeOffset t)
    {
        var a = Any();
        var where = _f.Random.ArrayElement(Unavailable);
        var field = _f.Random.Bool() ? $"\"country\":\"{where}\"" : $"\"country\":\"{a.Home.Country}\",\"counterpartyCountry\":\"{where}\"";
        Emit(t, "fraud", "unavailable_region", $$"""{"type":"transaction","id":"{{NextId()}}","at":"{{Time(t)}}","account":"{{a.Id}}","amount":{{Amount(a, a.Habit)}},"currency":"{{a.Currency}}",{{field}},"device":"{{a.Devices[0]}}"}""");
    }

    private string Login(Account a, DateTimeOffset t, bool ok, string device, (string Country, double Lat, double Lon) place, string ip, bool coords = true)
    {
        var geo = coords
            ? string.Create(CultureInfo.InvariantCulture, $",\"lat\":{place.Lat + _f.Random.Double(-0.05, 0.05):0.####},\"lon\":{place.Lon + _f.Random.Double(-0.05, 0.05):0.####}")
            : "";
        return $$"""{"type":"login","id":"{{NextId()}}","at":"{{Time(t)}}","account":"{{a.Id}}","success":{{(ok ? "true" : "false")}},"device":"{{device}}","country":"{{place.Country}}","ip":"{{ip}}"{{geo}}}""";
    }

    private (string Country, double Lat, double Lon) FarCity((string Country, double Lat, double Lon) home)
    {
        while (true)
        {
            var c = _f.Random.ArrayElement(Cities);
            if (c.Country != home.Country && Math.Abs(c.Lon - home.Lon) > 40) return c;
        }
    }

    private static string Amount(Account a, double value)
    {
        var decimals = a.Currency == "BTC" ? 8 : 2;
        var v = Math.Max(Math.Round(value, decimals), a.Currency == "BTC" ? 0.00000001 : 0.01);
        return v.ToString(a.Currency == "BTC" ? "0.########" : "0.##", CultureInfo.InvariantCulture);
    }

    private string NextId() => "g" + (++_id).ToString(CultureInfo.InvariantCulture);

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private void Emit(DateTimeOffset at, string label, string scenario, string json) =>
        _queue.Enqueue(json[..^1] + $",\"label\":\"{label}\",\"scenario\":\"{scenario}\"}}", (at.UtcTicks, ++_seq));

    private sealed record Account(string Id, (string Country, double Lat, double Lon) Home, string[] Devices, string Currency, double Habit, string Ip);
}

using System.Globalization;
using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;

namespace RiskEngine.Tests.Properties;

/// <summary>
/// Generators of contract-shaped event lines: mostly valid fields, so cases reach the rules, with wild times, amounts
/// and strings mixed in. Shared by the pipeline property and the parser's differential property.
/// </summary>
internal static class EventLines
{
    private static readonly string[] Types = ["transaction", "login", "limit", "unfreeze"];
    private static readonly string[] Currencies = ["USD", "CNY", "BTC", "EUR", "usd", ""];
    private static readonly string[] Countries = ["US", "CN", "GB", "KP", "IR", "XX", "us"];

    internal static Gen<string> Pick(params string[] values) => Gen.Elements(values);

    internal static Gen<string> AnyText =>
        Gen.OneOf(
            ArbMap.Default.GeneratorFor<string>().Select(s => s ?? ""),
            ArbMap.Default.GeneratorFor<char[]>().Select(c => new string(c)),
            Pick("a\u200Bb", "\u202Eevil", "x\uFEFF", "\t", " ", "::ffff:1.2.3.4", "{a}", "k:pub", new string('z', 200)));

    internal static Gen<string> Time =>
        Gen.OneOf(
            Gen.Choose(-400_000, 400_000).Select(hours => new DateTimeOffset(2026, 11, 27, 10, 0, 0, TimeSpan.Zero).AddHours(hours).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture)),
            Gen.Choose(1, 9999).Select(year => $"{year:D4}-01-01T00:00:00Z"),
            Pick("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "9999-12-28T00:00:00+14:00", "2100-01-01T00:00:00Z", "1999-12-31T23:59:59-14:00", "2026-11-27T10:00:00", "not a time", ""),
            AnyText);

    internal static Gen<string> Amount =>
        Gen.OneOf(
            Gen.Choose(1, 1_000_000).Select(n => (n / 100m).ToString(CultureInfo.InvariantCulture)),
            ArbMap.Default.GeneratorFor<decimal>().Select(d => d.ToString(CultureInfo.InvariantCulture)),
            ArbMap.Default.GeneratorFor<double>().Select(d => d.ToString("R", CultureInfo.InvariantCulture)),
            Gen.Choose(1, 60).Select(n => "9" + new string('9', n)),
            Gen.Choose(1, 40).Select(n => "1." + new string('0', n) + "1"),
            Pick("79228162514264337593543950335", "1e15", "1e16", "-1", "0", "NaN", "Infinity", "\"100\"", "null", "[]", "{}", "1e-400", "1e400"));

    internal static string Str(string s) => JsonSerializer.Serialize(s);

    /// <summary>A field that is mostly present and mostly valid, so that cases reach the rules as well as the parser.</summary>
    private static Gen<(string Name, string Raw)?> Field(string name, Gen<string> valid, Gen<string> wild) =>
        Gen.Frequency(
            (1, Gen.Constant<(string, string)?>(null)),
            (40, valid.Select(v => ((string, string)?)(name, v))),
            (2, wild.Select(v => ((string, string)?)(name, v))));

    internal static Gen<byte[]> EventLine =>
        from type in Gen.Frequency((30, Pick(Types)), (1, AnyText))
        from id in Gen.Frequency((30, Gen.Choose(0, int.MaxValue).Select(i => $"e{i}")), (1, Gen.Choose(0, 50).Select(i => $"e{i}")), (1, AnyText))
        // Wild times go to accounts of their own: a far-future time rightly makes its account refuse older events,
        // and would otherwise soon leave nothing for the rules to decide.
        from when in Gen.Frequency(
            (20, Gen.Zip(
                Gen.Choose(0, 72 * 60).Select(m => new DateTimeOffset(2026, 11, 27, 0, 0, 0, TimeSpan.Zero).AddMinutes(m).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)),
                Gen.Frequency((30, Gen.Choose(0, 40).Select(i => $"acct-{i}")), (1, AnyText)))),
            (2, Gen.Zip(Time, Gen.Frequency((5, Gen.Choose(0, 1000).Select(i => $"wild-{i}")), (1, AnyText)))))
        let at = when.Item1
        let account = when.Item2
        from fields in Gen.CollectToArray(new[]
        {
            Field("amount", Gen.Choose(1, 2_000_000).Select(n => (n / 100m).ToString(CultureInfo.InvariantCulture)), Amount),
            Field("currency", Pick("USD", "CNY").Select(Str), Pick(Currencies).Select(Str)),
            Field("country", Pick("US", "CN", "GB").Select(Str), Pick(Countries).Select(Str)),
            Field("residence", Pick("US", "CN").Select(Str), Pick(Countries).Select(Str)),
            Field("counterpartyCountry", Pick("US", "GB").Select(Str), Pick(Countries).Select(Str)),
            Field("device", Pick("d1", "d2", "d3").Select(Str), AnyText.Select(Str)),
            Field("success", Pick("true", "false"), Pick("1", "\"yes\"", "null")),
            Field("ip", Pick("1.2.3.4", "::ffff:1.2.3.4", "2001:db8::1", "5.6.7.8").Select(Str), Gen.OneOf(Pick("fe80::1%2", "300.1.1.1"), AnyText).Select(Str)),
            Field("lat", Gen.Choose(-90, 90).Select(i => i.ToString(CultureInfo.InvariantCulture)), Amount),
            Field("lon", Gen.Choose(-180, 180).Select(i => i.ToString(CultureInfo.InvariantCulture)), Amount),
            Field("until", Pick("2026-12-01T00:00:00Z", "2026-11-28T00:00:00Z").Select(Str), Time.Select(Str)),
            Field("authenticated", Pick("totp").Select(Str), Pick("sms", "").Select(Str)),
            Field("by", Pick("agent-7").Select(Str), AnyText.Select(Str)),
            Field("reason", Pick("called back").Select(Str), AnyText.Select(Str)),
        })
        from complete in Gen.Frequency((19, Gen.Constant(true)), (1, Gen.Constant(false)))
        select Build(type, id, at, account, fields.Where(f => f is not null).Select(f => f!.Value), complete);

    private static byte[] Build(string type, string id, string at, string account, IEnumerable<(string Name, string Raw)> fields, bool complete)
    {
        var json = new StringBuilder("{");
        json.Append("\"type\":").Append(Str(type)).Append(",\"id\":").Append(Str(id)).Append(",\"at\":").Append(Str(at)).Append(",\"account\":").Append(Str(account));
        foreach (var (name, raw) in fields) json.Append(",\"").Append(name).Append("\":").Append(raw);
        if (!complete) json.Length -= Math.Min(json.Length - 1, 3); // a truncated line
        else json.Append('}');
        return Encoding.UTF8.GetBytes(json.ToString());
    }
}

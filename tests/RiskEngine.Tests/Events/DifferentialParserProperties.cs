using System.Globalization;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using RiskEngine.Events;
using RiskEngine.Tests.Properties;
using Xunit.Abstractions;

namespace RiskEngine.Tests.Events;

/// <summary>
/// The span-based <see cref="EventParser"/> against the parser it replaced (<see cref="ReferenceEventParser"/>): for
/// every line, the same event (type, canonical payload, offset of its time) or the same rejection (event id, field
/// and error text, to the character).
/// </summary>
public sealed class DifferentialParserProperties(ITestOutputHelper output)
{
    private const int Cases = 100_000;

    private static Gen<string> Pick(params string[] values) => Gen.Elements(values);

    private static Gen<T> Weighted<T>(params (int Weight, Gen<T> Gen)[] choices) => Gen.Frequency(choices);

    /// <summary>Any character, escaped or not; lone surrogates only escaped (a raw one cannot be written in UTF-8).</summary>
    private static Gen<string> JsonString(Gen<string> text) =>
        from s in text
        from escapes in Gen.ArrayOf(Gen.Elements(false, false, false, true), s.Length)
        select Quote(s, escapes);

    private static string Quote(string s, bool[] escapes)
    {
        var json = new StringBuilder("\"");
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            var paired = char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]);
            if (paired && !escapes[i]) { json.Append(c).Append(s[++i]); continue; }
            if (escapes[i] || c < 0x20 || c == '"' || c == '\\' || char.IsSurrogate(c)) json.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            else json.Append(c);
        }
        return json.Append('"').ToString();
    }

    /// <summary>Text shaped like the contract's timestamps, each part sometimes out of its range or malformed.</summary>
    private static Gen<string> Timestamp =>
        from year in Weighted((4, Gen.Choose(1995, 2105)), (1, Gen.Choose(0, 9999)), (1, Gen.Elements(0, 1, 2000, 2099, 2100, 9999)))
        from month in Weighted((6, Gen.Choose(1, 12)), (1, Gen.Choose(0, 99)))
        from day in Weighted((6, Gen.Choose(1, 31)), (1, Gen.Choose(0, 99)))
        from hour in Weighted((6, Gen.Choose(0, 23)), (1, Gen.Choose(0, 99)))
        from minute in Weighted((6, Gen.Choose(0, 59)), (1, Gen.Choose(0, 99)))
        from second in Weighted((6, Gen.Choose(0, 59)), (1, Gen.Choose(58, 61)))
        from t in Weighted((8, Gen.Constant("T")), (1, Pick("t", " ", "x", "")))
        from fraction in Weighted(
            (4, Gen.Constant("")),
            (4, Gen.Choose(1, 10).SelectMany(n => Gen.ArrayOf(Gen.Choose(0, 9), n)).Select(d => "." + string.Concat(d))),
            (1, Gen.Choose(1, 10).Select(n => "." + new string('9', n))),
            (1, Pick(".", ".5", ".0000000", ".99999995", ".00000005", ".00000015")))
        from zone in Weighted(
            (4, Pick("Z")),
            (1, Pick("z", "", "+00:00", "-00:00", "+14:00", "-14:00", "+14:01", "+13:60", "UTC", "+0100", "+01")),
            (3, from sign in Pick("+", "-") from h in Gen.Choose(0, 15) from m in Gen.Elements(0, 15, 30, 45, 59, 60) select $"{sign}{h:D2}:{m:D2}"))
        from tail in Weighted((12, Gen.Constant("")), (1, Pick("\n", "\r\n", " ", "\t", "Z", "0", "\n\n")))
        from digits in Weighted((30, Gen.Constant(false)), (1, Gen.Constant(true)))
        let text = $"{year:D4}-{month:D2}-{day:D2}{t}{hour:D2}:{minute:D2}:{second:D2}{fraction}{zone}{tail}"
        select digits ? text.Replace('2', '\u0662') : text; // an Arabic-Indic digit: \d matched it, the parser never did

    private static Gen<string> Number =>
        Gen.OneOf(
            EventLines.Amount,
            Gen.Choose(-200, 200).Select(i => i.ToString(CultureInfo.InvariantCulture)),
            from mantissa in Gen.Choose(0, 99999) from scale in Gen.Choose(0, 40) from exponent in Gen.Choose(-30, 30) from e in Pick("", "e", "E", "e+", "E-")
            select $"{(mantissa % 3 == 0 ? "-" : "")}{mantissa}{(scale > 0 ? "." + new string('0', scale % 30) + "7" : "")}{(e.Length > 0 ? e + Math.Abs(exponent) : "")}",
            Pick("0", "-0", "0.0", "1e15", "1000000000000000.0", "1E+15", "100.00", "0.1", "40.71", "-74.01", "90", "-90.0001", "180", "1e-400", "1e308", "-1e400"));

    /// <summary>A value of any JSON kind, mostly sensible for the contract, sometimes not JSON at all.</summary>
    private static Gen<string> Value =>
        Weighted(
            (6, JsonString(Gen.OneOf(EventLines.AnyText, Pick("totp", "US", "CN", "USD", "d1", "1.2.3.4", "::ffff:1.2.3.4", "transaction", "login", "limit", "unfreeze", "reversal", "report", "user", "card", "agent-7")))),
            (3, JsonString(Timestamp)),
            (3, Number),
            (2, Pick("true", "false", "null", "{}", "[]", "{\"a\":[1,{\"b\":null}]}", "[[[[\"x\"]]]]", "\"\\ud800\"", "\"\\udc00x\"", "\"a\\u0000b\"")),
            (1, Pick("NaN", "Infinity", "-Infinity", "tru", "01", "1.", ".5", "+1", "'x'", "\"open", "{", "[1,]", "\"\t\"", "0x10", "")));

    private static readonly string[] Known =
        ["id", "type", "at", "account", "amount", "currency", "country", "device", "residence", "counterpartyCountry", "ip",
         "authenticated", "success", "lat", "lon", "until", "by", "reason", "transaction", "event", "note", "channel", "cancel"];

    /// <summary>A property name: mostly the contract's, sometimes escaped, unknown, or one of a few repeated extras.</summary>
    private static Gen<string> Name =>
        Weighted(
            (8, Pick(Known).Select(n => $"\"{n}\"")),
            (2, JsonString(Pick(Known))),
            (2, Gen.Choose(0, 20).Select(i => $"\"x{i}\"")),
            (1, JsonString(EventLines.AnyText)),
            (1, Pick("\"\\ud800\"", "\"a\\udc00\"", "\"\"", "\"ID\"", "\"id \"")));

    /// <summary>Many fields of no interest, often repeated, some written with escapes.</summary>
    private static Gen<(string, string)> Unknown =>
        Gen.Zip(JsonString(Gen.Choose(0, 40).Select(i => $"u{i}")), Value);

    /// <summary>A contract-shaped event, then some extra properties anywhere in it (repeats, unknowns, wild values).</summary>
    private static Gen<byte[]> Edited =>
        from line in EventLines.EventLine
        from extras in Gen.Choose(0, 12).SelectMany(n => Gen.ArrayOf(Gen.Zip(Name, Value), n))
        from positions in Gen.ArrayOf(Gen.Choose(0, 1000), extras.Length)
        select Insert(line, extras, positions);

    private static byte[] Insert(byte[] line, (string Name, string Value)[] extras, int[] positions)
    {
        if (line.Length < 2 || line[0] != '{' || line[^1] != '}') return line;
        var members = new List<string>(SplitMembers(Encoding.UTF8.GetString(line[1..^1])));
        for (var i = 0; i < extras.Length; i++) members.Insert(positions[i] % (members.Count + 1), $"{extras[i].Name}:{extras[i].Value}");
        return Encoding.UTF8.GetBytes("{" + string.Join(",", members) + "}");
    }

    /// <summary>The members of a flat object generated by <see cref="EventLines"/> (no commas outside strings but these).</summary>
    private static IEnumerable<string> SplitMembers(string body)
    {
        var start = 0;
        var inString = false;
        for (var i = 0; i < body.Length; i++)
        {
            if (body[i] == '\\' && inString) i++;
            else if (body[i] == '"') inString = !inString;
            else if (body[i] == ',' && !inString)
            {
                yield return body[start..i];
                start = i + 1;
            }
        }
        if (start < body.Length) yield return body[start..];
    }

    /// <summary>Bytes changed, inserted or removed: a valid line broken in the ways producers break them.</summary>
    private static Gen<byte[]> Mutated =>
        from line in Gen.OneOf(EventLines.EventLine, Edited)
        from edits in Gen.Choose(1, 4).SelectMany(n => Gen.ArrayOf(Edit, n))
        select Mutate(line, edits);

    private static Gen<(int Kind, int At, byte Byte)> Edit =>
        from kind in Gen.Choose(0, 2) from at in Gen.Choose(0, 100_000) from b in Gen.Elements(Noise) select (kind, at, b);

    private static readonly byte[] Noise =
        [(byte)'"', (byte)'\\', (byte)'{', (byte)'}', (byte)'[', (byte)']', (byte)',', (byte)':', (byte)'0', (byte)'-', (byte)'e',
         (byte)'.', (byte)'u', (byte)'N', (byte)' ', 0x00, 0x09, 0x0A, 0x1F, 0x7F, 0x80, 0xBF, 0xC0, 0xC3, 0xE2, 0xED, 0xF0, 0xF5, 0xFF];

    private static byte[] Mutate(byte[] line, (int Kind, int At, byte Byte)[] edits)
    {
        var bytes = new List<byte>(line);
        foreach (var (kind, at, b) in edits)
        {
            var i = at % (bytes.Count + 1);
            if (kind == 0 || bytes.Count == 0) bytes.Insert(i, b);
            else if (i < bytes.Count && kind == 1) bytes[i] = b;
            else if (i < bytes.Count) bytes.RemoveAt(i);
        }
        return [.. bytes];
    }

    /// <summary>An event whose <c>at</c> or <c>until</c> is a generated timestamp.</summary>
    private static Gen<byte[]> Timed =>
        from time in JsonString(Timestamp)
        from limit in Gen.Elements(false, true)
        select Encoding.UTF8.GetBytes(limit
            ? $$"""{"type":"limit","id":"t1","at":"2026-11-27T10:00:00Z","account":"a","amount":5,"currency":"USD","until":{{time}}}"""
            : $$"""{"type":"login","id":"t1","at":{{time}},"account":"a","success":true,"device":"d","country":"US"}""");

    /// <summary>Lines the reader must refuse before any field: too deep, too long, not an object, nothing at all.</summary>
    private static Gen<byte[]> Odd =>
        Gen.OneOf(
            ArbMap.Default.GeneratorFor<byte[]>(),
            ArbMap.Default.GeneratorFor<string>().Select(s => Encoding.UTF8.GetBytes(s ?? "")),
            from depth in Gen.Choose(10, 20) from array in Gen.Elements(false, true) from close in Gen.Elements(false, true)
            let open = array ? "[" : "{\"n\":"
            let shut = array ? "]" : "}"
            select Encoding.UTF8.GetBytes($"{{\"id\":\"x\",\"n\":{string.Concat(Enumerable.Repeat(open, depth))}1{(close ? string.Concat(Enumerable.Repeat(shut, depth)) : "")}}}"),
            from size in Gen.Elements(EventParser.MaxEventBytes - 100, EventParser.MaxEventBytes - 1, EventParser.MaxEventBytes + 1)
            select Encoding.UTF8.GetBytes($$"""{"id":"big","type":"login","pad":"{{new string('p', size - 40)}}"}"""),
            Pick("", " ", "{}", "[]", "null", "42", "\"x\"", "{\"id\":\"x\"} {}", "{\"id\":\"x\"}\n", "\uFEFF{}", "{\"a\":1,}", "{,}").Select(Encoding.UTF8.GetBytes));

    private static Gen<byte[]> Crowded =>
        from line in EventLines.EventLine
        from extras in Gen.Choose(6, 30).SelectMany(n => Gen.ArrayOf(Unknown, n))
        from positions in Gen.ArrayOf(Gen.Choose(0, 1000), extras.Length)
        select Insert(line, extras, positions);

    private static Gen<byte[]> AnyLine =>
        Weighted((5, EventLines.EventLine), (5, Edited), (2, Crowded), (4, Mutated), (3, Timed), (1, Odd));

    [Fact]
    public void The_span_parser_decides_every_line_as_the_reference_parser_did()
    {
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        Prop.ForAll(AnyLine.ToArbitrary(), line =>
        {
            var outcome = AssertSame(line);
            seen[outcome] = seen.GetValueOrDefault(outcome) + 1;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(Cases).WithQuietOnSuccess(true));

        // The generator must reach every way of deciding a line, not only the common ones.
        var summary = string.Join(", ", seen.OrderByDescending(kv => kv.Value).Select(kv => $"{kv.Key}: {kv.Value}"));
        output.WriteLine(summary);
        foreach (var outcome in new[] { "event", "field error", "JSON error", "invalid UTF-8", "repeated field", "time format", "time range" })
            Assert.True(seen.GetValueOrDefault(outcome) > Cases / 500, $"too few '{outcome}' cases: {summary}");
        Assert.True(seen["event"] > Cases / 10, summary);
    }

    [Fact]
    public void Timestamps_on_and_around_every_boundary_are_read_as_before()
    {
        var lines = 0;
        foreach (var year in new[] { 0, 1, 4, 100, 1900, 1999, 2000, 2024, 2025, 2099, 2100, 9999 })
            for (var month = 0; month <= 13; month++)
                for (var day = 0; day <= 32; day++)
                    Check($"{year:D4}-{month:D2}-{day:D2}T12:00:00Z");
        for (var hour = 0; hour <= 25; hour++)
            foreach (var minute in new[] { 0, 59, 60 })
                foreach (var second in new[] { 0, 59, 60, 61 })
                    Check($"2026-11-27T{hour:D2}:{minute:D2}:{second:D2}Z");
        foreach (var sign in "+-")
            for (var hours = 0; hours <= 15; hours++)
                foreach (var minutes in new[] { 0, 1, 30, 59, 60, 99 })
                    foreach (var instant in new[] { "2026-11-27T10:00:00", "2000-01-01T00:00:00", "2099-12-31T23:59:59.9999999", "2099-12-31T23:59:59.99999999", "0001-01-01T00:00:00", "9999-12-31T23:59:59.999" })
                        Check($"{instant}{sign}{hours:D2}:{minutes:D2}");
        for (var digits = 1; digits <= 10; digits++)
            foreach (var d in "0159")
                Check($"2026-11-27T10:00:00.{new string(d, digits)}Z");
        foreach (var separator in new[] { "T", "t", " ", "_" })
            foreach (var zone in new[] { "Z", "z", "+01:00", "-00:00", "", "UTC", "+0100" })
                foreach (var tail in new[] { "", "\n", "\r\n", "\r", " ", "\t", "\n\n", " \n" })
                    Check($"2026-11-27{separator}10:00:00{zone}{tail}");
        Assert.True(lines > 7_000, $"{lines} lines");

        void Check(string time)
        {
            lines++;
            AssertSame(Encoding.UTF8.GetBytes($$"""{"type":"login","id":"t1","at":{{Quote(time, new bool[time.Length])}},"account":"a","success":true,"device":"d","country":"US"}"""));
        }
    }

    /// <summary>Parses <paramref name="line"/> with both parsers and fails, showing the line, unless they agree.</summary>
    private static string AssertSame(byte[] line)
    {
        var expected = ReferenceEventParser.Parse(line);
        var actual = EventParser.Parse(line);
        if (expected.Event is { } e)
        {
            if (actual.Event is not { } a || a.GetType() != e.GetType() || a.Canonical() != e.Canonical() || a.At.Offset != e.At.Offset || actual.Rejection is not null)
                throw new Xunit.Sdk.XunitException($"line {Show(line)}\nexpected {e}\nactual   {(object?)actual.Event ?? actual.Rejection}");
            return "event";
        }
        if (actual.Event is not null || actual.Rejection != expected.Rejection)
            throw new Xunit.Sdk.XunitException($"line {Show(line)}\nexpected {expected.Rejection}\nactual   {(object?)actual.Event ?? actual.Rejection}");
        var error = expected.Rejection!.Error;
        return error.Contains("appears more than once", StringComparison.Ordinal) ? "repeated field"
            : error.Contains("invalid UTF-8", StringComparison.Ordinal) ? "invalid UTF-8"
            : error.Contains("valid JSON", StringComparison.Ordinal) ? "JSON error"
            : error.Contains("RFC 3339", StringComparison.Ordinal) ? "time format"
            : error.Contains("accepted range", StringComparison.Ordinal) ? "time range"
            : "field error";
    }

    /// <summary>The line with every byte outside printable ASCII written as <c>\xHH</c>.</summary>
    private static string Show(byte[] line) =>
        string.Concat(line.Take(2000).Select(b => b is >= 0x20 and < 0x7F and not (byte)'\\' ? ((char)b).ToString() : $"\\x{b:X2}"));
}

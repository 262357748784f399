using System.Text;
using RiskEngine.Events;
using RiskEngine.Pipeline;

namespace RiskEngine.Tests.Events;

/// <summary>The contract's "Bounds" section: values the engine cannot decide safely are rejected at the edge.</summary>
public sealed class InputBoundsTests
{
    private const string Tx = """{"type":"transaction","id":"x1","at":"2026-11-27T10:00:00Z","account":"a","amount":100,"currency":"USD","country":"US","device":"d"}""";
    private const string Limit = """{"type":"limit","id":"l1","at":"2026-11-27T10:00:00Z","account":"a","amount":100,"currency":"USD","until":"2026-11-28T10:00:00Z","authenticated":"totp"}""";
    private const string Unfreeze = """{"type":"unfreeze","id":"u1","at":"2026-11-27T10:00:00Z","account":"a","by":"agent-7","reason":"verified by phone"}""";
    private const string Login = """{"type":"login","id":"g1","at":"2026-11-27T10:00:00Z","account":"a","success":false,"device":"d","country":"US","ip":"1.2.3.4"}""";

    private static string With(string json, string field, string rawValue) =>
        System.Text.RegularExpressions.Regex.Replace(json, $"\"{field}\":(\"[^\"]*\"|[^,}}]+)", $"\"{field}\":{rawValue}");

    private static ParsedEvent Parse(string json) => EventParser.Parse(Encoding.UTF8.GetBytes(json));

    [Theory]
    [InlineData(Tx, "at", "\"0001-01-01T00:00:00Z\"")]
    [InlineData(Tx, "at", "\"1999-12-31T23:59:59Z\"")]
    [InlineData(Tx, "at", "\"9999-12-31T23:59:59Z\"")]
    [InlineData(Tx, "at", "\"2100-01-01T00:00:00Z\"")]
    [InlineData(Tx, "at", "\"2099-12-31T23:00:00-01:00\"")]
    [InlineData(Limit, "until", "\"9999-12-31T00:00:00Z\"")]
    [InlineData(Tx, "amount", "79228162514264337593543950335")]
    [InlineData(Tx, "amount", "1000000000000000.01")]
    [InlineData(Tx, "amount", "5000.0000000000000000000000000001")]
    [InlineData(Tx, "amount", "0.00000000000000000000000000001")]
    [InlineData(Tx, "account", "\"a\\u200Bb\"")]
    [InlineData(Tx, "account", "\"admin\\u202Egnp.exe\"")]
    [InlineData(Tx, "device", "\"d\\uFEFF\"")]
    [InlineData(Unfreeze, "by", "\"agent\\u200D7\"")]
    public void Values_outside_the_bounds_are_rejected_on_their_field(string json, string field, string raw)
    {
        var parsed = Parse(With(json, field, raw));
        Assert.Null(parsed.Event);
        Assert.Equal(field, parsed.Rejection!.Field);
    }

    [Theory]
    [InlineData("at", "\"2000-01-01T00:00:00Z\"")]
    [InlineData("at", "\"2099-12-31T23:59:59.999Z\"")]
    [InlineData("amount", "1000000000000000")]
    [InlineData("amount", "1234567890.123456789012345678")]
    [InlineData("account", "\"\u7528\u6237-42\"")]
    public void Values_at_the_edge_of_the_bounds_are_accepted(string field, string raw) =>
        Assert.NotNull(Parse(With(Tx, field, raw)).Event);

    [Theory]
    [InlineData("::ffff:1.2.3.4", "1.2.3.4")]
    [InlineData("1.2.3.4", "1.2.3.4")]
    [InlineData("2001:DB8:0:0:0:0:0:1", "2001:db8::1")]
    [InlineData("fe80::1%2", "fe80::1")]
    public void Ip_addresses_are_held_in_one_canonical_spelling(string written, string canonical)
    {
        var login = Assert.IsType<LoginAttempt>(Parse(With(Login, "ip", $"\"{written}\"")).Event);
        Assert.Equal(canonical, login.Ip!.ToString());
    }

    [Fact]
    public void Unfreeze_fingerprints_do_not_collide_when_a_separator_moves_between_fields()
    {
        var a = Assert.IsType<SupportUnfreeze>(Parse(With(With(Unfreeze, "by", "\"agent|x\""), "reason", "\"y\"")).Event);
        var b = Assert.IsType<SupportUnfreeze>(Parse(With(With(Unfreeze, "by", "\"agent\""), "reason", "\"x|y\"")).Event);
        Assert.NotEqual(a.Canonical(), b.Canonical());
        Assert.NotEqual(a.Fingerprint(), b.Fingerprint());
    }

    [Fact]
    public void Transaction_fingerprints_do_not_collide_when_a_separator_moves_between_fields()
    {
        var a = Parse(With(With(Tx, "account", "\"a|1\""), "device", "\"d\"")).Event!;
        var b = Parse(With(With(Tx, "account", "\"a\""), "device", "\"1|d\"")).Event!;
        Assert.NotEqual(a.Fingerprint(), b.Fingerprint());
    }

    [Theory]
    [InlineData(Tx)]
    [InlineData(Limit)]
    [InlineData(Unfreeze)]
    [InlineData(Login)]
    [InlineData("""{"type":"login","id":"g2","at":"2026-11-27T10:00:00.1234567+08:00","account":"\u7528\u6237","success":true,"device":"d","country":"US","ip":"2001:db8::1","lat":-33.8688,"lon":151.2093,"authenticated":"totp"}""")]
    [InlineData("""{"type":"transaction","id":"x2","at":"2026-11-27T10:00:00Z","account":"a","amount":1234.50,"currency":"USD","country":"US","device":"d","residence":"CN","counterpartyCountry":"GB","ip":"::ffff:1.2.3.4"}""")]
    public void The_fingerprint_is_xxh128_of_the_canonical_text_so_stored_fingerprints_stay_valid(string json)
    {
        var e = Parse(json).Event!;
        var expected = Convert.ToBase64String(System.IO.Hashing.XxHash128.Hash(System.Runtime.InteropServices.MemoryMarshal.AsBytes(e.Canonical().AsSpan())));
        Assert.Equal(expected, e.Fingerprint());
        Assert.Equal(expected, e.Fingerprint()); // the per-thread hash was reset
    }

    [Theory]
    [InlineData("{\"type\":\"transaction\",\"id\":\"x\",\"account\":\"a\tb\"}", "tab")]
    [InlineData("{\"type\":\"transaction\",\"id\":\"x\",\"n\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}", "nested deeper than 16")]
    [InlineData("{\"type\":\"transaction\",\"id\":\"x\",\"amount\":NaN}", "NaN")]
    [InlineData("{\"type\":\"transaction\",\t\"id\":\"x\",\"amount\":NaN}", "NaN")]
    public void Json_errors_name_their_real_cause(string line, string cause)
    {
        var parsed = Parse(line);
        Assert.Null(parsed.Event);
        Assert.Contains(cause, parsed.Rejection!.Error, StringComparison.Ordinal);
        if (cause != "NaN") Assert.DoesNotContain("NaN", parsed.Rejection.Error, StringComparison.Ordinal);
        if (cause == "NaN")
        {
            Assert.DoesNotContain("control character", parsed.Rejection.Error, StringComparison.Ordinal);
            Assert.DoesNotContain("nested", parsed.Rejection.Error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_long_field_name_is_quoted_short_and_without_control_characters_in_errors()
    {
        var name = "x\\u0007" + new string('y', 5000);
        var parsed = Parse("{\"" + name + "\":1,\"" + name + "\":2}");
        Assert.Contains("appears more than once", parsed.Rejection!.Error, StringComparison.Ordinal);
        Assert.True(parsed.Rejection.Error.Length < 100, parsed.Rejection.Error.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.DoesNotContain('\u0007', parsed.Rejection.Error);
    }

    [Fact]
    public void Brackets_inside_strings_do_not_count_as_nesting()
    {
        var parsed = Parse("{\"note\":\"[[[[[[[[[[[[[[[[[[[[\",\"id\":\"x\" {}");
        Assert.Contains("not valid JSON", parsed.Rejection!.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("nested", parsed.Rejection.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_byte_order_mark_at_the_start_of_a_stream_is_skipped()
    {
        var bytes = Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes(Tx + "\n" + Tx.Replace("x1", "x2", StringComparison.Ordinal) + "\n")).ToArray();
        var reader = new JsonLinesReader(new MemoryStream(bytes), EventParser.MaxEventBytes);
        var first = await reader.ReadLineAsync();
        Assert.NotNull(EventParser.Parse(first!.Value.Bytes.Span).Event);
        Assert.Equal(bytes.Length, (await reader.ReadLineAsync())!.Value.EndOffset); // offsets still count the mark
    }
}

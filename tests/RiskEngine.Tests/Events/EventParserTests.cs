using System.Text;
using RiskEngine.Events;
using RiskEngine.Pipeline;

namespace RiskEngine.Tests.Events;

public sealed class EventParserTests
{
    private const string Tx = """{"type":"transaction","id":"x1","at":"2026-11-27T10:00:00Z","account":"a","amount":100,"currency":"USD","country":"US","device":"d"}""";

    private static string With(string json, string field, string rawValue) =>
        System.Text.RegularExpressions.Regex.Replace(json, $"\"{field}\":(\"[^\"]*\"|[^,}}]+)", $"\"{field}\":{rawValue}");

    private static string Without(string json, string field) =>
        System.Text.RegularExpressions.Regex.Replace(json, $",?\"{field}\":(\"[^\"]*\"|[^,}}]+)", "").Replace("{,", "{", StringComparison.Ordinal);

    [Fact]
    public void A_valid_transaction_parses_into_value_types()
    {
        var parsed = EventParser.Parse(Encoding.UTF8.GetBytes(Tx));
        var tx = Assert.IsType<TransactionAttempt>(parsed.Event);
        Assert.Equal(100m, tx.Amount.Amount);
        Assert.Equal("USD", tx.Amount.Currency.Value);
        Assert.Equal("US", tx.Origin.Value);
        Assert.Equal(new DateTimeOffset(2026, 11, 27, 10, 0, 0, TimeSpan.Zero), tx.At);
    }

    [Theory]
    [InlineData("amount", "\"100\"", "JSON number")]
    [InlineData("amount", "NaN", "NaN")]
    [InlineData("amount", "-5", "greater than 0")]
    [InlineData("amount", "0", "greater than 0")]
    [InlineData("amount", "1e400", "out of range")]
    [InlineData("currency", "\"usd\"", "upper-case")]
    [InlineData("currency", "\"US$\"", "upper-case")]
    [InlineData("currency", "\"AVERYLONGCOIN\"", "3 to 10")]
    [InlineData("country", "\"XX\"", "ISO 3166-1")]
    [InlineData("country", "\"USA\"", "ISO 3166-1")]
    [InlineData("country", "\"us\"", "ISO 3166-1")]
    [InlineData("at", "\"2026-11-27 10:00:00\"", "RFC 3339")]
    [InlineData("at", "\"2026-11-27T10:00:00\"", "RFC 3339")]
    [InlineData("at", "\"2026-13-45T10:00:00Z\"", "RFC 3339")]
    [InlineData("at", "\"2026-11-27T10:00:00Z\\n\"", "RFC 3339")]
    [InlineData("at", "1764237600", "string")]
    [InlineData("type", "\"refund\"", "not one of")]
    [InlineData("device", "\"\"", "non-empty")]
    [InlineData("account", "\"\"", "non-empty")]
    [InlineData("id", "\"\"", "non-empty")]
    [InlineData("id", "\"caf\u00e9\"", "printable ASCII")]
    public void Malformed_transaction_fields_are_rejected_naming_the_field(string field, string rawValue, string reason)
    {
        var parsed = EventParser.Parse(Encoding.UTF8.GetBytes(With(Tx, field, rawValue)));
        Assert.Null(parsed.Event);
        Assert.Equal(field, parsed.Rejection!.Field);
        Assert.Contains(reason, parsed.Rejection.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("id")]
    [InlineData("type")]
    [InlineData("at")]
    [InlineData("account")]
    [InlineData("amount")]
    [InlineData("currency")]
    [InlineData("country")]
    [InlineData("device")]
    public void Missing_required_fields_are_rejected_naming_the_field(string field)
    {
        var parsed = EventParser.Parse(Encoding.UTF8.GetBytes(Without(Tx, field)));
        Assert.Equal(field, parsed.Rejection!.Field);
        Assert.Contains("required", parsed.Rejection.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Over_long_ids_and_accounts_are_rejected()
    {
        Assert.Equal("id", EventParser.Parse(Encoding.UTF8.GetBytes(With(Tx, "id", $"\"{new string('x', 129)}\""))).Rejection!.Field);
        Assert.Equal("account", EventParser.Parse(Encoding.UTF8.GetBytes(With(Tx, "account", $"\"{new string('x', 129)}\""))).Rejection!.Field);
        Assert.NotNull(EventParser.Parse(Encoding.UTF8.GetBytes(With(Tx, "id", $"\"{new string('x', 128)}\""))).Event);
    }

    [Theory]
    [InlineData("""{"type":"transaction","id":"x1","at":"2026-11-27T10:00:00Z","account":"a","amount":1,"currency":"USD","country":"US","device":"d","residence":"QQ"}""", "residence")]
    [InlineData("""{"type":"transaction","id":"x1","at":"2026-11-27T10:00:00Z","account":"a","amount":1,"currency":"USD","country":"US","device":"d","counterpartyCountry":"EU"}""", "counterpartyCountry")]
    [InlineData("""{"type":"transaction","id":"x1","at":"2026-11-27T10:00:00Z","account":"a","amount":1,"currency":"USD","country":"US","device":"d","ip":"999.1.1.1"}""", "ip")]
    [InlineData("""{"type":"transaction","id":"x1","at":"2026-11-27T10:00:00Z","account":"a","amount":1,"currency":"USD","country":"US","device":"d","authenticated":"sms"}""", "authenticated")]
    [InlineData("""{"type":"transaction","id":"x1","at":"2026-11-27T10:00:00Z","account":"a","amount":1,"amount":2,"currency":"USD","country":"US","device":"d"}""", "amount")]
    [InlineData("""{"type":"login","id":"x1","at":"2026-11-27T10:00:00Z","account":"a","success":"yes","device":"d","country":"US"}""", "success")]
    [InlineData("""{"type":"login","id":"x1","at":"2026-11-27T10:00:00Z","account":"a","success":true,"device":"d","country":"US","lat":100,"lon":0}""", "lat")]
    [InlineData("""{"type":"login","id":"x1","at":"2026-11-27T10:00:00Z","account":"a","success":true,"device":"d","country":"US","lat":10}""", "lon")]
    [InlineData("""{"type":"limit","id":"x1","at":"2026-11-27T10:00:00Z","account":"a","currency":"USD","amount":5,"authenticated":"totp"}""", "until")]
    [InlineData("""{"type":"unfreeze","id":"x1","at":"2026-11-27T10:00:00Z","account":"a","reason":"ok"}""", "by")]
    [InlineData("""{"type":"unfreeze","id":"x1","at":"2026-11-27T10:00:00Z","account":"a","by":"agent"}""", "reason")]
    public void Malformed_optional_and_type_specific_fields_are_rejected_naming_the_field(string json, string field)
    {
        var parsed = EventParser.Parse(Encoding.UTF8.GetBytes(json));
        Assert.Null(parsed.Event);
        Assert.Equal(field, parsed.Rejection!.Field);
        Assert.Equal("x1", parsed.Rejection.EventId!.Value.Value);
    }

    [Theory]
    [InlineData("this line is not JSON")]
    [InlineData("[1,2,3]")]
    [InlineData("42")]
    [InlineData("""{"type":"transaction","id":"x1" """)]
    [InlineData("""{"id":"x1"} trailing""")]
    public void Lines_that_are_not_a_JSON_object_are_rejected_without_a_field(string line)
    {
        var parsed = EventParser.Parse(Encoding.UTF8.GetBytes(line));
        Assert.Null(parsed.Event);
        Assert.Null(parsed.Rejection!.Field);
        Assert.False(string.IsNullOrWhiteSpace(parsed.Rejection.Error));
    }

    [Fact]
    public void Unknown_fields_are_ignored_because_producers_may_add_fields()
    {
        var json = Tx.Replace("}", ""","label":"fraud","extra":{"nested":[1,2]}}""", StringComparison.Ordinal);
        Assert.NotNull(EventParser.Parse(Encoding.UTF8.GetBytes(json)).Event);
    }

    [Fact]
    public void The_same_payload_has_the_same_fingerprint_whatever_the_field_order()
    {
        var a = EventParser.Parse(Encoding.UTF8.GetBytes(Tx)).Event!;
        var b = EventParser.Parse(Encoding.UTF8.GetBytes("""{"currency":"USD","amount":100.00,"id":"x1","type":"transaction","account":"a","at":"2026-11-27T11:00:00+01:00","device":"d","country":"US"}""")).Event!;
        Assert.Equal(a.Fingerprint(), b.Fingerprint());
        Assert.NotEqual(a.Fingerprint(), EventParser.Parse(Encoding.UTF8.GetBytes(With(Tx, "amount", "101"))).Event!.Fingerprint());
    }

    [Fact]
    public async Task An_oversized_line_is_skipped_without_being_loaded_and_the_next_line_still_reads()
    {
        var big = new byte[10 * 1024 * 1024];
        Array.Fill(big, (byte)'x');
        using var stream = new MemoryStream([.. big, (byte)'\n', .. Encoding.UTF8.GetBytes(Tx), (byte)'\r', (byte)'\n', .. "{}"u8]);
        var reader = new JsonLinesReader(stream, EventParser.MaxEventBytes);

        var first = (await reader.ReadLineAsync())!.Value;
        Assert.True(first.IsOversized);
        Assert.Equal(big.Length, first.OversizedLength);
        var second = (await reader.ReadLineAsync())!.Value;
        Assert.Equal(2, second.Number);
        Assert.Equal(Tx, Encoding.UTF8.GetString(second.Bytes.Span));
        var third = (await reader.ReadLineAsync())!.Value;
        Assert.Equal("{}", Encoding.UTF8.GetString(third.Bytes.Span));
        Assert.Null(await reader.ReadLineAsync());
    }
}

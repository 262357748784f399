// The event parser as it was before the span-based rewrite (issue #11), kept verbatim apart from its name and
// namespace (and one bug fix, marked where it is), so DifferentialParserProperties can check that the new parser
// decides every line the same way. Do not otherwise "fix" or speed up this copy: it is the specification by example.
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using RiskEngine.Decisions;
using RiskEngine.Domain;
using RiskEngine.Events;

namespace RiskEngine.Tests.Events;

/// <summary>
/// Reads one contract event (a JSON object) into a validated <see cref="RiskEvent"/>, or a <see cref="Rejection"/>
/// that names the offending top-level field. Unknown fields are ignored (the contract lets producers add fields).
/// Policy-dependent checks (decimal places of an asset) happen in the engine.
/// </summary>
internal static partial class ReferenceEventParser
{
    /// <summary>Largest accepted event, in bytes (64 KiB).</summary>
    public const int MaxEventBytes = 64 * 1024;

    private const int MaxTextLength = 512;

    private const int MaxDepth = 16;

    // The one deliberate difference from the original: it ended in `$`, which also matches before a final line feed,
    // so "2026-11-27T10:00:00Z\n" was accepted (DateTimeOffset.TryParse ignored the line feed). The span parser
    // refuses it; `\z` makes this copy refuse it too.
    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})\z", RegexOptions.CultureInvariant)]
    private static partial Regex Rfc3339();

    /// <summary>Parses one event.</summary>
    public static ParsedEvent Parse(ReadOnlySpan<byte> json)
    {
        if (json.Length > MaxEventBytes)
            return Reject(null, null, $"the event is {json.Length} bytes; the limit is {MaxEventBytes}");

        var fields = new Fields();
        string? current = null;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = MaxDepth });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                return Reject(null, null, "the line is not a JSON object");
            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                current = reader.GetString()!;
                reader.Read();
                if (!fields.Add(current, ref reader))
                    return Reject(fields, current, $"{Printable(current)} appears more than once");
                current = null;
            }
            if (reader.Read()) return Reject(fields, null, "unexpected data after the JSON object");
        }
        catch (JsonException e)
        {
            var at = e.BytePositionInLine ?? 0;
            var why = JsonProblem(json, (int)Math.Min(at, json.Length));
            return current is null
                ? Reject(fields, null, $"the line is not valid JSON (byte {at + 1}){why}")
                : Reject(fields, current, $"{Printable(current)} is not a valid JSON value (byte {at + 1}){why}");
        }
        catch (InvalidOperationException)
        {
            return Reject(fields, current, "the line is not valid JSON (a string holds invalid UTF-8)");
        }
        return Build(fields);
    }

    // Fixed alike in both parsers: brackets inside strings and raw tabs between tokens no longer mislead the hint.
    /// <summary>Names the usual cause of a JSON error at <paramref name="at"/>, so the producer knows what to fix.</summary>
    private static string JsonProblem(ReadOnlySpan<byte> json, int at)
    {
        // Depth and "inside a string" as the reader saw them up to the error: brackets inside strings do not count.
        var depth = 0;
        var inString = false;
        for (var i = 0; i < at; i++)
        {
            var b = json[i];
            if (inString)
            {
                if (b == (byte)'\\') i++;
                else if (b == (byte)'"') inString = false;
            }
            else if (b == (byte)'"') inString = true;
            else if (b is (byte)'{' or (byte)'[') depth++;
            else if (b is (byte)'}' or (byte)']') depth--;
        }
        var rest = json[at..];
        if (!inString && !rest.IsEmpty && rest[0] is (byte)'{' or (byte)'[' && depth >= MaxDepth - 1) return $": nested deeper than {MaxDepth} levels";
        if (inString && !rest.IsEmpty && rest[0] < 0x20) return ": a raw control character (such as a tab) must be escaped inside a string, e.g. \\t";
        if (rest.StartsWith("NaN"u8) || rest.StartsWith("Infinity"u8) || rest.StartsWith("-Infinity"u8)) return ": NaN and Infinity are not JSON numbers";
        return "";
    }

    private static ParsedEvent Build(Fields f)
    {
        if (!f.TryString("id", out var idText, out var err)) return Reject(f, "id", err);
        if (!EventId.TryCreate(idText, out var id, out err)) return Reject(f, "id", err);
        if (!f.TryString("type", out var type, out err)) return Reject(f, "type", err);
        if (type is not ("transaction" or "login" or "limit" or "unfreeze" or "reversal" or "report"))
            return Reject(f, "type", $"type '{Printable(type)}' is not one of transaction, login, limit, unfreeze, reversal, report");
        if (!TryTime(f, "at", out var at, out err)) return Reject(f, "at", err);
        if (!f.TryString("account", out var accountText, out err)) return Reject(f, "account", err);
        if (!AccountId.TryCreate(accountText, out var account, out err)) return Reject(f, "account", err);

        return type switch
        {
            "transaction" => Transaction(f, id, at, account),
            "login" => Login(f, id, at, account),
            "limit" => Limit(f, id, at, account),
            "reversal" => Reversal(f, id, at, account),
            "report" => Report(f, id, at, account),
            _ => Unfreeze(f, id, at, account),
        };
    }

    private static ParsedEvent Transaction(Fields f, EventId id, DateTimeOffset at, AccountId account)
    {
        if (!TryMoney(f, out var money, out var field, out var err)) return Reject(f, field, err);
        if (!TryCountry(f, "country", required: true, out var origin, out err)) return Reject(f, "country", err);
        if (!TryDevice(f, out var device, out err)) return Reject(f, "device", err);
        if (!TryCountry(f, "residence", required: false, out var residence, out err)) return Reject(f, "residence", err);
        if (!TryCountry(f, "counterpartyCountry", required: false, out var counterparty, out err)) return Reject(f, "counterpartyCountry", err);
        if (!TryIp(f, out var ip, out err)) return Reject(f, "ip", err);
        if (!TryAuthenticated(f, out var totp, out err)) return Reject(f, "authenticated", err);
        string? channel = null;
        if (f.Has("channel"))
        {
            if (!f.TryString("channel", out var c, out err)) return Reject(f, "channel", err);
            if ((err = TextRules.CheckIdentifier(c, 32, "channel")) is not null) return Reject(f, "channel", err);
            channel = c;
        }
        return new ParsedEvent(new TransactionAttempt(id, at, account, money, origin!.Value, device)
        {
            Residence = residence,
            Counterparty = counterparty,
            Ip = ip,
            TotpVerified = totp,
            Channel = channel,
        }, null);
    }

    private static ParsedEvent Login(Fields f, EventId id, DateTimeOffset at, AccountId account)
    {
        if (!f.TryBool("success", out var success, out var err)) return Reject(f, "success", err);
        if (!TryDevice(f, out var device, out err)) return Reject(f, "device", err);
        if (!TryCountry(f, "country", required: true, out var country, out err)) return Reject(f, "country", err);
        if (!TryIp(f, out var ip, out err)) return Reject(f, "ip", err);
        if (!TryAuthenticated(f, out var totp, out err)) return Reject(f, "authenticated", err);
        GeoPoint? location = null;
        var hasLat = f.Has("lat");
        var hasLon = f.Has("lon");
        if (hasLat != hasLon) return Reject(f, hasLat ? "lon" : "lat", "lat and lon must be given together");
        if (hasLat)
        {
            if (!f.TryDouble("lat", -90, 90, out var lat, out err)) return Reject(f, "lat", err);
            if (!f.TryDouble("lon", -180, 180, out var lon, out err)) return Reject(f, "lon", err);
            location = new GeoPoint(lat, lon);
        }
        return new ParsedEvent(new LoginAttempt(id, at, account, success, device, country!.Value)
        {
            Ip = ip,
            Location = location,
            TotpVerified = totp,
        }, null);
    }

    private static ParsedEvent Limit(Fields f, EventId id, DateTimeOffset at, AccountId account)
    {
        if (f.Has("cancel"))
        {
            if (!f.TryBool("cancel", out var cancel, out var cerr)) return Reject(f, "cancel", cerr);
            if (cancel)
            {
                if (f.Has("amount")) return Reject(f, "amount", "amount must be absent when cancel is true");
                if (f.Has("until")) return Reject(f, "until", "until must be absent when cancel is true");
                if (!f.TryString("currency", out var text, out var e2)) return Reject(f, "currency", e2);
                if (!CurrencyCode.TryCreate(text, out var currency, out e2)) return Reject(f, "currency", e2);
                return new ParsedEvent(new LimitCancellation(id, at, account, currency), null);
            }
        }
        if (!TryMoney(f, out var money, out var field, out var err)) return Reject(f, field, err);
        if (!TryTime(f, "until", out var until, out err)) return Reject(f, "until", err);
        if (!TryAuthenticated(f, out var totp, out err)) return Reject(f, "authenticated", err);
        return new ParsedEvent(new LimitArrangement(id, at, account, money, until) { TotpVerified = totp }, null);
    }

    private static ParsedEvent Unfreeze(Fields f, EventId id, DateTimeOffset at, AccountId account)
    {
        if (!f.TryString("by", out var by, out var err)) return Reject(f, "by", err);
        if ((err = TextRules.CheckIdentifier(by, 128, "by")) is not null) return Reject(f, "by", err);
        if (!f.TryString("reason", out var reason, out err)) return Reject(f, "reason", err);
        if (reason.Length is 0 or > MaxTextLength) return Reject(f, "reason", $"reason must be 1 to {MaxTextLength} characters");
        return new ParsedEvent(new SupportUnfreeze(id, at, account, by, reason), null);
    }

    private static ParsedEvent Reversal(Fields f, EventId id, DateTimeOffset at, AccountId account)
    {
        if (!f.TryString("transaction", out var text, out var err)) return Reject(f, "transaction", err);
        if (!EventId.TryCreate(text, out var transaction, out err)) return Reject(f, "transaction", "transaction" + err[2..]);
        string? reason = null;
        if (f.Has("reason"))
        {
            if (!f.TryString("reason", out var r, out err)) return Reject(f, "reason", err);
            if (r.Length is 0 or > MaxTextLength) return Reject(f, "reason", $"reason must be 1 to {MaxTextLength} characters");
            reason = r;
        }
        return new ParsedEvent(new TransactionReversal(id, at, account, transaction) { Reason = reason }, null);
    }

    private static ParsedEvent Report(Fields f, EventId id, DateTimeOffset at, AccountId account)
    {
        if (!f.TryString("by", out var by, out var err)) return Reject(f, "by", err);
        if ((err = TextRules.CheckIdentifier(by, 128, "by")) is not null) return Reject(f, "by", err);
        EventId? reported = null;
        if (f.Has("event"))
        {
            if (!f.TryString("event", out var text, out err)) return Reject(f, "event", err);
            if (!EventId.TryCreate(text, out var e, out err)) return Reject(f, "event", "event" + err[2..]);
            reported = e;
        }
        string? note = null;
        if (f.Has("note"))
        {
            if (!f.TryString("note", out var n, out err)) return Reject(f, "note", err);
            if (n.Length is 0 or > MaxTextLength) return Reject(f, "note", $"note must be 1 to {MaxTextLength} characters");
            note = n;
        }
        return new ParsedEvent(new ActivityReport(id, at, account, by) { Event = reported, Note = note }, null);
    }

    private static bool TryTime(Fields f, string name, out DateTimeOffset value, out string error)
    {
        value = default;
        if (!f.TryString(name, out var text, out error)) return false;
        if (!Rfc3339().IsMatch(text) ||
            !DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out value))
        {
            error = $"{name} '{Printable(text)}' is not an RFC 3339 timestamp with offset, e.g. 2026-11-27T10:00:00Z";
            return false;
        }
        if (!EventBounds.InRange(value))
        {
            error = $"{name} '{Printable(text)}' is outside the accepted range [2000-01-01T00:00:00Z, 2100-01-01T00:00:00Z)";
            return false;
        }
        return true;
    }

    private static bool TryMoney(Fields f, out Money money, out string field, out string error)
    {
        money = default;
        field = "amount";
        if (!f.TryDecimal("amount", out var amount, out error)) return false;
        if (amount > EventBounds.MaxAmount) { error = $"amount must be at most {EventBounds.MaxAmount.ToString(CultureInfo.InvariantCulture)}"; return false; }
        field = "currency";
        if (!f.TryString("currency", out var currencyText, out error)) return false;
        if (!CurrencyCode.TryCreate(currencyText, out var currency, out var e)) { error = e; return false; }
        field = "amount";
        if (!Money.TryCreate(amount, currency, out money, out e)) { error = e; return false; }
        return true;
    }

    private static bool TryCountry(Fields f, string name, bool required, out CountryCode? value, out string error)
    {
        value = null;
        error = "";
        if (!required && !f.Has(name)) return true;
        if (!f.TryString(name, out var text, out error)) return false;
        if (!CountryCode.TryCreate(text, out var code, out var e)) { error = $"{name} {e}"; return false; }
        value = code;
        return true;
    }

    private static bool TryDevice(Fields f, out DeviceId device, out string error)
    {
        device = default;
        if (!f.TryString("device", out var text, out error)) return false;
        if (!DeviceId.TryCreate(text, out device, out var e)) { error = e; return false; }
        return true;
    }

    private static bool TryIp(Fields f, out IPAddress? ip, out string error)
    {
        ip = null;
        error = "";
        if (!f.Has("ip")) return true;
        if (!f.TryString("ip", out var text, out error)) return false;
        if (text.Length > 45 || !IPAddress.TryParse(text, out ip))
        {
            error = $"ip '{Printable(text)}' is not an IPv4 or IPv6 address";
            return false;
        }
        return true;
    }

    private static bool TryAuthenticated(Fields f, out bool totp, out string error)
    {
        totp = false;
        error = "";
        if (!f.Has("authenticated")) return true;
        if (!f.TryString("authenticated", out var text, out error)) return false;
        if (text != "totp") { error = $"authenticated must be \"totp\" when present, not '{Printable(text)}'"; return false; }
        totp = true;
        return true;
    }

    private static ParsedEvent Reject(Fields? f, string? field, string error)
    {
        EventId? id = f is not null && f.TryString("id", out var text, out _) && EventId.TryCreate(text, out var parsed, out _) ? parsed : null;
        return new ParsedEvent(null, new Rejection(id, field, error));
    }

    /// <summary>A value safe to quote in an error: at most 40 characters, control characters dropped.</summary>
    private static string Printable(string s) =>
        s.Length <= 40 && !s.Any(char.IsControl) ? s : new string(s.Take(40).Where(c => !char.IsControl(c)).ToArray()) + "…";

    /// <summary>Top-level fields as read, before validation.</summary>
    private sealed class Fields
    {
        private readonly Dictionary<string, (JsonTokenType Kind, string? Text, decimal? Number, double? Double, bool NumberOutOfRange)> _values = new(StringComparer.Ordinal);
        private readonly Dictionary<string, int> _digits = new(StringComparer.Ordinal);

        public bool Add(string name, ref Utf8JsonReader reader)
        {
            (JsonTokenType, string?, decimal?, double?, bool) value = reader.TokenType switch
            {
                JsonTokenType.String => (JsonTokenType.String, reader.GetString(), null, null, false),
                JsonTokenType.Number => reader.TryGetDecimal(out var d)
                    ? (JsonTokenType.Number, null, d, (double)d, false)
                    : (JsonTokenType.Number, null, null, reader.TryGetDouble(out var dbl) ? dbl : null, true),
                JsonTokenType.True or JsonTokenType.False or JsonTokenType.Null => (reader.TokenType, null, null, null, false),
                _ => (reader.TokenType, null, null, null, false),
            };
            if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray) reader.Skip();
            if (reader.TokenType == JsonTokenType.Number) _digits[name] = SignificantDigits(reader.ValueSpan);
            return _values.TryAdd(name, value);
        }

        /// <summary>Digits of a JSON number's mantissa from the first non-zero one (<c>0.0012</c> has 2, <c>1.50</c> has 3).</summary>
        private static int SignificantDigits(ReadOnlySpan<byte> number)
        {
            int count = 0;
            var started = false;
            foreach (var b in number)
            {
                if (b is (byte)'e' or (byte)'E') break;
                if (b is < (byte)'0' or > (byte)'9') continue;
                if (b != (byte)'0') started = true;
                if (started) count++;
            }
            return count;
        }

        public bool Has(string name) => _values.TryGetValue(name, out var v) && v.Kind != JsonTokenType.Null;

        public bool TryString(string name, out string value, out string error)
        {
            value = "";
            if (!_values.TryGetValue(name, out var v) || v.Kind == JsonTokenType.Null) { error = $"{name} is required"; return false; }
            if (v.Kind != JsonTokenType.String) { error = $"{name} must be a string"; return false; }
            value = v.Text!;
            error = "";
            return true;
        }

        public bool TryBool(string name, out bool value, out string error)
        {
            value = false;
            if (!_values.TryGetValue(name, out var v) || v.Kind == JsonTokenType.Null) { error = $"{name} is required"; return false; }
            if (v.Kind is not (JsonTokenType.True or JsonTokenType.False)) { error = $"{name} must be true or false"; return false; }
            value = v.Kind == JsonTokenType.True;
            error = "";
            return true;
        }

        public bool TryDecimal(string name, out decimal value, out string error)
        {
            value = 0;
            if (!_values.TryGetValue(name, out var v) || v.Kind == JsonTokenType.Null) { error = $"{name} is required"; return false; }
            if (v.Kind != JsonTokenType.Number) { error = $"{name} must be a JSON number"; return false; }
            if (v.NumberOutOfRange || v.Number is null) { error = $"{name} is out of range"; return false; }
            if (_digits.TryGetValue(name, out var digits) && digits > EventBounds.MaxSignificantDigits)
            {
                error = $"{name} has {digits} significant digits; at most {EventBounds.MaxSignificantDigits} are kept exactly, and an amount is never rounded";
                return false;
            }
            value = v.Number.Value;
            error = "";
            return true;
        }

        public bool TryDouble(string name, double min, double max, out double value, out string error)
        {
            value = 0;
            if (!_values.TryGetValue(name, out var v) || v.Kind != JsonTokenType.Number || v.Double is not { } d || !double.IsFinite(d))
            {
                error = $"{name} must be a number";
                return false;
            }
            if (d < min || d > max) { error = $"{name} must be between {min} and {max}"; return false; }
            value = d;
            error = "";
            return true;
        }
    }
}

using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using RiskEngine.Decisions;
using RiskEngine.Domain;

namespace RiskEngine.Events;

/// <summary>
/// Reads one contract event (a JSON object) into a validated <see cref="RiskEvent"/>, or a <see cref="Rejection"/>
/// that names the offending top-level field. Unknown fields are ignored (the contract lets producers add fields).
/// Policy-dependent checks (decimal places of an asset) happen in the engine.
/// </summary>
/// <remarks>
/// One pass over the top-level properties notes where each known field's value lies (<see cref="EventFields"/>);
/// values are then validated in a fixed order, so a line with several faults is always refused for the same one.
/// Only the strings the event keeps are allocated.
/// </remarks>
public static class EventParser
{
    /// <summary>Largest accepted event, in bytes (64 KiB).</summary>
    public const int MaxEventBytes = 64 * 1024;

    private const int MaxTextLength = 512;

    private const int MaxDepth = 16;

    /// <summary>Parses one event.</summary>
    public static ParsedEvent Parse(ReadOnlySpan<byte> json)
    {
        if (json.Length > MaxEventBytes)
            return Reject(null, null, $"the event is {json.Length} bytes; the limit is {MaxEventBytes}");

        var fields = new EventFields(json);
        PropertyName? current = null;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = MaxDepth });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                return Reject(null, null, "the line is not a JSON object");
            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                var name = PropertyName.Read(ref reader);
                current = name;
                reader.Read();
                if (!fields.Add(name, ref reader))
                {
                    var repeated = name.Text(json);
                    return Reject(IdOf(fields), repeated, $"{Printable(repeated)} appears more than once");
                }
                current = null;
            }
            if (reader.Read()) return Reject(IdOf(fields), null, "unexpected data after the JSON object");
        }
        catch (JsonException e)
        {
            var at = e.BytePositionInLine ?? 0;
            var why = JsonProblem(json, (int)Math.Min(at, json.Length));
            return current is not { } name
                ? Reject(IdOf(fields), null, $"the line is not valid JSON (byte {at + 1}){why}")
                : Reject(IdOf(fields), name.Text(json), $"{Printable(name.Text(json))} is not a valid JSON value (byte {at + 1}){why}");
        }
        catch (InvalidOperationException)
        {
            return Reject(IdOf(fields), current?.Text(json), "the line is not valid JSON (a string holds invalid UTF-8)");
        }
        return Build(fields);
    }

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

    private static ParsedEvent Build(in EventFields f)
    {
        if (!f.TryString(Field.Id, out var idText, out var err)) return Reject(null, "id", err);
        if (!EventId.TryCreate(idText, out var id, out err)) return Reject(null, "id", err);
        if (!f.TryUtf8(Field.Type, out var type, out err)) return Reject(id, "type", err);
        if (!type.SequenceEqual("transaction"u8) && !type.SequenceEqual("login"u8) && !type.SequenceEqual("limit"u8) && !type.SequenceEqual("unfreeze"u8)
            && !type.SequenceEqual("reversal"u8) && !type.SequenceEqual("report"u8))
            return Reject(id, "type", $"type '{Printable(f.Text(Field.Type))}' is not one of transaction, login, limit, unfreeze, reversal, report");
        if (!TryTime(f, Field.At, out var at, out err)) return Reject(id, "at", err);
        if (!f.TryString(Field.Account, out var accountText, out err)) return Reject(id, "account", err);
        if (!AccountId.TryCreate(accountText, out var account, out err)) return Reject(id, "account", err);

        if (type.SequenceEqual("transaction"u8)) return Transaction(f, id, at, account);
        if (type.SequenceEqual("login"u8)) return Login(f, id, at, account);
        if (type.SequenceEqual("limit"u8)) return Limit(f, id, at, account);
        if (type.SequenceEqual("reversal"u8)) return Reversal(f, id, at, account);
        if (type.SequenceEqual("report"u8)) return Report(f, id, at, account);
        return Unfreeze(f, id, at, account);
    }

    private static ParsedEvent Reversal(in EventFields f, EventId id, DateTimeOffset at, AccountId account)
    {
        if (!f.TryString(Field.Transaction, out var text, out var err)) return Reject(id, "transaction", err);
        if (!EventId.TryCreate(text, out var transaction, out err)) return Reject(id, "transaction", Named(err, "transaction"));
        if (!TryOptionalText(f, Field.Reason, out var reason, out err)) return Reject(id, "reason", err);
        return new ParsedEvent(new TransactionReversal(id, at, account, transaction) { Reason = reason }, null);
    }

    private static ParsedEvent Report(in EventFields f, EventId id, DateTimeOffset at, AccountId account)
    {
        if (!f.TryString(Field.By, out var by, out var err)) return Reject(id, "by", err);
        if ((err = TextRules.CheckIdentifier(by, 128, "by")) is not null) return Reject(id, "by", err);
        EventId? reported = null;
        if (f.Has(Field.Event))
        {
            if (!f.TryString(Field.Event, out var text, out err)) return Reject(id, "event", err);
            if (!EventId.TryCreate(text, out var e, out err)) return Reject(id, "event", Named(err, "event"));
            reported = e;
        }
        if (!TryOptionalText(f, Field.Note, out var note, out err)) return Reject(id, "note", err);
        return new ParsedEvent(new ActivityReport(id, at, account, by) { Event = reported, Note = note }, null);
    }

    /// <summary>An event-id error ("id must ...") told about another field that holds an event id.</summary>
    private static string Named(string idError, string field) => idError.StartsWith("id ", StringComparison.Ordinal) ? field + idError[2..] : idError;

    /// <summary>An optional free-text field: absent or null is fine; present, 1 to <see cref="MaxTextLength"/> characters.</summary>
    private static bool TryOptionalText(in EventFields f, Field field, out string? value, out string error)
    {
        value = null;
        error = "";
        if (!f.Has(field)) return true;
        if (!f.TryString(field, out var text, out error)) return false;
        var name = EventFields.Name(field);
        if (text.Length is 0 or > MaxTextLength)
        {
            error = $"{name} must be 1 to {MaxTextLength} characters";
            return false;
        }
        value = text;
        return true;
    }

    private static ParsedEvent Transaction(in EventFields f, EventId id, DateTimeOffset at, AccountId account)
    {
        if (!TryMoney(f, out var money, out var field, out var err)) return Reject(id, field, err);
        if (!TryCountry(f, Field.Country, required: true, out var origin, out err)) return Reject(id, "country", err);
        if (!TryDevice(f, out var device, out err)) return Reject(id, "device", err);
        if (!TryCountry(f, Field.Residence, required: false, out var residence, out err)) return Reject(id, "residence", err);
        if (!TryCountry(f, Field.CounterpartyCountry, required: false, out var counterparty, out err)) return Reject(id, "counterpartyCountry", err);
        if (!TryIp(f, out var ip, out err)) return Reject(id, "ip", err);
        if (!TryAuthenticated(f, out var totp, out err)) return Reject(id, "authenticated", err);
        string? channel = null;
        if (f.Has(Field.Channel))
        {
            if (!f.TryString(Field.Channel, out var c, out err)) return Reject(id, "channel", err);
            if ((err = TextRules.CheckIdentifier(c, 32, "channel")) is not null) return Reject(id, "channel", err);
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

    private static ParsedEvent Login(in EventFields f, EventId id, DateTimeOffset at, AccountId account)
    {
        if (!f.TryBool(Field.Success, out var success, out var err)) return Reject(id, "success", err);
        if (!TryDevice(f, out var device, out err)) return Reject(id, "device", err);
        if (!TryCountry(f, Field.Country, required: true, out var country, out err)) return Reject(id, "country", err);
        if (!TryIp(f, out var ip, out err)) return Reject(id, "ip", err);
        if (!TryAuthenticated(f, out var totp, out err)) return Reject(id, "authenticated", err);
        GeoPoint? location = null;
        var hasLat = f.Has(Field.Lat);
        var hasLon = f.Has(Field.Lon);
        if (hasLat != hasLon) return Reject(id, hasLat ? "lon" : "lat", "lat and lon must be given together");
        if (hasLat)
        {
            if (!f.TryDouble(Field.Lat, -90, 90, out var lat, out err)) return Reject(id, "lat", err);
            if (!f.TryDouble(Field.Lon, -180, 180, out var lon, out err)) return Reject(id, "lon", err);
            location = new GeoPoint(lat, lon);
        }
        return new ParsedEvent(new LoginAttempt(id, at, account, success, device, country!.Value)
        {
            Ip = ip,
            Location = location,
            TotpVerified = totp,
        }, null);
    }

    private static ParsedEvent Limit(in EventFields f, EventId id, DateTimeOffset at, AccountId account)
    {
        if (f.Has(Field.Cancel))
        {
            if (!f.TryBool(Field.Cancel, out var cancel, out var cerr)) return Reject(id, "cancel", cerr);
            if (cancel) return Cancellation(f, id, at, account);
        }
        if (!TryMoney(f, out var money, out var field, out var err)) return Reject(id, field, err);
        if (!TryTime(f, Field.Until, out var until, out err)) return Reject(id, "until", err);
        if (!TryAuthenticated(f, out var totp, out err)) return Reject(id, "authenticated", err);
        return new ParsedEvent(new LimitArrangement(id, at, account, money, until) { TotpVerified = totp }, null);
    }

    /// <summary>A <c>limit</c> with <c>cancel: true</c>: the currency only.</summary>
    private static ParsedEvent Cancellation(in EventFields f, EventId id, DateTimeOffset at, AccountId account)
    {
        if (f.Has(Field.Amount)) return Reject(id, "amount", "amount must be absent when cancel is true");
        if (f.Has(Field.Until)) return Reject(id, "until", "until must be absent when cancel is true");
        if (!f.TryString(Field.Currency, out var text, out var err)) return Reject(id, "currency", err);
        if (!CurrencyCode.TryCreate(text, out var currency, out err)) return Reject(id, "currency", err);
        return new ParsedEvent(new LimitCancellation(id, at, account, currency), null);
    }

    private static ParsedEvent Unfreeze(in EventFields f, EventId id, DateTimeOffset at, AccountId account)
    {
        if (!f.TryString(Field.By, out var by, out var err)) return Reject(id, "by", err);
        if ((err = TextRules.CheckIdentifier(by, 128, "by")) is not null) return Reject(id, "by", err);
        if (!f.TryString(Field.Reason, out var reason, out err)) return Reject(id, "reason", err);
        if (reason.Length is 0 or > MaxTextLength) return Reject(id, "reason", $"reason must be 1 to {MaxTextLength} characters");
        return new ParsedEvent(new SupportUnfreeze(id, at, account, by, reason), null);
    }

    private static bool TryTime(in EventFields f, Field field, out DateTimeOffset value, out string error)
    {
        value = default;
        if (!f.TryUtf8(field, out var text, out error)) return false;
        var name = EventFields.Name(field);
        if (!Rfc3339.TryParse(text, out value))
        {
            error = $"{name} '{Printable(f.Text(field))}' is not an RFC 3339 timestamp with offset, e.g. 2026-11-27T10:00:00Z";
            return false;
        }
        if (!EventBounds.InRange(value))
        {
            error = $"{name} '{Printable(f.Text(field))}' is outside the accepted range [2000-01-01T00:00:00Z, 2100-01-01T00:00:00Z)";
            return false;
        }
        return true;
    }

    private static bool TryMoney(in EventFields f, out Money money, out string field, out string error)
    {
        money = default;
        field = "amount";
        if (!f.TryDecimal(Field.Amount, out var amount, out error)) return false;
        if (amount > EventBounds.MaxAmount) { error = $"amount must be at most {EventBounds.MaxAmount.ToString(CultureInfo.InvariantCulture)}"; return false; }
        field = "currency";
        if (!f.TryString(Field.Currency, out var currencyText, out error)) return false;
        if (!CurrencyCode.TryCreate(currencyText, out var currency, out var e)) { error = e; return false; }
        field = "amount";
        if (!Money.TryCreate(amount, currency, out money, out e)) { error = e; return false; }
        return true;
    }

    private static bool TryCountry(in EventFields f, Field field, bool required, out CountryCode? value, out string error)
    {
        value = null;
        error = "";
        if (!required && !f.Has(field)) return true;
        if (!f.TryUtf8(field, out var utf8, out error)) return false;
        // Every assigned code is two ASCII letters: look those up without a string; anything else gets the domain
        // type's own error.
        Span<char> chars = stackalloc char[2];
        if (utf8.Length == 2 && utf8[0] < 0x80 && utf8[1] < 0x80)
        {
            chars[0] = (char)utf8[0];
            chars[1] = (char)utf8[1];
            if (CountryCode.TryFind(chars, out var code)) { value = code; return true; }
        }
        if (!CountryCode.TryCreate(f.Text(field), out var parsed, out var e)) { error = $"{EventFields.Name(field)} {e}"; return false; }
        value = parsed;
        return true;
    }

    private static bool TryDevice(in EventFields f, out DeviceId device, out string error)
    {
        device = default;
        if (!f.TryString(Field.Device, out var text, out error)) return false;
        if (!DeviceId.TryCreate(text, out device, out var e)) { error = e; return false; }
        return true;
    }

    private static bool TryIp(in EventFields f, out IPAddress? ip, out string error)
    {
        ip = null;
        error = "";
        if (!f.Has(Field.Ip)) return true;
        if (!f.TryUtf8(Field.Ip, out var utf8, out error)) return false;
        // No address is longer than 45 characters: a longer text fails to fit and is refused unread.
        Span<char> text = stackalloc char[45];
        if (!Encoding.UTF8.TryGetChars(utf8, text, out var length) || !IPAddress.TryParse(text[..length], out ip))
        {
            error = $"ip '{Printable(f.Text(Field.Ip))}' is not an IPv4 or IPv6 address";
            return false;
        }
        return true;
    }

    private static bool TryAuthenticated(in EventFields f, out bool totp, out string error)
    {
        totp = false;
        error = "";
        if (!f.Has(Field.Authenticated)) return true;
        if (!f.TryUtf8(Field.Authenticated, out var text, out error)) return false;
        if (!text.SequenceEqual("totp"u8)) { error = $"authenticated must be \"totp\" when present, not '{Printable(f.Text(Field.Authenticated))}'"; return false; }
        totp = true;
        return true;
    }

    /// <summary>The event id a rejection carries: the line's id when it was read and is valid, else none.</summary>
    private static EventId? IdOf(in EventFields f) =>
        f.TryString(Field.Id, out var text, out _) && EventId.TryCreate(text, out var id, out _) ? id : null;

    private static ParsedEvent Reject(EventId? id, string? field, string error) => new(null, new Rejection(id, field, error));

    /// <summary>A value safe to quote in an error: at most 40 characters, control characters dropped.</summary>
    private static string Printable(string s) =>
        s.Length <= 40 && !s.Any(char.IsControl) ? s : new string(s.Take(40).Where(c => !char.IsControl(c)).ToArray()) + "…";
}

/// <summary>The result of parsing one event: exactly one of the two is set.</summary>
public sealed record ParsedEvent(RiskEvent? Event, Rejection? Rejection);

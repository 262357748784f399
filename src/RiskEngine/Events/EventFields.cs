using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace RiskEngine.Events;

/// <summary>The top-level fields the parser reads. Any other field is skipped.</summary>
internal enum Field
{
    Id, Type, At, Account, Amount, Currency, Country, Device, Residence, CounterpartyCountry, Ip, Authenticated,
    Success, Lat, Lon, Until, By, Reason, Transaction, Event, Note, Channel, Cancel,
}

/// <summary>
/// Top-level fields as read, before validation: for each known field, where its value lies in the line and what kind
/// of token it is. Values are decoded only when asked for, so a field costs a string only if the event keeps it.
/// The <c>Try</c> accessors fail with the contract's texts: "X is required" when absent or null, "X must be ..."
/// when of another kind.
/// </summary>
internal ref struct EventFields(ReadOnlySpan<byte> line)
{
    private readonly ReadOnlySpan<byte> _line = line;
    private Slots _slots;
    private UnknownNames _unknown;

    /// <summary>The contract's name of <paramref name="field"/>.</summary>
    public static string Name(Field field) => field switch
    {
        Field.Id => "id", Field.Type => "type", Field.At => "at", Field.Account => "account", Field.Amount => "amount",
        Field.Currency => "currency", Field.Country => "country", Field.Device => "device", Field.Residence => "residence",
        Field.CounterpartyCountry => "counterpartyCountry", Field.Ip => "ip", Field.Authenticated => "authenticated",
        Field.Success => "success", Field.Lat => "lat", Field.Lon => "lon", Field.Until => "until", Field.By => "by",
        Field.Reason => "reason", Field.Transaction => "transaction", Field.Event => "event", Field.Note => "note", Field.Channel => "channel", Field.Cancel => "cancel",
        _ => throw new ArgumentOutOfRangeException(nameof(field)),
    };

    /// <summary>The field named by the (unescaped) UTF-8 <paramref name="name"/>, or null for a field of no interest.</summary>
    public static Field? Lookup(ReadOnlySpan<byte> name) => name.Length switch
    {
        2 => name.SequenceEqual("id"u8) ? Field.Id : name.SequenceEqual("at"u8) ? Field.At
            : name.SequenceEqual("ip"u8) ? Field.Ip : name.SequenceEqual("by"u8) ? Field.By : null,
        3 => name.SequenceEqual("lat"u8) ? Field.Lat : name.SequenceEqual("lon"u8) ? Field.Lon : null,
        4 => name.SequenceEqual("type"u8) ? Field.Type : name.SequenceEqual("note"u8) ? Field.Note : null,
        5 => name.SequenceEqual("until"u8) ? Field.Until : name.SequenceEqual("event"u8) ? Field.Event : null,
        6 => name.SequenceEqual("amount"u8) ? Field.Amount : name.SequenceEqual("device"u8) ? Field.Device
            : name.SequenceEqual("reason"u8) ? Field.Reason : name.SequenceEqual("cancel"u8) ? Field.Cancel : null,
        7 => name.SequenceEqual("account"u8) ? Field.Account : name.SequenceEqual("country"u8) ? Field.Country
            : name.SequenceEqual("success"u8) ? Field.Success : name.SequenceEqual("channel"u8) ? Field.Channel : null,
        8 => name.SequenceEqual("currency"u8) ? Field.Currency : null,
        9 => name.SequenceEqual("residence"u8) ? Field.Residence : null,
        11 => name.SequenceEqual("transaction"u8) ? Field.Transaction : null,
        13 => name.SequenceEqual("authenticated"u8) ? Field.Authenticated : null,
        19 => name.SequenceEqual("counterpartyCountry"u8) ? Field.CounterpartyCountry : null,
        _ => null,
    };

    /// <summary>
    /// Reads the value <paramref name="reader"/> is on (skipping an object or array) as the value of
    /// <paramref name="name"/>. False when the line already had a field of that name.
    /// </summary>
    public bool Add(PropertyName name, ref Utf8JsonReader reader)
    {
        // The value is read (a string checked, a container skipped) before a repeat is noticed, so a repeated field
        // whose value is broken is refused for the broken value, as it always was.
        var value = Slot.Read(ref reader);
        if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray) reader.Skip();
        if (name.Field is not { } field) return _unknown.Add(_line, name);
        ref var slot = ref _slots[(int)field];
        if (slot.Kind != JsonTokenType.None) return false;
        slot = value;
        return true;
    }

    public readonly bool Has(Field field) => _slots[(int)field].Kind is not (JsonTokenType.None or JsonTokenType.Null);

    /// <summary>A string field's value as UTF-8, without allocating unless the producer escaped it.</summary>
    public readonly bool TryUtf8(Field field, out ReadOnlySpan<byte> value, out string error)
    {
        value = default;
        if (!IsString(field, out error)) return false;
        var slot = _slots[(int)field];
        value = slot.Unescaped is { } text ? Encoding.UTF8.GetBytes(text) : _line[slot.Raw];
        return true;
    }

    /// <summary>A string field's value, for the strings an event keeps.</summary>
    public readonly bool TryString(Field field, out string value, out string error)
    {
        value = "";
        if (!IsString(field, out error)) return false;
        value = Text(field);
        return true;
    }

    /// <summary>The value of a field known to be a string: what an error message quotes.</summary>
    public readonly string Text(Field field)
    {
        var slot = _slots[(int)field];
        return slot.Unescaped ?? Encoding.UTF8.GetString(_line[slot.Raw]);
    }

    public readonly bool TryBool(Field field, out bool value, out string error)
    {
        value = false;
        var kind = _slots[(int)field].Kind;
        if (kind is JsonTokenType.None or JsonTokenType.Null) { error = $"{Name(field)} is required"; return false; }
        if (kind is not (JsonTokenType.True or JsonTokenType.False)) { error = $"{Name(field)} must be true or false"; return false; }
        value = kind == JsonTokenType.True;
        error = "";
        return true;
    }

    public readonly bool TryDecimal(Field field, out decimal value, out string error)
    {
        value = 0;
        var slot = _slots[(int)field];
        if (slot.Kind is JsonTokenType.None or JsonTokenType.Null) { error = $"{Name(field)} is required"; return false; }
        if (slot.Kind != JsonTokenType.Number) { error = $"{Name(field)} must be a JSON number"; return false; }
        if (!NumberAt(slot).TryGetDecimal(out var number)) { error = $"{Name(field)} is out of range"; return false; }
        var digits = SignificantDigits(_line[slot.Raw]);
        if (digits > EventBounds.MaxSignificantDigits)
        {
            error = $"{Name(field)} has {digits} significant digits; at most {EventBounds.MaxSignificantDigits} are kept exactly, and an amount is never rounded";
            return false;
        }
        value = number;
        error = "";
        return true;
    }

    public readonly bool TryDouble(Field field, double min, double max, out double value, out string error)
    {
        value = 0;
        var slot = _slots[(int)field];
        double? read = null;
        if (slot.Kind == JsonTokenType.Number)
        {
            // Through decimal first, as the parser always did: that can differ from reading a double directly in the
            // last bit, and a location is part of the event's fingerprint.
            var number = NumberAt(slot);
            read = number.TryGetDecimal(out var d) ? (double)d : number.TryGetDouble(out var dbl) ? dbl : null;
        }
        if (read is not { } r || !double.IsFinite(r)) { error = $"{Name(field)} must be a number"; return false; }
        if (r < min || r > max) { error = $"{Name(field)} must be between {min} and {max}"; return false; }
        value = r;
        error = "";
        return true;
    }

    private readonly bool IsString(Field field, out string error)
    {
        var kind = _slots[(int)field].Kind;
        error = kind is JsonTokenType.None or JsonTokenType.Null ? $"{Name(field)} is required"
            : kind != JsonTokenType.String ? $"{Name(field)} must be a string"
            : "";
        return kind == JsonTokenType.String;
    }

    /// <summary>A reader on the number token alone, so the framework's own number parsing reads it.</summary>
    private readonly Utf8JsonReader NumberAt(Slot slot)
    {
        var reader = new Utf8JsonReader(_line[slot.Raw]);
        reader.Read();
        return reader;
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

    /// <summary>Where one value lies: its token kind, and for a string or number its bytes in the line.</summary>
    private struct Slot
    {
        public JsonTokenType Kind;     // None: the field was absent
        public Range Raw;              // a string's bytes between the quotes, or a number's token
        public string? Unescaped;      // a string that held escapes, decoded once when read

        /// <summary>
        /// Records the value <paramref name="reader"/> is on. Strings are checked to decode as
        /// <see cref="Utf8JsonReader.GetString"/> would, failing as it does, whatever the field.
        /// </summary>
        public static Slot Read(ref Utf8JsonReader reader)
        {
            var slot = new Slot { Kind = reader.TokenType };
            var start = (int)reader.TokenStartIndex;
            switch (reader.TokenType)
            {
                case JsonTokenType.String:
                    slot.Raw = new Range(start + 1, start + 1 + reader.ValueSpan.Length); // after the opening quote
                    if (reader.ValueIsEscaped) slot.Unescaped = reader.GetString();
                    else if (!Utf8.IsValid(reader.ValueSpan)) throw PropertyName.InvalidUtf8();
                    break;
                case JsonTokenType.Number:
                    slot.Raw = new Range(start, start + reader.ValueSpan.Length);
                    break;
            }
            return slot;
        }
    }

    [InlineArray(23)] // one per Field
    private struct Slots
    {
        private Slot _first;
    }

    /// <summary>
    /// Names of fields of no interest, kept only to refuse a repeated one as a repeated known field is refused. The
    /// first few are compared in place; a line with more, or with escaped names, falls back to a set.
    /// </summary>
    private struct UnknownNames
    {
        private Ranges _seen;
        private int _count;
        private HashSet<string>? _many;

        public bool Add(ReadOnlySpan<byte> line, PropertyName name)
        {
            if (_many is null && name.Unescaped is null && _count < Ranges.Length)
            {
                var text = line[name.Raw];
                for (var i = 0; i < _count; i++)
                    if (line[_seen[i]].SequenceEqual(text)) return false;
                _seen[_count++] = name.Raw;
                return true;
            }
            if (_many is null)
            {
                _many = new HashSet<string>(StringComparer.Ordinal);
                for (var i = 0; i < _count; i++) _many.Add(Encoding.UTF8.GetString(line[_seen[i]]));
            }
            return _many.Add(name.Text(line));
        }

        [InlineArray(Length)]
        private struct Ranges
        {
            public const int Length = 8;
            private Range _first;
        }
    }
}

/// <summary>A top-level property name as read: the known field it names, if any, and where it lies in the line.</summary>
internal readonly struct PropertyName
{
    private PropertyName(Field? field, Range raw, string? unescaped)
    {
        Field = field;
        Raw = raw;
        Unescaped = unescaped;
    }

    public Field? Field { get; }

    /// <summary>The name's bytes between the quotes.</summary>
    public Range Raw { get; }

    /// <summary>The name, when it held escapes: decoded once when read.</summary>
    public string? Unescaped { get; }

    /// <summary>
    /// Reads the name <paramref name="reader"/> is on, failing as <see cref="Utf8JsonReader.GetString"/> would on one
    /// that does not decode.
    /// </summary>
    public static PropertyName Read(ref Utf8JsonReader reader)
    {
        var start = (int)reader.TokenStartIndex + 1; // after the opening quote
        var raw = new Range(start, start + reader.ValueSpan.Length);
        if (reader.ValueIsEscaped)
        {
            var text = reader.GetString()!;
            return new PropertyName(EventFields.Lookup(Encoding.UTF8.GetBytes(text)), raw, text);
        }
        if (!Utf8.IsValid(reader.ValueSpan)) throw InvalidUtf8();
        return new PropertyName(EventFields.Lookup(reader.ValueSpan), raw, null);
    }

    /// <summary>The name as text, for an error message.</summary>
    public string Text(ReadOnlySpan<byte> line) => Unescaped ?? Encoding.UTF8.GetString(line[Raw]);

    /// <summary>What <see cref="Utf8JsonReader.GetString"/> throws for invalid UTF-8.</summary>
    internal static InvalidOperationException InvalidUtf8() => new("Cannot transcode invalid UTF-8 JSON text to UTF-16 string.");
}

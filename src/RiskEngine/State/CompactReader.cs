using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;

namespace RiskEngine.State;

/// <summary>How a <see cref="CompactReader"/> refuses bytes that end early or make no sense.</summary>
internal enum CompactErrors : byte
{
    /// <summary><see cref="FormatException"/>, "account state …" (<see cref="AccountStateCodec"/>).</summary>
    AccountState,

    /// <summary><see cref="InvalidDataException"/>, "… stored row …" (the SQLite package's rows).</summary>
    StoredRow,
}

/// <summary>
/// Reads what <see cref="CompactWriter"/> wrote. Every read checks the bytes left first: truncated or malformed input
/// throws (as <see cref="CompactErrors"/> says), never reads past the end, and a count or length can never ask for
/// more than the bytes that remain.
/// </summary>
internal ref struct CompactReader(ReadOnlySpan<byte> bytes, CompactErrors errors)
{
    private readonly ReadOnlySpan<byte> _bytes = bytes;
    private readonly CompactErrors _errors = errors;

    /// <summary>Where the next read starts.</summary>
    public int Position { readonly get; set; }

    /// <summary>True when nothing is left.</summary>
    public readonly bool End => Position >= _bytes.Length;

    public byte Byte()
    {
        if ((uint)Position >= (uint)_bytes.Length) throw Error(Problem.Truncated);
        return _bytes[Position++];
    }

    public ulong UVar()
    {
        ulong v = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = Byte();
            v |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return v;
        }
        throw Error(Problem.Overlong);
    }

    public long SVar()
    {
        var v = UVar();
        return (long)(v >> 1) ^ -(long)(v & 1);
    }

    /// <summary>A count of bytes or of items that take at least a byte each: never more than the bytes left.</summary>
    public int Count()
    {
        var n = UVar();
        if (n > (ulong)(_bytes.Length - Position)) throw Error(Problem.Count);
        return (int)n;
    }

    /// <summary><paramref name="n"/> bytes as they are.</summary>
    public ReadOnlySpan<byte> Raw(int n)
    {
        if (n < 0 || n > _bytes.Length - Position) throw Error(Problem.Truncated);
        var span = _bytes.Slice(Position, n);
        Position += n;
        return span;
    }

    /// <summary>A byte string: its length, then the bytes.</summary>
    public ReadOnlySpan<byte> Bytes() => Raw(Count());

    /// <summary>A string, new each time.</summary>
    public string String() => Encoding.UTF8.GetString(Bytes());

    /// <summary>A string from <see cref="SharedStrings"/>: for short ones that recur (currencies, countries, codes).</summary>
    public string SharedString() => SharedStrings.Get(Bytes());

    public void SkipString() => Bytes();

    public double Double() => BinaryPrimitives.ReadDoubleLittleEndian(Raw(8));

    public decimal Decimal()
    {
        var flags = UVar();
        var low = UVar();
        var high = UVar();
        var scale = (byte)(flags & 0xFF);
        if (scale > 28 || high > uint.MaxValue) throw Error(Problem.Amount);
        return new decimal((int)(uint)low, (int)(uint)(low >> 32), (int)(uint)high, (flags & 0x8000) != 0, scale);
    }

    private enum Problem : byte
    {
        Truncated,
        Overlong,
        Count,
        Amount,
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private readonly Exception Error(Problem problem) => _errors switch
    {
        CompactErrors.AccountState => new FormatException(problem switch
        {
            Problem.Truncated => "account state is truncated",
            Problem.Overlong => "account state has an overlong number",
            Problem.Count => "account state has an impossible count",
            _ => "account state has an invalid amount",
        }),
        _ => new InvalidDataException(problem switch
        {
            Problem.Truncated => "a stored row ends early",
            Problem.Overlong => "malformed varint in a stored row",
            Problem.Count => "malformed count in a stored row",
            _ => "malformed amount in a stored row",
        }),
    };
}

/// <summary>
/// Short strings decoded again and again (currencies, countries, reason codes, devices) come from a small shared
/// table instead of a new string each time a state is read. Thread-safe: a slot holds one string, replaced whole.
/// </summary>
internal static class SharedStrings
{
    private const int Slots = 4096;
    private static readonly string?[] Table = new string?[Slots];

    public static string Get(ReadOnlySpan<byte> utf8)
    {
        if (utf8.IsEmpty) return "";
        if (utf8.Length > 24) return Encoding.UTF8.GetString(utf8);
        var slot = (int)(System.IO.Hashing.XxHash3.HashToUInt64(utf8) % Slots);
        var cached = Volatile.Read(ref Table[slot]);
        if (cached is not null && Matches(cached, utf8)) return cached;
        var s = Encoding.UTF8.GetString(utf8);
        Volatile.Write(ref Table[slot], s);
        return s;
    }

    private static bool Matches(string s, ReadOnlySpan<byte> utf8)
    {
        if (s.Length == utf8.Length)
        {
            var i = 0;
            for (; i < s.Length && s[i] < 0x80; i++) if (s[i] != utf8[i]) return false; // ASCII: byte for char
            if (i == s.Length) return true;
        }
        return Encoding.UTF8.GetByteCount(s) == utf8.Length && Encoding.UTF8.GetBytes(s).AsSpan().SequenceEqual(utf8);
    }
}

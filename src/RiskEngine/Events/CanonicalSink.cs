using System.Globalization;
using System.IO.Hashing;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using RiskEngine.Domain;

namespace RiskEngine.Events;

/// <summary>
/// Receives an event's canonical fields, each as <c>LENGTH:VALUE;</c> (<c>-;</c> when absent): as text for
/// <see cref="RiskEvent.Canonical"/>, or straight into the fingerprint's hash, so the two agree by construction and
/// the fingerprint costs no string. Not thread-safe; one per use (the hashing one is per thread).
/// </summary>
internal abstract class CanonicalSink
{
    /// <summary>Appends raw characters.</summary>
    protected abstract void Append(ReadOnlySpan<char> chars);

    public void Absent() => Append("-;");

    public void Field(ReadOnlySpan<char> value)
    {
        Span<char> length = stackalloc char[11];
        value.Length.TryFormat(length, out var n, default, CultureInfo.InvariantCulture);
        Append(length[..n]);
        Append(":");
        Append(value);
        Append(";");
    }

    public void Field(string? value)
    {
        if (value is null) Absent();
        else Field(value.AsSpan());
    }

    public void Field(long value)
    {
        Span<char> text = stackalloc char[24];
        value.TryFormat(text, out var n, default, CultureInfo.InvariantCulture);
        Field(text[..n]);
    }

    /// <summary>An amount without trailing zeros, so <c>100.00</c> and <c>100</c> are one payload.</summary>
    public void Amount(decimal value)
    {
        Span<char> text = stackalloc char[48];
        Money.Normalize(value).TryFormat(text, out var n, default, CultureInfo.InvariantCulture);
        Field(text[..n]);
    }

    public void Field(double? value)
    {
        if (value is not { } v)
        {
            Absent();
            return;
        }
        Span<char> text = stackalloc char[32];
        v.TryFormat(text, out var n, default, CultureInfo.InvariantCulture);
        Field(text[..n]);
    }

    public void Field(IPAddress? ip)
    {
        if (ip is null)
        {
            Absent();
            return;
        }
        Span<char> text = stackalloc char[64];
        ip.TryFormat(text, out var n);
        Field(text[..n]);
    }
}

/// <summary>Builds the canonical text.</summary>
internal sealed class CanonicalText : CanonicalSink
{
    private readonly StringBuilder _text = new(128);

    protected override void Append(ReadOnlySpan<char> chars) => _text.Append(chars);

    public override string ToString() => _text.ToString();
}

/// <summary>
/// Collects the canonical text's UTF-16 code units in a reused buffer and hashes them with XXH128 in one call (the
/// same hash as over the text; one call beats many small appends). One instance per thread, reset after each use.
/// </summary>
internal sealed class CanonicalHash : CanonicalSink
{
    [ThreadStatic] private static CanonicalHash? t_instance;
    private char[] _buffer = new char[256];
    private int _length;

    public static CanonicalHash Rent() => t_instance ??= new CanonicalHash();

    protected override void Append(ReadOnlySpan<char> chars)
    {
        if (_length + chars.Length > _buffer.Length) Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + chars.Length));
        chars.CopyTo(_buffer.AsSpan(_length));
        _length += chars.Length;
    }

    /// <summary>The hash of what was appended, Base64; the sink is ready for the next event.</summary>
    public string Finish()
    {
        Span<byte> hash = stackalloc byte[16];
        XxHash128.Hash(MemoryMarshal.AsBytes(_buffer.AsSpan(0, _length)), hash);
        _length = 0;
        return Convert.ToBase64String(hash);
    }
}

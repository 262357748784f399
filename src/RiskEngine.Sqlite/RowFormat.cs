using System.IO.Compression;
using System.Text;

namespace RiskEngine.Sqlite;

/// <summary>
/// A growable buffer for the binary rows the SQLite store appends (journal batches, decision records, IP windows):
/// varints (signed ones zig-zag), strings as UTF-8 with their length, byte strings with their length. Reused
/// between commits; not thread-safe.
/// </summary>
internal sealed class RowWriter
{
    private byte[] _buffer;

    public RowWriter(int capacity = 4096) => _buffer = new byte[capacity];

    public int Length { get; private set; }

    public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, Length);

    public void Reset() => Length = 0;

    public byte[] ToArray() => Written.ToArray();

    private Span<byte> Reserve(int n)
    {
        if (Length + n > _buffer.Length) Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, Length + n));
        return _buffer.AsSpan(Length, n);
    }

    public void Byte(byte b)
    {
        Reserve(1)[0] = b;
        Length++;
    }

    public void UVar(ulong v)
    {
        var span = Reserve(10);
        var n = 0;
        while (v >= 0x80)
        {
            span[n++] = (byte)(v | 0x80);
            v >>= 7;
        }
        span[n++] = (byte)v;
        Length += n;
    }

    public void SVar(long v) => UVar((ulong)((v << 1) ^ (v >> 63)));

    public void Raw(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(Reserve(bytes.Length));
        Length += bytes.Length;
    }

    public void Bytes(ReadOnlySpan<byte> bytes)
    {
        UVar((ulong)bytes.Length);
        Raw(bytes);
    }

    public void String(string s)
    {
        var max = Encoding.UTF8.GetMaxByteCount(s.Length);
        if (max <= 127)
        {
            // One length byte: encode in place after it.
            var span = Reserve(1 + max);
            var n = Encoding.UTF8.GetBytes(s, span[1..]);
            span[0] = (byte)n;
            Length += 1 + n;
            return;
        }
        var count = Encoding.UTF8.GetByteCount(s);
        UVar((ulong)count);
        Encoding.UTF8.GetBytes(s, Reserve(count));
        Length += count;
    }

}

/// <summary>Reads what <see cref="RowWriter"/> wrote. Throws <see cref="InvalidDataException"/> on a truncated or malformed row.</summary>
internal ref struct RowReader(ReadOnlySpan<byte> data)
{
    private readonly ReadOnlySpan<byte> _data = data;

    public int Position { get; set; }

    public readonly bool End => Position >= _data.Length;

    public byte Byte()
    {
        if (Position >= _data.Length) throw Truncated();
        return _data[Position++];
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
        throw new InvalidDataException("malformed varint in a stored row");
    }

    public long SVar()
    {
        var u = UVar();
        return (long)(u >> 1) ^ -(long)(u & 1);
    }

    public int Count()
    {
        var n = UVar();
        if (n > int.MaxValue) throw new InvalidDataException("malformed count in a stored row");
        return (int)n;
    }

    public ReadOnlySpan<byte> Raw(int n)
    {
        if (n < 0 || Position + n > _data.Length) throw Truncated();
        var span = _data.Slice(Position, n);
        Position += n;
        return span;
    }

    public ReadOnlySpan<byte> Bytes() => Raw(Count());

    public string String() => Encoding.UTF8.GetString(Bytes());

    public void SkipString() => Raw(Count());

    private static InvalidDataException Truncated() => new("a stored row ends early");
}

/// <summary>Brotli at its fastest setting for journal rows: the output records they carry are JSON and shrink ~8×.</summary>
internal static class RowCompression
{
    private const int Quality = 1;
    private const int Window = 22;

    /// <summary>Compresses <paramref name="source"/> into a new array: [original length: varint][Brotli stream].</summary>
    public static byte[] Compress(ReadOnlySpan<byte> source, RowWriter scratch)
    {
        scratch.Reset();
        scratch.UVar((ulong)source.Length);
        var header = scratch.Length;
        var bound = BrotliEncoder.GetMaxCompressedLength(source.Length);
        var result = new byte[header + bound];
        scratch.Written.CopyTo(result);
        if (!BrotliEncoder.TryCompress(source, result.AsSpan(header), out var written, Quality, Window))
            throw new InvalidOperationException("Brotli compression failed");
        Array.Resize(ref result, header + written);
        return result;
    }

    public static byte[] Decompress(ReadOnlySpan<byte> compressed)
    {
        var r = new RowReader(compressed);
        var length = r.Count();
        var result = new byte[length];
        if (!BrotliDecoder.TryDecompress(compressed[r.Position..], result, out var written) || written != length)
            throw new InvalidDataException("a compressed journal row does not decompress to its recorded length");
        return result;
    }
}

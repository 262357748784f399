using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace RiskEngine.State;

/// <summary>
/// The one binary encoding the stores write: account state (<see cref="AccountStateCodec"/>, in every store) and the
/// SQLite package's journal, decision and IP rows. Unsigned varints (7 bits a byte, low first, at most 10 bytes),
/// signed ones zig-zag; strings as UTF-8 after their byte length; byte strings after their length; doubles as 8 bytes
/// little-endian; decimals as three varints (sign and scale, low 64 bits, high 32 bits). <see cref="CompactReader"/>
/// reads it. Writes into any <see cref="IBufferWriter{T}"/>; holds nothing else, so copies are free. Not thread-safe.
/// </summary>
internal readonly struct CompactWriter
{
    private readonly IBufferWriter<byte> _output;

    public CompactWriter(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        _output = output;
    }

    public void Byte(byte b)
    {
        _output.GetSpan(1)[0] = b;
        _output.Advance(1);
    }

    public void UVar(ulong v)
    {
        var span = _output.GetSpan(10);
        var i = 0;
        while (v >= 0x80)
        {
            span[i++] = (byte)(v | 0x80);
            v >>= 7;
        }
        span[i++] = (byte)v;
        _output.Advance(i);
    }

    /// <summary>A signed varint, zig-zag: small negatives stay short.</summary>
    public void SVar(long v) => UVar((ulong)((v << 1) ^ (v >> 63)));

    /// <summary>Bytes as they are, without their length.</summary>
    public void Raw(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(_output.GetSpan(bytes.Length));
        _output.Advance(bytes.Length);
    }

    /// <summary>A byte string: its length, then the bytes.</summary>
    public void Bytes(ReadOnlySpan<byte> bytes)
    {
        UVar((ulong)bytes.Length);
        Raw(bytes);
    }

    /// <summary>A string: its UTF-8 length, then the UTF-8.</summary>
    public void String(string s)
    {
        var max = Encoding.UTF8.GetMaxByteCount(s.Length);
        if (max <= 127)
        {
            // One length byte whatever the text: encode in place after it, in one pass.
            var span = _output.GetSpan(1 + max);
            var n = Encoding.UTF8.GetBytes(s, span[1..]);
            span[0] = (byte)n;
            _output.Advance(1 + n);
            return;
        }
        var count = Encoding.UTF8.GetByteCount(s);
        UVar((ulong)count);
        Encoding.UTF8.GetBytes(s, _output.GetSpan(count));
        _output.Advance(count);
    }

    public void Double(double d)
    {
        BinaryPrimitives.WriteDoubleLittleEndian(_output.GetSpan(8), d);
        _output.Advance(8);
    }

    public void Decimal(decimal d)
    {
        Span<int> bits = stackalloc int[4];
        System.Decimal.GetBits(d, bits);
        UVar((ulong)(uint)bits[3] >> 16); // scale in bits 16..23, sign in bit 31
        UVar((uint)bits[0] | ((ulong)(uint)bits[1] << 32));
        UVar((uint)bits[2]);
    }
}

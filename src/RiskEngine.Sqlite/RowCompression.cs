using System.Buffers;
using System.IO.Compression;
using RiskEngine.State;

namespace RiskEngine.Sqlite;

/// <summary>Brotli at its fastest setting for journal rows: the output records they carry are JSON and shrink ~8×.</summary>
internal static class RowCompression
{
    private const int Quality = 1;
    private const int Window = 22;

    /// <summary>Compresses <paramref name="source"/> into a new array: [original length: varint][Brotli stream].</summary>
    public static byte[] Compress(ReadOnlySpan<byte> source, ArrayBufferWriter<byte> scratch)
    {
        scratch.ResetWrittenCount();
        new CompactWriter(scratch).UVar((ulong)source.Length);
        var header = scratch.WrittenCount;
        var bound = BrotliEncoder.GetMaxCompressedLength(source.Length);
        var result = new byte[header + bound];
        scratch.WrittenSpan.CopyTo(result);
        if (!BrotliEncoder.TryCompress(source, result.AsSpan(header), out var written, Quality, Window))
            throw new InvalidOperationException("Brotli compression failed");
        Array.Resize(ref result, header + written);
        return result;
    }

    public static byte[] Decompress(ReadOnlySpan<byte> compressed)
    {
        var r = new CompactReader(compressed, CompactErrors.StoredRow);
        var length = r.UVar(); // the length after decompression: more than the bytes here
        if (length > int.MaxValue) throw new InvalidDataException("malformed count in a stored row");
        var result = new byte[length];
        if (!BrotliDecoder.TryDecompress(compressed[r.Position..], result, out var written) || written != (int)length)
            throw new InvalidDataException("a compressed journal row does not decompress to its recorded length");
        return result;
    }
}

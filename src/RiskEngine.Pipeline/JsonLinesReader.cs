namespace RiskEngine.Pipeline;

/// <summary>One input line: its 1-based number and bytes (without the line break), or its length when it was too long to keep.</summary>
/// <param name="Number">1-based line number.</param>
/// <param name="Bytes">The line without its line break (empty when oversized).</param>
/// <param name="OversizedLength">The line's length when it was over the limit, else 0.</param>
/// <param name="EndOffset">Stream offset just after this line's line break: where to resume after it.</param>
public readonly record struct JsonLine(long Number, ReadOnlyMemory<byte> Bytes, long OversizedLength, long EndOffset = 0)
{
    /// <summary>True when the line was longer than the reader's limit; <see cref="Bytes"/> is then empty.</summary>
    public bool IsOversized => OversizedLength > 0;
}

/// <summary>
/// Splits a byte stream into lines without ever holding more than the limit plus one read buffer: an oversized line
/// is counted and skipped, not loaded (a 10 MB line costs no 10 MB allocation).
/// </summary>
public sealed class JsonLinesReader
{
    private readonly Stream _stream;
    private readonly int _maxLineBytes;
    private byte[] _buffer;
    private int _start;
    private int _end;
    private readonly Func<CancellationToken, ValueTask<bool>>? _waitForMore;
    private long _lineNumber;
    private long _offset; // stream offset of _buffer[_start]
    private bool _eof;
    private bool _atStreamStart; // a UTF-8 byte-order mark may precede the first line; it is not part of the event

    /// <summary>Reads from <paramref name="stream"/>; lines longer than <paramref name="maxLineBytes"/> are reported as oversized.</summary>
    /// <param name="stream">The input, positioned at <paramref name="startOffset"/>.</param>
    /// <param name="maxLineBytes">Longest line kept.</param>
    /// <param name="startOffset">Stream offset of the first byte to read (for resuming).</param>
    /// <param name="startLine">Number of lines before that offset.</param>
    /// <param name="waitForMore">
    /// When given, the end of the stream is not the end of the input (a followed file, like <c>tail -f</c>): the reader
    /// calls it and reads again; it returns false to end the input. A last line without a line break is held until
    /// its break arrives.
    /// </param>
    public JsonLinesReader(Stream stream, int maxLineBytes, long startOffset = 0, long startLine = 0, Func<CancellationToken, ValueTask<bool>>? waitForMore = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineBytes, 1);
        _stream = stream;
        _maxLineBytes = maxLineBytes;
        _buffer = new byte[Math.Max(4096, Math.Min(maxLineBytes + 2, 1 << 20))];
        _offset = startOffset;
        _lineNumber = startLine;
        _waitForMore = waitForMore;
        _atStreamStart = startOffset == 0;
    }

    /// <summary>Number of the last line returned.</summary>
    public long LineNumber => _lineNumber;

    /// <summary>The next line, or null at the end of the stream. The bytes stay valid until the next call.</summary>
    public async ValueTask<JsonLine?> ReadLineAsync(CancellationToken cancellationToken = default)
    {
        long skipped = 0;
        while (true)
        {
            var newline = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (newline >= 0)
            {
                var lineStart = _start;
                _start = newline + 1;
                _offset += _start - lineStart;
                _lineNumber++;
                if (skipped > 0) return new JsonLine(_lineNumber, ReadOnlyMemory<byte>.Empty, skipped + (newline - lineStart), _offset);
                var length = newline - lineStart;
                if (length > 0 && _buffer[newline - 1] == (byte)'\r') length--;
                SkipByteOrderMark(ref lineStart, ref length);
                if (length > _maxLineBytes) return new JsonLine(_lineNumber, ReadOnlyMemory<byte>.Empty, length, _offset);
                return new JsonLine(_lineNumber, new ReadOnlyMemory<byte>(_buffer, lineStart, length), 0, _offset);
            }
            if (_eof)
            {
                if (_end == _start && skipped == 0) return null;
                _lineNumber++;
                var length = _end - _start;
                var lineStart = _start;
                _start = _end;
                _offset += length;
                SkipByteOrderMark(ref lineStart, ref length);
                if (skipped > 0 || length > _maxLineBytes) return new JsonLine(_lineNumber, ReadOnlyMemory<byte>.Empty, skipped + length, _offset);
                return new JsonLine(_lineNumber, new ReadOnlyMemory<byte>(_buffer, lineStart, length), 0, _offset);
            }
            _atStreamStart &= skipped == 0;
            if (_end - _start > _maxLineBytes + 1)
            {
                // Too long already: drop what we hold and keep counting until the line ends.
                skipped += _end - _start;
                _offset += _end - _start;
                _start = _end = 0;
            }
            else if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            if (_end == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2);
            var read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
            if (read > 0) _end += read;
            else if (_waitForMore is null || !await _waitForMore(cancellationToken)) _eof = true;
        }
    }

    private void SkipByteOrderMark(ref int lineStart, ref int length)
    {
        if (!_atStreamStart) return;
        _atStreamStart = false;
        if (length >= 3 && _buffer.AsSpan(lineStart, 3).SequenceEqual("\uFEFF"u8))
        {
            lineStart += 3;
            length -= 3;
        }
    }
}

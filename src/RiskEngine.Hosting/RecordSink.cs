using RiskEngine.Security;
using RiskEngine.State;

namespace RiskEngine.Hosting;

/// <summary>
/// Where one output channel's records go. A file sink is exactly-once across crashes: on start it cuts the file
/// back to the length recorded with the last published sequence (dropping lines written but not yet recorded) and
/// the worker re-publishes the journal's unpublished records. Standard output cannot be cut back: at-least-once.
/// </summary>
internal sealed class RecordSink : IAsyncDisposable
{
    private readonly Stream _stream;
    private readonly bool _isFile;

    private RecordSink(Stream stream, bool isFile, OutputChannel channel, string name)
    {
        _stream = stream;
        _isFile = isFile;
        Channel = channel;
        Name = name;
    }

    public OutputChannel Channel { get; }

    public string Name { get; }

    public long Length => _isFile ? _stream.Length : 0;

    /// <summary>Opens the sink, cutting a file back to <paramref name="publishedLength"/> when it is longer.</summary>
    public static RecordSink Open(string path, OutputChannel channel, long publishedLength, Action<string> warn)
    {
        if (path == "-") return new RecordSink(Console.OpenStandardOutput(), false, channel, "stdout");
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        // A new output file is 0600 (decisions name accounts); an existing one keeps the mode its operator gave it.
        var stream = new FileStream(path, OwnerOnly.Options(FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, 1 << 16));
        if (stream.Length > publishedLength)
        {
            stream.SetLength(publishedLength);
        }
        else if (stream.Length < publishedLength)
        {
            warn($"{path} is shorter ({stream.Length} bytes) than what was published to it ({publishedLength} bytes); it was truncated or replaced outside RiskEngine. Appending from its end.");
        }
        stream.Seek(0, SeekOrigin.End);
        return new RecordSink(stream, true, channel, path);
    }

    /// <summary>Appends records, each followed by a line break, and makes them durable.</summary>
    public async ValueTask WriteAsync(IEnumerable<JournalRecord> records, CancellationToken ct)
    {
        foreach (var r in records)
        {
            await _stream.WriteAsync(r.Bytes, ct);
            _stream.WriteByte((byte)'\n');
        }
        if (_stream is FileStream fs)
        {
            await fs.FlushAsync(ct);
            fs.Flush(flushToDisk: true); // durable before the journal says it was published
        }
        else
        {
            await _stream.FlushAsync(ct);
        }
    }

    public ValueTask DisposeAsync() => _stream.DisposeAsync();
}

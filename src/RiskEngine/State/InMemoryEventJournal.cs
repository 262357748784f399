namespace RiskEngine.State;

/// <summary>
/// The journal of a worker with in-memory state (<see cref="InMemoryRiskStateStore"/> keeps one): nothing survives the
/// process, so nothing is written down. Thread-safe.
/// </summary>
public sealed class InMemoryEventJournal : IEventJournal
{
    private readonly Dictionary<string, JournalPosition> _positions = new(StringComparer.Ordinal);
    private readonly List<JournalRecord> _pending = [];
    private readonly Dictionary<OutputChannel, (long, long)> _published = [];
    private long _last;
    private readonly Lock _gate = new();

    /// <inheritdoc />
    public ValueTask<JournalPosition?> LoadPositionAsync(string source, CancellationToken cancellationToken = default)
    {
        lock (_gate) return ValueTask.FromResult(_positions.GetValueOrDefault(source));
    }

    /// <summary>Keeps a batch's records (until published) and position.</summary>
    public ValueTask AppendAsync(JournalEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var (records, position) = (entry.Records, entry.Position);
        lock (_gate)
        {
            _pending.AddRange(records);
            if (records.Count > 0) _last = Math.Max(_last, records[^1].Sequence);
            _positions[position.Source] = position;
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<long> LastSequenceAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate) return ValueTask.FromResult(_last);
    }

    /// <inheritdoc />
    public ValueTask<(long Sequence, long Length)> PublishedAsync(OutputChannel channel, CancellationToken cancellationToken = default)
    {
        lock (_gate) return ValueTask.FromResult(_published.GetValueOrDefault(channel));
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<JournalRecord>> UnpublishedAsync(OutputChannel channel, CancellationToken cancellationToken = default)
    {
        lock (_gate) return ValueTask.FromResult<IReadOnlyList<JournalRecord>>(_pending.Where(r => r.Channel == channel).ToArray());
    }

    /// <inheritdoc />
    public ValueTask MarkPublishedAsync(OutputChannel channel, long sequence, long length, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            _published[channel] = (sequence, length);
            _pending.RemoveAll(r => r.Channel == channel && r.Sequence <= sequence);
        }
        return ValueTask.CompletedTask;
    }
}

namespace RiskEngine.State;

/// <summary>
/// The journal of a worker with in-memory state (<see cref="InMemoryRiskStateStore"/> keeps one): nothing survives the
/// process, so nothing is written down. Each channel's unpublished records are a <see cref="RecordQueue"/>: cursor
/// reads and publishing cost what they touch, not the backlog. Thread-safe (one lock).
/// </summary>
public sealed class InMemoryEventJournal : IEventJournal
{
    private readonly Dictionary<string, JournalPosition> _positions = new(StringComparer.Ordinal);
    private readonly Dictionary<OutputChannel, RecordQueue> _pending = [];
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
            foreach (var r in records) Queue(r.Channel).Add(r);
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
        lock (_gate) return ValueTask.FromResult<IReadOnlyList<JournalRecord>>(Queue(channel).ToArray());
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<JournalRecord>> ReadAsync(OutputChannel channel, long afterSequence, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var page = new List<JournalRecord>(Math.Min(limit, 1024));
        lock (_gate) Queue(channel).Read(afterSequence, limit, page);
        return ValueTask.FromResult<IReadOnlyList<JournalRecord>>(page);
    }

    /// <inheritdoc />
    public ValueTask<long> CountAsync(OutputChannel channel, long afterSequence, CancellationToken cancellationToken = default)
    {
        lock (_gate) return ValueTask.FromResult((long)Queue(channel).CountAfter(afterSequence));
    }

    /// <inheritdoc />
    public ValueTask MarkPublishedAsync(OutputChannel channel, long sequence, long length, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            _published[channel] = (sequence, length);
            Queue(channel).RemoveThrough(sequence);
        }
        return ValueTask.CompletedTask;
    }

    private RecordQueue Queue(OutputChannel channel)
    {
        if (!_pending.TryGetValue(channel, out var queue)) _pending[channel] = queue = new RecordQueue();
        return queue;
    }
}

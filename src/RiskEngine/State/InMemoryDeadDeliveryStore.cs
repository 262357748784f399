namespace RiskEngine.State;

/// <summary>
/// Dead webhook deliveries in memory, for stores without a durable place for them (in-memory state, Redis): they last
/// as long as the process. Thread-safe (one lock).
/// </summary>
public sealed class InMemoryDeadDeliveryStore : IDeadDeliveryStore
{
    private readonly List<DeadDelivery> _entries = [];
    private readonly Lock _gate = new();

    /// <inheritdoc />
    public ValueTask<long> SaveAsync(DeadDelivery delivery, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        lock (_gate)
        {
            var at = _entries.FindIndex(e => e.Endpoint == delivery.Endpoint && e.DeliveryId == delivery.DeliveryId);
            if (at < 0)
            {
                var id = _entries.Count + 1L;
                _entries.Add(delivery with { Id = id });
                return ValueTask.FromResult(id);
            }
            var old = _entries[at];
            _entries[at] = delivery with { Id = old.Id, Body = old.Body, FirstAttempt = old.FirstAttempt };
            return ValueTask.FromResult(old.Id);
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<DeadDelivery>> ListAsync(long afterId, int limit, CancellationToken cancellationToken = default)
    {
        lock (_gate) return ValueTask.FromResult<IReadOnlyList<DeadDelivery>>(_entries.Where(e => e.Id > afterId).Take(limit).ToArray());
    }

    /// <inheritdoc />
    public ValueTask<DeadDelivery?> RequeueAsync(long id, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (id < 1 || id > _entries.Count) return ValueTask.FromResult<DeadDelivery?>(null);
            var entry = _entries[(int)id - 1];
            if (entry.State == DeadDeliveryState.Dead) _entries[(int)id - 1] = entry = entry with { State = DeadDeliveryState.Queued };
            return ValueTask.FromResult<DeadDelivery?>(entry);
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<DeadDelivery>> QueuedAsync(string endpoint, CancellationToken cancellationToken = default)
    {
        lock (_gate) return ValueTask.FromResult<IReadOnlyList<DeadDelivery>>(_entries.Where(e => e.Endpoint == endpoint && e.State == DeadDeliveryState.Queued).ToArray());
    }
}

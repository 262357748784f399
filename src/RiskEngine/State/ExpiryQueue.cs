namespace RiskEngine.State;

/// <summary>
/// Keys in order of when they expire, not of arrival: one key that expires late (a far-future event in a replay)
/// never holds up the keys behind it. Thread-safe. Asking for what has expired costs no lock while nothing has.
/// </summary>
internal sealed class ExpiryQueue
{
    private readonly PriorityQueue<string, long> _queue = new();
    private long _nextDue = long.MaxValue; // the earliest expiry queued, readable without the lock

    public void Add(string key, DateTimeOffset expires)
    {
        lock (_queue)
        {
            _queue.Enqueue(key, expires.UtcTicks);
            if (expires.UtcTicks < _nextDue) Volatile.Write(ref _nextDue, expires.UtcTicks);
        }
    }

    /// <summary>Takes the earliest key when it has expired by <paramref name="now"/>; null otherwise.</summary>
    public string? TakeExpired(DateTimeOffset now)
    {
        if (Volatile.Read(ref _nextDue) > now.UtcTicks) return null;
        lock (_queue)
        {
            if (!_queue.TryPeek(out _, out var due) || due > now.UtcTicks) return null;
            var key = _queue.Dequeue();
            Volatile.Write(ref _nextDue, _queue.TryPeek(out _, out var next) ? next : long.MaxValue);
            return key;
        }
    }
}

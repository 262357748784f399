using System.Collections.Concurrent;
using System.Threading.RateLimiting;

namespace RiskEngine.Server.Auth;

/// <summary>
/// One token bucket per API key name (<see cref="ServerOptions.PermitsPerSecond"/> tokens, refilled continuously),
/// shared by the two things that spend them: ASP.NET Core's rate-limiting middleware (one token per request, 429 when
/// none is left) and NDJSON streams (one token per line, waiting for the budget: backpressure, not failure). Also counts
/// each key's open streams against <see cref="ServerOptions.MaxStreamsPerKey"/>. Time comes from the host's
/// <see cref="TimeProvider"/>. Thread-safe.
/// </summary>
internal sealed class KeyRateLimits(ServerOptions options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, ClockTokenBucket> _buckets = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Counter> _streams = new(StringComparer.Ordinal);

    public int PermitsPerSecond { get; } = Math.Max(1, options.PermitsPerSecond);

    /// <summary>The bucket of key <paramref name="name"/>.</summary>
    public ClockTokenBucket For(string name) => _buckets.GetOrAdd(name, _ => new ClockTokenBucket(PermitsPerSecond, time));

    /// <summary>Opens a stream for key <paramref name="name"/>; null when the key has <see cref="ServerOptions.MaxStreamsPerKey"/> open already.</summary>
    public IDisposable? OpenStream(string name)
    {
        var count = _streams.GetOrAdd(name, static _ => new Counter());
        if (Interlocked.Increment(ref count.Value) > options.MaxStreamsPerKey)
        {
            Interlocked.Decrement(ref count.Value);
            return null;
        }
        return new StreamSlot(count);
    }

    private sealed class StreamSlot(Counter count) : IDisposable
    {
        private int _closed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _closed, 1) == 0) Interlocked.Decrement(ref count.Value);
        }
    }

    private sealed class Counter
    {
        public int Value;
    }
}

/// <summary>
/// A token bucket of <c>capacity</c> tokens refilled at <c>capacity</c> per second, read off a <see cref="TimeProvider"/>
/// (so tests move time, not wait for it). As a <see cref="RateLimiter"/> it never queues: a request either takes a
/// token or is refused with <see cref="MetadataName.RetryAfter"/>; <see cref="WaitAsync"/> waits for one instead.
/// Never idle, so the partitioned limiter keeps it for the key's lifetime. Thread-safe.
/// </summary>
internal sealed class ClockTokenBucket(int capacity, TimeProvider time) : RateLimiter
{
    private readonly Lock _gate = new();
    private double _tokens = capacity;
    private long _refilledAt = time.GetTimestamp();
    private long _granted;
    private long _refused;

    /// <inheritdoc />
    public override TimeSpan? IdleDuration => null;

    /// <inheritdoc />
    public override RateLimiterStatistics? GetStatistics()
    {
        lock (_gate)
        {
            Refill();
            return new RateLimiterStatistics { CurrentAvailablePermits = (long)_tokens, TotalSuccessfulLeases = _granted, TotalFailedLeases = _refused };
        }
    }

    /// <inheritdoc />
    protected override RateLimitLease AttemptAcquireCore(int permitCount) => TryTake(permitCount, out var wait) ? Lease.Granted : new Lease(wait);

    /// <inheritdoc />
    protected override ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken) =>
        ValueTask.FromResult(AttemptAcquireCore(permitCount)); // requests are refused, not queued: the caller retries after Retry-After

    /// <summary>Waits (on the bucket's clock) until a token is free and takes it.</summary>
    public async ValueTask WaitAsync(CancellationToken cancellationToken)
    {
        while (!TryTake(1, out var wait)) await Task.Delay(wait, time, cancellationToken);
    }

    private bool TryTake(int count, out TimeSpan wait)
    {
        lock (_gate)
        {
            Refill();
            if (_tokens >= count)
            {
                _tokens -= count;
                _granted++;
                wait = TimeSpan.Zero;
                return true;
            }
            _refused++;
            // The time until enough tokens have flowed back in, at least a millisecond.
            wait = TimeSpan.FromSeconds(Math.Max((count - _tokens) / capacity, 0.001));
            return false;
        }
    }

    private void Refill()
    {
        var now = time.GetTimestamp();
        var elapsed = (double)(now - _refilledAt) / time.TimestampFrequency;
        _refilledAt = now;
        if (elapsed > 0) _tokens = Math.Min(capacity, _tokens + elapsed * capacity);
    }

    private sealed class Lease(TimeSpan? retryAfter) : RateLimitLease
    {
        public static readonly Lease Granted = new(null);

        public override bool IsAcquired => retryAfter is null;

        public override IEnumerable<string> MetadataNames => retryAfter is null ? [] : [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            if (retryAfter is { } r && metadataName == MetadataName.RetryAfter.Name)
            {
                metadata = r;
                return true;
            }
            metadata = null;
            return false;
        }
    }
}

namespace RiskEngine.State;

/// <summary>
/// Webhook deliveries given up on (too many attempts, too old, or refused for good), kept for support to inspect and
/// replay: one entry per endpoint and delivery id. The SQLite store keeps them durably beside the journal; other
/// stores keep them in memory (<see cref="InMemoryDeadDeliveryStore"/>). Implementations are thread-safe.
/// </summary>
public interface IDeadDeliveryStore
{
    /// <summary>
    /// Writes <paramref name="delivery"/> as the entry of its endpoint and delivery id (inserted, or updated: attempts,
    /// last status, error and time, state; the first attempt time and the body stay). Returns the entry's id.
    /// </summary>
    ValueTask<long> SaveAsync(DeadDelivery delivery, CancellationToken cancellationToken = default);

    /// <summary>Entries with an id after <paramref name="afterId"/>, oldest first, at most <paramref name="limit"/>.</summary>
    ValueTask<IReadOnlyList<DeadDelivery>> ListAsync(long afterId, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Queues entry <paramref name="id"/> for delivery again if it is <see cref="DeadDeliveryState.Dead"/>; an entry
    /// already queued or delivered is left as it is (so asking twice queues once). The entry as it is now; null when unknown.
    /// </summary>
    ValueTask<DeadDelivery?> RequeueAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>The entries of <paramref name="endpoint"/> queued for delivery, oldest first.</summary>
    ValueTask<IReadOnlyList<DeadDelivery>> QueuedAsync(string endpoint, CancellationToken cancellationToken = default);
}

/// <summary>Where a dead delivery stands.</summary>
public enum DeadDeliveryState
{
    /// <summary>Given up on; waits for a replay.</summary>
    Dead = 0,

    /// <summary>Replay asked for: its endpoint's lane sends it again.</summary>
    Queued = 1,

    /// <summary>Replayed and taken by the endpoint.</summary>
    Delivered = 2,
}

/// <summary>One webhook delivery given up on.</summary>
/// <param name="Id">The entry's id (0 before it is saved).</param>
/// <param name="Endpoint">The endpoint's configured name (never its URL).</param>
/// <param name="DeliveryId">The delivery's <c>webhook-id</c>, the same when replayed.</param>
/// <param name="Type">The account event's type.</param>
/// <param name="Sequence">The outbox record's sequence number.</param>
/// <param name="Body">The account event as sent.</param>
/// <param name="Attempts">Attempts so far, replays included.</param>
/// <param name="LastStatus">The HTTP status of the last attempt, if it got an answer.</param>
/// <param name="LastError">What the last attempt came to (<c>HTTP 400</c>, a timeout, a socket error); never a URL path, query or secret.</param>
/// <param name="FirstAttempt">When the first attempt was made.</param>
/// <param name="LastAttempt">When the last attempt was made.</param>
/// <param name="State">Dead, queued for a replay, or delivered by one.</param>
public sealed record DeadDelivery(
    long Id,
    string Endpoint,
    string DeliveryId,
    string Type,
    long Sequence,
    byte[] Body,
    int Attempts,
    int? LastStatus,
    string? LastError,
    DateTimeOffset FirstAttempt,
    DateTimeOffset LastAttempt,
    DeadDeliveryState State);

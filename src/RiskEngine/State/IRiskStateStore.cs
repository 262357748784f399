using RiskEngine.Decisions;
using RiskEngine.Domain;

namespace RiskEngine.State;

/// <summary>
/// Where RiskEngine keeps account state and decided events. Implementations: in-memory (library default),
/// SQLite (durable) and Redis (shared). Concurrency is optimistic: a commit names the version it read, and loses
/// (<see cref="CommitStatus.Conflict"/>) when someone else committed first; the engine then re-reads and decides again.
/// </summary>
public interface IRiskStateStore
{
    /// <summary>
    /// The stored decision for an event id still inside its idempotency window, or null. The account is given so a
    /// distributed store can keep an account's records together (Redis: one cluster slot per account); such a store
    /// may only see ids decided for that account.
    /// </summary>
    ValueTask<StoredDecision?> FindDecisionAsync(AccountId account, EventId eventId, CancellationToken cancellationToken = default);

    /// <summary>The account's state and version (version 0 and empty state for an unknown account).</summary>
    ValueTask<AccountSnapshot> LoadAccountAsync(AccountId account, CancellationToken cancellationToken = default);

    /// <summary>
    /// What a decision reads first: the event's stored decision, if any, and the account's state. A remote store
    /// answers both in one round trip; the default asks for them in turn.
    /// </summary>
    async ValueTask<(StoredDecision? Stored, AccountSnapshot Snapshot)> LoadForDecisionAsync(AccountId account, EventId eventId, CancellationToken cancellationToken = default)
    {
        var stored = await FindDecisionAsync(account, eventId, cancellationToken);
        return stored is not null ? (stored, default) : (null, await LoadAccountAsync(account, cancellationToken));
    }

    /// <summary>Failed sign-ins from <paramref name="ip"/> in (<paramref name="since"/>, <paramref name="until"/>].</summary>
    ValueTask<int> CountIpFailuresAsync(string ip, DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken = default);

    /// <summary>Accounts frozen for <paramref name="reason"/> at or before <paramref name="frozenAtOrBefore"/>, at most <paramref name="max"/> (for cool-down timers).</summary>
    ValueTask<IReadOnlyList<AccountId>> ListFrozenAsync(string reason, DateTimeOffset frozenAtOrBefore, int max, CancellationToken cancellationToken = default);

    /// <summary>
    /// Atomically: checks the account version, stores the new state, records the decision under its event id
    /// (refusing an id already present; no record when the commit carries no decision, as for TOTP checks), and
    /// records an IP failure when there is one.
    /// </summary>
    ValueTask<CommitStatus> CommitAsync(AccountCommit commit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Begins a unit of work (see <see cref="IStateBatch"/>): the engine decides through one, and a host that owns
    /// one commits its decisions with its journal entry. The default goes straight to this store, commit by commit.
    /// </summary>
    ValueTask<IStateBatch> BeginBatchAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<IStateBatch>(new DirectStateBatch(this));
}

/// <summary>An account's state as read, with the version to name on commit.</summary>
public readonly record struct AccountSnapshot(AccountState State, long Version);

/// <summary>A decided event as stored for de-duplication.</summary>
/// <param name="Fingerprint">The event's canonical payload, to tell a re-delivery from a conflicting id.</param>
/// <param name="Decision">The decision as first made.</param>
public sealed record StoredDecision(string Fingerprint, Decision Decision);

/// <summary>Everything one decision writes.</summary>
/// <param name="Account">The account.</param>
/// <param name="ExpectedVersion">The version the decision was made from.</param>
/// <param name="State">The new state. The store takes ownership: once committed, the caller must not read or change it (the in-memory store reuses it).</param>
/// <param name="Fingerprint">The event's fingerprint (null with no decision).</param>
/// <param name="Decision">The decision, or null for a state change that decides no event (TOTP enrolment and checks).</param>
/// <param name="RememberUntil">When the decision may be forgotten by the engine's clock (the later of event time and now, plus the idempotency window).</param>
public sealed record AccountCommit(
    AccountId Account,
    long ExpectedVersion,
    AccountState State,
    string? Fingerprint,
    Decision? Decision,
    DateTimeOffset RememberUntil)
{
    /// <summary>A failed sign-in to count against this IP (null when none).</summary>
    public IpFailure? IpFailure { get; init; }

    /// <summary>
    /// The engine's clock when committing (default: not given). Stores forget other keys' expired records
    /// (idempotency, IP windows) by this clock, never by an event's own time, so no event can expire another
    /// account's records by claiming a late time.
    /// </summary>
    public DateTimeOffset Clock { get; init; }
}

/// <summary>A failed sign-in counted against an IP address across accounts.</summary>
/// <param name="Ip">The address in canonical form.</param>
/// <param name="At">The sign-in's time (windows count by it).</param>
/// <param name="Window">The throttle window: entries at or before <c>At − Window</c> of the same IP are pruned.</param>
/// <param name="ExpiresAt">When the entry may be forgotten by the engine's clock, whatever other IPs do.</param>
public sealed record IpFailure(string Ip, DateTimeOffset At, TimeSpan Window, DateTimeOffset ExpiresAt);

/// <summary>How a commit ended.</summary>
public enum CommitStatus
{
    /// <summary>Stored.</summary>
    Committed,

    /// <summary>The account changed since it was read; nothing was stored. Re-read and decide again.</summary>
    Conflict,

    /// <summary>The event id was decided meanwhile; nothing was stored. Return the stored decision.</summary>
    DuplicateEvent,
}

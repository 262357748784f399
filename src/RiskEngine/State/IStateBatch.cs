using RiskEngine.Domain;

namespace RiskEngine.State;

/// <summary>
/// A unit of work on a store, owned by whoever began it (<see cref="IRiskStateStore.BeginBatchAsync"/>): reads
/// through the batch see its own staged commits; <see cref="CommitAsync"/> makes them durable together, with the
/// host's journal entry when it passes one; disposing an uncommitted batch discards what it staged. Not thread-safe:
/// one caller at a time (the engine stages the distinct accounts of a wave concurrently, which batches allow).
/// </summary>
/// <remarks>
/// A durable store (SQLite) holds staged commits in memory and lets one batch write at a time: begin a batch before
/// taking any per-account lock, and never call into the store's own commits while holding one open, or they wait for
/// it. Stores without a write-ahead batch (in memory, Redis: each commit is atomic on its own) apply a staged commit
/// at once; discarding such a batch undoes nothing, and <see cref="CommitAsync"/> only writes the journal entry.
/// </remarks>
public interface IStateBatch : IAsyncDisposable
{
    /// <summary>The event's stored decision, if any, and the account's state, as this batch sees them.</summary>
    ValueTask<(StoredDecision? Stored, AccountSnapshot Snapshot)> LoadForDecisionAsync(AccountId account, EventId eventId, CancellationToken cancellationToken = default);

    /// <summary>The account's state and version as this batch sees it.</summary>
    ValueTask<AccountSnapshot> LoadAccountAsync(AccountId account, CancellationToken cancellationToken = default);

    /// <summary>Failed sign-ins from <paramref name="ip"/> in (<paramref name="since"/>, <paramref name="until"/>], staged ones included.</summary>
    ValueTask<int> CountIpFailuresAsync(string ip, DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken = default);

    /// <summary>
    /// Checks the account version and the event id (as <see cref="IRiskStateStore.CommitAsync"/> does) and stages the
    /// commit: later reads of this batch see it; it is durable once the batch commits.
    /// </summary>
    ValueTask<CommitStatus> StageAsync(AccountCommit commit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes everything staged, and <paramref name="journal"/> when given, atomically. Throws
    /// <see cref="StateStoreUnavailableException"/> when the store cannot be written (nothing was), and
    /// <see cref="NotSupportedException"/> for a journal entry on a store that keeps no journal.
    /// </summary>
    ValueTask CommitAsync(JournalEntry? journal = null, CancellationToken cancellationToken = default);
}

/// <summary>
/// The batch of a store whose commits are atomic one by one (in memory, Redis): reads and commits go straight to the
/// store. <paramref name="writeJournal"/> writes a host's journal entry, for stores that keep one.
/// </summary>
public sealed class DirectStateBatch(IRiskStateStore store, Func<JournalEntry, CancellationToken, ValueTask>? writeJournal = null) : IStateBatch
{
    /// <inheritdoc />
    public ValueTask<(StoredDecision? Stored, AccountSnapshot Snapshot)> LoadForDecisionAsync(AccountId account, EventId eventId, CancellationToken cancellationToken = default) =>
        store.LoadForDecisionAsync(account, eventId, cancellationToken);

    /// <inheritdoc />
    public ValueTask<AccountSnapshot> LoadAccountAsync(AccountId account, CancellationToken cancellationToken = default) =>
        store.LoadAccountAsync(account, cancellationToken);

    /// <inheritdoc />
    public ValueTask<int> CountIpFailuresAsync(string ip, DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken = default) =>
        store.CountIpFailuresAsync(ip, since, until, cancellationToken);

    /// <inheritdoc />
    public ValueTask<CommitStatus> StageAsync(AccountCommit commit, CancellationToken cancellationToken = default) =>
        store.CommitAsync(commit, cancellationToken);

    /// <inheritdoc />
    public ValueTask CommitAsync(JournalEntry? journal = null, CancellationToken cancellationToken = default)
    {
        if (journal is null) return ValueTask.CompletedTask;
        if (writeJournal is null) throw new NotSupportedException($"{store.GetType().Name} keeps no journal; a worker reading a file or standard input needs a store that does (memory or sqlite)");
        return writeJournal(journal, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

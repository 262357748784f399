namespace RiskEngine.Sqlite;

/// <summary>
/// When the SQLite store folds its journal into the <c>accounts</c> table (write-back), and when its background
/// checkpoint runs. The defaults suit the worker: a write-back rewrites the pages of every dirty account, so it pays
/// when it is rare, and memory holds the dirty accounts until then.
/// </summary>
public sealed record SqliteStoreOptions
{
    /// <summary>Write back after this many journal rows (batch commits) since the last write-back.</summary>
    public int WriteBackBatches { get; init; } = 4096;

    /// <summary>Write back once this many accounts are dirty (held in memory, newer than their row).</summary>
    public int WriteBackDirtyAccounts { get; init; } = 250_000;

    /// <summary>Write back once the journal rows since the last write-back hold this many bytes (as stored).</summary>
    public long WriteBackJournalBytes { get; init; } = 256L << 20;

    /// <summary>
    /// After a failed write-back (a full disk), how long to wait before the next one is tried; committed batches stay
    /// in the journal meanwhile and the store reports itself degraded (<see cref="SqliteRiskStateStore.Problem"/>).
    /// </summary>
    public TimeSpan WriteBackRetryInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Wake the background checkpoint after this many bytes were appended to the WAL.</summary>
    public long CheckpointBytes { get; init; } = 32L << 20;

    /// <summary>Compress journal rows (Brotli, fastest setting).</summary>
    public bool CompressJournal { get; init; } = true;
}

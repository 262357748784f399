using Microsoft.Data.Sqlite;
using RiskEngine.Domain;
using RiskEngine.Security;
using RiskEngine.State;

namespace RiskEngine.Sqlite;

/// <summary>
/// Durable state on one SQLite file (WAL mode), and the worker's journal in the same database so that state,
/// decisions, output records and input position commit in one transaction. A batch (<see cref="BeginBatchAsync"/>)
/// holds its commits in memory and writes them together, so durability costs one fsync per batch rather than per
/// event; one batch writes at a time, and a commit outside a batch is a batch of one. One process owns the file.
/// Thread-safe.
/// </summary>
/// <remarks>
/// <para>The write path appends and never updates in place. A batch commit inserts one <c>journal</c> row (the batch's
/// account states, IP failures, output records, input position and published marks, Brotli-compressed) and one
/// <c>decisions</c> row (its idempotency records), both at the end of their rowid B-trees: sequential pages and one
/// fsync (<c>synchronous=FULL</c>). Accounts are folded into the <c>accounts</c> table in key order by a periodic
/// write-back (<see cref="SqliteStoreOptions"/>, and on dispose), which then drops the journal rows it covers, the
/// decision rows whose records all expired, and rewrites the live IP windows as one row. Accounts newer than their
/// row stay in memory until then (never evicted while dirty).</para>
/// <para>Idempotency records, IP windows and positions are served from memory, rebuilt on open from the tables and the
/// journal rows after the last write-back, so a crash at any point loses nothing committed. Unpublished output records
/// are rows of <c>outbox</c>, one per record keyed by (channel, sequence), plus those committed since the last
/// write-back (held in memory, added as rows by the next one): cursor reads (<see cref="ReadAsync"/>) cost what they
/// return, and a write-back adds the new rows and deletes the published ones, never rewriting the backlog. The WAL
/// is checkpointed by a background connection, not on the commit path. Files of earlier versions (a row per decision
/// with three indexes, a row per IP failure, an outbox blob per channel) are migrated when opened.</para>
/// </remarks>
public sealed partial class SqliteRiskStateStore : IRiskStateStore, IEventJournal, IKeyRingCheckStore, IStoreHealth, IDisposable
{
    private const int SchemaVersion = 3;
    private const byte JournalFormat = 1;
    private const byte Compressed = 1;
    private const int MaxCleanAccounts = 200_000;

    private readonly SqliteConnection _db;
    private readonly SqliteStoreOptions _options;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _writer = new(1, 1); // one batch at a time: staged commits are checked against committed versions
    private readonly Checkpointer? _checkpointer;
    private SqliteTransaction? _tx;

    // Accounts: every dirty one (newer than its row), and clean ones read recently (dropped together past the bound).
    private readonly Dictionary<string, AccountEntry> _accounts = new(StringComparer.Ordinal);
    private int _dirty;
    private int _clean;

    // Idempotency records (into the decision rows held in memory) and IP windows; hidden once the engine's clock passed them.
    private readonly Dictionary<string, DecisionRef> _decisions = new(StringComparer.Ordinal);

    /// <summary>Each account's live decisions in commit order, the newest <see cref="MaxHistory"/>: support's history without a scan of every decision.</summary>
    private readonly Dictionary<string, List<DecisionRef>> _byAccount = new(StringComparer.Ordinal);

    /// <summary>Most decisions of one account the history can show (the API's largest <c>limit</c>).</summary>
    public const int MaxHistory = 1000;
    private readonly Dictionary<string, List<IpEntry>> _ips = new(StringComparer.Ordinal);
    private long _forgetClock; // the latest engine clock committed: records expired by it are gone

    // The journal's bookkeeping.
    private readonly Dictionary<string, JournalPosition> _positions = new(StringComparer.Ordinal);
    private readonly Dictionary<OutputChannel, (long Sequence, long Length)> _published = [];
    // Records committed since the last write-back and not yet published: the outbox rows' tail (the next write-back adds them).
    private readonly Dictionary<OutputChannel, RecordQueue> _unpublished = new() { [OutputChannel.Output] = [], [OutputChannel.DeadLetter] = [], [OutputChannel.Webhook] = [] };
    private long _lastSequence;
    private bool _publishedChanged;

    // Row ids and what the journal holds since the last write-back.
    private long _nextJournalId = 1, _nextDecisionsId = 1, _nextIpId = 1;
    private long _journalRows, _journalBytes, _walBytes;
    private bool _wrote; // this instance committed something: it writes back on dispose (a reader never does)
    private bool _disposed;

    // Row buffers (written through RiskEngine.State.CompactWriter), reused between commits.
    private readonly System.Buffers.ArrayBufferWriter<byte> _row = new(256 * 1024);
    private readonly System.Buffers.ArrayBufferWriter<byte> _scratch = new(256 * 1024);
    private readonly System.Buffers.ArrayBufferWriter<byte> _encoder = new(1024);

    /// <summary>Opens (creating if needed) the database at <paramref name="path"/>.</summary>
    public SqliteRiskStateStore(string path) : this(path, null)
    {
    }

    /// <summary>Opens (creating if needed) the database at <paramref name="path"/>, writing back and checkpointing as <paramref name="options"/> say.</summary>
    public SqliteRiskStateStore(string path, SqliteStoreOptions? options)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = path;
        _options = options ?? new SqliteStoreOptions();
        var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) OwnerOnly.CreateDirectory(dir);
        CreateOwnerOnly(path);
        var connection = new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString();
        _db = new SqliteConnection(connection);
        _db.Open();
        Exec("""
            PRAGMA journal_mode=WAL;
            PRAGMA synchronous=FULL;
            PRAGMA cache_size=-65536;
            PRAGMA temp_store=MEMORY;
            PRAGMA busy_timeout=5000;
            PRAGMA wal_autocheckpoint=0;
            PRAGMA journal_size_limit=67108864;
            CREATE TABLE IF NOT EXISTS accounts (account TEXT PRIMARY KEY, version INTEGER NOT NULL, state BLOB NOT NULL,
                frozen_reason TEXT, frozen_at INTEGER);
            CREATE INDEX IF NOT EXISTS accounts_frozen ON accounts(frozen_reason, frozen_at) WHERE frozen_reason IS NOT NULL;
            CREATE TABLE IF NOT EXISTS journal (id INTEGER PRIMARY KEY, batch BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS decisions (id INTEGER PRIMARY KEY, until INTEGER NOT NULL, records BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS ip_failures (id INTEGER PRIMARY KEY, entries BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS outbox (channel INTEGER NOT NULL, seq INTEGER NOT NULL, record BLOB NOT NULL, PRIMARY KEY (channel, seq));
            CREATE TABLE IF NOT EXISTS webhook_dead (id INTEGER PRIMARY KEY, endpoint TEXT NOT NULL, delivery TEXT NOT NULL, type TEXT NOT NULL,
                seq INTEGER NOT NULL, body BLOB NOT NULL, attempts INTEGER NOT NULL, status INTEGER, error TEXT, first_at INTEGER NOT NULL,
                last_at INTEGER NOT NULL, state INTEGER NOT NULL, UNIQUE (endpoint, delivery));
            CREATE TABLE IF NOT EXISTS published (channel INTEGER PRIMARY KEY, seq INTEGER NOT NULL, length INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS positions (source TEXT PRIMARY KEY, offset INTEGER NOT NULL, line INTEGER NOT NULL, completed INTEGER NOT NULL DEFAULT 0);
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS key_check (id INTEGER PRIMARY KEY CHECK (id = 1), envelope TEXT NOT NULL);
            """);
        Migrate();
        Load();
        // SQLite gives the -wal and -shm files the database's mode; these narrow ones an older version left behind.
        OwnerOnly.RestrictFile(path + "-wal");
        OwnerOnly.RestrictFile(path + "-shm");
        if (path != ":memory:" && !path.StartsWith("file:", StringComparison.Ordinal)) _checkpointer = new Checkpointer(connection);
    }

    /// <summary>
    /// Creates the database file 0600 before SQLite opens it (an empty file is an empty database), or narrows an
    /// existing one: it holds account states, decisions and encrypted TOTP secrets.
    /// </summary>
    private static void CreateOwnerOnly(string path)
    {
        if (path == ":memory:" || path.StartsWith("file:", StringComparison.Ordinal)) return;
        try
        {
            new FileStream(path, OwnerOnly.Options(FileMode.CreateNew, FileAccess.Write, FileShare.ReadWrite)).Dispose();
        }
        catch (IOException) when (File.Exists(path))
        {
            OwnerOnly.RestrictFile(path);
        }
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <summary>Idempotency records held (live by the engine's clock).</summary>
    public int DecisionCount
    {
        get
        {
            _gate.Wait();
            try
            {
                return _decisions.Values.Count(d => d.Until > _forgetClock);
            }
            finally
            {
                _gate.Release();
            }
        }
    }

    /// <inheritdoc />
    string IKeyRingCheckStore.Name => Path;

    /// <inheritdoc />
    public ValueTask<string?> LoadKeyCheckAsync(CancellationToken cancellationToken = default)
    {
        _gate.Wait(cancellationToken);
        try
        {
            using var cmd = Command("SELECT envelope FROM key_check WHERE id = 1");
            return ValueTask.FromResult(cmd.ExecuteScalar() as string);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public ValueTask SaveKeyCheckAsync(string envelope, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(envelope);
        _gate.Wait(cancellationToken);
        try
        {
            using var cmd = Command("INSERT OR IGNORE INTO key_check (id, envelope) VALUES (1, $e)", ("$e", envelope));
            cmd.ExecuteNonQuery();
            return ValueTask.CompletedTask;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    /// <remarks>Looks at the accounts held in memory, then scans the accounts table; run once per database, before it has a check value.</remarks>
    public ValueTask<string?> FindProtectedSecretAsync(CancellationToken cancellationToken = default)
    {
        _gate.Wait(cancellationToken);
        try
        {
            foreach (var entry in _accounts.Values)
            {
                if (entry.Dirty && entry.Decode().Totp is { } held) return ValueTask.FromResult<string?>(held.ProtectedSecret);
            }
            // JSON rows (earlier versions) are found by their field name; binary rows are read until one has a factor.
            using var cmd = Command("SELECT state FROM accounts WHERE instr(state, CAST('\"protectedSecret\"' AS BLOB)) > 0 OR substr(state, 1, 1) <> CAST('{' AS BLOB)");
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                if (AccountStateCodec.Decode((byte[])r[0]).Totp is { } totp) return ValueTask.FromResult<string?>(totp.ProtectedSecret);
            }
            return ValueTask.FromResult<string?>(null);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask<StoredDecision?> FindDecisionAsync(AccountId account, EventId eventId, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return LiveDecision(eventId.Value) is { } d ? DecisionRecords.Read(d) : null;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask<AccountSnapshot> LoadAccountAsync(AccountId account, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return Snapshot(account.Value, null);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask<int> CountIpFailuresAsync(string ip, DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return CountIp(ip, since.UtcTicks, until.UtcTicks);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<AccountId>> ListFrozenAsync(string reason, DateTimeOffset frozenAtOrBefore, int max, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var result = new List<AccountId>();
            var t = frozenAtOrBefore.UtcTicks;
            // Dirty accounts are newer than their rows: they answer for themselves, and their rows are skipped.
            foreach (var (key, entry) in _accounts)
            {
                if (result.Count >= max) return result;
                if (entry.Dirty && entry.FrozenReason == reason && entry.FrozenAt <= t) result.Add(AccountId.Create(key));
            }
            using var cmd = Command("SELECT account FROM accounts WHERE frozen_reason = $r AND frozen_at <= $t", ("$r", reason), ("$t", t));
            using var r = cmd.ExecuteReader();
            while (result.Count < max && r.Read())
            {
                var key = r.GetString(0);
                if (_accounts.TryGetValue(key, out var entry) && entry.Dirty) continue;
                result.Add(AccountId.Create(key));
            }
            return result;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    /// <remarks>A batch of one: it waits for an open batch to finish.</remarks>
    public async ValueTask<CommitStatus> CommitAsync(AccountCommit commit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(commit);
        await using var batch = await BeginBatchAsync(cancellationToken);
        var status = await batch.StageAsync(commit, cancellationToken);
        if (status == CommitStatus.Committed) await batch.CommitAsync(null, cancellationToken);
        return status;
    }

    /// <inheritdoc />
    /// <remarks>Waits until no other batch is open: staged commits are checked against committed versions only.</remarks>
    public async ValueTask<IStateBatch> BeginBatchAsync(CancellationToken cancellationToken = default)
    {
        await _writer.WaitAsync(cancellationToken);
        return new SqliteBatch(this);
    }

    /// <inheritdoc />
    public async ValueTask<JournalPosition?> LoadPositionAsync(string source, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return _positions.GetValueOrDefault(source);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask<long> LastSequenceAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return _lastSequence;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask<(long Sequence, long Length)> PublishedAsync(OutputChannel channel, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return _published.GetValueOrDefault(channel);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<JournalRecord>> UnpublishedAsync(OutputChannel channel, CancellationToken cancellationToken = default) =>
        ReadAsync(channel, 0, int.MaxValue, cancellationToken);

    /// <inheritdoc />
    /// <remarks>The outbox rows after the cursor (by their primary key), then the records committed since the last write-back.</remarks>
    public async ValueTask<IReadOnlyList<JournalRecord>> ReadAsync(OutputChannel channel, long afterSequence, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var after = Math.Max(afterSequence, _published.GetValueOrDefault(channel).Sequence);
            var page = new List<JournalRecord>(Math.Min(limit, 1024));
            using (var cmd = Command("SELECT seq, record FROM outbox WHERE channel = $c AND seq > $a ORDER BY seq LIMIT $n", ("$c", (int)channel), ("$a", after), ("$n", limit)))
            using (var r = cmd.ExecuteReader())
            {
                while (r.Read()) page.Add(new JournalRecord(r.GetInt64(0), channel, (byte[])r[1]));
            }
            if (page.Count > 0) after = page[^1].Sequence;
            if (page.Count < limit && _unpublished.TryGetValue(channel, out var tail)) tail.Read(after, limit - page.Count, page);
            return page;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask<long> CountAsync(OutputChannel channel, long afterSequence, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var after = Math.Max(afterSequence, _published.GetValueOrDefault(channel).Sequence);
            using var cmd = Command("SELECT COUNT(*) FROM outbox WHERE channel = $c AND seq > $a", ("$c", (int)channel), ("$a", after));
            var rows = (long)cmd.ExecuteScalar()!;
            return rows + (_unpublished.TryGetValue(channel, out var tail) ? tail.CountAfter(after) : 0);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Held in memory and written with the next batch's journal row (or the next write-back): a crash before then
    /// only makes the worker cut its sink back to the previous mark and publish the same records again.
    /// </remarks>
    public async ValueTask MarkPublishedAsync(OutputChannel channel, long sequence, long length, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            _published[channel] = (sequence, length);
            if (_unpublished.TryGetValue(channel, out var tail)) tail.RemoveThrough(sequence); // the rows go at the next write-back
            _publishedChanged = true;
            _wrote = true;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// The account's decisions still inside their idempotency window, newest first, at most <paramref name="limit"/>
    /// (and <see cref="MaxHistory"/>): read from the account's own index, so the work is bounded by what the account
    /// holds, not by every decision in the window, and the store's lock is awaited, not blocked on.
    /// </summary>
    public async ValueTask<IReadOnlyList<Decisions.Decision>> HistoryAsync(AccountId account, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (!_byAccount.TryGetValue(account.Value, out var refs)) return [];
            var found = new List<(long At, DecisionRef Ref)>(refs.Count);
            foreach (var d in refs)
            {
                if (d.Until > _forgetClock) found.Add((DecisionRecords.Head(d).AtTicks, d));
            }
            // Events of an account may arrive out of time order (up to 30 days): newest by time, not by commit.
            found.Sort(static (a, b) => b.At.CompareTo(a.At));
            var n = Math.Min(limit, found.Count);
            var history = new List<Decisions.Decision>(n);
            for (var i = 0; i < n; i++) history.Add(DecisionRecords.Read(found[i].Ref).Decision);
            return history;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Adds a committed (or loaded) decision to its account's index, forgetting the account's oldest past <see cref="MaxHistory"/>.</summary>
    private void IndexDecision(string account, DecisionRef d)
    {
        if (!_byAccount.TryGetValue(account, out var refs)) _byAccount[account] = refs = [];
        if (refs.Count >= MaxHistory) refs.RemoveRange(0, refs.Count - MaxHistory + 1);
        refs.Add(d);
    }

    /// <summary>Number of accounts stored.</summary>
    public long AccountCount()
    {
        _gate.Wait();
        try
        {
            long count;
            using (var cmd = Command("SELECT COUNT(*) FROM accounts")) count = (long)cmd.ExecuteScalar()!;
            foreach (var (key, entry) in _accounts)
            {
                if (!entry.Dirty) continue;
                entry.InTable ??= ReadAccount(key) is not null;
                if (entry.InTable == false) count++;
            }
            return count;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _gate.Wait();
        try
        {
            if (_wrote) WriteBackLocked();
        }
        finally
        {
            _checkpointer?.Dispose(); // before the last connection closes, which checkpoints and removes the WAL
            foreach (var c in _commands.Values) c.Dispose();
            _db.Dispose(); // the last connection to close checkpoints the WAL and removes it
            _gate.Release();
            _gate.Dispose();
            _writer.Dispose();
        }
    }

    /// <summary>An account held in memory: its encoded state, version, whether its row is behind, and (when it is) its freeze for the cool-down scan.</summary>
    private sealed class AccountEntry
    {
        public long Version;
        public byte[] State = [];
        public bool Dirty;
        public bool? InTable; // has a row (null: not known yet)
        public string? FrozenReason;
        public long FrozenAt;

        public AccountState Decode() => State.Length == 0 ? new AccountState() : AccountStateCodec.Decode(State);
    }

    private readonly record struct IpEntry(long At, long Expires);

    private sealed record PendingAccount(AccountState State, long Version);

    private sealed record PendingDecision(StoredDecision Stored, DateTimeOffset Until);

    private sealed record PendingIp(string Ip, long At, long PruneBefore, long Expires);
}

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
/// <para>Idempotency records, IP windows, positions and unpublished output are served from memory, rebuilt on open from
/// the tables and the journal rows after the last write-back, so a crash at any point loses nothing committed. The WAL
/// is checkpointed by a background connection, not on the commit path. Files of earlier versions (a row per decision
/// with three indexes, a row per IP failure) are migrated when opened.</para>
/// </remarks>
public sealed class SqliteRiskStateStore : IRiskStateStore, IEventJournal, IKeyRingCheckStore, IDisposable
{
    private const int SchemaVersion = 2;
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
    private readonly Dictionary<string, List<IpEntry>> _ips = new(StringComparer.Ordinal);
    private long _forgetClock; // the latest engine clock committed: records expired by it are gone

    // The journal's bookkeeping.
    private readonly Dictionary<string, JournalPosition> _positions = new(StringComparer.Ordinal);
    private readonly Dictionary<OutputChannel, (long Sequence, long Length)> _published = [];
    private readonly Dictionary<OutputChannel, List<JournalRecord>> _unpublished = new() { [OutputChannel.Output] = [], [OutputChannel.DeadLetter] = [] };
    private long _lastSequence;
    private bool _publishedChanged;

    // Row ids and what the journal holds since the last write-back.
    private long _nextJournalId = 1, _nextDecisionsId = 1, _nextIpId = 1;
    private long _journalRows, _journalBytes, _walBytes;
    private bool _wrote; // this instance committed something: it writes back on dispose (a reader never does)
    private bool _disposed;

    private readonly RowWriter _row = new(256 * 1024);
    private readonly RowWriter _scratch = new(256 * 1024);
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
            CREATE TABLE IF NOT EXISTS outbox (last_seq INTEGER NOT NULL, channel INTEGER NOT NULL, records BLOB NOT NULL, PRIMARY KEY (channel, last_seq));
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
    public async ValueTask<IReadOnlyList<JournalRecord>> UnpublishedAsync(OutputChannel channel, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return _unpublished.TryGetValue(channel, out var list) ? list.ToArray() : [];
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
            if (_unpublished.TryGetValue(channel, out var list)) list.RemoveAll(r => r.Sequence <= sequence);
            _publishedChanged = true;
            _wrote = true;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The account's decisions still inside their idempotency window, newest first (support's history view; scans the records held).</summary>
    public IReadOnlyList<Decisions.Decision> History(AccountId account, int limit)
    {
        _gate.Wait();
        try
        {
            var found = new List<(long At, DecisionRef Ref)>();
            foreach (var d in _decisions.Values)
            {
                if (d.Until <= _forgetClock) continue;
                var (owner, at) = DecisionRecords.Head(d);
                if (owner == account.Value) found.Add((at, d));
            }
            return found.OrderByDescending(f => f.At).Take(limit).Select(f => DecisionRecords.Read(f.Ref).Decision).ToList();
        }
        finally
        {
            _gate.Release();
        }
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

    // ---- memory ----

    private DecisionRef? LiveDecision(string id) =>
        _decisions.TryGetValue(id, out var d) && d.Until > _forgetClock ? d : null;

    private int CountIp(string ip, long since, long until)
    {
        if (!_ips.TryGetValue(ip, out var list)) return 0;
        var n = 0;
        foreach (var e in list)
        {
            if (e.At > since && e.At <= until && e.Expires > _forgetClock) n++;
        }
        return n;
    }

    /// <summary>As the rows of earlier versions did: the failure is added, then the IP's failures at or before <paramref name="pruneBefore"/> go.</summary>
    private void AddIp(string ip, long at, long pruneBefore, long expires)
    {
        if (!_ips.TryGetValue(ip, out var list)) _ips[ip] = list = [];
        var i = list.Count;
        while (i > 0 && list[i - 1].At > at) i--;
        list.Insert(i, new IpEntry(at, expires));
        var drop = 0; // the list is in time order: what the window drops is a prefix
        while (drop < list.Count && list[drop].At <= pruneBefore) drop++;
        list.RemoveRange(0, drop);
        if (list.Count == 0) _ips.Remove(ip);
    }

    /// <summary>A copy of the account's latest state (callers may change it) and its version.</summary>
    private AccountSnapshot Snapshot(string key, SqliteBatch? batch)
    {
        if (batch is not null && batch.Accounts.TryGetValue(key, out var held)) return new AccountSnapshot(held.State.Clone(), held.Version);
        return Entry(key) is { } entry ? new AccountSnapshot(entry.Decode(), entry.Version) : new AccountSnapshot(new AccountState(), 0);
    }

    private long CurrentVersion(string key, SqliteBatch? batch)
    {
        if (batch is not null && batch.Accounts.TryGetValue(key, out var held)) return held.Version;
        return Entry(key)?.Version ?? 0;
    }

    /// <summary>The account's committed state: held in memory, or read from its row (and then held, clean).</summary>
    private AccountEntry? Entry(string key)
    {
        if (_accounts.TryGetValue(key, out var entry)) return entry;
        if (ReadAccount(key) is not { } row) return null;
        if (_clean >= MaxCleanAccounts) DropClean();
        entry = new AccountEntry { Version = row.Version, State = row.State, InTable = true };
        _accounts[key] = entry;
        _clean++;
        return entry;
    }

    private void DropClean()
    {
        foreach (var (key, entry) in _accounts)
        {
            if (!entry.Dirty) _accounts.Remove(key);
        }
        _clean = 0;
    }

    private (long Version, byte[] State)? ReadAccount(string key)
    {
        using var cmd = Command("SELECT version, state FROM accounts WHERE account = $a", ("$a", key));
        using var r = cmd.ExecuteReader();
        return r.Read() ? (r.GetInt64(0), (byte[])r[1]) : null;
    }

    /// <summary>Holds a committed (or replayed) account state as dirty: newer than its row until the next write-back.</summary>
    private void HoldDirty(string key, long version, byte[] state, FreezeState? freeze)
    {
        if (!_accounts.TryGetValue(key, out var entry)) _accounts[key] = entry = new AccountEntry();
        else if (!entry.Dirty) _clean--;
        if (!entry.Dirty) _dirty++;
        entry.Dirty = true;
        entry.Version = version;
        entry.State = state;
        (entry.FrozenReason, entry.FrozenAt) = freeze is null ? (null, 0) : (freeze.Reason, freeze.At.UtcTicks);
    }

    // ---- the commit path ----

    /// <summary>Appends a batch: one journal row and one decisions row in one transaction, then applies it to memory.</summary>
    private void Append(SqliteBatch batch, JournalEntry? journal)
    {
        if (batch.Accounts.Count == 0 && journal is null && !_publishedChanged) return; // nothing to make durable
        // The journal row: [format][flags][body], the body Brotli-compressed when the options say so.
        var w = _row;
        w.Reset();
        w.SVar(batch.Now);
        if (journal is not null)
        {
            w.UVar(1);
            var p = journal.Position;
            w.String(p.Source);
            w.SVar(p.Offset);
            w.SVar(p.Line);
            w.Byte(p.Completed ? (byte)1 : (byte)0);
        }
        else
        {
            w.UVar(0);
        }
        var records = journal?.Records ?? [];
        var lastSequence = records.Count > 0 ? Math.Max(_lastSequence, records[^1].Sequence) : _lastSequence;
        w.SVar(lastSequence);
        if (_publishedChanged)
        {
            w.UVar((ulong)_published.Count);
            foreach (var (channel, (seq, length)) in _published)
            {
                w.Byte((byte)channel);
                w.SVar(seq);
                w.SVar(length);
            }
        }
        else
        {
            w.UVar(0);
        }
        var states = new (string Key, PendingAccount Account, byte[] Encoded)[batch.Accounts.Count];
        var n = 0;
        w.UVar((ulong)batch.Accounts.Count);
        foreach (var (key, account) in batch.Accounts)
        {
            _encoder.ResetWrittenCount();
            AccountStateCodec.Encode(account.State, _encoder);
            var encoded = _encoder.WrittenSpan.ToArray();
            states[n++] = (key, account, encoded);
            w.String(key);
            w.SVar(account.Version);
            w.Bytes(encoded);
        }
        w.UVar((ulong)batch.IpFailures.Count);
        foreach (var ip in batch.IpFailures)
        {
            w.String(ip.Ip);
            w.SVar(ip.At);
            w.SVar(ip.PruneBefore);
            w.SVar(ip.Expires);
        }
        w.UVar((ulong)records.Count);
        var previous = 0L;
        foreach (var r in records)
        {
            w.Byte((byte)r.Channel);
            w.SVar(r.Sequence - previous);
            previous = r.Sequence;
            w.Bytes(r.Bytes);
        }
        var body = w.Written;
        byte[] row;
        if (_options.CompressJournal)
        {
            var compressed = RowCompression.Compress(body, _scratch);
            row = new byte[2 + compressed.Length];
            row[0] = JournalFormat;
            row[1] = Compressed;
            compressed.CopyTo(row, 2);
        }
        else
        {
            row = new byte[2 + body.Length];
            row[0] = JournalFormat;
            body.CopyTo(row.AsSpan(2));
        }

        // The decisions row: the batch's idempotency records, kept in memory as they are stored.
        DecisionArena? arena = null;
        var index = new (string Id, int Offset, long Until)[batch.Decisions.Count];
        var maxUntil = long.MinValue;
        if (batch.Decisions.Count > 0)
        {
            var policies = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var d in batch.Decisions.Values)
            {
                if (DecisionRecords.IsPlain(d.Stored.Decision)) policies.TryAdd(d.Stored.Decision.PolicyVersion, policies.Count);
            }
            var dw = _scratch;
            dw.Reset();
            DecisionRecords.WriteHeader(dw, policies.Keys, batch.Decisions.Count);
            var i = 0;
            foreach (var (id, d) in batch.Decisions)
            {
                var until = d.Until.UtcTicks;
                index[i++] = (id, dw.Length, until);
                maxUntil = Math.Max(maxUntil, until);
                DecisionRecords.Write(dw, id, d.Stored.Fingerprint, until, d.Stored.Decision, policies.GetValueOrDefault(d.Stored.Decision.PolicyVersion));
            }
            arena = new DecisionArena(_nextDecisionsId, dw.ToArray(), [.. policies.Keys]);
        }

        using (var tx = Begin())
        {
            using (var cmd = Command("INSERT INTO journal (id, batch) VALUES ($id, $b)", ("$id", _nextJournalId), ("$b", row)))
                cmd.ExecuteNonQuery();
            if (arena is not null)
            {
                using var cmd = Command("INSERT INTO decisions (id, until, records) VALUES ($id, $u, $r)", ("$id", arena.RowId), ("$u", maxUntil), ("$r", arena.Bytes));
                cmd.ExecuteNonQuery();
            }
            tx.Commit();
        }

        // Durable: now memory follows.
        _nextJournalId++;
        if (arena is not null) _nextDecisionsId++;
        _journalRows++;
        _journalBytes += row.Length;
        _walBytes += row.Length + (arena?.Bytes.Length ?? 0) + 8192;
        _wrote = true;
        _publishedChanged = false;
        if (batch.Now > _forgetClock) _forgetClock = batch.Now;
        foreach (var (key, account, encoded) in states) HoldDirty(key, account.Version, encoded, account.State.Freeze);
        if (arena is not null)
        {
            foreach (var (id, offset, until) in index) _decisions[id] = new DecisionRef(arena, offset, until);
        }
        foreach (var ip in batch.IpFailures) AddIp(ip.Ip, ip.At, ip.PruneBefore, ip.Expires);
        if (journal is not null)
        {
            _positions[journal.Position.Source] = journal.Position;
            foreach (var r in records) _unpublished[r.Channel].Add(r);
            _lastSequence = lastSequence;
        }

        if (_journalRows >= _options.WriteBackBatches || _dirty >= _options.WriteBackDirtyAccounts || _journalBytes >= _options.WriteBackJournalBytes)
            WriteBackLocked();
        if (_walBytes >= _options.CheckpointBytes)
        {
            _walBytes = 0;
            _checkpointer?.Signal();
        }
    }

    /// <summary>
    /// Folds everything the journal rows hold into the tables, in one transaction: dirty accounts in key order,
    /// positions, published marks, unpublished records, the live IP windows as one row; then drops the journal rows
    /// and the decision rows whose records all expired.
    /// </summary>
    private void WriteBackLocked()
    {
        var dirty = new List<(string Key, AccountEntry Entry)>(_dirty);
        foreach (var (key, entry) in _accounts)
        {
            if (entry.Dirty) dirty.Add((key, entry));
        }
        dirty.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        using (var tx = Begin())
        {
            foreach (var (key, a) in dirty)
            {
                using var cmd = Command("""
                    INSERT INTO accounts (account, version, state, frozen_reason, frozen_at) VALUES ($a, $v, $s, $fr, $fa)
                    ON CONFLICT(account) DO UPDATE SET version = $v, state = $s, frozen_reason = $fr, frozen_at = $fa
                    """,
                    ("$a", key), ("$v", a.Version), ("$s", a.State), ("$fr", (object?)a.FrozenReason ?? DBNull.Value), ("$fa", a.FrozenReason is null ? DBNull.Value : (object)a.FrozenAt));
                cmd.ExecuteNonQuery();
            }
            foreach (var p in _positions.Values)
            {
                using var cmd = Command("INSERT INTO positions (source, offset, line, completed) VALUES ($s, $o, $l, $c) ON CONFLICT(source) DO UPDATE SET offset = $o, line = $l, completed = $c",
                    ("$s", p.Source), ("$o", p.Offset), ("$l", p.Line), ("$c", p.Completed ? 1 : 0));
                cmd.ExecuteNonQuery();
            }
            foreach (var (channel, (seq, length)) in _published)
            {
                using var cmd = Command("INSERT INTO published (channel, seq, length) VALUES ($c, $s, $l) ON CONFLICT(channel) DO UPDATE SET seq = $s, length = $l",
                    ("$c", (int)channel), ("$s", seq), ("$l", length));
                cmd.ExecuteNonQuery();
            }
            SetMeta("last_seq", _lastSequence);
            SetMeta("forget_clock", _forgetClock);
            SetMeta("schema", SchemaVersion);
            using (var cmd = Command("DELETE FROM outbox")) cmd.ExecuteNonQuery();
            foreach (var (channel, list) in _unpublished)
            {
                if (list.Count == 0) continue;
                using var cmd = Command("INSERT INTO outbox (last_seq, channel, records) VALUES ($s, $c, $r)", ("$s", list[^1].Sequence), ("$c", (int)channel), ("$r", Pack(list)));
                cmd.ExecuteNonQuery();
            }
            using (var cmd = Command("DELETE FROM journal")) cmd.ExecuteNonQuery();
            using (var cmd = Command("DELETE FROM decisions WHERE until <= $n", ("$n", _forgetClock))) cmd.ExecuteNonQuery();
            using (var cmd = Command("DELETE FROM ip_failures")) cmd.ExecuteNonQuery();
            var snapshot = IpSnapshot();
            if (snapshot is not null)
            {
                using var cmd = Command("INSERT INTO ip_failures (id, entries) VALUES ($id, $e)", ("$id", _nextIpId), ("$e", snapshot));
                cmd.ExecuteNonQuery();
            }
            tx.Commit();
            if (snapshot is not null) _nextIpId++;
        }
        foreach (var (_, entry) in dirty)
        {
            entry.Dirty = false;
            entry.InTable = true;
        }
        _clean += _dirty;
        _dirty = 0;
        _journalRows = 0;
        _journalBytes = 0;
        _publishedChanged = false;
        foreach (var (id, d) in _decisions)
        {
            if (d.Until <= _forgetClock) _decisions.Remove(id);
        }
        if (_clean >= MaxCleanAccounts) DropClean();
        _walBytes = 0;
        _checkpointer?.Signal();
    }

    /// <summary>The live IP windows as one row ([count][ip, at, expires]...), in the order a replay re-adds them; null when none.</summary>
    private byte[]? IpSnapshot()
    {
        var w = _scratch;
        w.Reset();
        var live = new List<(string Ip, IpEntry Entry)>();
        foreach (var (ip, list) in _ips)
        {
            list.RemoveAll(e => e.Expires <= _forgetClock);
            foreach (var e in list) live.Add((ip, e));
        }
        foreach (var ip in _ips.Where(p => p.Value.Count == 0).Select(p => p.Key).ToList()) _ips.Remove(ip);
        if (live.Count == 0) return null;
        w.Byte(JournalFormat);
        w.UVar((ulong)live.Count);
        foreach (var (ip, e) in live)
        {
            w.String(ip);
            w.SVar(e.At);
            w.SVar(e.Expires);
        }
        return w.ToArray();
    }

    // ---- opening: migration and replay ----

    /// <summary>
    /// Converts the tables of earlier versions, in one transaction: a row per decision (with its three indexes)
    /// becomes decision rows of up to 4,096 records, and a row per IP failure becomes one row of live windows.
    /// </summary>
    private void Migrate()
    {
        var oldDecisions = HasColumn("decisions", "fingerprint");
        var oldIps = HasColumn("ip_failures", "ip");
        if (!oldDecisions && !oldIps) return;
        using var tx = Begin();
        if (oldDecisions)
        {
            Exec("CREATE TABLE decisions_v2 (id INTEGER PRIMARY KEY, until INTEGER NOT NULL, records BLOB NOT NULL)");
            var rows = new List<(string Event, string Fingerprint, byte[] Json, long Until, string Account, long At)>();
            using (var cmd = _db.CreateCommand())
            {
                cmd.Transaction = _tx;
                cmd.CommandText = "SELECT event, fingerprint, decision, until, account, at FROM decisions ORDER BY rowid";
                using var r = cmd.ExecuteReader();
                while (r.Read()) rows.Add((r.GetString(0), r.GetString(1), (byte[])r[2], r.GetInt64(3), r.GetString(4), r.GetInt64(5)));
            }
            var id = 1L;
            foreach (var chunk in rows.Chunk(4096))
            {
                var w = _scratch;
                w.Reset();
                DecisionRecords.WriteHeader(w, [""], chunk.Length);
                foreach (var d in chunk) DecisionRecords.WriteJson(w, d.Event, d.Fingerprint, d.Until, d.Account, d.At, d.Json);
                using var cmd = _db.CreateCommand();
                cmd.Transaction = _tx;
                cmd.CommandText = "INSERT INTO decisions_v2 (id, until, records) VALUES ($id, $u, $r)";
                cmd.Parameters.AddWithValue("$id", id++);
                cmd.Parameters.AddWithValue("$u", chunk.Max(d => d.Until));
                cmd.Parameters.AddWithValue("$r", w.ToArray());
                cmd.ExecuteNonQuery();
            }
            Exec("DROP TABLE decisions; ALTER TABLE decisions_v2 RENAME TO decisions;");
        }
        if (oldIps)
        {
            var hasExpires = HasColumn("ip_failures", "expires");
            var entries = new List<(string Ip, long At, long Expires)>();
            using (var cmd = _db.CreateCommand())
            {
                cmd.Transaction = _tx;
                // Rows from before IP rows expired by the engine's clock get expiry 0: they go at the next commit, as they did.
                cmd.CommandText = hasExpires ? "SELECT ip, at, expires FROM ip_failures ORDER BY rowid" : "SELECT ip, at, 0 FROM ip_failures ORDER BY rowid";
                using var r = cmd.ExecuteReader();
                while (r.Read()) entries.Add((r.GetString(0), r.GetInt64(1), r.GetInt64(2)));
            }
            Exec("DROP TABLE ip_failures; CREATE TABLE ip_failures (id INTEGER PRIMARY KEY, entries BLOB NOT NULL);");
            if (entries.Count > 0)
            {
                var w = _scratch;
                w.Reset();
                w.Byte(JournalFormat);
                w.UVar((ulong)entries.Count);
                foreach (var (ip, at, expires) in entries)
                {
                    w.String(ip);
                    w.SVar(at);
                    w.SVar(expires);
                }
                using var cmd = _db.CreateCommand();
                cmd.Transaction = _tx;
                cmd.CommandText = "INSERT INTO ip_failures (id, entries) VALUES (1, $e)";
                cmd.Parameters.AddWithValue("$e", w.ToArray());
                cmd.ExecuteNonQuery();
            }
        }
        SetMeta("schema", SchemaVersion);
        tx.Commit();
    }

    private bool HasColumn(string table, string column)
    {
        using var cmd = _db.CreateCommand();
        cmd.Transaction = _tx;
        cmd.CommandText = "SELECT COUNT(*) FROM pragma_table_info($t) WHERE name = $c";
        cmd.Parameters.AddWithValue("$t", table);
        cmd.Parameters.AddWithValue("$c", column);
        return (long)cmd.ExecuteScalar()! > 0;
    }

    /// <summary>
    /// Rebuilds memory from one consistent read of the file: positions, published marks, unpublished records and the
    /// last sequence; then every journal row after the last write-back in order (accounts held dirty, IP failures
    /// re-added, records, positions, marks); then the live idempotency records.
    /// </summary>
    private void Load()
    {
        using var tx = new TransactionScope(this, _tx = _db.BeginTransaction(deferred: true));
        using (var cmd = Command("SELECT source, offset, line, completed FROM positions"))
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read()) _positions[r.GetString(0)] = new JournalPosition(r.GetString(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3) != 0);
        }
        using (var cmd = Command("SELECT channel, seq, length FROM published"))
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read()) _published[(OutputChannel)r.GetInt32(0)] = (r.GetInt64(1), r.GetInt64(2));
        }
        using (var cmd = Command("SELECT key, value FROM meta"))
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                if (r.GetString(0) == "last_seq") _lastSequence = r.GetInt64(1);
                else if (r.GetString(0) == "forget_clock") _forgetClock = r.GetInt64(1);
            }
        }
        using (var cmd = Command("SELECT channel, records FROM outbox ORDER BY channel, last_seq"))
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                var channel = (OutputChannel)r.GetInt32(0);
                if (!_unpublished.TryGetValue(channel, out var list)) _unpublished[channel] = list = [];
                Unpack((byte[])r[1], channel, list);
            }
        }
        using (var cmd = Command("SELECT id, entries FROM ip_failures ORDER BY id"))
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                _nextIpId = r.GetInt64(0) + 1;
                var bytes = (byte[])r[1];
                var reader = new RowReader(bytes);
                if (reader.Byte() != JournalFormat) throw new InvalidDataException("unknown format of a stored IP row");
                for (var i = reader.Count(); i > 0; i--) AddIp(reader.String(), reader.SVar(), long.MinValue, reader.SVar());
            }
        }
        using (var cmd = Command("SELECT id, batch FROM journal ORDER BY id"))
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                _nextJournalId = r.GetInt64(0) + 1;
                var bytes = (byte[])r[1];
                Replay(bytes);
                _journalRows++;
                _journalBytes += bytes.Length;
            }
        }
        foreach (var (channel, list) in _unpublished)
        {
            var published = _published.GetValueOrDefault(channel).Sequence;
            list.RemoveAll(rec => rec.Sequence <= published);
            list.Sort((a, b) => a.Sequence.CompareTo(b.Sequence));
        }
        using (var cmd = Command("SELECT id, records FROM decisions ORDER BY id"))
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                _nextDecisionsId = r.GetInt64(0) + 1;
                var bytes = (byte[])r[1];
                var (policies, count, at) = DecisionRecords.ReadHeader(bytes);
                var arena = new DecisionArena(r.GetInt64(0), bytes, policies);
                for (var i = 0; i < count; i++)
                {
                    var (id, until, next) = DecisionRecords.Index(bytes, at);
                    if (until > _forgetClock) _decisions[id] = new DecisionRef(arena, at, until);
                    at = next;
                }
            }
        }
        tx.Commit();
    }

    private void Replay(byte[] stored)
    {
        if (stored.Length < 2 || stored[0] != JournalFormat) throw new InvalidDataException("unknown format of a stored journal row");
        var body = (stored[1] & Compressed) != 0 ? RowCompression.Decompress(stored.AsSpan(2)) : stored.AsSpan(2).ToArray();
        var r = new RowReader(body);
        var now = r.SVar();
        if (now > _forgetClock) _forgetClock = now;
        for (var i = r.Count(); i > 0; i--)
        {
            var p = new JournalPosition(r.String(), r.SVar(), r.SVar(), r.Byte() != 0);
            _positions[p.Source] = p;
        }
        _lastSequence = Math.Max(_lastSequence, r.SVar());
        for (var i = r.Count(); i > 0; i--)
        {
            var channel = (OutputChannel)r.Byte();
            _published[channel] = (r.SVar(), r.SVar());
        }
        for (var i = r.Count(); i > 0; i--)
        {
            var key = r.String();
            var version = r.SVar();
            var state = r.Bytes().ToArray();
            var freeze = AccountStateCodec.Decode(state).Freeze;
            HoldDirty(key, version, state, freeze);
            _accounts[key].InTable = null; // unknown until asked (AccountCount)
        }
        for (var i = r.Count(); i > 0; i--) AddIp(r.String(), r.SVar(), r.SVar(), r.SVar());
        var previous = 0L;
        for (var i = r.Count(); i > 0; i--)
        {
            var channel = (OutputChannel)r.Byte();
            previous += r.SVar();
            var bytes = r.Bytes().ToArray();
            if (!_unpublished.TryGetValue(channel, out var list)) _unpublished[channel] = list = [];
            list.Add(new JournalRecord(previous, channel, bytes));
        }
    }

    // ---- SQL plumbing ----

    private static byte[] Pack(List<JournalRecord> records)
    {
        var buffer = new byte[records.Sum(r => 12 + r.Bytes.Length)];
        var at = 0;
        foreach (var r in records)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(buffer.AsSpan(at), r.Sequence);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(at + 8), r.Bytes.Length);
            r.Bytes.CopyTo(buffer, at + 12);
            at += 12 + r.Bytes.Length;
        }
        return buffer;
    }

    private static void Unpack(byte[] packed, OutputChannel channel, List<JournalRecord> into)
    {
        var at = 0;
        while (at < packed.Length)
        {
            var seq = System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(packed.AsSpan(at));
            var length = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(packed.AsSpan(at + 8));
            into.Add(new JournalRecord(seq, channel, packed.AsSpan(at + 12, length).ToArray()));
            at += 12 + length;
        }
    }

    private void SetMeta(string key, long value)
    {
        using var cmd = Command("INSERT INTO meta (key, value) VALUES ($k, $v) ON CONFLICT(key) DO UPDATE SET value = $v", ("$k", key), ("$v", value));
        cmd.ExecuteNonQuery();
    }

    /// <summary>Starts a transaction that cached statements join (each call happens under the gate).</summary>
    private TransactionScope Begin() => new(this, _tx = _db.BeginTransaction());

    private readonly struct TransactionScope(SqliteRiskStateStore owner, SqliteTransaction tx) : IDisposable
    {
        public void Commit() => tx.Commit();

        public void Dispose()
        {
            tx.Dispose(); // rolls back unless committed
            owner._tx = null;
        }
    }

    private void Exec(string sql)
    {
        using var cmd = _db.CreateCommand();
#pragma warning disable CA2100 // constant schema text
        cmd.CommandText = sql;
#pragma warning restore CA2100
        cmd.Transaction = _tx;
        cmd.ExecuteNonQuery();
    }

    private CachedCommand Command(string sql, params (string Name, object Value)[] parameters)
    {
        // Statements are prepared once and reused: compiling SQL costs more than running these lookups.
        if (!_commands.TryGetValue(sql, out var cmd))
        {
            cmd = _db.CreateCommand();
#pragma warning disable CA2100 // every statement is a constant; values go through parameters
            cmd.CommandText = sql;
#pragma warning restore CA2100
            foreach (var (name, value) in parameters) cmd.Parameters.AddWithValue(name, value);
            cmd.Transaction = _tx;
            cmd.Prepare();
            _commands[sql] = cmd;
            return new CachedCommand(cmd);
        }
        foreach (var (name, value) in parameters) cmd.Parameters[name].Value = value;
        cmd.Transaction = _tx;
        return new CachedCommand(cmd);
    }

    /// <summary>A prepared statement borrowed from the cache; disposing it returns it rather than destroying it.</summary>
    private readonly struct CachedCommand(SqliteCommand command) : IDisposable
    {
        public SqliteDataReader ExecuteReader() => command.ExecuteReader();

        public object? ExecuteScalar() => command.ExecuteScalar();

        public int ExecuteNonQuery() => command.ExecuteNonQuery();

        public void Dispose()
        {
        }
    }

    /// <summary>
    /// Checkpoints the WAL on its own connection and thread when woken (every <see cref="SqliteStoreOptions.CheckpointBytes"/>
    /// appended, and after a write-back), so the commit path only appends to the WAL: a passive pass copies the pages
    /// beside the writer, then a restart pass copies the few frames added meanwhile and lets the WAL start over, which
    /// keeps it near that size (<c>journal_size_limit</c> trims the file).
    /// </summary>
    private sealed class Checkpointer : IDisposable
    {
        private readonly string _connection;
        private readonly Thread _thread;
        private readonly AutoResetEvent _wake = new(false);
        private volatile bool _stop;

        public Checkpointer(string connection)
        {
            _connection = connection;
            _thread = new Thread(Run) { IsBackground = true, Name = "sqlite checkpoint" };
            _thread.Start();
        }

        public void Signal() => _wake.Set();

        private void Run()
        {
            SqliteConnection? db = null;
            try
            {
                while (true)
                {
                    _wake.WaitOne();
                    if (_stop) return;
                    try
                    {
                        if (db is null)
                        {
                            db = new SqliteConnection(_connection);
                            db.Open();
                            using var setup = db.CreateCommand();
                            setup.CommandText = "PRAGMA busy_timeout=5000; PRAGMA journal_size_limit=67108864;";
                            setup.ExecuteNonQuery();
                        }
                        using var cmd = db.CreateCommand();
                        // The bulk of the copy runs beside the writer; a writer that never pauses would keep the
                        // WAL from ever starting over, so a RESTART pass then copies what arrived meanwhile (a few
                        // batches: the writer waits that long) and lets the next commit write from the WAL's start.
                        cmd.CommandText = "PRAGMA wal_checkpoint(PASSIVE)";
                        cmd.ExecuteNonQuery();
                        cmd.CommandText = "PRAGMA wal_checkpoint(RESTART)";
                        cmd.ExecuteNonQuery();
                    }
                    catch (SqliteException)
                    {
                        // Busy or I/O trouble: the next wake tries again, and closing the store checkpoints anyway.
                    }
                }
            }
            finally
            {
                db?.Dispose();
            }
        }

        public void Dispose()
        {
            _stop = true;
            _wake.Set();
            _thread.Join();
            _wake.Dispose();
        }
    }

    /// <summary>
    /// A unit of work: staged accounts, decisions and IP failures held in memory, visible to the batch's own reads,
    /// written as one journal row by <see cref="CommitAsync"/>. Holds the store's writer lock until disposed.
    /// </summary>
    private sealed class SqliteBatch(SqliteRiskStateStore store) : IStateBatch
    {
        public Dictionary<string, PendingAccount> Accounts { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, PendingDecision> Decisions { get; } = new(StringComparer.Ordinal);
        public List<PendingIp> IpFailures { get; } = [];
        public long Now { get; private set; }
        private bool _done;
        private bool _released;

        public async ValueTask<(StoredDecision? Stored, AccountSnapshot Snapshot)> LoadForDecisionAsync(AccountId account, EventId eventId, CancellationToken cancellationToken = default)
        {
            await store._gate.WaitAsync(cancellationToken);
            try
            {
                var stored = Decisions.TryGetValue(eventId.Value, out var held) ? held.Stored
                    : store.LiveDecision(eventId.Value) is { } d ? DecisionRecords.Read(d) : null;
                if (stored is not null) return (stored, default);
                return (null, store.Snapshot(account.Value, this));
            }
            finally
            {
                store._gate.Release();
            }
        }

        public async ValueTask<AccountSnapshot> LoadAccountAsync(AccountId account, CancellationToken cancellationToken = default)
        {
            await store._gate.WaitAsync(cancellationToken);
            try
            {
                return store.Snapshot(account.Value, this);
            }
            finally
            {
                store._gate.Release();
            }
        }

        public async ValueTask<int> CountIpFailuresAsync(string ip, DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken = default)
        {
            await store._gate.WaitAsync(cancellationToken);
            try
            {
                var n = store.CountIp(ip, since.UtcTicks, until.UtcTicks);
                foreach (var f in IpFailures) if (f.Ip == ip && f.At > since.UtcTicks && f.At <= until.UtcTicks) n++;
                return n;
            }
            finally
            {
                store._gate.Release();
            }
        }

        public async ValueTask<CommitStatus> StageAsync(AccountCommit commit, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(commit);
            ObjectDisposedException.ThrowIf(_done, this);
            await store._gate.WaitAsync(cancellationToken);
            try
            {
                var key = commit.Account.Value;
                var current = store.CurrentVersion(key, this);
                if (current != commit.ExpectedVersion) return CommitStatus.Conflict;
                var eventId = commit.Decision?.EventId.Value;
                if (eventId is not null && (Decisions.ContainsKey(eventId) || store.LiveDecision(eventId) is not null))
                    return CommitStatus.DuplicateEvent;

                Accounts[key] = new PendingAccount(commit.State, current + 1); // the store owns the committed state from here
                if (commit.Decision is { } d)
                    Decisions[eventId!] = new PendingDecision(new StoredDecision(commit.Fingerprint!, d), commit.RememberUntil);
                if (commit.IpFailure is { } f) IpFailures.Add(new PendingIp(f.Ip, f.At.UtcTicks, (f.At - f.Window).UtcTicks, f.ExpiresAt.UtcTicks));
                if (commit.Clock != default) Now = Math.Max(Now, commit.Clock.UtcTicks);
                return CommitStatus.Committed;
            }
            finally
            {
                store._gate.Release();
            }
        }

        public async ValueTask CommitAsync(JournalEntry? journal = null, CancellationToken cancellationToken = default)
        {
            ObjectDisposedException.ThrowIf(_done, this);
            await store._gate.WaitAsync(cancellationToken);
            try
            {
                store.Append(this, journal);
                _done = true;
            }
            finally
            {
                store._gate.Release();
            }
        }

        public ValueTask DisposeAsync()
        {
            if (_released) return ValueTask.CompletedTask;
            _released = _done = true; // uncommitted: what was staged is dropped (memory holds committed states only)
            store._writer.Release();
            return ValueTask.CompletedTask;
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

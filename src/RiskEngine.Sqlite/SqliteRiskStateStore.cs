using System.Globalization;
using Microsoft.Data.Sqlite;
using RiskEngine.Domain;
using RiskEngine.Security;
using RiskEngine.State;

namespace RiskEngine.Sqlite;

/// <summary>
/// Durable state on one SQLite file (WAL mode), and the worker's journal in the same database so that state,
/// decisions, output records and input position commit in one transaction. Outside a batch every commit is its own
/// transaction; inside one (<see cref="BeginBatch"/>) commits are held in memory and written together, so
/// durability costs one fsync per batch rather than per event. One process owns the file.
/// </summary>
public sealed class SqliteRiskStateStore : IRiskStateStore, IEventJournal, IKeyRingCheckStore, IDisposable
{
    private readonly SqliteConnection _db;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);
    private SqliteTransaction? _tx;
    private string? _lastMiss;

    // Committed account states, so a decision reads no row and parses no JSON for an account seen recently. Safe
    // because one process owns the file. Cleared whole when it grows past the bound.
    private readonly Dictionary<string, (long Version, AccountState State)> _cache = new(StringComparer.Ordinal);
    private const int MaxCachedAccounts = 200_000;
    private Batch? _batch;

    /// <summary>Opens (creating if needed) the database at <paramref name="path"/>.</summary>
    public SqliteRiskStateStore(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = path;
        var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) OwnerOnly.CreateDirectory(dir);
        CreateOwnerOnly(path);
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        _db.Open();
        Exec("""
            PRAGMA journal_mode=WAL;
            PRAGMA synchronous=FULL;
            PRAGMA cache_size=-65536;
            PRAGMA temp_store=MEMORY;
            PRAGMA busy_timeout=5000;
            PRAGMA wal_autocheckpoint=16384;
            CREATE TABLE IF NOT EXISTS accounts (account TEXT PRIMARY KEY, version INTEGER NOT NULL, state BLOB NOT NULL,
                frozen_reason TEXT, frozen_at INTEGER);
            CREATE INDEX IF NOT EXISTS accounts_frozen ON accounts(frozen_reason, frozen_at) WHERE frozen_reason IS NOT NULL;
            CREATE TABLE IF NOT EXISTS decisions (event TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, decision BLOB NOT NULL, until INTEGER NOT NULL, account TEXT NOT NULL, at INTEGER NOT NULL);
            CREATE INDEX IF NOT EXISTS decisions_account ON decisions(account, at);
            CREATE INDEX IF NOT EXISTS decisions_until ON decisions(until);
            CREATE TABLE IF NOT EXISTS ip_failures (ip TEXT NOT NULL, at INTEGER NOT NULL, expires INTEGER NOT NULL DEFAULT 0);
            CREATE INDEX IF NOT EXISTS ip_failures_ip_at ON ip_failures(ip, at);
            CREATE TABLE IF NOT EXISTS outbox (last_seq INTEGER NOT NULL, channel INTEGER NOT NULL, records BLOB NOT NULL, PRIMARY KEY (channel, last_seq));
            CREATE TABLE IF NOT EXISTS published (channel INTEGER PRIMARY KEY, seq INTEGER NOT NULL, length INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS positions (source TEXT PRIMARY KEY, offset INTEGER NOT NULL, line INTEGER NOT NULL, completed INTEGER NOT NULL DEFAULT 0);
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS key_check (id INTEGER PRIMARY KEY CHECK (id = 1), envelope TEXT NOT NULL);
            """);
        // Files from before IP rows expired by the engine's clock: their rows get expiry 0 and go at the next commit.
        using (var cmd = _db.CreateCommand())
        {
            cmd.CommandText = "SELECT COUNT(*) FROM pragma_table_info('ip_failures') WHERE name = 'expires'";
            if ((long)cmd.ExecuteScalar()! == 0) Exec("ALTER TABLE ip_failures ADD COLUMN expires INTEGER NOT NULL DEFAULT 0");
        }
        Exec("CREATE INDEX IF NOT EXISTS ip_failures_expires ON ip_failures(expires)");
        // SQLite gives the -wal and -shm files the database's mode; these narrow ones an older version left behind.
        OwnerOnly.RestrictFile(path + "-wal");
        OwnerOnly.RestrictFile(path + "-shm");
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
    /// <remarks>Scans the accounts table; run once per database, before it has a check value.</remarks>
    public ValueTask<string?> FindProtectedSecretAsync(CancellationToken cancellationToken = default)
    {
        _gate.Wait(cancellationToken);
        try
        {
            using var cmd = Command("SELECT state FROM accounts WHERE instr(state, CAST('\"protectedSecret\"' AS BLOB)) > 0 LIMIT 1");
            return ValueTask.FromResult(cmd.ExecuteScalar() is byte[] state ? StateJson.DeserializeState(state).Totp?.ProtectedSecret : null);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public async ValueTask<StoredDecision?> FindDecisionAsync(AccountId account, EventId eventId, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_batch is not null && _batch.Decisions.TryGetValue(eventId.Value, out var held)) return held.Stored;
            using var cmd = Command("SELECT fingerprint, decision FROM decisions WHERE event = $e", ("$e", eventId.Value));
            using var r = cmd.ExecuteReader();
            if (r.Read()) return new StoredDecision(r.GetString(0), StateJson.DeserializeDecision((byte[])r[1]));
            _lastMiss = eventId.Value;
            return null;
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
            var (version, state) = Current(account.Value);
            return new AccountSnapshot(state?.Clone() ?? new AccountState(), version); // a copy: callers may change it
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
            using var cmd = Command("SELECT COUNT(*) FROM ip_failures WHERE ip = $ip AND at > $s AND at <= $u",
                ("$ip", ip), ("$s", since.UtcTicks), ("$u", until.UtcTicks));
            var n = Convert.ToInt32(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
            if (_batch is not null) n += _batch.IpFailures.Count(f => f.Ip == ip && f.At > since.UtcTicks && f.At <= until.UtcTicks);
            return n;
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
            using var cmd = Command("SELECT account FROM accounts WHERE frozen_reason = $r AND frozen_at <= $t LIMIT $m",
                ("$r", reason), ("$t", frozenAtOrBefore.UtcTicks), ("$m", max));
            using var r = cmd.ExecuteReader();
            while (r.Read()) result.Add(AccountId.Create(r.GetString(0)));
            return result;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask<CommitStatus> CommitAsync(AccountCommit commit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(commit);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var key = commit.Account.Value;
            var current = Current(key).Version;
            if (current != commit.ExpectedVersion) return CommitStatus.Conflict;
            var eventId = commit.Decision?.EventId.Value;
            // The engine looked the id up just before committing; within a batch nothing else writes the file, so that
            // miss still holds and the second lookup is skipped.
            if (eventId is not null && (_batch?.Decisions.ContainsKey(eventId) == true ||
                (!(_batch is not null && eventId == _lastMiss) && DecisionExists(eventId)))) return CommitStatus.DuplicateEvent;

            var pending = new PendingAccount(commit.State, current + 1); // the store owns the committed state from here
            var decision = commit.Decision is null ? null
                : new PendingDecision(new StoredDecision(commit.Fingerprint!, commit.Decision), StateJson.SerializeDecision(commit.Decision), commit.RememberUntil);
            var ip = commit.IpFailure is { } f ? new PendingIp(f.Ip, f.At.UtcTicks, (f.At - f.Window).UtcTicks, f.ExpiresAt.UtcTicks) : null;

            if (_batch is not null)
            {
                _batch.Accounts[key] = pending;
                if (decision is not null) _batch.Decisions[eventId!] = decision;
                if (ip is not null) _batch.IpFailures.Add(ip);
                if (commit.Clock != default) _batch.Now = Math.Max(_batch.Now, commit.Clock.UtcTicks);
                return CommitStatus.Committed;
            }
            using var tx = Begin();
            WriteAccount(key, pending);
            if (decision is not null) WriteDecision(eventId!, decision);
            if (ip is not null) WriteIp(ip);
            if (commit.Clock != default) Forget(commit.Clock.UtcTicks);
            tx.Commit();
            Cache(key, pending);
            return CommitStatus.Committed;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public void BeginBatch()
    {
        _gate.Wait();
        try
        {
            if (_batch is not null) throw new InvalidOperationException("a batch is already open");
            _batch = new Batch();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public void AbortBatch()
    {
        _gate.Wait();
        _batch = null; // the cache holds committed states only, so nothing else to undo
        _gate.Release();
    }

    /// <inheritdoc />
    public async ValueTask CommitBatchAsync(IReadOnlyList<JournalRecord> records, JournalPosition position, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(position);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var batch = _batch ?? new Batch();
            using var tx = Begin();
            foreach (var (key, account) in batch.Accounts) WriteAccount(key, account);
            foreach (var (id, decision) in batch.Decisions) WriteDecision(id, decision);
            foreach (var ip in batch.IpFailures) WriteIp(ip);
            // One outbox row per channel and batch: [seq:8][length:4][bytes]... — one statement, not one per record.
            foreach (var channel in (OutputChannel[])[OutputChannel.Output, OutputChannel.DeadLetter])
            {
                var mine = records.Where(r => r.Channel == channel).ToList();
                if (mine.Count == 0) continue;
                using var cmd = Command("INSERT INTO outbox (last_seq, channel, records) VALUES ($s, $c, $r)", ("$s", mine[^1].Sequence), ("$c", (int)channel), ("$r", Pack(mine)));
                cmd.ExecuteNonQuery();
            }
            if (records.Count > 0) SetMeta("last_seq", records[^1].Sequence);
            using (var cmd = Command("INSERT INTO positions (source, offset, line, completed) VALUES ($s, $o, $l, $c) ON CONFLICT(source) DO UPDATE SET offset = $o, line = $l, completed = $c",
                ("$s", position.Source), ("$o", position.Offset), ("$l", position.Line), ("$c", position.Completed ? 1 : 0)))
                cmd.ExecuteNonQuery();
            if (batch.Now > 0) Forget(batch.Now);
            tx.Commit();
            foreach (var (key, account) in batch.Accounts) Cache(key, account);
            _batch = null;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask<JournalPosition?> LoadPositionAsync(string source, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            using var cmd = Command("SELECT offset, line, completed FROM positions WHERE source = $s", ("$s", source));
            using var r = cmd.ExecuteReader();
            return r.Read() ? new JournalPosition(source, r.GetInt64(0), r.GetInt64(1), r.GetInt64(2) != 0) : null;
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
            using var cmd = Command("SELECT value FROM meta WHERE key = 'last_seq'");
            return cmd.ExecuteScalar() is long v ? v : 0;
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
            using var cmd = Command("SELECT seq, length FROM published WHERE channel = $c", ("$c", (int)channel));
            using var r = cmd.ExecuteReader();
            return r.Read() ? (r.GetInt64(0), r.GetInt64(1)) : (0, 0);
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
            var list = new List<JournalRecord>();
            using var cmd = Command("SELECT records FROM outbox WHERE channel = $c ORDER BY last_seq", ("$c", (int)channel));
            using var r = cmd.ExecuteReader();
            while (r.Read()) Unpack((byte[])r[0], channel, list);
            return list;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask MarkPublishedAsync(OutputChannel channel, long sequence, long length, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            using var tx = Begin();
            using (var cmd = Command("INSERT INTO published (channel, seq, length) VALUES ($c, $s, $l) ON CONFLICT(channel) DO UPDATE SET seq = $s, length = $l",
                ("$c", (int)channel), ("$s", sequence), ("$l", length)))
                cmd.ExecuteNonQuery();
            using (var cmd = Command("DELETE FROM outbox WHERE channel = $c AND last_seq <= $s", ("$c", (int)channel), ("$s", sequence)))
                cmd.ExecuteNonQuery();
            tx.Commit();
        }
        finally
        {
            _gate.Release();
        }
    }

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

    /// <summary>The account's decisions still inside their idempotency window, newest first (support's history view).</summary>
    public IReadOnlyList<Decisions.Decision> History(AccountId account, int limit)
    {
        _gate.Wait();
        try
        {
            var list = new List<Decisions.Decision>();
            using var cmd = Command("SELECT decision FROM decisions WHERE account = $a ORDER BY at DESC LIMIT $n", ("$a", account.Value), ("$n", limit));
            using var r = cmd.ExecuteReader();
            while (r.Read()) list.Add(StateJson.DeserializeDecision((byte[])r[0]));
            return list;
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
            using var cmd = Command("SELECT COUNT(*) FROM accounts");
            return (long)cmd.ExecuteScalar()!;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var c in _commands.Values) c.Dispose();
        _db.Dispose();
        _gate.Dispose();
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

    /// <summary>The latest state of an account: held in the open batch, cached, or read from the file.</summary>
    private (long Version, AccountState? State) Current(string key)
    {
        if (_batch is not null && _batch.Accounts.TryGetValue(key, out var held)) return (held.Version, held.State);
        if (_cache.TryGetValue(key, out var cached)) return cached;
        if (ReadAccount(key) is not { } row) return (0, null);
        var state = StateJson.DeserializeState(row.State);
        Cache(key, new PendingAccount(state, row.Version));
        return (row.Version, state);
    }

    private void Cache(string key, PendingAccount account)
    {
        if (_cache.Count >= MaxCachedAccounts && !_cache.ContainsKey(key)) _cache.Clear();
        _cache[key] = (account.Version, account.State);
    }

    private (long Version, byte[] State)? ReadAccount(string key)
    {
        using var cmd = Command("SELECT version, state FROM accounts WHERE account = $a", ("$a", key));
        using var r = cmd.ExecuteReader();
        return r.Read() ? (r.GetInt64(0), (byte[])r[1]) : null;
    }

    private bool DecisionExists(string id)
    {
        using var cmd = Command("SELECT 1 FROM decisions WHERE event = $e", ("$e", id));
        return cmd.ExecuteScalar() is not null;
    }

    private void WriteAccount(string key, PendingAccount a)
    {
        using var cmd = Command("""
            INSERT INTO accounts (account, version, state, frozen_reason, frozen_at) VALUES ($a, $v, $s, $fr, $fa)
            ON CONFLICT(account) DO UPDATE SET version = $v, state = $s, frozen_reason = $fr, frozen_at = $fa
            """,
            ("$a", key), ("$v", a.Version), ("$s", StateJson.SerializeState(a.State)), ("$fr", (object?)a.State.Freeze?.Reason ?? DBNull.Value), ("$fa", (object?)a.State.Freeze?.At.UtcTicks ?? DBNull.Value));
        cmd.ExecuteNonQuery();
    }

    private void WriteDecision(string id, PendingDecision d)
    {
        using var cmd = Command("INSERT INTO decisions (event, fingerprint, decision, until, account, at) VALUES ($e, $f, $d, $u, $a, $t)",
            ("$e", id), ("$f", d.Stored.Fingerprint), ("$d", d.Json), ("$u", d.Until.UtcTicks),
            ("$a", d.Stored.Decision.Account.Value), ("$t", d.Stored.Decision.At.UtcTicks));
        cmd.ExecuteNonQuery();
    }

    private void WriteIp(PendingIp ip)
    {
        using (var cmd = Command("INSERT INTO ip_failures (ip, at, expires) VALUES ($ip, $at, $x)", ("$ip", ip.Ip), ("$at", ip.At), ("$x", ip.Expires)))
            cmd.ExecuteNonQuery();
        using (var cmd = Command("DELETE FROM ip_failures WHERE ip = $ip AND at <= $before", ("$ip", ip.Ip), ("$before", ip.PruneBefore)))
            cmd.ExecuteNonQuery();
    }

    /// <summary>
    /// Deletes every decision record and IP failure expired by the engine's clock. Through the expiry indexes this
    /// costs what expired since the last call, so deletion keeps pace with insertion and the tables stay bounded by
    /// what the windows hold.
    /// </summary>
    private void Forget(long nowTicks)
    {
        using (var cmd = Command("DELETE FROM decisions WHERE until <= $n", ("$n", nowTicks)))
            cmd.ExecuteNonQuery();
        using (var cmd = Command("DELETE FROM ip_failures WHERE expires <= $n", ("$n", nowTicks)))
            cmd.ExecuteNonQuery();
    }

    private void SetMeta(string key, long value)
    {
        using var cmd = Command("INSERT INTO meta (key, value) VALUES ($k, $v) ON CONFLICT(key) DO UPDATE SET value = $v", ("$k", key), ("$v", value));
        cmd.ExecuteNonQuery();
    }

    private void Exec(string sql)
    {
        using var cmd = _db.CreateCommand();
#pragma warning disable CA2100 // constant schema text
        cmd.CommandText = sql;
#pragma warning restore CA2100
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
        public SqliteParameterCollection Parameters => command.Parameters;

        public SqliteDataReader ExecuteReader() => command.ExecuteReader();

        public object? ExecuteScalar() => command.ExecuteScalar();

        public int ExecuteNonQuery() => command.ExecuteNonQuery();

        public void Dispose()
        {
        }
    }

    private sealed class Batch
    {
        public Dictionary<string, PendingAccount> Accounts { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, PendingDecision> Decisions { get; } = new(StringComparer.Ordinal);
        public List<PendingIp> IpFailures { get; } = [];
        public long Now { get; set; }
    }

    private sealed record PendingAccount(AccountState State, long Version);

    private sealed record PendingDecision(StoredDecision Stored, byte[] Json, DateTimeOffset Until);

    private sealed record PendingIp(string Ip, long At, long PruneBefore, long Expires);
}

using System.Globalization;
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
public sealed class SqliteRiskStateStore : IRiskStateStore, IEventJournal, IKeyRingCheckStore, IDisposable
{
    private readonly SqliteConnection _db;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _writer = new(1, 1); // one batch at a time: staged commits are checked against committed versions
    private SqliteTransaction? _tx;

    // Committed account states, so a decision reads no row and parses no JSON for an account seen recently. Safe
    // because one process owns the file. Cleared whole when it grows past the bound.
    private readonly Dictionary<string, (long Version, AccountState State)> _cache = new(StringComparer.Ordinal);
    private const int MaxCachedAccounts = 200_000;

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

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public async ValueTask<StoredDecision?> FindDecisionAsync(AccountId account, EventId eventId, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return ReadDecision(eventId.Value);
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
            using var cmd = Command("SELECT COUNT(*) FROM ip_failures WHERE ip = $ip AND at > $s AND at <= $u",
                ("$ip", ip), ("$s", since.UtcTicks), ("$u", until.UtcTicks));
            return Convert.ToInt32(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
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
        _writer.Dispose();
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

    /// <summary>A copy of the account's latest state (callers may change it) and its version.</summary>
    private AccountSnapshot Snapshot(string key, SqliteBatch? batch)
    {
        var (version, state) = Current(key, batch);
        return new AccountSnapshot(state?.Clone() ?? new AccountState(), version);
    }

    private StoredDecision? ReadDecision(string id)
    {
        using var cmd = Command("SELECT fingerprint, decision FROM decisions WHERE event = $e", ("$e", id));
        using var r = cmd.ExecuteReader();
        return r.Read() ? new StoredDecision(r.GetString(0), StateJson.DeserializeDecision((byte[])r[1])) : null;
    }

    /// <summary>The latest state of an account: staged in <paramref name="batch"/>, cached, or read from the file.</summary>
    private (long Version, AccountState? State) Current(string key, SqliteBatch? batch)
    {
        if (batch is not null && batch.Accounts.TryGetValue(key, out var held)) return (held.Version, held.State);
        if (_cache.TryGetValue(key, out var cached)) return cached;
        if (ReadAccount(key) is not { } row) return (0, null);
        var state = AccountStateCodec.Decode(row.State);
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
            ("$a", key), ("$v", a.Version), ("$s", AccountStateCodec.Encode(a.State)), ("$fr", (object?)a.State.Freeze?.Reason ?? DBNull.Value), ("$fa", (object?)a.State.Freeze?.At.UtcTicks ?? DBNull.Value));
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

    /// <summary>One outbox row per channel and batch ([seq:8][length:4][bytes]...: one statement, not one per record), and the position.</summary>
    private void WriteJournal(JournalEntry journal)
    {
        var records = journal.Records;
        foreach (var channel in (OutputChannel[])[OutputChannel.Output, OutputChannel.DeadLetter])
        {
            var mine = records.Where(r => r.Channel == channel).ToList();
            if (mine.Count == 0) continue;
            using var cmd = Command("INSERT INTO outbox (last_seq, channel, records) VALUES ($s, $c, $r)", ("$s", mine[^1].Sequence), ("$c", (int)channel), ("$r", Pack(mine)));
            cmd.ExecuteNonQuery();
        }
        if (records.Count > 0) SetMeta("last_seq", records[^1].Sequence);
        var p = journal.Position;
        using (var cmd = Command("INSERT INTO positions (source, offset, line, completed) VALUES ($s, $o, $l, $c) ON CONFLICT(source) DO UPDATE SET offset = $o, line = $l, completed = $c",
            ("$s", p.Source), ("$o", p.Offset), ("$l", p.Line), ("$c", p.Completed ? 1 : 0)))
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

    /// <summary>
    /// A unit of work: staged accounts, decisions and IP failures held in memory, visible to the batch's own reads,
    /// written in one transaction by <see cref="CommitAsync"/>. Holds the store's writer lock until disposed.
    /// </summary>
    private sealed class SqliteBatch(SqliteRiskStateStore store) : IStateBatch
    {
        public Dictionary<string, PendingAccount> Accounts { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, PendingDecision> Decisions { get; } = new(StringComparer.Ordinal);
        public List<PendingIp> IpFailures { get; } = [];
        private readonly HashSet<string> _misses = new(StringComparer.Ordinal); // ids looked up and absent: no other writer can add them meanwhile
        private long _now;
        private bool _done;
        private bool _released;

        public async ValueTask<(StoredDecision? Stored, AccountSnapshot Snapshot)> LoadForDecisionAsync(AccountId account, EventId eventId, CancellationToken cancellationToken = default)
        {
            await store._gate.WaitAsync(cancellationToken);
            try
            {
                var stored = Decisions.TryGetValue(eventId.Value, out var held) ? held.Stored : store.ReadDecision(eventId.Value);
                if (stored is not null) return (stored, default);
                if (_misses.Count < 100_000) _misses.Add(eventId.Value);
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
            var n = await store.CountIpFailuresAsync(ip, since, until, cancellationToken);
            foreach (var f in IpFailures) if (f.Ip == ip && f.At > since.UtcTicks && f.At <= until.UtcTicks) n++;
            return n;
        }

        public async ValueTask<CommitStatus> StageAsync(AccountCommit commit, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(commit);
            ObjectDisposedException.ThrowIf(_done, this);
            await store._gate.WaitAsync(cancellationToken);
            try
            {
                var key = commit.Account.Value;
                var current = store.Current(key, this).Version;
                if (current != commit.ExpectedVersion) return CommitStatus.Conflict;
                var eventId = commit.Decision?.EventId.Value;
                if (eventId is not null && (Decisions.ContainsKey(eventId) || (!_misses.Contains(eventId) && store.DecisionExists(eventId))))
                    return CommitStatus.DuplicateEvent;

                Accounts[key] = new PendingAccount(commit.State, current + 1); // the store owns the committed state from here
                if (commit.Decision is { } d)
                    Decisions[eventId!] = new PendingDecision(new StoredDecision(commit.Fingerprint!, d), StateJson.SerializeDecision(d), commit.RememberUntil);
                if (commit.IpFailure is { } f) IpFailures.Add(new PendingIp(f.Ip, f.At.UtcTicks, (f.At - f.Window).UtcTicks, f.ExpiresAt.UtcTicks));
                if (commit.Clock != default) _now = Math.Max(_now, commit.Clock.UtcTicks);
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
                using (var tx = store.Begin())
                {
                    foreach (var (key, account) in Accounts) store.WriteAccount(key, account);
                    foreach (var (id, decision) in Decisions) store.WriteDecision(id, decision);
                    foreach (var ip in IpFailures) store.WriteIp(ip);
                    if (journal is not null) store.WriteJournal(journal);
                    if (_now > 0) store.Forget(_now);
                    tx.Commit();
                }
                foreach (var (key, account) in Accounts) store.Cache(key, account);
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
            _released = _done = true; // uncommitted: what was staged is dropped (the cache holds committed states only)
            store._writer.Release();
            return ValueTask.CompletedTask;
        }
    }

    private sealed record PendingAccount(AccountState State, long Version);

    private sealed record PendingDecision(StoredDecision Stored, byte[] Json, DateTimeOffset Until);

    private sealed record PendingIp(string Ip, long At, long PruneBefore, long Expires);
}

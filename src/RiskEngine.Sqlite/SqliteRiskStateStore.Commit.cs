using System.Diagnostics;
using Microsoft.Data.Sqlite;
using RiskEngine.Domain;
using RiskEngine.Security;
using RiskEngine.State;

namespace RiskEngine.Sqlite;

// The commit path: one journal row per batch, and the sorted write-back.
public sealed partial class SqliteRiskStateStore
{
    // ---- the commit path ----

    /// <summary>Appends a batch: one journal row and one decisions row in one transaction, then applies it to memory.</summary>
    private void Append(SqliteBatch batch, JournalEntry? journal)
    {
        if (batch.Accounts.Count == 0 && journal is null && !_publishedChanged) return; // nothing to make durable
        // The journal row: [format][flags][body], the body Brotli-compressed when the options say so.
        _row.ResetWrittenCount();
        var w = new CompactWriter(_row);
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
        var body = _row.WrittenSpan;
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
            var arenaBytes = _scratch;
            arenaBytes.ResetWrittenCount();
            var dw = new CompactWriter(arenaBytes);
            DecisionRecords.WriteHeader(dw, policies.Keys, batch.Decisions.Count);
            var i = 0;
            foreach (var (id, d) in batch.Decisions)
            {
                var until = d.Until.UtcTicks;
                index[i++] = (id, arenaBytes.WrittenCount, until);
                maxUntil = Math.Max(maxUntil, until);
                DecisionRecords.Write(dw, id, d.Stored.Fingerprint, until, d.Stored.Decision, policies.GetValueOrDefault(d.Stored.Decision.PolicyVersion));
            }
            arena = new DecisionArena(_nextDecisionsId, arenaBytes.WrittenSpan.ToArray(), [.. policies.Keys]);
        }

        try
        {
            using var tx = Begin();
            using (var cmd = Command("INSERT INTO journal (id, batch) VALUES ($id, $b)", ("$id", _nextJournalId), ("$b", row)))
                cmd.ExecuteNonQuery();
            if (arena is not null)
            {
                using var cmd = Command("INSERT INTO decisions (id, until, records) VALUES ($id, $u, $r)", ("$id", arena.RowId), ("$u", maxUntil), ("$r", arena.Bytes));
                cmd.ExecuteNonQuery();
            }
            tx.Commit();
        }
        catch (SqliteException e)
        {
            _journalProblem = $"the database did not take a batch: SQLite error {e.SqliteErrorCode} ({e.SqliteExtendedErrorCode})";
            // Nothing of the batch is durable (the transaction rolled back), and memory has not moved: an outage of the
            // store (a full disk, an I/O error), which hosts answer by pausing or with 503, never a decided answer.
            throw new StateStoreUnavailableException(_journalProblem, e);
        }
        _journalProblem = null;

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
            var k = 0;
            foreach (var d in batch.Decisions.Values)
            {
                var (id, offset, until) = index[k++];
                var stored = new DecisionRef(arena, offset, until);
                _decisions[id] = stored;
                IndexDecision(d.Stored.Decision.Account.Value, stored);
            }
        }
        foreach (var ip in batch.IpFailures) AddIp(ip.Ip, ip.At, ip.PruneBefore, ip.Expires);
        if (journal is not null)
        {
            _positions[journal.Position.Source] = journal.Position;
            foreach (var r in records)
            {
                if (!_unpublished.TryGetValue(r.Channel, out var list)) _unpublished[r.Channel] = list = [];
                list.Add(r);
            }
            _lastSequence = lastSequence;
        }

        if (_journalRows >= _options.WriteBackBatches || _dirty >= _options.WriteBackDirtyAccounts || _journalBytes >= _options.WriteBackJournalBytes)
            TryWriteBackLocked();
        if (_walBytes >= _options.CheckpointBytes)
        {
            _walBytes = 0;
            _checkpointer?.Signal();
        }
    }

    /// <summary>
    /// The write-back after a committed batch: a failure here (a full disk) must not fail the batch, which the journal
    /// already holds durably — its callers are answered and its records published. The journal rows stay until a
    /// later write-back succeeds (tried again after <see cref="SqliteStoreOptions.WriteBackRetryInterval"/>); meanwhile <see cref="Problem"/> says so.
    /// </summary>
    private void TryWriteBackLocked()
    {
        if (_writeBackProblem is not null && Stopwatch.GetElapsedTime(_writeBackFailedAt) < _options.WriteBackRetryInterval) return;
        try
        {
            WriteBackLocked();
            _writeBackProblem = null;
        }
        catch (SqliteException e)
        {
            _writeBackFailedAt = Stopwatch.GetTimestamp();
            _writeBackProblem = $"write-back failed: SQLite error {e.SqliteErrorCode} ({e.SqliteExtendedErrorCode}); committed batches are safe in the journal and it is retried";
        }
    }

    private volatile string? _writeBackProblem;
    private long _writeBackFailedAt;

    private volatile string? _journalProblem;

    /// <inheritdoc />
    public string? Problem => _writeBackProblem ?? _journalProblem;

    /// <inheritdoc />
    /// <remarks>A failed write-back is tried again (after its retry interval); after a refused batch, a journal row written and removed shows whether the database takes writes again.</remarks>
    public async ValueTask<string?> ProbeAsync(CancellationToken cancellationToken = default)
    {
        if (Problem is null) return null;
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_writeBackProblem is not null) TryWriteBackLocked();
            if (_journalProblem is not null)
            {
                try
                {
                    // The write that failed, without a trace: a journal row added and removed in one committed transaction.
                    using var tx = Begin();
                    using (var cmd = Command("INSERT INTO journal (id, batch) VALUES (-1, x'')")) cmd.ExecuteNonQuery();
                    using (var cmd = Command("DELETE FROM journal WHERE id = -1")) cmd.ExecuteNonQuery();
                    tx.Commit();
                    _journalProblem = null;
                }
                catch (SqliteException)
                {
                    // still refused: the problem stands
                }
            }
            return Problem;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Folds everything the journal rows hold into the tables, in one transaction: dirty accounts in key order,
    /// positions, published marks, the new outbox rows (a row per record), the live IP windows as one row; then drops the journal rows
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
            // The outbox, one row per record: the published rows go and the records committed since the last
            // write-back are added; what waits (a backlog for a receiver that is down) is never rewritten.
            foreach (var (channel, tail) in _unpublished)
            {
                using (var cmd = Command("DELETE FROM outbox WHERE channel = $c AND seq <= $s", ("$c", (int)channel), ("$s", _published.GetValueOrDefault(channel).Sequence)))
                    cmd.ExecuteNonQuery();
                foreach (var r in tail)
                {
                    using var cmd = Command("INSERT OR REPLACE INTO outbox (channel, seq, record) VALUES ($c, $s, $r)", ("$c", (int)channel), ("$s", r.Sequence), ("$r", r.Bytes));
                    cmd.ExecuteNonQuery();
                }
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
        foreach (var tail in _unpublished.Values) tail.Clear(); // rows now
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
        HashSet<string>? owners = null;
        foreach (var (id, d) in _decisions)
        {
            if (d.Until > _forgetClock) continue;
            _decisions.Remove(id);
            (owners ??= new HashSet<string>(StringComparer.Ordinal)).Add(DecisionRecords.Head(d).Account);
        }
        foreach (var owner in owners ?? [])
        {
            if (!_byAccount.TryGetValue(owner, out var refs)) continue;
            refs.RemoveAll(r => r.Until <= _forgetClock);
            if (refs.Count == 0) _byAccount.Remove(owner);
        }
        if (_clean >= MaxCleanAccounts) DropClean();
        _walBytes = 0;
        _checkpointer?.Signal();
    }

    /// <summary>The live IP windows as one row ([count][ip, at, expires]...), in the order a replay re-adds them; null when none.</summary>
    private byte[]? IpSnapshot()
    {
        _scratch.ResetWrittenCount();
        var w = new CompactWriter(_scratch);
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
        return _scratch.WrittenSpan.ToArray();
    }
}

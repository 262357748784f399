using Microsoft.Data.Sqlite;
using RiskEngine.Domain;
using RiskEngine.Security;
using RiskEngine.State;

namespace RiskEngine.Sqlite;

// Opening: schema migration and journal replay.
public sealed partial class SqliteRiskStateStore
{
    // ---- opening: migration and replay ----

    /// <summary>
    /// Converts the tables of earlier versions, in one transaction: a row per decision (with its three indexes)
    /// becomes decision rows of up to 4,096 records, a row per IP failure becomes one row of live windows, and an
    /// outbox blob per channel (schema 2) becomes a row per record.
    /// </summary>
    private void Migrate()
    {
        var oldDecisions = HasColumn("decisions", "fingerprint");
        var oldIps = HasColumn("ip_failures", "ip");
        var oldOutbox = HasColumn("outbox", "records");
        if (!oldDecisions && !oldIps && !oldOutbox) return;
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
                _scratch.ResetWrittenCount();
                var w = new CompactWriter(_scratch);
                DecisionRecords.WriteHeader(w, [""], chunk.Length);
                foreach (var d in chunk) DecisionRecords.WriteJson(w, d.Event, d.Fingerprint, d.Until, d.Account, d.At, d.Json);
                using var cmd = _db.CreateCommand();
                cmd.Transaction = _tx;
                cmd.CommandText = "INSERT INTO decisions_v2 (id, until, records) VALUES ($id, $u, $r)";
                cmd.Parameters.AddWithValue("$id", id++);
                cmd.Parameters.AddWithValue("$u", chunk.Max(d => d.Until));
                cmd.Parameters.AddWithValue("$r", _scratch.WrittenSpan.ToArray());
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
                _scratch.ResetWrittenCount();
                var w = new CompactWriter(_scratch);
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
                cmd.Parameters.AddWithValue("$e", _scratch.WrittenSpan.ToArray());
                cmd.ExecuteNonQuery();
            }
        }
        if (oldOutbox) MigrateOutbox();
        SetMeta("schema", SchemaVersion);
        tx.Commit();
    }

    private void MigrateOutbox()
    {
        var records = new List<JournalRecord>();
        using (var cmd = _db.CreateCommand())
        {
            cmd.Transaction = _tx;
            cmd.CommandText = "SELECT channel, records FROM outbox ORDER BY channel, last_seq";
            using var r = cmd.ExecuteReader();
            while (r.Read()) Unpack((byte[])r[1], (OutputChannel)r.GetInt32(0), records);
        }
        Exec("""
            DROP TABLE outbox;
            CREATE TABLE outbox (channel INTEGER NOT NULL, seq INTEGER NOT NULL, record BLOB NOT NULL, PRIMARY KEY (channel, seq));
            """);
        using var insert = _db.CreateCommand();
        insert.Transaction = _tx;
        insert.CommandText = "INSERT OR REPLACE INTO outbox (channel, seq, record) VALUES ($c, $s, $r)";
        var (c, seq, bytes) = (insert.Parameters.Add("$c", SqliteType.Integer), insert.Parameters.Add("$s", SqliteType.Integer), insert.Parameters.Add("$r", SqliteType.Blob));
        foreach (var rec in records)
        {
            (c.Value, seq.Value, bytes.Value) = ((int)rec.Channel, rec.Sequence, rec.Bytes);
            insert.ExecuteNonQuery();
        }
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
    /// Rebuilds memory from one consistent read of the file: positions, published marks and the last sequence; then
    /// every journal row after the last write-back in order (accounts held dirty, IP failures re-added, records,
    /// positions, marks); then the live idempotency records. The outbox rows stay in the table (read by cursor).
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
        using (var cmd = Command("SELECT id, entries FROM ip_failures ORDER BY id"))
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                _nextIpId = r.GetInt64(0) + 1;
                var bytes = (byte[])r[1];
                var reader = new CompactReader(bytes, CompactErrors.StoredRow);
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
        foreach (var (channel, tail) in _unpublished) tail.RemoveThrough(_published.GetValueOrDefault(channel).Sequence);
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
                    if (until > _forgetClock)
                    {
                        var stored = new DecisionRef(arena, at, until);
                        _decisions[id] = stored;
                        IndexDecision(DecisionRecords.Head(stored).Account, stored);
                    }
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
        var r = new CompactReader(body, CompactErrors.StoredRow);
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
}

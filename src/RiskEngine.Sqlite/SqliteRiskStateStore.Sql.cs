using Microsoft.Data.Sqlite;
using RiskEngine.Domain;
using RiskEngine.Security;
using RiskEngine.State;

namespace RiskEngine.Sqlite;

// SQL plumbing: prepared statements, transactions, unpacking of old outbox blobs.
public sealed partial class SqliteRiskStateStore
{
    // ---- SQL plumbing ----

    /// <summary>Reads an outbox blob of schema 2 and earlier (records packed as [seq int64][length int32][bytes]); only the migration does.</summary>
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
}

using Microsoft.Data.Sqlite;
using RiskEngine.State;

namespace RiskEngine.Sqlite;

// Dead webhook deliveries: table webhook_dead, written directly (one statement, its own fsync), not through the journal.
public sealed partial class SqliteRiskStateStore : IDeadDeliveryStore
{
    private const string DeadColumns = "id, endpoint, delivery, type, seq, body, attempts, status, error, first_at, last_at, state";

    /// <inheritdoc />
    public async ValueTask<long> SaveAsync(DeadDelivery delivery, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            using var cmd = Command("""
                INSERT INTO webhook_dead (endpoint, delivery, type, seq, body, attempts, status, error, first_at, last_at, state)
                VALUES ($e, $d, $t, $s, $b, $n, $st, $err, $f, $l, $state)
                ON CONFLICT(endpoint, delivery) DO UPDATE SET attempts = $n, status = $st, error = $err, last_at = $l, state = $state
                RETURNING id
                """,
                ("$e", delivery.Endpoint), ("$d", delivery.DeliveryId), ("$t", delivery.Type), ("$s", delivery.Sequence), ("$b", delivery.Body),
                ("$n", delivery.Attempts), ("$st", (object?)delivery.LastStatus ?? DBNull.Value), ("$err", (object?)delivery.LastError ?? DBNull.Value),
                ("$f", delivery.FirstAttempt.UtcTicks), ("$l", delivery.LastAttempt.UtcTicks), ("$state", (int)delivery.State));
            return (long)cmd.ExecuteScalar()!;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<DeadDelivery>> ListAsync(long afterId, int limit, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            using var cmd = Command($"SELECT {DeadColumns} FROM webhook_dead WHERE id > $a ORDER BY id LIMIT $n", ("$a", afterId), ("$n", limit));
            return ReadDead(cmd);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask<DeadDelivery?> RequeueAsync(long id, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            using (var cmd = Command("UPDATE webhook_dead SET state = $q WHERE id = $id AND state = $d", ("$q", (int)DeadDeliveryState.Queued), ("$id", id), ("$d", (int)DeadDeliveryState.Dead)))
                cmd.ExecuteNonQuery();
            using var select = Command($"SELECT {DeadColumns} FROM webhook_dead WHERE id = $id", ("$id", id));
            return ReadDead(select) is [var entry] ? entry : null;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<DeadDelivery>> QueuedAsync(string endpoint, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            using var cmd = Command($"SELECT {DeadColumns} FROM webhook_dead WHERE endpoint = $e AND state = $q ORDER BY id", ("$e", endpoint), ("$q", (int)DeadDeliveryState.Queued));
            return ReadDead(cmd);
        }
        finally
        {
            _gate.Release();
        }
    }

    private static List<DeadDelivery> ReadDead(CachedCommand cmd)
    {
        var list = new List<DeadDelivery>();
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            list.Add(new DeadDelivery(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt64(4), (byte[])r[5], r.GetInt32(6),
                r.IsDBNull(7) ? null : r.GetInt32(7), r.IsDBNull(8) ? null : r.GetString(8),
                new DateTimeOffset(r.GetInt64(9), TimeSpan.Zero), new DateTimeOffset(r.GetInt64(10), TimeSpan.Zero), (DeadDeliveryState)r.GetInt32(11)));
        }
        return list;
    }
}

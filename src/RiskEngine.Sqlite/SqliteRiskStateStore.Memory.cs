using Microsoft.Data.Sqlite;
using RiskEngine.Domain;
using RiskEngine.Security;
using RiskEngine.State;

namespace RiskEngine.Sqlite;

// In-memory indexes: accounts held dirty, idempotency records, IP windows.
public sealed partial class SqliteRiskStateStore
{
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
}

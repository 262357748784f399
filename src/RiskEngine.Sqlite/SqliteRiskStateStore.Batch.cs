using Microsoft.Data.Sqlite;
using RiskEngine.Domain;
using RiskEngine.Security;
using RiskEngine.State;

namespace RiskEngine.Sqlite;

// The unit of work (IStateBatch).
public sealed partial class SqliteRiskStateStore
{
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
}

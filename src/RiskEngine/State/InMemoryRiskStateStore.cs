using System.Collections.Concurrent;
using RiskEngine.Domain;

namespace RiskEngine.State;

/// <summary>
/// The library's default store: process memory, thread-safe, nothing survives a restart. Account commits are
/// serialised per account; de-duplication records and per-IP failure windows are forgotten once expired by the
/// engine's clock (<see cref="AccountCommit.Clock"/>), so memory is bounded by what the windows hold. It keeps a
/// worker's journal too (<see cref="IEventJournal"/>, in memory), so a host's batch commits through it as through a
/// durable store.
/// </summary>
public sealed class InMemoryRiskStateStore : IRiskStateStore, IEventJournal
{
    private readonly InMemoryEventJournal _journal = new();
    private readonly ConcurrentDictionary<AccountId, Entry> _accounts = new();
    private readonly ConcurrentDictionary<string, (StoredDecision Stored, DateTimeOffset Until)> _decisions = new(StringComparer.Ordinal);
    private readonly ExpiryQueue _expiry = new();
    private readonly ConcurrentDictionary<string, IpWindow> _ipFailures = new(StringComparer.Ordinal);
    private readonly ExpiryQueue _ipExpiry = new();

    /// <summary>Number of accounts held.</summary>
    public int AccountCount => _accounts.Count;

    /// <summary>Number of decisions held for de-duplication.</summary>
    public int DecisionCount => _decisions.Count;

    /// <summary>Number of IP addresses with failed sign-ins held.</summary>
    public int IpCount => _ipFailures.Count;

    /// <inheritdoc />
    public ValueTask<StoredDecision?> FindDecisionAsync(AccountId account, EventId eventId, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(_decisions.TryGetValue(eventId.Value, out var d) ? d.Stored : null);

    /// <inheritdoc />
    public ValueTask<AccountSnapshot> LoadAccountAsync(AccountId account, CancellationToken cancellationToken = default)
    {
        if (!_accounts.TryGetValue(account, out var entry)) return ValueTask.FromResult(new AccountSnapshot(new AccountState(), 0));
        lock (entry)
        {
            return ValueTask.FromResult(new AccountSnapshot(entry.State.Clone(), entry.Version));
        }
    }

    /// <inheritdoc />
    public ValueTask<int> CountIpFailuresAsync(string ip, DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken = default)
    {
        if (!_ipFailures.TryGetValue(ip, out var window)) return ValueTask.FromResult(0);
        lock (window)
        {
            var n = 0;
            foreach (var t in window.Times) if (t > since && t <= until) n++;
            return ValueTask.FromResult(n);
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<AccountId>> ListFrozenAsync(string reason, DateTimeOffset frozenAtOrBefore, int max, CancellationToken cancellationToken = default)
    {
        var result = new List<AccountId>();
        foreach (var (id, entry) in _accounts)
        {
            if (result.Count >= max) break;
            lock (entry)
            {
                if (entry.State.Freeze is { } f && f.Reason == reason && f.At <= frozenAtOrBefore) result.Add(id);
            }
        }
        return ValueTask.FromResult<IReadOnlyList<AccountId>>(result);
    }

    /// <inheritdoc />
    public ValueTask<CommitStatus> CommitAsync(AccountCommit commit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(commit);
        var entry = _accounts.GetOrAdd(commit.Account, static _ => new Entry());
        var id = commit.Decision?.EventId.Value;
        lock (entry)
        {
            if (entry.Version != commit.ExpectedVersion) return ValueTask.FromResult(CommitStatus.Conflict);
            if (id is not null && !_decisions.TryAdd(id, (new StoredDecision(commit.Fingerprint!, commit.Decision!), commit.RememberUntil)))
                return ValueTask.FromResult(CommitStatus.DuplicateEvent);
            entry.State.CopyFrom(commit.State);
            entry.Version++;
        }
        if (id is not null) _expiry.Add(id, commit.RememberUntil);
        if (commit.IpFailure is { } f)
        {
            while (true)
            {
                var window = _ipFailures.GetOrAdd(f.Ip, static _ => new IpWindow());
                lock (window)
                {
                    if (window.Removed) continue; // swept between the lookup and the lock: add to a fresh one
                    AccountState.InsertOrdered(window.Times, f.At, static t => t);
                    AccountState.PruneBefore(window.Times, f.At - f.Window, static t => t);
                    if (f.ExpiresAt > window.ExpiresAt) window.ExpiresAt = f.ExpiresAt;
                }
                break;
            }
            _ipExpiry.Add(f.Ip, f.ExpiresAt);
        }
        if (commit.Clock != default) ForgetExpired(commit.Clock);
        return ValueTask.FromResult(CommitStatus.Committed);
    }

    /// <inheritdoc />
    public ValueTask<IStateBatch> BeginBatchAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<IStateBatch>(new DirectStateBatch(this, _journal.AppendAsync));

    /// <inheritdoc />
    public ValueTask<JournalPosition?> LoadPositionAsync(string source, CancellationToken cancellationToken = default) => _journal.LoadPositionAsync(source, cancellationToken);

    /// <inheritdoc />
    public ValueTask<long> LastSequenceAsync(CancellationToken cancellationToken = default) => _journal.LastSequenceAsync(cancellationToken);

    /// <inheritdoc />
    public ValueTask<(long Sequence, long Length)> PublishedAsync(OutputChannel channel, CancellationToken cancellationToken = default) => _journal.PublishedAsync(channel, cancellationToken);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<JournalRecord>> UnpublishedAsync(OutputChannel channel, CancellationToken cancellationToken = default) => _journal.UnpublishedAsync(channel, cancellationToken);

    /// <inheritdoc />
    public ValueTask MarkPublishedAsync(OutputChannel channel, long sequence, long length, CancellationToken cancellationToken = default) => _journal.MarkPublishedAsync(channel, sequence, length, cancellationToken);

    /// <summary>
    /// Everything the store holds, as JSON: accounts (with TOTP secrets only as protected envelopes) and decided
    /// event ids. For support diagnostics and for tests that prove no secret is held in the clear.
    /// </summary>
    public string Dump()
    {
        var accounts = new SortedDictionary<string, AccountState>(StringComparer.Ordinal);
        foreach (var (id, entry) in _accounts)
        {
            lock (entry) accounts[id.Value] = entry.State.Clone();
        }
        return System.Text.Json.JsonSerializer.Serialize(new { accounts, decisions = _decisions.Keys.Order(StringComparer.Ordinal).ToArray() });
    }

    private void ForgetExpired(DateTimeOffset now)
    {
        // Bounded work per commit keeps the hot path flat; the queue drains over the next commits.
        // Each commit adds at most one record of each kind and removes up to eight, so the queues keep up.
        for (var i = 0; i < 8 && _expiry.TakeExpired(now) is { } id; i++)
        {
            if (_decisions.TryGetValue(id, out var d) && d.Until <= now) _decisions.TryRemove(id, out _);
        }
        for (var i = 0; i < 8 && _ipExpiry.TakeExpired(now) is { } ip; i++)
        {
            if (!_ipFailures.TryGetValue(ip, out var window)) continue;
            lock (window)
            {
                if (window.ExpiresAt > now) continue; // a later failure of the same IP keeps it (and queued itself)
                window.Removed = true;
                _ipFailures.TryRemove(new KeyValuePair<string, IpWindow>(ip, window));
            }
        }
    }

    /// <summary>One IP's failed sign-ins (event times, oldest first) and when the last of them expires.</summary>
    private sealed class IpWindow
    {
        public readonly List<DateTimeOffset> Times = [];
        public DateTimeOffset ExpiresAt;
        public bool Removed;
    }

    private sealed class Entry
    {
        public AccountState State = new();
        public long Version;
    }
}

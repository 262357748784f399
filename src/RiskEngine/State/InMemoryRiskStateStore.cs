using System.Collections.Concurrent;
using RiskEngine.Domain;

namespace RiskEngine.State;

/// <summary>
/// The library's default store: process memory, thread-safe, nothing survives a restart. Account commits are
/// serialised per account; de-duplication records and per-IP failure windows are forgotten once expired by the
/// engine's clock (<see cref="AccountCommit.Clock"/>), so memory is bounded by what the windows hold. Compact: an
/// account is its binary encoding (<see cref="AccountStateCodec"/>, no object graph for the GC to walk), and an
/// idempotency record of a plain allow is a small struct (the fingerprint as 128 bits) rebuilt into a decision only
/// when a duplicate arrives. It keeps a
/// worker's journal too (<see cref="IEventJournal"/>, in memory), so a host's batch commits through it as through a
/// durable store.
/// </summary>
public sealed class InMemoryRiskStateStore : IRiskStateStore, IEventJournal
{
    private readonly InMemoryEventJournal _journal = new();
    private readonly ConcurrentDictionary<AccountId, Entry> _accounts = new();
    private readonly ConcurrentDictionary<string, IdRecord> _decisions = new(StringComparer.Ordinal);
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
        ValueTask.FromResult(_decisions.TryGetValue(eventId.Value, out var d) ? d.ToStored(eventId) : null);

    /// <inheritdoc />
    public ValueTask<AccountSnapshot> LoadAccountAsync(AccountId account, CancellationToken cancellationToken = default)
    {
        if (!_accounts.TryGetValue(account, out var entry)) return ValueTask.FromResult(new AccountSnapshot(new AccountState(), 0));
        lock (entry)
        {
            return ValueTask.FromResult(new AccountSnapshot(entry.Decode(Rent()), entry.Version));
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
                if (entry.FrozenReason == reason && entry.FrozenAt <= frozenAtOrBefore) result.Add(id);
            }
        }
        return ValueTask.FromResult<IReadOnlyList<AccountId>>(result);
    }

    /// <inheritdoc />
    public ValueTask<CommitStatus> CommitAsync(AccountCommit commit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(commit);
        var entry = _accounts.GetOrAdd(commit.Account, static a => new Entry(a));
        var id = commit.Decision?.EventId.Value;
        var encoded = Encoder;
        encoded.ResetWrittenCount();
        AccountStateCodec.Encode(commit.State, encoded); // outside the lock
        lock (entry)
        {
            if (entry.Version != commit.ExpectedVersion) return ValueTask.FromResult(CommitStatus.Conflict);
            if (id is not null && !_decisions.TryAdd(id, IdRecord.Of(commit.Fingerprint!, commit.Decision!, entry.Account, commit.RememberUntil)))
                return ValueTask.FromResult(CommitStatus.DuplicateEvent);
            entry.Store(encoded.WrittenSpan, commit.State.Freeze);
            entry.Version++;
        }
        Return(commit.State); // committed: the store owns it, and reuses its storage for the next read on this thread
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
        ValueTask.FromResult<IStateBatch>(new DirectStateBatch(this, _appendJournal ??= _journal.AppendAsync));

    private Func<JournalEntry, CancellationToken, ValueTask>? _appendJournal;

    /// <inheritdoc />
    public ValueTask<JournalPosition?> LoadPositionAsync(string source, CancellationToken cancellationToken = default) => _journal.LoadPositionAsync(source, cancellationToken);

    /// <inheritdoc />
    public ValueTask<long> LastSequenceAsync(CancellationToken cancellationToken = default) => _journal.LastSequenceAsync(cancellationToken);

    /// <inheritdoc />
    public ValueTask<(long Sequence, long Length)> PublishedAsync(OutputChannel channel, CancellationToken cancellationToken = default) => _journal.PublishedAsync(channel, cancellationToken);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<JournalRecord>> UnpublishedAsync(OutputChannel channel, CancellationToken cancellationToken = default) => _journal.UnpublishedAsync(channel, cancellationToken);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<JournalRecord>> ReadAsync(OutputChannel channel, long afterSequence, int limit, CancellationToken cancellationToken = default) =>
        _journal.ReadAsync(channel, afterSequence, limit, cancellationToken);

    /// <inheritdoc />
    public ValueTask<long> CountAsync(OutputChannel channel, long afterSequence, CancellationToken cancellationToken = default) => _journal.CountAsync(channel, afterSequence, cancellationToken);

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
            lock (entry) accounts[id.Value] = entry.Decode(new AccountState());
        }
        return System.Text.Json.JsonSerializer.Serialize(new { accounts, decisions = _decisions.Keys.Order(StringComparer.Ordinal).ToArray() });
    }

    private void ForgetExpired(DateTimeOffset now)
    {
        // Bounded work per commit keeps the hot path flat; the queue drains over the next commits.
        // Each commit adds at most one record of each kind and removes up to eight, so the queues keep up.
        for (var i = 0; i < 8 && _expiry.TakeExpired(now) is { } id; i++)
        {
            if (_decisions.TryGetValue(id, out var d) && d.UntilTicks <= now.UtcTicks) _decisions.TryRemove(id, out _);
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

    [ThreadStatic]
    private static System.Buffers.ArrayBufferWriter<byte>? t_encoder;

    // Committed states, reset, for the next reads on this thread: a read then allocates no lists or arrays. Bounded
    // by a batch's width (a wave holds that many states at once).
    [ThreadStatic]
    private static Stack<AccountState>? t_pool;

    private static AccountState Rent() => t_pool is { Count: > 0 } pool ? pool.Pop() : new AccountState();

    private static void Return(AccountState state)
    {
        var pool = t_pool ??= new Stack<AccountState>();
        if (pool.Count >= 1024) return;
        state.Reset();
        pool.Push(state);
    }

    private static System.Buffers.ArrayBufferWriter<byte> Encoder => t_encoder ??= new System.Buffers.ArrayBufferWriter<byte>(256);

    /// <summary>One account: its encoded state (reused in place while it fits), version, and freeze for the cool-down scan.</summary>
    private sealed class Entry(AccountId account)
    {
        public readonly AccountId Account = account; // one instance per account, shared by its idempotency records
        private byte[] _bytes = [];
        private int _length;
        public long Version;
        public string? FrozenReason;
        public DateTimeOffset FrozenAt;

        public AccountState Decode(AccountState into)
        {
            if (_length > 0) AccountStateCodec.DecodeInto(_bytes.AsSpan(0, _length), into);
            return into;
        }

        public void Store(ReadOnlySpan<byte> encoded, FreezeState? freeze)
        {
            if (encoded.Length > _bytes.Length) _bytes = new byte[encoded.Length + Math.Min(encoded.Length, 64)]; // room to grow in place
            encoded.CopyTo(_bytes);
            _length = encoded.Length;
            (FrozenReason, FrozenAt) = freeze is null ? (null, default) : (freeze.Reason, freeze.At);
        }
    }

    /// <summary>
    /// A decided event kept for de-duplication. A plain decision (no reasons, events or shadow hits: most allows) keeps
    /// only what rebuilds it — account, time, outcome, policy version — and a Base64 XXH128 fingerprint as 128 bits;
    /// anything else keeps the decision itself.
    /// </summary>
    private readonly struct IdRecord
    {
        private readonly ulong _fpLow, _fpHigh;
        private readonly object _payload; // Decision, or AccountId for a plain one
        private readonly object? _fingerprint; // null: the 128 bits above; else the fingerprint text
        private readonly DateTimeOffset _at;
        private readonly string? _policy;
        private readonly Decisions.Outcome _outcome;

        private IdRecord(ulong low, ulong high, object? fingerprint, object payload, DateTimeOffset at, string? policy, Decisions.Outcome outcome, long until)
        {
            (_fpLow, _fpHigh, _fingerprint, _payload, _at, _policy, _outcome, UntilTicks) = (low, high, fingerprint, payload, at, policy, outcome, until);
        }

        public long UntilTicks { get; }

        public static IdRecord Of(string fingerprint, Decisions.Decision d, AccountId account, DateTimeOffset until)
        {
            Span<byte> hash = stackalloc byte[16];
            var compact = fingerprint.Length == 24 && Convert.TryFromBase64String(fingerprint, hash, out var n) && n == 16;
            var (low, high) = compact ? (System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(hash), System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(hash[8..])) : (0UL, 0UL);
            var plain = d.Reasons.Count == 0 && d.Events.Count == 0 && d.Shadow.Count == 0 && !d.Duplicate;
            return plain
                ? new IdRecord(low, high, compact ? null : fingerprint, account, d.At, d.PolicyVersion, d.Outcome, until.UtcTicks)
                : new IdRecord(low, high, compact ? null : fingerprint, d, default, null, default, until.UtcTicks);
        }

        public StoredDecision ToStored(EventId id)
        {
            string fingerprint;
            if (_fingerprint is string text) fingerprint = text;
            else
            {
                Span<byte> hash = stackalloc byte[16];
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(hash, _fpLow);
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(hash[8..], _fpHigh);
                fingerprint = Convert.ToBase64String(hash);
            }
            var decision = _payload as Decisions.Decision ?? new Decisions.Decision(id, (AccountId)_payload, _at, _outcome, [], _policy!, []);
            return new StoredDecision(fingerprint, decision);
        }
    }
}

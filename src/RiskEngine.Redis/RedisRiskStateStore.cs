using System.Globalization;
using StackExchange.Redis;
using RiskEngine.Domain;
using RiskEngine.State;

namespace RiskEngine.Redis;

/// <summary>
/// Account state and decided events in Redis, shared by every worker and service that decides for the same accounts.
/// A commit — version check, state write, decision record, the per-IP failed sign-in window and the cool-down
/// (frozen) index — is a single Lua script, atomic on the server: it happens whole or not at all. Keys expire when
/// no longer needed: decisions after the idempotency window; an account idle for 31 days only when it holds nothing
/// but time windows (see <see cref="MayExpire"/>): TOTP factors, freezes, arranged limits, lockouts and sign-in history never expire.
/// </summary>
/// <remarks>
/// <para>Round trips per decision: 2 (the decision record and the state read together, then the commit), plus one read of
/// the IP window for a sign-in with an IP.</para>
/// <para>Needs a standalone Redis (or one managed by Sentinel), not Redis Cluster: the commit script touches the account's
/// keys (one hash tag per account, see <see cref="RedisKeys"/>) together with the per-IP window and the frozen index,
/// which live on other slots. The store refuses a cluster connection.</para>
/// </remarks>
public sealed class RedisRiskStateStore : IRiskStateStore
{
    private static readonly TimeSpan IdleAccountTtl = TimeSpan.FromDays(31);

    // KEYS[1] state hash, KEYS[2] decision key (or the state key again when there is no decision),
    // KEYS[3] the IP's failure window (or the state key again), KEYS[4..] frozen index keys (none, the one to add to, or all to remove from)
    // ARGV[1] expected version, [2] state json, [3] decision ('' for none), [4] decision ttl ms, [5] account ttl ms (0: keep forever),
    // [6] IP failure member ('' for none), [7] its score, [8] prune scores at or below, [9] window ttl ms,
    // [10] frozen index: 'add', 'remove' or '', [11] account id, [12] frozen-at score
    // returns 1 committed, 0 conflict, 2 duplicate event id
    // The indexes are written before the account: should a write fail (a server error aborts a script where it stands,
    // but Redis does not undo the writes before it), the account and decision are not committed and the event is
    // decided again; the IP member is the event's own, so a retry adds nothing twice. What can be left is a stale
    // frozen-index entry (an 'add' before a failed account write), which the cool-down timer skips.
    private const string CommitScript = """
        local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
        if v ~= tonumber(ARGV[1]) then return 0 end
        if ARGV[3] ~= '' and redis.call('EXISTS', KEYS[2]) == 1 then return 2 end
        if ARGV[6] ~= '' then
          redis.call('ZADD', KEYS[3], ARGV[7], ARGV[6])
          redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[8])
          redis.call('PEXPIRE', KEYS[3], ARGV[9])
        end
        if ARGV[10] == 'add' then
          redis.call('ZADD', KEYS[4], ARGV[12], ARGV[11])
        elseif ARGV[10] == 'remove' then
          for i = 4, #KEYS do redis.call('ZREM', KEYS[i], ARGV[11]) end
        end
        redis.call('HSET', KEYS[1], 'v', v + 1, 's', ARGV[2])
        if tonumber(ARGV[5]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[5]) else redis.call('PERSIST', KEYS[1]) end
        if ARGV[3] ~= '' then redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4]) end
        return 1
        """;

    private readonly IConnectionMultiplexer _redis;
    private readonly RedisKeys _keys;
    private readonly TimeProvider _time;

    /// <summary>Creates the store on <paramref name="redis"/>, with keys under <paramref name="prefix"/>.</summary>
    public RedisRiskStateStore(IConnectionMultiplexer redis, string prefix = RedisKeys.DefaultPrefix, TimeProvider? time = null)
        : this(redis, new RedisKeys(prefix), time)
    {
    }

    /// <summary>Creates the store on <paramref name="redis"/>, naming its keys with <paramref name="keys"/>.</summary>
    public RedisRiskStateStore(IConnectionMultiplexer redis, RedisKeys keys, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentNullException.ThrowIfNull(keys);
        if (redis.GetEndPoints().Any(e => redis.GetServer(e).ServerType == ServerType.Cluster))
            throw new NotSupportedException("the Redis state store needs a standalone Redis (or one managed by Sentinel), not Redis Cluster: " +
                "a commit updates the account, the per-IP failed sign-in window and the frozen index in one script, and those keys live on different slots");
        _redis = redis;
        _keys = keys;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The store's key names.</summary>
    public RedisKeys Keys => _keys;

    private IDatabase Db => _redis.GetDatabase();

    /// <inheritdoc />
    private async ValueTask<StoredDecision?> FindDecisionAsyncCore(AccountId account, EventId eventId, CancellationToken cancellationToken = default)
    {
        return ToStored(await Db.StringGetAsync(_keys.Decision(account, eventId)));
    }

    /// <inheritdoc />
    private async ValueTask<AccountSnapshot> LoadAccountAsyncCore(AccountId account, CancellationToken cancellationToken = default)
    {
        return ToSnapshot(await Db.HashGetAsync(_keys.State(account), ["v", "s"]));
    }

    /// <inheritdoc />
    private async ValueTask<int> CountIpFailuresAsyncCore(string ip, DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken = default) =>
        (int)await Db.SortedSetLengthAsync(_keys.IpFailures(ip), since.UtcTicks, until.UtcTicks, Exclude.Start);

    /// <inheritdoc />
    private async ValueTask<IReadOnlyList<AccountId>> ListFrozenAsyncCore(string reason, DateTimeOffset frozenAtOrBefore, int max, CancellationToken cancellationToken = default)
    {
        var members = await Db.SortedSetRangeByScoreAsync(_keys.Frozen(reason), double.NegativeInfinity, frozenAtOrBefore.UtcTicks, take: max);
        return members.Select(m => AccountId.Create(m!)).ToArray();
    }

    /// <inheritdoc />
    private async ValueTask<CommitStatus> CommitAsyncCore(AccountCommit commit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(commit);
        var account = commit.Account;
        var state = _keys.State(account);
        byte[] record = [];
        var decisionTtl = 1L;
        if (commit.Decision is { } d)
        {
            var json = StateJson.SerializeDecision(d);
            record = [.. System.Text.Encoding.ASCII.GetBytes(commit.Fingerprint!), (byte)'\n', .. json];
            // RememberUntil is by the engine's clock; a key's TTL counts from now.
            decisionTtl = Math.Max(1, (long)(commit.RememberUntil - (commit.Clock != default ? commit.Clock : d.At)).TotalMilliseconds);
        }
        var encodedState = AccountStateCodec.Encode(commit.State);
        var accountTtl = MayExpire(commit.State) ? (long)IdleAccountTtl.TotalMilliseconds : 0;

        var keys = new List<RedisKey>(4) { state, commit.Decision is null ? state : _keys.Decision(account, commit.Decision.EventId) };
        RedisValue ipMember = "", ipScore = 0, ipPrune = 0, ipTtl = 0;
        if (commit.IpFailure is { } f)
        {
            keys.Add(_keys.IpFailures(f.Ip));
            // The event's own member: counted once however often the commit is retried.
            ipMember = f.At.UtcTicks.ToString(CultureInfo.InvariantCulture) + ":" + (commit.Decision is { } e
                ? RedisKeys.Encode(account.Value) + ":" + RedisKeys.Encode(e.EventId.Value)
                : Guid.NewGuid().ToString("N"));
            ipScore = f.At.UtcTicks;
            ipPrune = (f.At - f.Window).UtcTicks;
            ipTtl = (long)(f.ExpiresAt - (commit.Clock != default ? commit.Clock : f.At) + TimeSpan.FromMinutes(1)).TotalMilliseconds;
        }
        else
        {
            keys.Add(state);
        }
        // The cool-down index: add while frozen; remove when a decision (or a TOTP / timer commit) lifted the freeze.
        RedisValue frozenOp = "", frozenAt = 0;
        if (commit.State.Freeze is { } frozen)
        {
            frozenOp = "add";
            frozenAt = frozen.At.UtcTicks;
            keys.Add(_keys.Frozen(frozen.Reason));
        }
        else if (commit.Decision is null || commit.Decision.Events.Any(e => e is Events.AccountUnfrozen))
        {
            frozenOp = "remove";
            foreach (var reason in Policies.ReasonCodes.Freezing) keys.Add(_keys.Frozen(reason));
        }

        var result = (long)await Db.ScriptEvaluateAsync(CommitScript, [.. keys],
            [commit.ExpectedVersion, encodedState, record, decisionTtl, accountTtl, ipMember, ipScore, ipPrune, ipTtl, frozenOp, account.Value, frozenAt]);
        return result switch
        {
            1 => CommitStatus.Committed,
            0 => CommitStatus.Conflict,
            _ => CommitStatus.DuplicateEvent,
        };
    }

    /// <summary>
    /// The parts of an account's state that only matter inside their time windows (30 days at most): caps, velocity,
    /// failed sign-ins, and the latest event's time (which guards those windows against far out-of-order events).
    /// Every other property of <see cref="AccountState"/> keeps the account; a test fails when a property is added
    /// to the state without being placed in one list or the other.
    /// </summary>
    internal static readonly string[] WindowProperties =
        [nameof(AccountState.Allowed), nameof(AccountState.Attempts), nameof(AccountState.LoginFailures), nameof(AccountState.LatestEventAt), nameof(AccountState.StepUps)];

    /// <summary>The properties <see cref="MayExpire"/> checks: any of them set keeps the account for good.</summary>
    internal static readonly string[] KeptProperties =
    [
        nameof(AccountState.Freeze), nameof(AccountState.Totp), nameof(AccountState.Limits), nameof(AccountState.LockedUntil),
        nameof(AccountState.Lockouts), nameof(AccountState.HasLoggedIn), nameof(AccountState.KnownDevices),
        nameof(AccountState.KnownCountries), nameof(AccountState.LastLogin), nameof(AccountState.SupportLog),
        nameof(AccountState.PaymentDevices), nameof(AccountState.PaymentCountries),
    ];

    /// <summary>
    /// True when the account holds nothing but time windows, so Redis may forget it after <see cref="IdleAccountTtl"/>
    /// idle. Anything else — a TOTP factor (enrolled or pending), a freeze, an arranged limit, a lockout and its
    /// history, the devices and countries of past sign-ins, and whatever the state gains later — keeps the account
    /// for good: forgetting it would let a new factor be enrolled by whoever asks first, lift a freeze, or make an
    /// attacker's sign-in the account's trusted "first". The engine prunes what has lapsed on the account's next
    /// commit, after which it may expire again.
    /// </summary>
    internal static bool MayExpire(AccountState state) =>
        state.Freeze is null && state.Totp is null && state.Limits.Count == 0 && state.LockedUntil is null && state.Lockouts.Count == 0 &&
        !state.HasLoggedIn && state.KnownDevices.Count == 0 && state.KnownCountries.Count == 0 && state.LastLogin is null &&
        state.SupportLog.Count == 0 && state.PaymentDevices.Count == 0 && state.PaymentCountries.Count == 0;

    /// <inheritdoc />
    public ValueTask<StoredDecision?> FindDecisionAsync(AccountId account, EventId eventId, CancellationToken cancellationToken = default) =>
        Guard(() => FindDecisionAsyncCore(account, eventId, cancellationToken));

    /// <inheritdoc />
    public ValueTask<AccountSnapshot> LoadAccountAsync(AccountId account, CancellationToken cancellationToken = default) =>
        Guard(() => LoadAccountAsyncCore(account, cancellationToken));

    /// <inheritdoc />
    public ValueTask<int> CountIpFailuresAsync(string ip, DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken = default) =>
        Guard(() => CountIpFailuresAsyncCore(ip, since, until, cancellationToken));

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<AccountId>> ListFrozenAsync(string reason, DateTimeOffset frozenAtOrBefore, int max, CancellationToken cancellationToken = default) =>
        Guard(() => ListFrozenAsyncCore(reason, frozenAtOrBefore, max, cancellationToken));

    /// <inheritdoc />
    public ValueTask<CommitStatus> CommitAsync(AccountCommit commit, CancellationToken cancellationToken = default) =>
        Guard(() => CommitAsyncCore(commit, cancellationToken));

    /// <summary>The decision record and the state in one round trip (same slot, one pipelined batch).</summary>
    public ValueTask<(StoredDecision? Stored, AccountSnapshot Snapshot)> LoadForDecisionAsync(AccountId account, EventId eventId, CancellationToken cancellationToken = default) =>
        Guard(async () =>
        {
            var batch = Db.CreateBatch();
            var decision = batch.StringGetAsync(_keys.Decision(account, eventId));
            var state = batch.HashGetAsync(_keys.State(account), ["v", "s"]);
            batch.Execute();
            return (ToStored(await decision), ToSnapshot(await state));
        });

    /// <summary>A decision record is <c>FINGERPRINT\nDECISION-JSON</c>.</summary>
    private static StoredDecision? ToStored(RedisValue value)
    {
        if (value.IsNull) return null;
        var bytes = (byte[])value!;
        var split = Array.IndexOf(bytes, (byte)'\n');
        return new StoredDecision(System.Text.Encoding.ASCII.GetString(bytes, 0, split), StateJson.DeserializeDecision(bytes.AsSpan(split + 1)));
    }

    /// <summary>The state hash's fields <c>v</c> (version) and <c>s</c> (state JSON); an absent account is empty at version 0.</summary>
    private static AccountSnapshot ToSnapshot(RedisValue[] fields) =>
        fields[0].IsNull ? new AccountSnapshot(new AccountState(), 0) : new AccountSnapshot(AccountStateCodec.Decode((byte[])fields[1]!), (long)fields[0]);

    /// <summary>
    /// Turns "Redis cannot serve now" (unreachable, timed out, failing over, loading, out of memory: see
    /// <see cref="RedisTransientErrors"/>) into <see cref="StateStoreUnavailableException"/>, which the engine answers fail-closed.
    /// </summary>
    private static async ValueTask<T> Guard<T>(Func<ValueTask<T>> call)
    {
        try
        {
            return await call();
        }
        catch (Exception e) when (RedisTransientErrors.IsTransient(e))
        {
            throw new StateStoreUnavailableException($"Redis unavailable: {e.GetType().Name}", e);
        }
    }

    /// <summary>The account's decisions still inside their idempotency window, newest first (support's history view; scans the account's keys).</summary>
    public async Task<IReadOnlyList<Decisions.Decision>> HistoryAsync(AccountId account, int limit)
    {
        var list = new List<Decisions.Decision>();
        var pattern = _keys.DecisionPattern(account);
        foreach (var endpoint in _redis.GetEndPoints())
        {
            var server = _redis.GetServer(endpoint);
            if (server.IsReplica) continue;
            await foreach (var key in server.KeysAsync(pattern: pattern))
            {
                var value = await Db.StringGetAsync(key);
                if (value.IsNull) continue;
                var bytes = (byte[])value!;
                list.Add(StateJson.DeserializeDecision(bytes.AsSpan(Array.IndexOf(bytes, (byte)'\n') + 1)));
            }
        }
        return list.OrderByDescending(d => d.At).Take(limit).ToArray();
    }

    /// <summary>Deletes every key under the prefix (tests, and resetting a staging environment).</summary>
    public async Task ClearAsync()
    {
        foreach (var endpoint in _redis.GetEndPoints())
        {
            var server = _redis.GetServer(endpoint);
            if (server.IsReplica) continue;
            await foreach (var key in server.KeysAsync(pattern: _keys.AllPattern)) await Db.KeyDeleteAsync(key);
        }
    }
}

using System.Globalization;
using StackExchange.Redis;
using RiskEngine.Domain;
using RiskEngine.State;

namespace RiskEngine.Redis;

/// <summary>
/// Account state and decided events in Redis, shared by every worker and service that decides for the same accounts.
/// Each account's keys carry one hash tag (<c>{a:ACCOUNT}</c>, see <see cref="RedisKeys"/>), so a Redis Cluster keeps them on one slot and a
/// commit — version check, state write, decision record — is a single Lua script, atomic on the server. Keys
/// expire when no longer needed: decisions after the idempotency window, idle unfrozen accounts after 31 days.
/// </summary>
/// <remarks>
/// Round trips per decision: 2 (the decision record and the state read together, then the commit), plus one pipelined write for a
/// failed sign-in from an IP (throttle window) and one for a freeze or unfreeze (the cool-down index). The per-IP
/// window and the frozen index are separate keys on other slots: they are updated after the commit, not inside it.
/// </remarks>
public sealed class RedisRiskStateStore : IRiskStateStore
{
    private static readonly TimeSpan IdleAccountTtl = TimeSpan.FromDays(31);

    // KEYS[1] state hash, KEYS[2] decision key (or the state key again when there is no decision)
    // ARGV: expected version, state json, decision ('' for none), decision ttl ms, account ttl ms (0: keep forever)
    // returns 1 committed, 0 conflict, 2 duplicate event id
    private const string CommitScript = """
        local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
        if v ~= tonumber(ARGV[1]) then return 0 end
        if ARGV[3] ~= '' and redis.call('EXISTS', KEYS[2]) == 1 then return 2 end
        redis.call('HSET', KEYS[1], 'v', v + 1, 's', ARGV[2])
        if tonumber(ARGV[5]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[5]) else redis.call('PERSIST', KEYS[1]) end
        if ARGV[3] ~= '' then redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4]) end
        return 1
        """;

    private readonly IConnectionMultiplexer _redis;
    private readonly RedisKeys _keys;
    private readonly TimeProvider _time;
    private readonly LuaScript _commit = LuaScript.Prepare(CommitScript.Replace("KEYS[1]", "@state", StringComparison.Ordinal).Replace("KEYS[2]", "@decision", StringComparison.Ordinal)
        .Replace("ARGV[1]", "@expected", StringComparison.Ordinal).Replace("ARGV[2]", "@json", StringComparison.Ordinal).Replace("ARGV[3]", "@record", StringComparison.Ordinal)
        .Replace("ARGV[4]", "@decisionTtl", StringComparison.Ordinal).Replace("ARGV[5]", "@accountTtl", StringComparison.Ordinal));

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
        byte[] record = [];
        var decisionTtl = 1L;
        if (commit.Decision is { } d)
        {
            var json = StateJson.SerializeDecision(d);
            record = [.. System.Text.Encoding.ASCII.GetBytes(commit.Fingerprint!), (byte)'\n', .. json];
            decisionTtl = Math.Max(1, (long)(commit.RememberUntil - d.At).TotalMilliseconds);
        }
        var accountTtl = commit.State.Freeze is null ? (long)IdleAccountTtl.TotalMilliseconds : 0; // a frozen account never expires
        var result = (long)await _commit.EvaluateAsync(Db, new
        {
            state = _keys.State(account),
            decision = commit.Decision is null ? _keys.State(account) : _keys.Decision(account, commit.Decision.EventId),
            expected = commit.ExpectedVersion,
            json = StateJson.SerializeState(commit.State),
            record,
            decisionTtl,
            accountTtl,
        });
        if (result != 1) return result == 0 ? CommitStatus.Conflict : CommitStatus.DuplicateEvent;

        var batch = Db.CreateBatch();
        var tasks = new List<Task>(4);
        if (commit.IpFailure is { } f)
        {
            var key = _keys.IpFailures(f.Ip);
            tasks.Add(batch.SortedSetAddAsync(key, f.At.UtcTicks.ToString(CultureInfo.InvariantCulture) + ":" + Guid.NewGuid().ToString("N")[..8], f.At.UtcTicks));
            tasks.Add(batch.SortedSetRemoveRangeByScoreAsync(key, double.NegativeInfinity, (f.At - f.Window).UtcTicks));
            tasks.Add(batch.KeyExpireAsync(key, f.Window + TimeSpan.FromMinutes(1)));
        }
        // The cool-down index: add while frozen; remove when a decision (or a TOTP / timer commit) lifted the freeze.
        if (commit.State.Freeze is { } frozen)
            tasks.Add(batch.SortedSetAddAsync(_keys.Frozen(frozen.Reason), account.Value, frozen.At.UtcTicks));
        else if (commit.Decision is null || commit.Decision.Events.Any(e => e is Events.AccountUnfrozen))
            foreach (var reason in Policies.ReasonCodes.Freezing) tasks.Add(batch.SortedSetRemoveAsync(_keys.Frozen(reason), account.Value));
        batch.Execute();
        await Task.WhenAll(tasks);
        return CommitStatus.Committed;
    }

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
        fields[0].IsNull ? new AccountSnapshot(new AccountState(), 0) : new AccountSnapshot(StateJson.DeserializeState((byte[])fields[1]!), (long)fields[0]);

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

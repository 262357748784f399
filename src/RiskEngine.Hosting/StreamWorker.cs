using System.Buffers;
using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RiskEngine.Decisions;
using RiskEngine.Events;
using RiskEngine.Pipeline;
using RiskEngine.Redis;
using RiskEngine.State;
using StackExchange.Redis;

namespace RiskEngine.Hosting;

/// <summary>
/// A worker on a partitioned Redis stream (<c>redis-stream:NAME</c>, partitions <c>NAME:0</c> … <c>NAME:P-1</c>).
/// Workers claim partitions with leases (renewed while alive, taken over when a worker dies, spread evenly as
/// workers come and go); within a partition, a consumer group delivers entries in order and an entry is
/// acknowledged only after its decision is committed and its records published. A dead owner's pending entries are
/// claimed before new ones. Entries are read and processed in batches (up to <see cref="WorkerOptions.BatchSize"/>):
/// one script counts the attempts of the batch's entries, the engine decides the batch together
/// (<see cref="EventStreamProcessor.ProcessLinesAsync(IReadOnlyList{JsonLine}, CancellationToken)"/>: per-account order kept), and one Lua script appends every
/// entry's records in input order, marks the entries (and the events) as published and acknowledges them, all or
/// nothing, so a redelivered entry publishes nothing twice. An entry whose processing failed
/// <see cref="WorkerOptions.MaxDeliveries"/> times is dead-lettered alone (with a <c>rejected</c> record, so every
/// entry yields exactly one record): an entry attempted before is retried alone, and only one that also failed alone
/// is dead-lettered. Needs a standalone (or Sentinel)
/// Redis: the script touches the output stream and the accounts' keys together.
/// </summary>
internal sealed partial class StreamWorker(
    IRiskEngine engine,
    IRiskStateStore store,
    IConnectionMultiplexer redis,
    RedisKeys keys,
    IOptions<WorkerOptions> options,
    WorkerMetrics metrics,
    WorkerStatus status,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    ILogger<StreamWorker> log) : BackgroundService
{
    private const string StreamPrefix = "redis-stream:";

    // KEYS: [1] output stream, [2] dead-letter stream, [3] input stream, then for each entry of the batch, in order:
    //       its event-published marker (or its entry marker again), its entry marker, its attempt counter
    // ARGV: [1] marker ttl ms, [2] group, then for each entry, in order: mode (decision|rejected|dead), entry id, a count
    //       n, and n values: decision: the duplicate record, then the records; rejected: the record; dead: the record,
    //       the event, the error
    // Publishes each entry's records once (the entry marker) and each event's original records once (the event
    // marker), in input order, and acknowledges every entry of the batch (XACK and DEL 1,000 at a time: Lua's unpack
    // takes a few thousand values at most). All or nothing: nothing is written before the checks that could fail (key
    // types; the first write, XACK, fails for a missing group; a refused key, NOPERM, fails the whole call; a replica,
    // READONLY, or OOM refuses a script's first write only), and a script's effects reach replicas and the AOF only
    // whole, so a batch is never half published.
    private const string PublishScript = """
        local output, dead, input, ttl, group = KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2]
        for _, key in ipairs({output, dead}) do
          local t = redis.call('TYPE', key)['ok']
          if t ~= 'stream' and t ~= 'none' then return redis.error_reply('WRONGTYPE ' .. key .. ' is not a stream; nothing was published') end
        end
        local at, a = {}, 3
        while a <= #ARGV do
          at[#at + 1] = a
          a = a + 3 + tonumber(ARGV[a + 2])
        end
        if 3 + 3 * #at ~= #KEYS then return redis.error_reply('ERR ' .. #at .. ' entries but ' .. #KEYS .. ' keys; nothing was published') end
        local ids, counters = {}, {}
        for i, a in ipairs(at) do
          ids[i] = ARGV[a + 1]
          counters[i] = KEYS[3 * i + 3]
        end
        for from = 1, #at, 1000 do
          local to = math.min(from + 999, #at)
          redis.call('XACK', input, group, unpack(ids, from, to))
          redis.call('DEL', unpack(counters, from, to))
        end
        for i, a in ipairs(at) do
          local event, entry, mode, v, n = KEYS[3 * i + 1], KEYS[3 * i + 2], ARGV[a], a + 3, tonumber(ARGV[a + 2])
          if redis.call('SET', entry, '1', 'PX', ttl, 'NX') then
            if mode == 'rejected' then
              redis.call('XADD', output, '*', 'record', ARGV[v])
              redis.call('XADD', dead, '*', 'record', ARGV[v])
            elseif mode == 'dead' then
              redis.call('XADD', output, '*', 'record', ARGV[v])
              redis.call('XADD', dead, '*', 'event', ARGV[v + 1], 'error', ARGV[v + 2], 'stream', input)
            elseif redis.call('SET', event, '1', 'PX', ttl, 'NX') then
              for j = v + 1, v + n - 1 do redis.call('XADD', output, '*', 'record', ARGV[j]) end
            else
              redis.call('XADD', output, '*', 'record', ARGV[v])
            end
          end
        end
        return #at
        """;

    /// <summary>How long an entry's attempt count is kept at least (ms): across restarts of a worker that keeps failing on it.</summary>
    private const long AttemptsKept = 24 * 60 * 60 * 1000;

    // KEYS: the attempt counters of the entries read, in order; ARGV: [1] ttl ms, [1 + i] entry i's counter value if
    // this worker already took it (an attempt cut short by Redis being unavailable: the retry is the same attempt), else -1.
    // Counts an attempt of each entry of a batch: a prefix of the entries read. An entry attempted before (it may be
    // what failed) goes alone: it ends the batch if it is the first, else the batch stops before it, uncounted. An
    // attempt of an entry alone also adds Solo. Returns the counter values (attempts + Solo × attempts alone).
    private const string AttemptScript = """
        local solo = 4294967296
        local values = {}
        for i = 1, #KEYS do
          local v = tonumber(ARGV[i + 1])
          local counted = v < 0
          if counted then v = redis.call('INCR', KEYS[i]) end
          local before = v % solo - 1
          if before > 0 and i > 1 then
            if counted then redis.call('DECR', KEYS[i]) end -- not attempted now
            break
          end
          if counted then redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
          values[i] = v
          if before > 0 then break end
        end
        if #values == 1 and tonumber(ARGV[2]) < 0 then values[1] = redis.call('INCRBY', KEYS[1], solo) end
        return values
        """;

    /// <summary>What <see cref="AttemptScript"/> adds to an entry's counter for an attempt of the entry alone.</summary>
    private const long Solo = 1L << 32;

    /// <summary>
    /// Whether an entry whose attempt counter holds <paramref name="value"/>, attempted alone now, is dead-lettered:
    /// it failed <see cref="WorkerOptions.MaxDeliveries"/> attempts, at least one of them alone. An attempt in a batch
    /// that failed counts for each of its entries, but only an entry that failed alone too is the failing one.
    /// </summary>
    private static bool FailedEveryAttempt(long value, int maxDeliveries) => value % Solo > maxDeliveries && value / Solo >= 2;

    private const string RenewScript = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";
    private const string ReleaseScript = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

    private readonly EventStreamProcessor _processor = new(engine);
    private readonly HashSet<int> _owned = [];
    private readonly Dictionary<string, long> _counted = new(StringComparer.Ordinal); // entries whose attempt was cut short by Redis being unavailable
    private string _name = "";
    private string _output = "";
    private string _dead = "";
    private string _me = "";
    private int _alive; // live workers, and this worker's share of the partitions, as of the last rebalance
    private int _share;

    /// <summary>How often a worker looks whether workers came or went, or it holds less than its share: it rebalances then, not a third of a lease later.</summary>
    private static readonly TimeSpan RebalanceCheck = TimeSpan.FromMilliseconds(250);
    private TimeSpan _reading, _counting, _deciding, _publishing; // where the time went, for the last log line

    private IDatabase Db => redis.GetDatabase();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        _name = o.Input[StreamPrefix.Length..];
        _output = o.Output[StreamPrefix.Length..];
        _dead = o.DeadLetter is { } dl && dl.StartsWith(StreamPrefix, StringComparison.Ordinal) ? dl[StreamPrefix.Length..] : _output + ":dead";
        _me = o.Consumer ?? $"{Environment.MachineName}-{Environment.ProcessId}";
        try
        {
            LogStarting(log, _me, _name, o.Partitions, o.Group);
            var groups = 0;
            var lastRebalance = 0L;
            var started = Stopwatch.GetTimestamp();
            var backoff = TimeSpan.Zero;
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    for (; groups < o.Partitions; groups++) await EnsureGroupAsync(StreamPartitioner.StreamKey(_name, groups), o.Group); // a Redis still loading or failing over is waited for
                    status.Running = true;
                    var sinceRebalance = Stopwatch.GetElapsedTime(lastRebalance);
                    if (sinceRebalance >= o.LeaseTtl / 3 || (sinceRebalance >= RebalanceCheck && await WorkersChangedAsync(o)))
                    {
                        await RebalanceAsync(o);
                        lastRebalance = Stopwatch.GetTimestamp();
                    }
                    var worked = false;
                    foreach (var p in _owned.Order().ToArray())
                    {
                        if (!_owned.Contains(p)) continue;
                        worked |= await ProcessPartitionAsync(o, p, stoppingToken);
                    }
                    backoff = TimeSpan.Zero;
                    status.StoreError = null;
                    if (worked) continue;
                    if (o.Once && await DrainedAsync(o)) break;
                    await Task.Delay(TimeSpan.FromMilliseconds(50), time, stoppingToken); // nothing to read: poll again shortly
                }
                catch (Exception e) when (e is StateStoreUnavailableException || RedisTransientErrors.IsTransient(e))
                {
                    // Pause and retry (Redis unreachable, failing over, loading, ...): nothing was acknowledged, so every unfinished entry is delivered again.
                    backoff = backoff == TimeSpan.Zero ? TimeSpan.FromMilliseconds(100) : TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
                    status.StoreError = e.Message;
                    metrics.StoreError("stream");
                    LogPaused(log, e.Message, backoff.TotalMilliseconds);
                    await Task.Delay(backoff, time, stoppingToken);
                    await RediscoverAsync();
                }
            }
            var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            LogDone(log, metrics.Processed, seconds > 0 ? metrics.Processed / seconds : 0, _reading.TotalSeconds, _counting.TotalSeconds, _deciding.TotalSeconds, _publishing.TotalSeconds);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            status.Failure = e;
            LogFailed(log, e);
            throw;
        }
        finally
        {
            status.Running = false;
            await ReleaseAllAsync();
            if (o.Once || status.Failure is not null) lifetime.StopApplication();
        }
    }

    /// <summary>
    /// Asks the client to look at the servers' roles again: after a failover (a replica promoted, or this server made
    /// master again) it would otherwise keep refusing writes until its next periodic check, up to a minute later.
    /// </summary>
    private async Task RediscoverAsync()
    {
        try
        {
            await redis.ConfigureAsync();
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // Still unreachable: the next pause tries again.
        }
    }

    private async Task EnsureGroupAsync(string key, string group)
    {
        try
        {
            await Db.StreamCreateConsumerGroupAsync(key, group, "0-0", createStream: true);
        }
        catch (RedisServerException e) when (e.Message.Contains("BUSYGROUP", StringComparison.Ordinal))
        {
        }
    }

    /// <summary>Heartbeat, renew what we hold, then give up or take partitions towards an even share.</summary>
    private async Task RebalanceAsync(WorkerOptions o)
    {
        var db = Db;
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var ttl = (long)o.LeaseTtl.TotalMilliseconds;
        var workers = keys.Workers(_name);
        await db.SortedSetAddAsync(workers, _me, now);
        await db.SortedSetRemoveRangeByScoreAsync(workers, double.NegativeInfinity, now - ttl);
        var alive = Math.Max(1, (int)await db.SortedSetLengthAsync(workers));
        var share = (o.Partitions + alive - 1) / alive;
        (_alive, _share) = (alive, share);

        foreach (var p in _owned.ToArray())
        {
            if ((long)await db.ScriptEvaluateAsync(RenewScript, [LeaseKey(p)], [_me, ttl]) == 0)
            {
                _owned.Remove(p);
                LogLost(log, p);
            }
        }
        while (_owned.Count > share)
        {
            var p = _owned.Max();
            await db.ScriptEvaluateAsync(ReleaseScript, [LeaseKey(p)], [_me]);
            _owned.Remove(p);
        }
        for (var p = 0; p < o.Partitions && _owned.Count < share; p++)
        {
            if (_owned.Contains(p)) continue;
            if (await db.StringSetAsync(LeaseKey(p), _me, o.LeaseTtl, When.NotExists))
            {
                _owned.Add(p);
                LogAcquired(log, p);
            }
        }
    }

    private RedisKey LeaseKey(int p) => keys.Lease(_name, p);

    /// <summary>True when this worker holds less than its share, or the number of live workers changed (one read).</summary>
    private async Task<bool> WorkersChangedAsync(WorkerOptions o)
    {
        if (_owned.Count < _share) return true;
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var alive = Math.Max(1, (int)await Db.SortedSetLengthAsync(keys.Workers(_name), now - o.LeaseTtl.TotalMilliseconds));
        return alive != _alive;
    }

    private async Task ReleaseAllAsync()
    {
        try
        {
            foreach (var p in _owned) await Db.ScriptEvaluateAsync(ReleaseScript, [LeaseKey(p)], [_me]);
            await Db.SortedSetRemoveAsync(keys.Workers(_name), _me);
        }
        catch (RedisException)
        {
            // Redis gone: the leases expire on their own.
        }
    }

    /// <summary>
    /// Claims a previous owner's pending entries first, then reads new ones, up to <see cref="WorkerOptions.BatchSize"/>
    /// at a time, and processes them in batches. Returns whether it did work.
    /// </summary>
    private async Task<bool> ProcessPartitionAsync(WorkerOptions o, int p, CancellationToken ct)
    {
        var key = StreamPartitioner.StreamKey(_name, p);
        var reading = Stopwatch.GetTimestamp();
        // We hold the lease, so every pending entry of this partition is ours to finish, whoever it was delivered to.
        var claimed = await Db.StreamAutoClaimAsync(key, o.Group, _me, 0, "0-0", o.BatchSize);
        var entries = claimed.ClaimedEntries.Length > 0 ? claimed.ClaimedEntries : await Db.StreamReadGroupAsync(key, o.Group, _me, ">", o.BatchSize);
        _reading += Stopwatch.GetElapsedTime(reading);
        for (var done = 0; done < entries.Length && !ct.IsCancellationRequested;)
            done += await ProcessBatchAsync(o, key, new ArraySegment<StreamEntry>(entries, done, entries.Length - done));
        return entries.Length > 0;
    }

    /// <summary>
    /// Counts the attempts of the entries read and processes a batch of them: the first ones, up to an entry attempted
    /// before, which goes alone (<see cref="AttemptScript"/>). Returns how many entries the batch took. Attempts are
    /// counted per entry, in Redis, before each attempt starts (so one that kills the process counts too); an entry
    /// whose attempts already reached <see cref="WorkerOptions.MaxDeliveries"/>, at least one of them alone, is
    /// dead-lettered instead, with a <c>rejected</c> record in the output. Entries that were delivered but never
    /// attempted count nothing, and neither does a retry after Redis was unavailable (not the entries' fault).
    /// </summary>
    private async Task<int> ProcessBatchAsync(WorkerOptions o, string key, ArraySegment<StreamEntry> read)
    {
        var ttl = (long)engine.Policy.IdempotencyWindow.TotalMilliseconds;
        long[] attempts;
        var counting = Stopwatch.GetTimestamp();
        try
        {
            attempts = await CountAttemptsAsync(key, read, Math.Max(ttl, AttemptsKept));
            _counting += Stopwatch.GetElapsedTime(counting);
        }
        catch (Exception e) when (e is StateStoreUnavailableException || RedisTransientErrors.IsTransient(e))
        {
            // 0: counting failed, and may or may not have been recorded; the retry after the pause counts nothing.
            Remember(o, () => { foreach (var entry in read) _counted.TryAdd(AttemptId(key, entry), 0); });
            throw;
        }
        var batch = read[..attempts.Length];
        foreach (var entry in batch) _counted.Remove(AttemptId(key, entry));
        try
        {
            await DecideAndPublishAsync(o, key, batch, attempts, ttl);
        }
        catch (Exception e) when (e is StateStoreUnavailableException || RedisTransientErrors.IsTransient(e))
        {
            // Nothing was acknowledged: the retry after the pause is the same attempt of every entry of the batch.
            Remember(o, () => { for (var i = 0; i < batch.Count; i++) _counted[AttemptId(key, batch[i])] = attempts[i]; });
            throw;
        }
        return batch.Count;
    }

    private void Remember(WorkerOptions o, Action remember)
    {
        if (_counted.Count > Math.Max(10_000, 2L * o.BatchSize * o.Partitions)) _counted.Clear();
        remember();
    }

    private static string AttemptId(string key, StreamEntry entry) => key + "/" + entry.Id;

    /// <summary>One round trip: the attempt counts of a prefix of <paramref name="entries"/> (at least the first).</summary>
    private async Task<long[]> CountAttemptsAsync(string key, ArraySegment<StreamEntry> entries, long ttl)
    {
        var counters = new RedisKey[entries.Count];
        var args = new RedisValue[entries.Count + 1];
        args[0] = ttl;
        for (var i = 0; i < entries.Count; i++)
        {
            counters[i] = keys.EntryAttempts(key, entries[i].Id);
            args[i + 1] = _counted.TryGetValue(AttemptId(key, entries[i]), out var counted) ? counted : -1;
        }
        var counts = (long[])(await Db.ScriptEvaluateAsync(AttemptScript, counters, args))!;
        return counts.Length > 0 ? counts : throw new InvalidOperationException("the attempt script counted no entry");
    }

    /// <summary>
    /// Decides the batch's entries together (an entry alone that failed every attempt is dead-lettered instead) and
    /// publishes every entry's records and acknowledges every entry in one script (<see cref="PublishScript"/>).
    /// </summary>
    private async Task DecideAndPublishAsync(WorkerOptions o, string key, ArraySegment<StreamEntry> batch, long[] attempts, long ttl)
    {
        var lines = new List<JsonLine>(batch.Count);
        var at = new int[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            if (batch.Count == 1 && FailedEveryAttempt(attempts[i], o.MaxDeliveries)) at[i] = -1;
            else
            {
                at[i] = lines.Count;
                lines.Add(new JsonLine(0, (byte[]?)batch[i]["event"] ?? [], 0));
            }
        }
        var started = Stopwatch.GetTimestamp();
        var results = lines.Count > 0 ? await _processor.ProcessLinesAsync(lines, CancellationToken.None) : [];
        var perEvent = lines.Count > 0 ? Stopwatch.GetElapsedTime(started) / lines.Count : TimeSpan.Zero;

        // A duplicate publishes the original records, with their account events, if a crash stopped the first attempt
        // before it published them (the script decides, on the event marker). Looked up together: one pipelined trip.
        var originals = await Task.WhenAll(results.Select(r => r.Decision is { Duplicate: true } d
            ? store.FindDecisionAsync(d.Account, d.EventId).AsTask()
            : Task.FromResult<StoredDecision?>(null)));
        var publishing = Stopwatch.GetTimestamp();
        _deciding += Stopwatch.GetElapsedTime(started, publishing);

        var scriptKeys = new List<RedisKey>(3 + 3 * batch.Count) { _output, _dead, key };
        var args = new List<RedisValue>(2 + 5 * batch.Count) { ttl, o.Group };
        for (var i = 0; i < batch.Count; i++)
        {
            var entry = batch[i];
            var entryMarker = keys.EntryDone(key, entry.Id);
            var counter = keys.EntryAttempts(key, entry.Id);
            if (at[i] < 0)
            {
                var (record, json, reason) = DeadLetter(key, entry, attempts[i] % Solo - 1);
                scriptKeys.AddRange([entryMarker, entryMarker, counter]);
                args.AddRange(["dead", entry.Id, 3, record, json, reason]);
            }
            else if (results[at[i]].Decision is { } d)
            {
                var original = originals[at[i]]?.Decision ?? d;
                var records = Render(b => RecordWriter.WriteDecision(b, original with { Duplicate = false }));
                var duplicate = Render(b => RecordWriter.WriteDecision(b, d with { Duplicate = true, Events = [] }))[0];
                scriptKeys.AddRange([keys.Published(d.Account, d.EventId), entryMarker, counter]);
                args.AddRange(["decision", entry.Id, 1 + records.Length, duplicate]);
                args.AddRange(records);
            }
            else
            {
                var rejected = Render(b => RecordWriter.WriteRejected(b, 0, results[at[i]].Rejection!))[0];
                scriptKeys.AddRange([entryMarker, entryMarker, counter]);
                args.AddRange(["rejected", entry.Id, 1, rejected]);
            }
        }
        await Db.ScriptEvaluateAsync(PublishScript, [.. scriptKeys], [.. args]);
        _publishing += Stopwatch.GetElapsedTime(publishing);

        for (var i = 0; i < batch.Count; i++)
        {
            if (at[i] >= 0 && results[at[i]].Decision is { } d) metrics.Decided(d, perEvent);
            else metrics.RejectedEvent(at[i] >= 0 ? results[at[i]].Rejection : null);
        }
    }

    /// <summary>An entry that failed every attempt: its <c>rejected</c> record, its event and the reason, for the dead-letter stream.</summary>
    private (RedisValue Record, RedisValue Event, RedisValue Reason) DeadLetter(string key, StreamEntry entry, long failed)
    {
        var json = (byte[]?)entry["event"] ?? [];
        var reason = $"processing failed {failed} times";
        LogDeadLettered(log, entry.Id.ToString(), key, reason);
        RiskEngine.Domain.EventId? eventId = null;
        try
        {
            var parsed = EventParser.Parse(json);
            eventId = parsed.Event?.Id ?? parsed.Rejection?.EventId;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The id stays unknown: the event may be what fails.
        }
        var error = $"event {(eventId is { } i ? $"'{i}'" : $"of stream entry {entry.Id}")} could not be processed ({reason}); it was moved to the dead-letter stream and the failures were logged";
        var rejected = Render(b => RecordWriter.WriteRejected(b, 0, new Rejection(eventId, null, error)))[0];
        return (rejected, json, reason);
    }

    private static RedisValue[] Render(Action<ArrayBufferWriter<byte>> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        write(buffer);
        return RecordWriter.Lines(buffer.WrittenSpan).Select(l => (RedisValue)l).ToArray();
    }

    /// <summary>True when no partition has undelivered or unacknowledged entries for the group.</summary>
    private async Task<bool> DrainedAsync(WorkerOptions o)
    {
        for (var p = 0; p < o.Partitions; p++)
        {
            var key = StreamPartitioner.StreamKey(_name, p);
            var info = await Db.StreamInfoAsync(key);
            var group = (await Db.StreamGroupInfoAsync(key)).FirstOrDefault(g => g.Name == o.Group);
            if (group.PendingMessageCount > 0) return false;
            if (info.Length > 0 && group.LastDeliveredId != info.LastGeneratedId) return false;
        }
        return true;
    }

    [LoggerMessage(LogLevel.Information, "stream worker {Consumer} starting on {Stream} ({Partitions} partitions, group {Group})")]
    private static partial void LogStarting(ILogger logger, string consumer, string stream, int partitions, string group);

    [LoggerMessage(LogLevel.Warning, "Redis unavailable ({Reason}); pausing {Delay} ms")]
    private static partial void LogPaused(ILogger logger, string reason, double delay);

    [LoggerMessage(LogLevel.Information, "acquired partition {Partition}")]
    private static partial void LogAcquired(ILogger logger, int partition);

    [LoggerMessage(LogLevel.Warning, "lost the lease of partition {Partition}")]
    private static partial void LogLost(ILogger logger, int partition);

    [LoggerMessage(LogLevel.Warning, "entry {Id} of {Stream} moved to dead-letter: {Reason}")]
    private static partial void LogDeadLettered(ILogger logger, string id, string stream, string reason);

    [LoggerMessage(LogLevel.Information, "done: {Processed} events ({Rate:0} events/s; reading {Reading:0.00} s, counting attempts {Counting:0.00} s, deciding {Deciding:0.00} s, publishing {Publishing:0.00} s)")]
    private static partial void LogDone(ILogger logger, long processed, double rate, double reading, double counting, double deciding, double publishing);

    [LoggerMessage(LogLevel.Critical, "stream worker failed; stopping")]
    private static partial void LogFailed(ILogger logger, Exception e);
}

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

namespace RiskEngine.Worker;

/// <summary>
/// A worker on a partitioned Redis stream (<c>redis-stream:NAME</c>, partitions <c>NAME:0</c> … <c>NAME:P-1</c>).
/// Workers claim partitions with leases (renewed while alive, taken over when a worker dies, spread evenly as
/// workers come and go); within a partition, a consumer group delivers entries in order and an entry is
/// acknowledged only after its decision is committed and its records published. A dead owner's pending entries are
/// claimed before new ones. Publishing is one Lua script per entry that appends the records, marks the entry (and
/// the event) as published and acknowledges the entry, so a redelivered entry publishes nothing twice. An entry
/// whose processing failed <see cref="WorkerOptions.MaxDeliveries"/> times is dead-lettered alone (with a
/// <c>rejected</c> record, so every entry yields exactly one record). Needs a standalone (or Sentinel) Redis: the
/// script touches the output stream and the account's keys together.
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

    // KEYS: [1] output stream, [2] event-published marker (or the entry marker again), [3] entry marker, [4] dead-letter stream,
    //       [5] input stream, [6] the entry's attempt counter
    // ARGV: [1] marker ttl ms, [2] mode (decision|rejected|dead), [3] group, [4] entry id,
    //       [5] duplicate record (decision) or error (dead), [6] the event (dead), [7...] records
    // Publishes the entry's records once (the entry marker) and the event's original records once (the event marker),
    // and acknowledges the entry, all in one step.
    private const string PublishScript = """
        if redis.call('EXISTS', KEYS[3]) == 0 then
          if ARGV[2] == 'rejected' then
            redis.call('XADD', KEYS[1], '*', 'record', ARGV[7])
            redis.call('XADD', KEYS[4], '*', 'record', ARGV[7])
          elseif ARGV[2] == 'dead' then
            redis.call('XADD', KEYS[1], '*', 'record', ARGV[7])
            redis.call('XADD', KEYS[4], '*', 'event', ARGV[6], 'error', ARGV[5], 'stream', KEYS[5])
          elseif redis.call('EXISTS', KEYS[2]) == 0 then
            for i = 7, #ARGV do redis.call('XADD', KEYS[1], '*', 'record', ARGV[i]) end
            redis.call('SET', KEYS[2], '1', 'PX', ARGV[1])
          else
            redis.call('XADD', KEYS[1], '*', 'record', ARGV[5])
          end
          redis.call('SET', KEYS[3], '1', 'PX', ARGV[1])
        end
        redis.call('XACK', KEYS[5], ARGV[3], ARGV[4])
        redis.call('DEL', KEYS[6])
        return 1
        """;

    /// <summary>How long an entry's attempt count is kept at least (ms): across restarts of a worker that keeps failing on it.</summary>
    private const long AttemptsKept = 24 * 60 * 60 * 1000;

    // KEYS: the entry's attempt counter; ARGV: ttl ms. Returns the attempt number. Deleted when the entry is published.
    private const string AttemptScript = "local n = redis.call('INCR', KEYS[1]) redis.call('PEXPIRE', KEYS[1], ARGV[1]) return n";

    private const string RenewScript = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";
    private const string ReleaseScript = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

    private readonly EventStreamProcessor _processor = new(engine);
    private readonly HashSet<int> _owned = [];
    private readonly Dictionary<string, long> _counted = new(StringComparer.Ordinal); // entries whose attempt was cut short by Redis being unavailable
    private string _name = "";
    private string _output = "";
    private string _dead = "";
    private string _me = "";

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
                    if (Stopwatch.GetElapsedTime(lastRebalance) >= o.LeaseTtl / 3)
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
                    LogPaused(log, e.Message, backoff.TotalMilliseconds);
                    await Task.Delay(backoff, time, stoppingToken);
                    await RediscoverAsync();
                }
            }
            var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            LogDone(log, metrics.Processed, seconds > 0 ? metrics.Processed / seconds : 0);
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

    /// <summary>Claims a previous owner's pending entries first, then reads new ones. Returns whether it did work.</summary>
    private async Task<bool> ProcessPartitionAsync(WorkerOptions o, int p, CancellationToken ct)
    {
        var key = StreamPartitioner.StreamKey(_name, p);
        // We hold the lease, so every pending entry of this partition is ours to finish, whoever it was delivered to.
        var claimed = await Db.StreamAutoClaimAsync(key, o.Group, _me, 0, "0-0", 100);
        var entries = claimed.ClaimedEntries.Length > 0 ? claimed.ClaimedEntries : await Db.StreamReadGroupAsync(key, o.Group, _me, ">", 100);
        foreach (var entry in entries)
        {
            if (ct.IsCancellationRequested) return true;
            await ProcessEntryAsync(o, key, entry);
        }
        return entries.Length > 0;
    }

    /// <summary>
    /// Decides one entry and publishes its records. Attempts are counted per entry, in Redis, before each attempt
    /// starts (so one that kills the process counts too); an entry whose attempts already reached
    /// <see cref="WorkerOptions.MaxDeliveries"/> is dead-lettered instead, with a <c>rejected</c> record in the output.
    /// Entries that were delivered but never attempted count nothing, and neither does a retry after Redis was
    /// unavailable (not the entry's fault).
    /// </summary>
    private async Task ProcessEntryAsync(WorkerOptions o, string key, StreamEntry entry)
    {
        var ttl = (long)engine.Policy.IdempotencyWindow.TotalMilliseconds;
        var attempts = keys.EntryAttempts(key, entry.Id);
        var id = key + "/" + entry.Id;
        long attempt = 0;
        try
        {
            attempt = _counted.Remove(id, out var counted) ? counted : (long)await Db.ScriptEvaluateAsync(AttemptScript, [attempts], [Math.Max(ttl, AttemptsKept)]);
            if (attempt > o.MaxDeliveries)
            {
                await DeadLetterAsync(o, key, entry, attempts, attempt - 1, ttl);
                return;
            }
            await DecideAndPublishAsync(o, key, entry, attempts, ttl);
        }
        catch (Exception e) when (e is StateStoreUnavailableException || RedisTransientErrors.IsTransient(e))
        {
            // The retry after the pause is the same attempt. 0: counting failed, and may or may not have been recorded.
            if (_counted.Count > 10_000) _counted.Clear();
            _counted[id] = attempt;
            throw;
        }
    }

    private async Task DecideAndPublishAsync(WorkerOptions o, string key, StreamEntry entry, RedisKey attempts, long ttl)
    {
        var json = (byte[]?)entry["event"] ?? [];
        var result = await _processor.ProcessLineAsync(new JsonLine(0, json, 0), CancellationToken.None);
        var entryMarker = keys.EntryDone(key, entry.Id);
        RedisValue[] args;
        RedisKey[] scriptKeys;
        if (result.Decision is { } d)
        {
            metrics.Decided(d, 0);
            var original = d;
            if (d.Duplicate && await store.FindDecisionAsync(d.Account, d.EventId) is { } stored)
                original = stored.Decision; // with its account events: published now if a crash stopped the first attempt
            var records = Render(b => RecordWriter.WriteDecision(b, original with { Duplicate = false }));
            var duplicate = Render(b => RecordWriter.WriteDecision(b, d with { Duplicate = true, Events = [] }))[0];
            scriptKeys = [_output, keys.Published(d.Account, d.EventId), entryMarker, _dead, key, attempts];
            args = [ttl, "decision", o.Group, entry.Id, duplicate, "", .. records];
        }
        else
        {
            metrics.RejectedEvent();
            var rejected = Render(b => RecordWriter.WriteRejected(b, 0, result.Rejection!))[0];
            scriptKeys = [_output, entryMarker, entryMarker, _dead, key, attempts];
            args = [ttl, "rejected", o.Group, entry.Id, "", "", rejected];
        }
        await Db.ScriptEvaluateAsync(PublishScript, scriptKeys, args);
    }

    /// <summary>Moves an entry that failed every attempt to the dead-letter stream, with a <c>rejected</c> record in the output.</summary>
    private async Task DeadLetterAsync(WorkerOptions o, string key, StreamEntry entry, RedisKey attempts, long failed, long ttl)
    {
        var json = (byte[]?)entry["event"] ?? [];
        var reason = $"processing failed {failed} times";
        LogDeadLettered(log, entry.Id.ToString(), key, reason);
        metrics.RejectedEvent();
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
        var marker = keys.EntryDone(key, entry.Id);
        await Db.ScriptEvaluateAsync(PublishScript, [_output, marker, marker, _dead, key, attempts], [ttl, "dead", o.Group, entry.Id, reason, json, rejected]);
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

    [LoggerMessage(LogLevel.Information, "done: {Processed} events ({Rate:0} events/s)")]
    private static partial void LogDone(ILogger logger, long processed, double rate);

    [LoggerMessage(LogLevel.Critical, "stream worker failed; stopping")]
    private static partial void LogFailed(ILogger logger, Exception e);
}

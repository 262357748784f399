using System.Buffers;
using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RiskEngine.Events;
using RiskEngine.Pipeline;
using RiskEngine.State;

namespace RiskEngine.Hosting;

/// <summary>
/// Reads events into a bounded channel, decides them in batches, and commits each batch's state changes,
/// decisions, output records and input position in one journal transaction before publishing the records.
/// A crash at any point leaves every event either committed (its records are re-published on restart if they had
/// not been) or not (it is read and decided again), never half-applied.
/// </summary>
internal sealed partial class EventWorker(
    IRiskEngine engine,
    IEventJournal journal,
    IOptions<WorkerOptions> options,
    Outbox outbox,
    WorkerMetrics metrics,
    WorkerStatus status,
    HealthCheckService health,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    ILogger<EventWorker> log) : BackgroundService
{
    private readonly EventStreamProcessor _processor = new(engine, log);
    private long _started;
    private long _lastProgress;
    private long _lastCoolDown;
    private TimeSpan _deciding;
    private TimeSpan _committing;
    private TimeSpan _publishing;

    private readonly record struct Item(long Line, byte[] Bytes, long Oversized, long EndOffset);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await RunAsync(options.Value, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            LogStopped(log);
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
            if (options.Value.Once || status.Failure is not null) lifetime.StopApplication();
        }
    }

    private async Task RunAsync(WorkerOptions o, CancellationToken ct)
    {
        var source = o.Input == "-" ? "stdin" : Path.GetFullPath(o.Input);
        var position = o.Input == "-" ? null : await journal.LoadPositionAsync(source, ct);
        // A finished --once pass followed by another --once run is a new pass over the input: its outputs are
        // written anew, every event comes back as a duplicate, and no account event repeats.
        var newPass = o.Once && position is { Completed: true };
        if (newPass) position = null;
        await outbox.OpenAsync(newPass, ct);
        LogStarting(log, source, position?.Line ?? 0, engine.Policy.Version, o.Store);

        var channel = Channel.CreateBounded<Item>(new BoundedChannelOptions(o.ChannelCapacity)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait, // backpressure: a slow sink slows the reader, memory stays bounded
        });
        using var readCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var reader = Task.Run(() => ReadAsync(o, position, channel.Writer, readCts.Token), CancellationToken.None);
        status.Running = true;

        var last = position ?? new JournalPosition(source, 0, 0);
        _started = _lastProgress = _lastCoolDown = time.GetTimestamp();
        try
        {
            while (true)
            {
                if (!o.Once)
                {
                    var wait = channel.Reader.WaitToReadAsync(ct).AsTask();
                    var tick = Task.Delay(Min(o.ProgressInterval, o.CoolDownInterval), time, ct);
                    if (await Task.WhenAny(wait, tick) == tick && !wait.IsCompleted)
                    {
                        await TicksAsync(o, last, ct);
                        continue;
                    }
                    if (!await wait) break;
                }
                else if (!await channel.Reader.WaitToReadAsync(ct))
                {
                    break;
                }

                await outbox.Gate.WaitAsync(CancellationToken.None);
                try
                {
                    var (records, end) = await DecideBatchAsync(o, channel.Reader, last);
                    last = end;
                    var publishStart = Stopwatch.GetTimestamp();
                    await outbox.PublishAsync(records);
                    _publishing += Stopwatch.GetElapsedTime(publishStart);
                }
                finally
                {
                    outbox.Gate.Release();
                }
                if (!o.Once) await TicksAsync(o, last, ct);
            }
            await reader; // surfaces a read error
            if (o.Once)
            {
                await outbox.Gate.WaitAsync(CancellationToken.None);
                try
                {
                    await using var batch = await engine.BeginBatchAsync(CancellationToken.None);
                    await batch.CommitAsync(new JournalEntry([], last with { Completed = true }), CancellationToken.None);
                }
                finally
                {
                    outbox.Gate.Release();
                }
            }
        }
        finally
        {
            await readCts.CancelAsync();
        }
        var seconds = time.GetElapsedTime(_started).TotalSeconds;
        await WriteHealthAsync(o, ct);
        LogDone(log, metrics.Processed, metrics.Rejected, seconds, seconds > 0 ? metrics.Processed / seconds : 0,
            _deciding.TotalSeconds, _committing.TotalSeconds, _publishing.TotalSeconds);
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private async ValueTask TicksAsync(WorkerOptions o, JournalPosition last, CancellationToken ct)
    {
        var now = time.GetTimestamp();
        if (time.GetElapsedTime(_lastProgress, now) >= o.ProgressInterval)
        {
            var seconds = time.GetElapsedTime(_started, now).TotalSeconds;
            LogProgress(log, metrics.Processed, seconds > 0 ? metrics.Processed / seconds : 0, status.Backlog, metrics.Rejected, engine.Policy.Version);
            _lastProgress = now;
            await WriteHealthAsync(o, ct);
        }
        if (time.GetElapsedTime(_lastCoolDown, now) >= o.CoolDownInterval)
        {
            _lastCoolDown = now;
            await ExpireCoolDownsAsync(last, ct);
        }
    }

    /// <summary>Writes the health report to <c>DATA/health.json</c>, for probes of a worker that serves no HTTP.</summary>
    private async ValueTask WriteHealthAsync(WorkerOptions o, CancellationToken ct)
    {
        var report = await health.CheckHealthAsync(ct);
        var json = System.Text.Json.JsonSerializer.Serialize(new
        {
            status = report.Status.ToString(),
            checkedAt = time.GetUtcNow(),
            entries = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), e.Value.Description, e.Value.Data }),
        });
        RiskEngine.Security.OwnerOnly.CreateDirectory(o.Data);
        await RiskEngine.Security.OwnerOnly.WriteAllTextAtomicallyAsync(Path.Combine(o.Data, "health.json"), json, ct);
    }

    private async ValueTask ExpireCoolDownsAsync(JournalPosition last, CancellationToken ct)
    {
        var records = new List<JournalRecord>();
        await outbox.Gate.WaitAsync(ct);
        try
        {
            await using (var batch = await engine.BeginBatchAsync(ct))
            {
                var buffer = new ArrayBufferWriter<byte>();
                await CoolDownTimer.LiftDueAsync(batch, buffer, metrics, ct);
                outbox.Split(buffer, OutputChannel.Output, records);
                await batch.CommitAsync(new JournalEntry(records, last), CancellationToken.None);
            }
            await outbox.PublishAsync(records);
        }
        finally
        {
            outbox.Gate.Release();
        }
    }

    private async Task<(List<JournalRecord> Records, JournalPosition End)> DecideBatchAsync(WorkerOptions o, ChannelReader<Item> reader, JournalPosition last)
    {
        var records = new List<JournalRecord>(o.BatchSize * 2);
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        var deadBuffer = new ArrayBufferWriter<byte>(1024);
        var batchStart = Stopwatch.GetTimestamp();
        // The worker owns the unit of work: decisions, output records and input position commit together or not at all.
        await using var batch = await engine.BeginBatchAsync(CancellationToken.None);
        try
        {
            // Inside a batch nothing is cancelled: the batch commits whole or the process dies and it is redone.
            var items = new List<Item>(o.BatchSize);
            while (items.Count < o.BatchSize && reader.TryRead(out var item))
            {
                items.Add(item);
                status.AddBacklog(-1);
            }
            var lines = items.ConvertAll(item => new JsonLine(item.Line, item.Bytes, item.Oversized, item.EndOffset));
            var results = await _processor.ProcessLinesAsync(batch, lines, CancellationToken.None);
            var perEvent = items.Count == 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(batchStart) / items.Count;
            for (var i = 0; i < items.Count; i++)
            {
                var item = items[i];
                var result = results[i];
                if (result.Decision is { } d)
                {
                    metrics.Decided(d, perEvent);
                    RecordWriter.WriteDecision(buffer, d);
                }
                else
                {
                    metrics.RejectedEvent(result.Rejection);
                    RecordWriter.WriteRejected(buffer, item.Line, result.Rejection!);
                    if (o.DeadLetter is { Length: > 0 }) RecordWriter.WriteRejected(deadBuffer, item.Line, result.Rejection!);
                    LogRejected(log, item.Line, result.Rejection!.Field ?? "(line)", result.Rejection.Error);
                }
                outbox.Split(buffer, OutputChannel.Output, records);
                outbox.Split(deadBuffer, OutputChannel.DeadLetter, records);
                last = last with { Offset = item.EndOffset, Line = item.Line };
            }
            var commitStart = Stopwatch.GetTimestamp();
            _deciding += Stopwatch.GetElapsedTime(batchStart);
            await batch.CommitAsync(new JournalEntry(records, last), CancellationToken.None);
            _committing += Stopwatch.GetElapsedTime(commitStart);
            status.StoreError = null;
            return (records, last);
        }
        catch (Exception e)
        {
            status.StoreError = e.Message; // the batch is dropped undurable: its lines are read and decided again
            metrics.StoreError("file");
            throw;
        }
    }

    private async Task ReadAsync(WorkerOptions o, JournalPosition? position, ChannelWriter<Item> writer, CancellationToken ct)
    {
        Exception? failure = null;
        try
        {
            await using var stream = o.Input == "-"
                ? Console.OpenStandardInput()
                : new FileStream(o.Input, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1, useAsync: true);
            long offset = 0, line = 0;
            if (position is not null && stream.CanSeek)
            {
                if (stream.Length >= position.Offset)
                {
                    stream.Seek(position.Offset, SeekOrigin.Begin);
                    (offset, line) = (position.Offset, position.Line);
                }
                else
                {
                    LogInputShrunk(log, o.Input, stream.Length, position.Offset);
                }
            }
            Func<CancellationToken, ValueTask<bool>>? follow = o.Once ? null : async token =>
            {
                await Task.Delay(o.FollowPollInterval, time, token);
                return true;
            };
            var lines = new JsonLinesReader(stream, EventParser.MaxEventBytes, offset, line, follow);
            while (await lines.ReadLineAsync(ct) is { } l)
            {
                await writer.WriteAsync(new Item(l.Number, l.Bytes.ToArray(), l.OversizedLength, l.EndOffset), ct);
                status.AddBacklog(1);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            failure = e;
        }
        writer.TryComplete(failure);
    }

    [LoggerMessage(LogLevel.Information, "RiskEngine worker starting: input {Source} from line {Line}, policy {Policy}, store {Store}")]
    private static partial void LogStarting(ILogger logger, string source, long line, string policy, string store);

    [LoggerMessage(LogLevel.Information, "progress: {Processed} events ({Rate:0} events/s), backlog {Backlog}, rejected {Rejected}, policy {Policy}")]
    private static partial void LogProgress(ILogger logger, long processed, double rate, long backlog, long rejected, string policy);

    [LoggerMessage(LogLevel.Information, "done: {Processed} events, {Rejected} rejected, in {Seconds:0.00} s ({Rate:0} events/s); deciding {Deciding:0.00} s, committing {Committing:0.00} s, publishing {Publishing:0.00} s")]
    private static partial void LogDone(ILogger logger, long processed, long rejected, double seconds, double rate, double deciding, double committing, double publishing);

    [LoggerMessage(LogLevel.Warning, "line {Line} rejected: {Field}: {Error}")]
    private static partial void LogRejected(ILogger logger, long line, string field, string error);

    [LoggerMessage(LogLevel.Error, "input {Input} is {Length} bytes, shorter than the committed position {Offset}: it was replaced; reading from its start (repeated events are answered as duplicates)")]
    private static partial void LogInputShrunk(ILogger logger, string input, long length, long offset);

    [LoggerMessage(LogLevel.Information, "stopped; every committed event is published, the rest will be read again")]
    private static partial void LogStopped(ILogger logger);

    [LoggerMessage(LogLevel.Critical, "worker failed; stopping")]
    private static partial void LogFailed(ILogger logger, Exception e);
}

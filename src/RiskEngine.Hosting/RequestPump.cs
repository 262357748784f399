using System.Buffers;
using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RiskEngine.Decisions;
using RiskEngine.Events;
using RiskEngine.Pipeline;
using RiskEngine.State;

namespace RiskEngine.Hosting;

/// <summary>What the request pump answered for one submitted line or action, once its batch committed.</summary>
/// <param name="Result">The decision or rejection (null for an action).</param>
/// <param name="Records">The output lines it produced, without line breaks, as <c>riskengine replay</c> writes them: the decision (or rejection) first, then the account events it caused.</param>
/// <param name="Value">What an action returned.</param>
public sealed record PumpAnswer(EvaluationResult? Result, IReadOnlyList<byte[]> Records, object? Value = null);

/// <summary>
/// Work that is not a contract event but must commit with the pump's batch (a support hold, a TOTP check or reset and
/// the account events they cause): it runs inside the batch and writes the output records it caused to the buffer.
/// </summary>
public delegate ValueTask<object?> PumpAction(IDecisionBatch batch, IBufferWriter<byte> records, CancellationToken cancellationToken);

/// <summary>
/// One committer for requests (HTTP calls): callers submit lines (contract events) or actions and await their answer;
/// the pump takes what is pending (up to <see cref="WorkerOptions.BatchSize"/>), decides it through one
/// <see cref="IDecisionBatch"/>, commits the state, the decision records and the account events they caused (the
/// journal's <see cref="OutputChannel.Output"/> records: the outbox) in one transaction, publishes them to
/// <c>--output</c> like the worker does, and only then completes each caller. A store outage fails the batch's
/// callers with <see cref="StateStoreUnavailableException"/> (nothing of it is durable) and abandons the streams with a
/// line in it (<see cref="PumpSequence"/>: their later lines fail undecided); the pump goes on. A failed
/// publish stops it and the host (exit code 1), as the file worker does: the outbox publishes the records on restart.
/// </summary>
public sealed partial class RequestPump(
    IRiskEngine engine,
    Outbox outbox,
    IOptions<WorkerOptions> options,
    WorkerMetrics metrics,
    WorkerStatus status,
    IEventJournal journal,
    IHostApplicationLifetime lifetime,
    ILogger<RequestPump> log) : BackgroundService
{
    /// <summary>The journal source of the request pump's batches: its position counts the requests committed.</summary>
    public const string Source = "api";

    private readonly Channel<Item> _queue = Channel.CreateBounded<Item>(new BoundedChannelOptions(65_536)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });
    private readonly EventStreamProcessor _processor = new(engine, log);
    private long _committed;
    private long _outageLogged; // Stopwatch timestamp of the last outage log line; 0 while the store answers

    /// <summary>How often an ongoing store outage is logged.</summary>
    private static readonly TimeSpan OutageLogInterval = TimeSpan.FromMinutes(1);

    /// <summary>One request: a line (with what its source read from it, if it did) or an action, the stream it belongs to (if any), the caller's activity (linked from the batch's), and its answer.</summary>
    private sealed record Item(JsonLine Line, PumpAction? Action, TaskCompletionSource<PumpAnswer> Done, ParsedEvent? Read = null, PumpSequence? Stream = null)
    {
        public ActivityContext Caller { get; } = Activity.Current?.Context ?? default;
    }

    /// <summary>
    /// Queues a contract event its source already read from <paramref name="line"/>: <paramref name="read"/> is the
    /// event, amended with what the wire cannot carry (the authenticated API key, <see cref="RiskEvent.Key"/>), or the
    /// rejection the source made (a type its key may not send, <see cref="EventAuthority"/>). It is decided (or
    /// answered) instead of the line, in queue order with the lines, and its records are written, journaled and
    /// published as a line's; the answer comes after its batch committed.
    /// </summary>
    public async Task<PumpAnswer> SubmitAsync(JsonLine line, ParsedEvent read, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(read);
        return await await EnqueueAsync(line, read, null, cancellationToken);
    }

    /// <summary>
    /// Queues a contract event (<paramref name="read"/>: what its source read from <paramref name="line"/>, or null for
    /// the pump to read it) of <paramref name="stream"/> (a line of an NDJSON request, or null) and returns once it is
    /// queued: lines queued one after another are decided in that order. The returned task completes with the answer
    /// after its batch committed. Once a line of the stream failed, every later one fails with the same error and is
    /// not decided (see <see cref="PumpSequence"/>).
    /// </summary>
    public async ValueTask<Task<PumpAnswer>> EnqueueAsync(JsonLine line, ParsedEvent? read, PumpSequence? stream, CancellationToken cancellationToken = default)
    {
        if (stream?.Failure is { } failed) return Task.FromException<PumpAnswer>(failed);
        var item = new Item(line, null, new TaskCompletionSource<PumpAnswer>(TaskCreationOptions.RunContinuationsAsynchronously), read, stream);
        await _queue.Writer.WriteAsync(item, cancellationToken);
        return item.Done.Task;
    }

    /// <summary>Reads one line as the pump would (never throws): for a source that checks or amends events before queueing them.</summary>
    public ParsedEvent Read(JsonLine line) => _processor.Read(line);

    /// <summary>Queues an action that commits with the pump's next batch.</summary>
    public async Task<PumpAnswer> SubmitAsync(PumpAction action, CancellationToken cancellationToken = default)
    {
        var item = new Item(default, action, new TaskCompletionSource<PumpAnswer>(TaskCreationOptions.RunContinuationsAsynchronously));
        await _queue.Writer.WriteAsync(item, cancellationToken);
        return await item.Done.Task;
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            // Inside the try: a store that cannot be opened fails the pump and its waiting callers instead of leaving them queued.
            await outbox.OpenAsync(newPass: false, stoppingToken);
            _committed = (await journal.LoadPositionAsync(Source, stoppingToken))?.Line ?? 0;
            status.Running = true;
            var max = options.Value.BatchSize;
            var items = new List<Item>(max);
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                items.Clear();
                while (items.Count < max && _queue.Reader.TryRead(out var item))
                {
                    // A line of an abandoned stream is not decided: an earlier line of it failed, and deciding this
                    // one now would decide the stream out of order (the client retries from the failed line).
                    if (item.Stream?.Failure is { } failed) item.Done.TrySetException(failed);
                    else items.Add(item);
                }
                if (items.Count > 0) await CommitAsync(items);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            // As the file worker: the host stops with exit code 1, and on restart the outbox cuts the output back to
            // what was published and publishes the rest again.
            status.Failure = e;
            LogFailed(log, e);
            throw;
        }
        finally
        {
            _queue.Writer.TryComplete();
            while (_queue.Reader.TryRead(out var left)) left.Done.TrySetCanceled(CancellationToken.None);
            if (status.Failure is not null)
            {
                status.Running = false;
                lifetime.StopApplication();
            }
        }
    }

    /// <summary>Decides, commits and publishes one group of requests; completes each.</summary>
    private async Task CommitAsync(List<Item> items)
    {
        var answers = new PumpAnswer[items.Count];
        var failures = new Exception?[items.Count];
        var records = new List<JournalRecord>(items.Count * 2);
        using var activity = StartBatchActivity(items);
        var started = Stopwatch.GetTimestamp();
        Exception? publishFailure = null;
        // Nothing here is cancelled by a caller going away: the batch commits whole, and the answer stands.
        await outbox.Gate.WaitAsync(CancellationToken.None);
        try
        {
            await using (var batch = await engine.BeginBatchAsync(CancellationToken.None))
            {
                var lines = new List<JsonLine>(items.Count);
                var read = new List<ParsedEvent?>(items.Count);
                var at = new List<int>(items.Count);
                for (var i = 0; i < items.Count; i++)
                {
                    if (items[i].Action is null)
                    {
                        lines.Add(items[i].Line);
                        read.Add(items[i].Read);
                        at.Add(i);
                    }
                }
                var results = lines.Count > 0 ? await _processor.ProcessLinesAsync(batch, lines, read, CancellationToken.None) : [];
                var perEvent = lines.Count == 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(started) / lines.Count;
                var traced = activity is { IsAllDataRequested: true } ? activity : null;
                var buffer = new ArrayBufferWriter<byte>(4 * 1024);
                var dead = new ArrayBufferWriter<byte>(256);
                var k = 0;
                for (var i = 0; i < items.Count; i++)
                {
                    object? value = null;
                    EvaluationResult? result = null;
                    if (items[i].Action is { } action)
                    {
                        try
                        {
                            value = await action(batch, buffer, CancellationToken.None);
                        }
                        catch (Exception e) when (e is not (StateStoreUnavailableException or OperationCanceledException))
                        {
                            // That request's fault (an action stages nothing before it succeeds): the rest of the batch commits.
                            failures[i] = e;
                            buffer.ResetWrittenCount();
                        }
                    }
                    else
                    {
                        var r = results[k++];
                        result = r;
                        if (r.Decision is { } d)
                        {
                            metrics.Decided(d, perEvent);
                            if (traced is not null) RiskEngineTracing.AddDecisionEvent(traced, RiskEngineTracing.EventType(items[i].Line.Bytes.Span), d);
                            RecordWriter.WriteDecision(buffer, d);
                        }
                        else
                        {
                            metrics.RejectedEvent(r.Rejection);
                            if (traced is not null) RiskEngineTracing.AddRejectionEvent(traced, RiskEngineTracing.EventType(items[i].Line.Bytes.Span), r.Rejection!);
                            RecordWriter.WriteRejected(buffer, items[i].Line.Number, r.Rejection!);
                            if (!string.IsNullOrEmpty(options.Value.DeadLetter)) RecordWriter.WriteRejected(dead, items[i].Line.Number, r.Rejection!);
                        }
                    }
                    var first = records.Count;
                    outbox.Split(buffer, OutputChannel.Output, records);
                    outbox.Split(dead, OutputChannel.DeadLetter, records);
                    answers[i] = new PumpAnswer(result, OutputLines(records, first), value);
                }
                await batch.CommitAsync(new JournalEntry(records, new JournalPosition(Source, 0, _committed + items.Count)), CancellationToken.None);
            }
            _committed += items.Count;
            status.StoreError = null;
            if (_outageLogged != 0)
            {
                _outageLogged = 0;
                LogStoreBack(log);
            }
            try
            {
                await outbox.PublishAsync(records);
            }
            catch (Exception e)
            {
                // Committed: the answers stand. Nothing more may be published after a gap (a later publish would mark
                // these records published too, and the output could hold a half-written line): the pump stops.
                LogPublishFailed(log, e);
                publishFailure = e;
            }
        }
        catch (Exception e)
        {
            activity?.SetStatus(ActivityStatusCode.Error, e.GetType().Name); // not the message: it may name hosts
            if (e is StateStoreUnavailableException)
            {
                status.StoreError = e.Message;
                metrics.StoreError(Source);
                // Once per interval while it lasts, one line: every request of an outage is answered 503, not logged.
                if (_outageLogged == 0 || Stopwatch.GetElapsedTime(_outageLogged) >= OutageLogInterval)
                {
                    _outageLogged = Stopwatch.GetTimestamp();
                    LogStoreUnavailable(log, e.Message, OutageLogInterval.TotalSeconds);
                }
            }
            else
            {
                LogBatchFailed(log, items.Count, e);
            }
            foreach (var item in items)
            {
                // Nothing of the batch is durable: a stream with a line in it is abandoned, so its later lines (queued
                // behind this batch) are not decided ahead of the ones that failed here. Within the batch a stream's
                // lines commit or fail together (a line never fails on its own: a rejection is an answer).
                item.Stream?.Abandon(e);
                item.Done.TrySetException(e);
            }
            return;
        }
        finally
        {
            outbox.Gate.Release();
        }
        for (var i = 0; i < items.Count; i++)
        {
            if (failures[i] is { } failure) items[i].Done.TrySetException(failure);
            else items[i].Done.TrySetResult(answers[i]);
        }
        if (publishFailure is not null) throw new IOException("publishing committed records to the output failed; they are published again on restart", publishFailure);
    }

    /// <summary>The output lines of one request: its records from <paramref name="first"/> on, without dead letters and webhook copies.</summary>
    private static byte[][] OutputLines(List<JournalRecord> records, int first)
    {
        var lines = new List<byte[]>(records.Count - first);
        for (var j = first; j < records.Count; j++)
        {
            if (records[j].Channel == OutputChannel.Output) lines.Add(records[j].Bytes);
        }
        return [.. lines];
    }

    /// <summary>
    /// One <c>riskengine.batch</c> activity per batch, linked to each caller's activity (the HTTP requests it
    /// answers), with an activity event per decided or rejected event: cheaper than an activity per event, and nothing
    /// at all when no one listens.
    /// </summary>
    private Activity? StartBatchActivity(List<Item> items)
    {
        if (!RiskEngineTracing.Source.HasListeners()) return null;
        List<ActivityLink>? links = null;
        foreach (var item in items)
        {
            if (item.Caller != default) (links ??= []).Add(new ActivityLink(item.Caller));
        }
        var previous = Activity.Current;
        Activity.Current = null; // a batch serves many callers: it is a root, linked to them, not a child of one
        var activity = RiskEngineTracing.Source.StartActivity("riskengine.batch", ActivityKind.Internal, default(ActivityContext), links: links);
        if (activity is null) Activity.Current = previous;
        activity?.SetTag("riskengine.pump", Source);
        activity?.SetTag("riskengine.batch.size", items.Count);
        activity?.SetTag("riskengine.policy.version", engine.Policy.Version);
        return activity;
    }

    [LoggerMessage(LogLevel.Error, "publishing committed records failed; the server stops, and they are published again on restart")]
    private static partial void LogPublishFailed(ILogger logger, Exception error);

    [LoggerMessage(LogLevel.Warning, "the state store cannot take batches ({Reason}); requests are answered 503 with Retry-After until it can (logged again every {Seconds:0} s while it lasts)")]
    private static partial void LogStoreUnavailable(ILogger logger, string reason, double seconds);

    [LoggerMessage(LogLevel.Information, "the state store takes batches again")]
    private static partial void LogStoreBack(ILogger logger);

    [LoggerMessage(LogLevel.Critical, "the request pump stopped on an error")]
    private static partial void LogFailed(ILogger logger, Exception error);

    [LoggerMessage(LogLevel.Error, "a batch of {Count} requests failed; nothing of it was committed")]
    private static partial void LogBatchFailed(ILogger logger, int count, Exception error);
}

/// <summary>
/// The lines of one stream (an NDJSON request) queued to the <see cref="RequestPump"/>, which decides them in the order
/// queued. When a batch holding a line of the stream fails (a store outage or any other failure: nothing of it committed), the stream is
/// abandoned: every later line of it fails with the same error without being decided, even once the store is back,
/// so the stream's events are never decided out of order (the client retries from the first failed line).
/// </summary>
public sealed class PumpSequence
{
    private Exception? _failure;

    /// <summary>Why the stream was abandoned (the first failure of one of its lines), or null while it is not.</summary>
    public Exception? Failure => Volatile.Read(ref _failure);

    /// <summary>Abandons the stream on <paramref name="failure"/> (the first failure stands).</summary>
    internal void Abandon(Exception failure) => Interlocked.CompareExchange(ref _failure, failure, null);
}

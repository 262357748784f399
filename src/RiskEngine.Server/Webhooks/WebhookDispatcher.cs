using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using RiskEngine.Hosting;
using RiskEngine.State;

namespace RiskEngine.Server.Webhooks;

/// <summary>
/// Delivers the account events journaled on <see cref="OutputChannel.Webhook"/> (the outbox's copies, committed with
/// the batch that caused them) to every configured endpoint, one lane per endpoint, each with its own cursor and
/// back-off, so one receiver down or refusing never holds up another. A lane reads the outbox by cursor, a page at a
/// time (<see cref="PageSize"/>), and sends its endpoint's records in sequence order, one at a time; a failed
/// attempt is retried with <see cref="WebhookBackoff"/> (or the receiver's <c>Retry-After</c>) until the delivery
/// is taken or given up on (<see cref="WebhookOptions.MaxAttempts"/>, <see cref="WebhookOptions.MaxAge"/>,
/// <see cref="WebhookOptions.PermanentFailureAttempts"/>): then it goes to the dead letters
/// (<see cref="IDeadDeliveryStore"/>), from which support can replay it, and the lane moves on.
/// Each endpoint's progress is a journal position (<c>webhook:NAME</c>, its <see cref="JournalPosition.Line"/> the
/// last sequence passed) committed after each delivery, so a restart resumes where each endpoint was; the channel
/// itself is marked published up to what every endpoint has, which lets the journal drop those records. A crash
/// between a delivery and its position commit sends that delivery again, with the same id. Thread-safe.
/// </summary>
public sealed partial class WebhookDispatcher(
    IOptions<WebhookOptions> options,
    IEventJournal journal,
    IRiskStateStore store,
    IDeadDeliveryStore dead,
    Outbox outbox,
    WebhookSender sender,
    WorkerMetrics metrics,
    TimeProvider time,
    ILogger<WebhookDispatcher> log) : BackgroundService
{
    /// <summary>Records a lane reads from the outbox at once: what it holds in memory, whatever the backlog.</summary>
    public const int PageSize = 256;

    /// <summary>The journal source that holds an endpoint's progress.</summary>
    public static string Source(string endpoint) => "webhook:" + endpoint;

    private readonly Lock _floorGate = new();
    private volatile Lane[] _lanes = [];
    private long _floor;

    /// <summary>
    /// Queues dead delivery <paramref name="id"/> for its endpoint again (idempotent: a queued or delivered one is left
    /// as it is) and wakes that endpoint's lane. Null when there is no such entry; the entry as it is now otherwise.
    /// </summary>
    public async ValueTask<DeadDelivery?> ReplayAsync(long id, CancellationToken cancellationToken)
    {
        var entry = await dead.RequeueAsync(id, cancellationToken);
        if (entry?.State == DeadDeliveryState.Queued && _lanes.FirstOrDefault(l => l.Endpoint.Name == entry.Endpoint) is { } lane)
        {
            Interlocked.Exchange(ref lane.ReplayRequested, 1);
            lane.Pulse();
        }
        return entry;
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        if (o.Endpoints.Count == 0)
        {
            // No receivers (any more): nothing waits for these records.
            if (await journal.CountAsync(OutputChannel.Webhook, 0, stoppingToken) > 0)
                await journal.MarkPublishedAsync(OutputChannel.Webhook, await journal.LastSequenceAsync(stoppingToken), 0, stoppingToken);
            return;
        }
        _floor = (await journal.PublishedAsync(OutputChannel.Webhook, stoppingToken)).Sequence;
        var lanes = new Lane[o.Endpoints.Count];
        for (var i = 0; i < lanes.Length; i++)
        {
            var e = o.Endpoints[i];
            // A new endpoint starts with what the outbox still holds.
            var cursor = (await journal.LoadPositionAsync(Source(e.Name), stoppingToken))?.Line ?? _floor;
            lanes[i] = new Lane(e, Math.Max(cursor, _floor));
        }
        _lanes = lanes;
        metrics.ObserveWebhookLag(
            () => _lanes.Select(l => new Measurement<long>(Math.Max(0, Interlocked.Read(ref l.Pending)), new KeyValuePair<string, object?>("endpoint", l.Endpoint.Name))),
            () => _lanes.Select(l => new Measurement<double>(OldestAge(l), new KeyValuePair<string, object?>("endpoint", l.Endpoint.Name))));
        outbox.WebhookRecordsCommitted += PulseAll;
        try
        {
            LogStarted(log, lanes.Length, string.Join(", ", lanes.Select(l => l.Endpoint.ToString())));
            await Task.WhenAll(lanes.Select(l => Task.Run(() => RunAsync(l, o, stoppingToken), CancellationToken.None)));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            outbox.WebhookRecordsCommitted -= PulseAll;
        }
    }

    /// <summary>A batch committed <paramref name="records"/> webhook records: every lane's pending count grows by them, and each lane wakes.</summary>
    private void PulseAll(int records)
    {
        foreach (var lane in _lanes)
        {
            Interlocked.Add(ref lane.Pending, records);
            lane.Pulse();
        }
    }

    private double OldestAge(Lane lane)
    {
        var since = Interlocked.Read(ref lane.HeadSince);
        return Interlocked.Read(ref lane.Pending) <= 0 || since == 0 ? 0 : time.GetElapsedTime(since).TotalSeconds;
    }

    /// <summary>
    /// Moves <paramref name="lane"/>'s cursor to <paramref name="sequence"/>; with <paramref name="commit"/>, durably (a
    /// journal position in its own transaction). Then marks the channel published up to what every endpoint has.
    /// </summary>
    private async Task AdvanceAsync(Lane lane, long sequence, bool commit, CancellationToken ct)
    {
        Interlocked.Exchange(ref lane.Cursor, sequence);
        if (commit && lane.Committed != sequence)
        {
            try
            {
                await using var batch = await store.BeginBatchAsync(ct);
                await batch.CommitAsync(new JournalEntry([], new JournalPosition(Source(lane.Endpoint.Name), 0, sequence)), ct);
                lane.Committed = sequence;
            }
            catch (NotSupportedException)
            {
                // A store without a journal (Redis): the records themselves live in memory, so does the progress.
                lane.Committed = sequence;
            }
            catch (StateStoreUnavailableException e)
            {
                // Kept in memory and written with the next delivery's position; a restart before that sends it again (same id).
                LogProgressNotSaved(log, lane.Endpoint.Name, e.Message);
            }
        }
        long floor;
        lock (_floorGate)
        {
            floor = _lanes.Min(l => Interlocked.Read(ref l.Cursor));
            if (floor <= _floor) return;
            _floor = floor;
        }
        await journal.MarkPublishedAsync(OutputChannel.Webhook, floor, 0, ct);
    }

    [LoggerMessage(LogLevel.Information, "webhooks: delivering account events to {Count} endpoints ({Endpoints})")]
    private static partial void LogStarted(ILogger logger, int count, string endpoints);

    [LoggerMessage(LogLevel.Debug, "webhook {Delivery} ({Type}) delivered to {Endpoint}")]
    private static partial void LogDelivered(ILogger logger, string delivery, string type, string endpoint);

    [LoggerMessage(LogLevel.Warning, "webhook {Delivery} to {Endpoint}: attempt {Attempt} failed ({Error}); retrying in {DelayMs:0} ms")]
    private static partial void LogFailed(ILogger logger, string delivery, string endpoint, int attempt, string error, double delayMs);

    [LoggerMessage(LogLevel.Warning, "webhook {Delivery} ({Type}) to {Endpoint} given up after {Attempts} attempts ({Error}): dead letter {Id}, replay it with POST /v1/webhooks/dead/{Id}/replay")]
    private static partial void LogDead(ILogger logger, string delivery, string type, string endpoint, int attempts, string error, long id);

    [LoggerMessage(LogLevel.Information, "webhook endpoint {Endpoint} takes deliveries again after {Failures} failed attempts")]
    private static partial void LogRecovered(ILogger logger, string endpoint, int failures);

    [LoggerMessage(LogLevel.Warning, "webhook endpoint {Endpoint}: progress not saved ({Error}); a restart may send the last deliveries again, with the same ids")]
    private static partial void LogProgressNotSaved(ILogger logger, string endpoint, string error);
}

using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text.Json;
using Microsoft.Extensions.Options;
using RiskEngine.Hosting;
using RiskEngine.State;

namespace RiskEngine.Server.Webhooks;

/// <summary>
/// Delivers the account events journaled on <see cref="OutputChannel.Webhook"/> (the outbox's copies, committed with
/// the batch that caused them) to every configured endpoint, one lane per endpoint so that one receiver being down
/// never holds up the others. A lane sends its endpoint's records in sequence order, one at a time; a failed attempt
/// is retried with <see cref="WebhookBackoff"/> (or the receiver's <c>Retry-After</c>), without a last attempt.
/// Each endpoint's progress is a journal position (<c>webhook:NAME</c>, its <see cref="JournalPosition.Line"/> the
/// last delivered sequence) committed after each delivery, so a restart resumes where each endpoint was; the channel
/// itself is marked published up to what every endpoint has, which lets the journal drop those records. A crash
/// between a delivery and its position commit sends that delivery again, with the same id.
/// </summary>
public sealed partial class WebhookDispatcher(
    IOptions<WebhookOptions> options,
    IEventJournal journal,
    IRiskStateStore store,
    Outbox outbox,
    WebhookSender sender,
    WorkerMetrics metrics,
    TimeProvider time,
    ILogger<WebhookDispatcher> log) : BackgroundService
{
    /// <summary>The journal source that holds an endpoint's progress.</summary>
    public static string Source(string endpoint) => "webhook:" + endpoint;

    private readonly ConcurrentDictionary<long, DateTimeOffset> _seen = new();
    private readonly Lock _floorGate = new();
    private Lane[] _lanes = [];
    private long _floor;

    private sealed class Lane(WebhookEndpoint endpoint, long cursor)
    {
        public WebhookEndpoint Endpoint { get; } = endpoint;

        /// <summary>The last sequence delivered (or skipped: an event type the endpoint does not take).</summary>
        public long Cursor = cursor;

        public long Pending;
        public long Head;

        public SemaphoreSlim Signal { get; } = new(0, 1);

        public bool Wants(string type) => Endpoint.Events.Count == 0 || Endpoint.Events.Contains(type, StringComparer.Ordinal);

        public void Pulse()
        {
            try
            {
                Signal.Release();
            }
            catch (SemaphoreFullException)
            {
                // already signalled
            }
        }
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        if (o.Endpoints.Count == 0)
        {
            // No receivers (any more): nothing waits for these records.
            var left = await journal.UnpublishedAsync(OutputChannel.Webhook, stoppingToken);
            if (left.Count > 0) await journal.MarkPublishedAsync(OutputChannel.Webhook, left[^1].Sequence, 0, stoppingToken);
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
            () => _lanes.Select(l => new Measurement<long>(Interlocked.Read(ref l.Pending), new KeyValuePair<string, object?>("endpoint", l.Endpoint.Name))),
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

    private void PulseAll()
    {
        foreach (var lane in _lanes) lane.Pulse();
    }

    private double OldestAge(Lane lane)
    {
        if (Interlocked.Read(ref lane.Pending) == 0) return 0;
        return _seen.TryGetValue(Interlocked.Read(ref lane.Head), out var since) ? Math.Max(0, (time.GetUtcNow() - since).TotalSeconds) : 0;
    }

    private async Task RunAsync(Lane lane, WebhookOptions o, CancellationToken ct)
    {
        var backoff = new WebhookBackoff(o.RetryInitial, o.RetryMax);
        var failures = 0;
        while (!ct.IsCancellationRequested)
        {
            var records = await journal.UnpublishedAsync(OutputChannel.Webhook, ct);
            var now = time.GetUtcNow();
            JournalRecord? next = null;
            string? type = null;
            long pending = 0, skipTo = 0;
            foreach (var r in records)
            {
                if (r.Sequence <= lane.Cursor) continue;
                _seen.TryAdd(r.Sequence, now);
                var t = TypeOf(r.Bytes);
                if (!lane.Wants(t))
                {
                    if (next is null) skipTo = r.Sequence; // not this endpoint's: passed over with the next delivery
                    continue;
                }
                pending++;
                if (next is null)
                {
                    next = r;
                    type = t;
                }
            }
            Interlocked.Exchange(ref lane.Pending, pending);
            if (next is not null) Interlocked.Exchange(ref lane.Head, next.Sequence);
            if (next is null)
            {
                if (skipTo > lane.Cursor) await AdvanceAsync(lane, skipTo, ct);
                await lane.Signal.WaitAsync(o.PollInterval, ct);
                continue;
            }

            var delivery = new WebhookDelivery(WebhookDelivery.IdFor(lane.Endpoint.Name, next.Sequence, next.Bytes), type!, next.Bytes);
            WebhookAttempt attempt;
            try
            {
                attempt = await sender.SendAsync(lane.Endpoint, delivery, o.Timeout, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                // Whatever it was, it is this attempt's failure, never the dispatcher's end.
                attempt = new WebhookAttempt(false, null, null, e.GetType().Name);
            }
            metrics.WebhookAttempt(lane.Endpoint.Name, attempt.Delivered);
            if (attempt.Delivered)
            {
                if (failures > 0) LogRecovered(log, lane.Endpoint.Name, failures);
                failures = 0;
                LogDelivered(log, delivery.Id, delivery.Type, lane.Endpoint.Name);
                await AdvanceAsync(lane, next.Sequence, ct);
                continue;
            }
            failures++;
            var delay = backoff.Delay(failures, Random.Shared.NextDouble());
            if (attempt.RetryAfter is { } asked && asked > delay) delay = asked < o.RetryMax ? asked : o.RetryMax;
            LogFailed(log, delivery.Id, lane.Endpoint.Name, failures, attempt.Error ?? "failed", delay.TotalMilliseconds);
            await Task.Delay(delay, time, ct);
        }
    }

    /// <summary>Records that <paramref name="lane"/>'s endpoint has everything through <paramref name="sequence"/>, durably, and moves the channel's published mark to what every endpoint has.</summary>
    private async Task AdvanceAsync(Lane lane, long sequence, CancellationToken ct)
    {
        lane.Cursor = sequence;
        try
        {
            // A journal entry without records: only the position, in its own transaction.
            await using var batch = await store.BeginBatchAsync(ct);
            await batch.CommitAsync(new JournalEntry([], new JournalPosition(Source(lane.Endpoint.Name), 0, sequence)), ct);
        }
        catch (NotSupportedException)
        {
            // A store without a journal (Redis): the records themselves live in memory, so does the progress.
        }
        catch (StateStoreUnavailableException e)
        {
            // Kept in memory and written with the next delivery's position; a restart before that sends it again (same id).
            LogProgressNotSaved(log, lane.Endpoint.Name, e.Message);
        }
        long floor;
        lock (_floorGate)
        {
            floor = _lanes.Min(l => l.Cursor);
            if (floor <= _floor) return;
            _floor = floor;
        }
        foreach (var seq in _seen.Keys)
        {
            if (seq <= floor) _seen.TryRemove(seq, out _);
        }
        await journal.MarkPublishedAsync(OutputChannel.Webhook, floor, 0, ct);
    }

    private static string TypeOf(byte[] body)
    {
        var reader = new Utf8JsonReader(body);
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1 && reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                return reader.GetString() ?? "";
            }
            if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray && reader.CurrentDepth > 0) reader.Skip();
        }
        return "";
    }

    [LoggerMessage(LogLevel.Information, "webhooks: delivering account events to {Count} endpoints ({Endpoints})")]
    private static partial void LogStarted(ILogger logger, int count, string endpoints);

    [LoggerMessage(LogLevel.Debug, "webhook {Delivery} ({Type}) delivered to {Endpoint}")]
    private static partial void LogDelivered(ILogger logger, string delivery, string type, string endpoint);

    [LoggerMessage(LogLevel.Warning, "webhook {Delivery} to {Endpoint}: attempt {Attempt} failed ({Error}); retrying in {DelayMs:0} ms")]
    private static partial void LogFailed(ILogger logger, string delivery, string endpoint, int attempt, string error, double delayMs);

    [LoggerMessage(LogLevel.Information, "webhook endpoint {Endpoint} takes deliveries again after {Failures} failed attempts")]
    private static partial void LogRecovered(ILogger logger, string endpoint, int failures);

    [LoggerMessage(LogLevel.Warning, "webhook endpoint {Endpoint}: progress not saved ({Error}); a restart may send the last deliveries again, with the same ids")]
    private static partial void LogProgressNotSaved(ILogger logger, string endpoint, string error);
}

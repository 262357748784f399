using System.Text.Json;
using RiskEngine.State;

namespace RiskEngine.Server.Webhooks;

// One endpoint's lane: its cursor over the outbox, its page of records, its back-off and its dead letters.
public sealed partial class WebhookDispatcher
{
    /// <summary>An endpoint's delivery state. Its loop is the only writer; the gauges and <see cref="ReplayAsync"/> read or signal it.</summary>
    private sealed class Lane(WebhookEndpoint endpoint, long cursor)
    {
        public WebhookEndpoint Endpoint { get; } = endpoint;

        /// <summary>The last sequence passed: delivered, given up on, or not this endpoint's type (read by other lanes: Interlocked).</summary>
        public long Cursor = cursor;

        /// <summary>The last cursor committed as the endpoint's journal position.</summary>
        public long Committed = cursor;

        /// <summary>
        /// The pending gauge: records after the cursor. Counted once from the journal (at start and after a store error),
        /// then kept by arithmetic — plus what each commit adds, minus each record passed, zero whenever the lane finds
        /// nothing after its cursor — so it never costs a count of the backlog under the store's lock. It may dip below
        /// zero for a moment (a record passed before its commit was announced); the gauge shows at least zero.
        /// </summary>
        public long Pending;

        /// <summary>The pending count must be taken from the journal before the next page (at start, after a store error).</summary>
        public bool Recount = true;

        /// <summary>The oldest-age gauge: when the record at the head of the lane was read (the clock's timestamp; 0 when none).</summary>
        public long HeadSince;

        /// <summary>1 when support queued a replay for this endpoint (and at start: replays queued before a restart).</summary>
        public int ReplayRequested = 1;

        /// <summary>The page read from the outbox and not yet passed, with when it was read.</summary>
        public Queue<(JournalRecord Record, long ReadAt)> Page { get; } = new();

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

    private async Task RunAsync(Lane lane, WebhookOptions o, CancellationToken ct)
    {
        var backoff = new WebhookBackoff(o.RetryInitial, o.RetryMax);
        var storeFailures = 0;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await StepAsync(lane, o, backoff, ct);
                storeFailures = 0;
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                // The outbox or the dead letters could not be read or written (a busy or full disk): this lane waits and
                // tries again from its cursor (a delivery whose progress was not saved goes again, with the same id);
                // it never ends, and the other lanes go on.
                storeFailures++;
                var delay = backoff.Delay(storeFailures, Random.Shared.NextDouble());
                LogLaneStoreFailed(log, lane.Endpoint.Name, e.GetType().Name, delay.TotalMilliseconds);
                lane.Page.Clear();
                lane.Recount = true; // the records of the dropped page are read and passed again
                Interlocked.Exchange(ref lane.ReplayRequested, 1); // replays taken off the queue before the failure are looked for again
                await Task.Delay(delay, time, ct);
            }
        }
    }

    /// <summary>One step of a lane: replays asked for, then the next outbox record (delivered, given up on or passed over), or an idle wait.</summary>
    private async Task StepAsync(Lane lane, WebhookOptions o, WebhookBackoff backoff, CancellationToken ct)
    {
        if (Interlocked.Exchange(ref lane.ReplayRequested, 0) == 1)
        {
            // Replays asked for by support go ahead of the endpoint's next outbox record.
            foreach (var d in await dead.QueuedAsync(lane.Endpoint.Name, ct))
                await DeliverAsync(lane, o, backoff, new WebhookDelivery(d.DeliveryId, d.Type, d.Body), d.Sequence, d, ct);
        }
        if (lane.Page.Count == 0) await ReadPageAsync(lane, ct);
        if (!lane.Page.TryPeek(out var head))
        {
            Interlocked.Exchange(ref lane.HeadSince, 0);
            // Idle: a cursor moved over other endpoints' types is made durable, then wait for new records.
            if (lane.Committed != lane.Cursor) await AdvanceAsync(lane, lane.Cursor, commit: true, ct);
            await lane.Signal.WaitAsync(o.PollInterval, ct);
            return;
        }
        var next = head.Record;
        Interlocked.Exchange(ref lane.HeadSince, head.ReadAt);
        var type = TypeOf(next.Bytes);
        var wanted = lane.Wants(type);
        if (wanted) await DeliverAsync(lane, o, backoff, new WebhookDelivery(WebhookDelivery.IdFor(lane.Endpoint.Name, next.Sequence, next.Bytes), type, next.Bytes), next.Sequence, null, ct);
        lane.Page.Dequeue();
        // Delivered or given up on: durably; passed over (not this endpoint's type): with the next one.
        await AdvanceAsync(lane, next.Sequence, commit: wanted, ct);
        Interlocked.Decrement(ref lane.Pending);
    }

    /// <summary>The next page after the lane's cursor (the pending count taken from the journal only when <see cref="Lane.Recount"/> asks).</summary>
    private async Task ReadPageAsync(Lane lane, CancellationToken ct)
    {
        var cursor = Interlocked.Read(ref lane.Cursor);
        var page = await journal.ReadAsync(OutputChannel.Webhook, cursor, PageSize, ct);
        var now = time.GetTimestamp();
        foreach (var r in page) lane.Page.Enqueue((r, now));
        if (page.Count == 0) Interlocked.Exchange(ref lane.Pending, 0); // nothing after the cursor: exact again
        else if (lane.Recount)
        {
            Interlocked.Exchange(ref lane.Pending, page.Count < PageSize ? page.Count : await journal.CountAsync(OutputChannel.Webhook, cursor, ct));
            lane.Recount = false;
        }
    }

    /// <summary>
    /// Sends <paramref name="delivery"/> until its endpoint takes it or it is given up on (then saved as a dead
    /// letter). <paramref name="replay"/> is the dead letter being replayed, if it is one.
    /// </summary>
    private async Task DeliverAsync(Lane lane, WebhookOptions o, WebhookBackoff backoff, WebhookDelivery delivery, long sequence, DeadDelivery? replay, CancellationToken ct)
    {
        var first = time.GetUtcNow();
        int attempts = 0, refused = 0;
        while (true)
        {
            attempts++;
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
            var now = time.GetUtcNow();
            if (attempt.Delivered)
            {
                if (attempts > 1) LogRecovered(log, lane.Endpoint.Name, attempts - 1);
                LogDelivered(log, delivery.Id, delivery.Type, lane.Endpoint.Name);
                if (replay is not null)
                    await dead.SaveAsync(replay with { Attempts = replay.Attempts + attempts, LastStatus = attempt.Status, LastError = null, LastAttempt = now, State = DeadDeliveryState.Delivered }, ct);
                return;
            }
            // A 4xx but 408 (timeout) and 429 (slow down) says the receiver will not take this delivery as it is.
            if (attempt.Status is >= 400 and < 500 and not 408 and not 429) refused++;
            var error = attempt.Error ?? "failed";
            if (refused >= o.PermanentFailureAttempts || attempts >= o.MaxAttempts || now - first >= o.MaxAge)
            {
                var entry = new DeadDelivery(0, lane.Endpoint.Name, delivery.Id, delivery.Type, sequence, delivery.Body.ToArray(), (replay?.Attempts ?? 0) + attempts,
                    attempt.Status, error, replay?.FirstAttempt ?? first, now, DeadDeliveryState.Dead);
                try
                {
                    var id = await dead.SaveAsync(entry, ct);
                    metrics.WebhookDead(lane.Endpoint.Name);
                    LogDead(log, delivery.Id, delivery.Type, lane.Endpoint.Name, entry.Attempts, error, id);
                    return;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // Not given up on until that is recorded: it is retried meanwhile, so nothing is lost.
                    LogProgressNotSaved(log, lane.Endpoint.Name, e.Message);
                }
            }
            var delay = backoff.Delay(attempts, Random.Shared.NextDouble());
            if (attempt.RetryAfter is { } asked && asked > delay) delay = asked < o.RetryMax ? asked : o.RetryMax;
            LogFailed(log, delivery.Id, lane.Endpoint.Name, attempts, error, delay.TotalMilliseconds);
            await WaitOutAsync(delay, ct);
        }
    }

    /// <summary>
    /// Waits <paramref name="delay"/> on the host's clock. Records committed meanwhile are counted into the pending gauge
    /// as they commit (<see cref="Lane.Pending"/>), so it never shows the backlog as it was before a long back-off.
    /// </summary>
    private Task WaitOutAsync(TimeSpan delay, CancellationToken ct) => Task.Delay(delay, time, ct);

    [LoggerMessage(LogLevel.Warning, "webhook endpoint {Endpoint}: the outbox could not be read or written ({Error}); the lane tries again in {DelayMs:0} ms")]
    private static partial void LogLaneStoreFailed(ILogger logger, string endpoint, string error, double delayMs);

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
}

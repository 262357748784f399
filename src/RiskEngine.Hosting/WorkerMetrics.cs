using System.Collections.Frozen;
using System.Diagnostics.Metrics;
using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Hosting;

/// <summary>
/// The instruments every host records on the <c>RiskEngine</c> meter: the worker, the stream worker and the server's
/// request pump record the same ones (read them with <c>dotnet-counters monitor -n RiskEngine.Worker --counters
/// RiskEngine</c>, or scrape the server's <c>/metrics</c>). Every tag has a bounded set of values: outcomes, the
/// closed set of reason codes, the contract's top-level field names, the policy's rule ids, the pump's name. No
/// account, event id or free text is ever a tag.
/// </summary>
public sealed class WorkerMetrics : IDisposable
{
    /// <summary>The meter name.</summary>
    public const string MeterName = "RiskEngine";

    /// <summary>Bucket boundaries of <c>riskengine.decision.duration</c> in seconds: 10 µs to 100 ms.</summary>
    public static readonly IReadOnlyList<double> DurationBuckets =
        [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1];

    /// <summary>The contract's top-level fields: the values the <c>field</c> tag of a rejection can take (besides <c>none</c> and <c>other</c>).</summary>
    private static readonly FrozenSet<string> ContractFields = new[]
    {
        "id", "type", "at", "account", "amount", "currency", "country", "device", "residence", "counterpartyCountry", "ip",
        "authenticated", "success", "lat", "lon", "until", "by", "reason", "transaction", "event", "note", "channel", "cancel",
    }.ToFrozenSet(StringComparer.Ordinal);

    private static readonly FrozenSet<string> KnownReasons = ReasonCodes.All.ToFrozenSet(StringComparer.Ordinal);

    private readonly Meter _meter;
    private readonly Counter<long> _decisions;
    private readonly Counter<long> _reasons;
    private readonly Counter<long> _rejected;
    private readonly Counter<long> _duplicates;
    private readonly Counter<long> _freezes;
    private readonly Counter<long> _unfreezes;
    private readonly Counter<long> _reloads;
    private readonly Counter<long> _shadowHits;
    private readonly Counter<long> _storeErrors;
    private readonly Histogram<double> _latency;
    private readonly Counter<long> _webhookAttempts;
    private readonly Counter<long> _webhookDead;
    private int _webhookLagObserved;

    /// <summary>Creates the instruments (without the store and outbox gauges).</summary>
    public WorkerMetrics(IMeterFactory factory)
        : this(factory, null, null)
    {
    }

    /// <summary>Creates the instruments, with gauges observing the host's status (store up) and outbox (records not yet published).</summary>
    public WorkerMetrics(IMeterFactory factory, WorkerStatus? status, Outbox? outbox)
    {
        ArgumentNullException.ThrowIfNull(factory);
        _meter = factory.Create(MeterName);
        _decisions = _meter.CreateCounter<long>("riskengine.decisions", "{decision}",
            "Decisions by outcome and primary reason code (the most severe reason; none when no rule fired).");
        _reasons = _meter.CreateCounter<long>("riskengine.decision.reasons", "{reason}", "Reason codes of decisions, every reason that fired, by code.");
        _rejected = _meter.CreateCounter<long>("riskengine.rejected", "{event}", "Events rejected as malformed or conflicting, by the offending top-level field (none: not JSON).");
        _duplicates = _meter.CreateCounter<long>("riskengine.duplicates", "{event}", "Events answered from the idempotency record.");
        _freezes = _meter.CreateCounter<long>("riskengine.freezes", "{account}", "Accounts frozen.");
        _unfreezes = _meter.CreateCounter<long>("riskengine.unfreezes", "{account}", "Accounts unfrozen.");
        _reloads = _meter.CreateCounter<long>("riskengine.policy.reloads", "{reload}", "Policy reloads by result.");
        _shadowHits = _meter.CreateCounter<long>("riskengine.shadow.hits", "{hit}", "Hits of shadow-mode policy entries, by rule and reason (they change no outcome).");
        _storeErrors = _meter.CreateCounter<long>("riskengine.store.errors", "{error}", "Batches the state store failed (nothing of them was committed), by pump.");
        _latency = _meter.CreateHistogram("riskengine.decision.duration", "s", "Time to decide one event (a batch's deciding time over its events).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _webhookAttempts = _meter.CreateCounter<long>("riskengine.webhook.attempts", "{attempt}", "Webhook delivery attempts, by endpoint and result (delivered, failed).");
        _webhookDead = _meter.CreateCounter<long>("riskengine.webhook.dead", "{delivery}", "Webhook deliveries given up on and moved to the dead letters, by endpoint.");
        if (status is not null)
        {
            _meter.CreateObservableGauge("riskengine.store.up", () => status.StoreProblem is null ? 1 : 0, "1",
                "1 while the state store answers, 0 after a failed batch until the next commit succeeds, or while the store reports itself degraded (a failing write-back).");
        }
        if (outbox is not null)
        {
            _meter.CreateObservableGauge("riskengine.outbox.unpublished", () => outbox.Unpublished, "{record}",
                "Output records committed but not yet published to the output sinks.");
            _meter.CreateObservableGauge("riskengine.outbox.lag", () => outbox.Lag.TotalSeconds, "s",
                "Age of the oldest output record committed but not yet published (0 when none waits).");
        }
    }

    /// <summary>Events processed so far (decided or rejected).</summary>
    public long Processed => Interlocked.Read(ref _processed);

    /// <summary>Rejected so far.</summary>
    public long Rejected => Interlocked.Read(ref _rejectedTotal);

    private long _processed;
    private long _rejectedTotal;

    /// <summary>Records one decision and the time it took to decide.</summary>
    public void Decided(Decision d, TimeSpan duration)
    {
        ArgumentNullException.ThrowIfNull(d);
        Interlocked.Increment(ref _processed);
        var outcome = new KeyValuePair<string, object?>("outcome", d.Outcome.ToWire());
        _decisions.Add(1, outcome, new KeyValuePair<string, object?>("reason", d.Reasons.Count > 0 ? Reason(d.Reasons[0].Code) : "none"));
        foreach (var r in d.Reasons) _reasons.Add(1, new KeyValuePair<string, object?>("reason", Reason(r.Code)));
        if (d.Duplicate) _duplicates.Add(1);
        foreach (var s in d.Shadow) _shadowHits.Add(1, new KeyValuePair<string, object?>("rule", s.Rule), new KeyValuePair<string, object?>("reason", Reason(s.Code)));
        _latency.Record(duration.TotalSeconds);
        foreach (var e in d.Events) AccountEvent(e);
    }

    /// <summary>Records an account event.</summary>
    public void AccountEvent(RiskEngine.Events.AccountEvent e)
    {
        if (e is RiskEngine.Events.AccountFrozen) _freezes.Add(1); else _unfreezes.Add(1);
    }

    /// <summary>Records a rejected event, by the offending top-level field (<c>none</c> when there is none, <c>other</c> for a name outside the contract).</summary>
    public void RejectedEvent(Rejection? rejection = null)
    {
        Interlocked.Increment(ref _processed);
        Interlocked.Increment(ref _rejectedTotal);
        _rejected.Add(1, new KeyValuePair<string, object?>("field", FieldTag(rejection?.Field)));
    }

    /// <summary>Records a batch the state store failed, by pump (<c>api</c>, <c>file</c>, <c>stream</c>).</summary>
    public void StoreError(string pump) => _storeErrors.Add(1, new KeyValuePair<string, object?>("pump", pump));

    /// <summary>Records a policy reload attempt.</summary>
    public void Reload(bool ok) => _reloads.Add(1, new KeyValuePair<string, object?>("result", ok ? "applied" : "refused"));

    /// <summary>Records one webhook delivery attempt to <paramref name="endpoint"/> (its configured name).</summary>
    public void WebhookAttempt(string endpoint, bool delivered) =>
        _webhookAttempts.Add(1, new KeyValuePair<string, object?>("endpoint", endpoint), new KeyValuePair<string, object?>("result", delivered ? "delivered" : "failed"));

    /// <summary>Records a webhook delivery to <paramref name="endpoint"/> given up on (dead-lettered).</summary>
    public void WebhookDead(string endpoint) => _webhookDead.Add(1, new KeyValuePair<string, object?>("endpoint", endpoint));

    /// <summary>
    /// Registers the webhook outbox lag gauges (once per meter): <c>riskengine.webhook.pending</c> (account events not
    /// yet delivered) and <c>riskengine.webhook.oldest_age</c> (seconds the oldest of them has waited), each tagged
    /// <c>endpoint</c>. The callbacks are called on collection.
    /// </summary>
    public void ObserveWebhookLag(Func<IEnumerable<Measurement<long>>> pending, Func<IEnumerable<Measurement<double>>> oldestAgeSeconds)
    {
        if (Interlocked.Exchange(ref _webhookLagObserved, 1) != 0) throw new InvalidOperationException("the webhook lag gauges are registered already");
        _meter.CreateObservableGauge("riskengine.webhook.pending", pending, "{delivery}", "Account events committed but not yet delivered, by webhook endpoint.");
        _meter.CreateObservableGauge("riskengine.webhook.oldest_age", oldestAgeSeconds, "s", "How long the oldest undelivered account event has waited, by webhook endpoint (0 when none).");
    }

    /// <summary>The <c>field</c> tag of a rejection: a contract field name, <c>none</c> or <c>other</c> (never text from the input).</summary>
    public static string FieldTag(string? field) => field is null ? "none" : ContractFields.Contains(field) ? field : "other";

    /// <summary>A reason code as a tag: one of <see cref="ReasonCodes.All"/>, or <c>other</c>.</summary>
    public static string Reason(string code) => KnownReasons.Contains(code) ? code : "other";

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();
}

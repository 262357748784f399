using System.Diagnostics.Metrics;
using RiskEngine.Decisions;

namespace RiskEngine.Hosting;

/// <summary>The worker's instruments on the <c>RiskEngine</c> meter (read them with <c>dotnet-counters monitor -n RiskEngine.Worker --counters RiskEngine</c>).</summary>
public sealed class WorkerMetrics : IDisposable
{
    /// <summary>The meter name.</summary>
    public const string MeterName = "RiskEngine";

    private readonly Meter _meter;
    private readonly Counter<long> _decisions;
    private readonly Counter<long> _rejected;
    private readonly Counter<long> _duplicates;
    private readonly Counter<long> _freezes;
    private readonly Counter<long> _unfreezes;
    private readonly Counter<long> _reloads;
    private readonly Counter<long> _shadowHits;
    private readonly Histogram<double> _latency;
    private readonly Counter<long> _webhookAttempts;
    private int _webhookLagObserved;

    /// <summary>Creates the instruments.</summary>
    public WorkerMetrics(IMeterFactory factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        _meter = factory.Create(MeterName);
        _decisions = _meter.CreateCounter<long>("riskengine.decisions", "{decision}", "Decisions by outcome.");
        _rejected = _meter.CreateCounter<long>("riskengine.rejected", "{event}", "Events rejected as malformed or conflicting.");
        _duplicates = _meter.CreateCounter<long>("riskengine.duplicates", "{event}", "Events answered from the idempotency record.");
        _freezes = _meter.CreateCounter<long>("riskengine.freezes", "{account}", "Accounts frozen.");
        _unfreezes = _meter.CreateCounter<long>("riskengine.unfreezes", "{account}", "Accounts unfrozen.");
        _reloads = _meter.CreateCounter<long>("riskengine.policy.reloads", "{reload}", "Policy reloads by result.");
        _shadowHits = _meter.CreateCounter<long>("riskengine.shadow.hits", "{hit}", "Hits of shadow-mode policy entries, by rule (they change no outcome).");
        _latency = _meter.CreateHistogram<double>("riskengine.decision.duration", "us", "Time to decide one event.");
        _webhookAttempts = _meter.CreateCounter<long>("riskengine.webhook.attempts", "{attempt}", "Webhook delivery attempts, by endpoint and result (delivered, failed).");
    }

    /// <summary>Events processed so far (decided or rejected).</summary>
    public long Processed => Interlocked.Read(ref _processed);

    /// <summary>Rejected so far.</summary>
    public long Rejected => Interlocked.Read(ref _rejectedTotal);

    private long _processed;
    private long _rejectedTotal;

    /// <summary>Records one decision.</summary>
    public void Decided(Decision d, double microseconds)
    {
        ArgumentNullException.ThrowIfNull(d);
        Interlocked.Increment(ref _processed);
        _decisions.Add(1, new KeyValuePair<string, object?>("outcome", d.Outcome.ToWire()));
        if (d.Duplicate) _duplicates.Add(1);
        foreach (var s in d.Shadow) _shadowHits.Add(1, new KeyValuePair<string, object?>("rule", s.Rule));
        _latency.Record(microseconds);
        foreach (var e in d.Events) AccountEvent(e);
    }

    /// <summary>Records an account event.</summary>
    public void AccountEvent(RiskEngine.Events.AccountEvent e)
    {
        if (e is RiskEngine.Events.AccountFrozen) _freezes.Add(1); else _unfreezes.Add(1);
    }

    /// <summary>Records a rejected event.</summary>
    public void RejectedEvent()
    {
        Interlocked.Increment(ref _processed);
        Interlocked.Increment(ref _rejectedTotal);
        _rejected.Add(1);
    }

    /// <summary>Records a policy reload attempt.</summary>
    public void Reload(bool ok) => _reloads.Add(1, new KeyValuePair<string, object?>("result", ok ? "applied" : "refused"));

    /// <summary>Records one webhook delivery attempt to <paramref name="endpoint"/> (its configured name).</summary>
    public void WebhookAttempt(string endpoint, bool delivered) =>
        _webhookAttempts.Add(1, new KeyValuePair<string, object?>("endpoint", endpoint), new KeyValuePair<string, object?>("result", delivered ? "delivered" : "failed"));

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

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();
}

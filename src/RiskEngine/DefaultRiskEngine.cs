using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using RiskEngine.Decisions;
using RiskEngine.Domain;
using RiskEngine.Events;
using RiskEngine.Policies;
using RiskEngine.State;

namespace RiskEngine;

/// <summary>
/// The engine: checks the event against the policy, de-duplicates by event id, decides against a snapshot of the
/// account, and commits state and decision together (retrying on a concurrent commit), then tells the sinks.
/// </summary>
public sealed partial class DefaultRiskEngine : IRiskEngine
{
    private readonly IPolicyProvider _policies;
    private readonly IRiskStateStore _store;
    private readonly TimeProvider _time;
    private readonly IRiskEventSink[] _sinks;
    private readonly RiskEngineOptions _options;
    private readonly ILogger _log;

    // Decisions for one account are serialised inside this process, so concurrent callers queue instead of
    // failing each other's optimistic commits (N callers on one hot account would otherwise cost N² commits).
    // Commits still conflict across processes sharing a store, and are retried then.
    private readonly SemaphoreSlim[] _stripes = Enumerable.Range(0, 1024).Select(_ => new SemaphoreSlim(1, 1)).ToArray();

    /// <summary>Creates the engine.</summary>
    public DefaultRiskEngine(IPolicyProvider policies, IRiskStateStore store, TimeProvider time, IEnumerable<IRiskEventSink> sinks, IOptions<RiskEngineOptions> options, ILogger<DefaultRiskEngine>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _policies = policies;
        _store = store;
        _time = time;
        _sinks = sinks.ToArray();
        _options = options.Value;
        _log = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <inheritdoc />
    public RiskPolicy Policy => _policies.Current.Policy;

    /// <inheritdoc />
    public ValueTask<EvaluationResult> EvaluateTransactionAsync(TransactionAttempt attempt, CancellationToken cancellationToken = default) => EvaluateAsync(attempt, cancellationToken);

    /// <inheritdoc />
    public ValueTask<EvaluationResult> EvaluateLoginAsync(LoginAttempt attempt, CancellationToken cancellationToken = default) => EvaluateAsync(attempt, cancellationToken);

    /// <inheritdoc />
    public ValueTask<EvaluationResult> ArrangeLimitAsync(LimitArrangement arrangement, CancellationToken cancellationToken = default) => EvaluateAsync(arrangement, cancellationToken);

    /// <inheritdoc />
    public ValueTask<EvaluationResult> UnfreezeAsync(SupportUnfreeze unfreeze, CancellationToken cancellationToken = default) => EvaluateAsync(unfreeze, cancellationToken);

    /// <inheritdoc />
    /// <remarks>A batch of one: decided, committed, and then the sinks are told.</remarks>
    public async ValueTask<EvaluationResult> EvaluateAsync(RiskEvent riskEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(riskEvent);
        var rules = _policies.Current;
        var policy = rules.Policy;
        var (begun, answer) = Begin(policy, riskEvent);
        if (begun is null) return answer;
        EvaluationResult result;
        try
        {
            // The store's batch first, the account's stripe second: the order every host's batch takes them in.
            await using var batch = await _store.BeginBatchAsync(cancellationToken);
            var stripe = _stripes[StripeOf(riskEvent.Account)];
            await stripe.WaitAsync(cancellationToken);
            try
            {
                result = await DecideAsync(rules, begun, batch, cancellationToken);
                await batch.CommitAsync(null, cancellationToken);
            }
            finally
            {
                stripe.Release();
            }
        }
        catch (StateStoreUnavailableException e)
        {
            return Unavailable(policy, riskEvent, e);
        }
        if (result.Decision is { Events.Count: > 0 } d) await SinkPublisher.PublishAsync(_sinks, d.Events, _log, cancellationToken);
        return result;
    }

    /// <summary>Decides one event (its account's stripe held), re-reading and deciding again when a commit loses a race.</summary>
    private async ValueTask<EvaluationResult> DecideAsync(Rules.PolicyRuleSet rules, Step begun, IStateBatch batch, CancellationToken cancellationToken)
    {
        var (riskEvent, fingerprint) = (begun.Event, begun.Fingerprint);
        for (var attempt = 0; attempt < _options.MaxCommitRetries; attempt++)
        {
            var step = attempt == 0 && begun.Result is null && begun.Pending is null ? begun : new Step(riskEvent, fingerprint);
            await StartAsync(rules.Policy, step, batch, cancellationToken);
            if (step.Result is { } early) return early;
            if (step.Pending?.Fact is { } fact)
            {
                try
                {
                    rules.Fire(fact);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    return Failed(riskEvent, e);
                }
            }
            if (await FinishAsync(rules.Policy, step, batch, cancellationToken)) return step.Result!.Value;
            // re-read: someone else decided for this account or this event id first
        }
        throw new InvalidOperationException($"event {riskEvent.Id}: account {riskEvent.Account} changed concurrently {_options.MaxCommitRetries} times in a row; giving up");
    }

    /// <summary>
    /// The checks that need no state (future skew, decimals, <c>until</c>) and the fingerprint: a step to decide, or
    /// the answer when the event is refused here (or meets a bug).
    /// </summary>
    private (Step? Step, EvaluationResult Answer) Begin(RiskPolicy policy, RiskEvent riskEvent)
    {
        try
        {
            return Check(policy, riskEvent) is { } rejection
                ? (null, EvaluationResult.Rejected(rejection))
                : (new Step(riskEvent, riskEvent.Fingerprint()), default);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return (null, Failed(riskEvent, e));
        }
    }

    /// <summary>One event on its way through a decision; <see cref="Result"/> is set once it is answered.</summary>
    private sealed class Step(RiskEvent riskEvent, string fingerprint)
    {
        public RiskEvent Event { get; } = riskEvent;
        public string Fingerprint { get; } = fingerprint;
        public AccountSnapshot Snapshot { get; set; }
        public DecisionMaker.Pending? Pending { get; set; }
        public IpFailure? IpFailure { get; set; }
        public EvaluationResult? Result { get; set; }
    }

    /// <summary>
    /// Reads the account and the event's stored decision, and prepares the event's fact. Answers the step at once for
    /// a re-delivery, an event too far out of order, or a bug while preparing.
    /// </summary>
    private async ValueTask StartAsync(RiskPolicy policy, Step step, IStateBatch batch, CancellationToken cancellationToken)
    {
        var riskEvent = step.Event;
        var (stored, snapshot) = await batch.LoadForDecisionAsync(riskEvent.Account, riskEvent.Id, cancellationToken);
        if (stored is not null)
        {
            step.Result = Replayed(riskEvent, step.Fingerprint, stored);
            return;
        }

        var ipFailures = 0;
        if (riskEvent is LoginAttempt { Ip: { } ip } login && policy.Logins.IpThrottle is { } throttle)
        {
            var key = ip.ToString();
            ipFailures = await batch.CountIpFailuresAsync(key, login.At - throttle.Window, login.At, cancellationToken);
            if (!login.PasswordOk) step.IpFailure = new IpFailure(key, login.At, throttle.Window, Later(login.At, _time.GetUtcNow()) + throttle.Window);
        }

        var state = snapshot.State; // the store hands out a copy; deciding may change it freely
        if (state.LatestEventAt is { } latest && riskEvent.At < latest - EventBounds.MaxOutOfOrder)
        {
            step.Result = EvaluationResult.Rejected(new Rejection(riskEvent.Id, "at",
                $"at is more than {EventBounds.MaxOutOfOrder.TotalDays.ToString(CultureInfo.InvariantCulture)} days before the account's latest event ({latest.UtcDateTime.ToString("O", CultureInfo.InvariantCulture)}); an event that far out of order cannot be decided"));
            return;
        }
        step.Snapshot = snapshot;
        try
        {
            // Deciding touches only the copy, so an exception here changes nothing: the event alone is rejected.
            step.Pending = DecisionMaker.Prepare(policy, riskEvent, state, ipFailures);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            step.Result = Failed(riskEvent, e);
        }
    }

    /// <summary>Fires the rules for the prepared steps together; if that throws, once per step, so only the failing ones are rejected.</summary>
    private void FireAll(Rules.PolicyRuleSet rules, List<Step> steps)
    {
        var facts = new List<Rules.EventFact>(steps.Count);
        var owners = new List<Step>(steps.Count);
        foreach (var s in steps)
        {
            if (s.Result is not null || s.Pending?.Fact is not { } f) continue;
            facts.Add(f);
            owners.Add(s);
        }
        if (rules.FireIsolated(facts) is not { } failed) return;
        foreach (var (i, e) in failed) owners[i].Result = Failed(owners[i].Event, e);
    }

    /// <summary>Applies the outcome and stages it in the batch; false when the commit lost a race (decide again).</summary>
    private async ValueTask<bool> FinishAsync(RiskPolicy policy, Step step, IStateBatch batch, CancellationToken cancellationToken)
    {
        var riskEvent = step.Event;
        AccountCommit commit;
        Decision decision;
        try
        {
            var now = _time.GetUtcNow();
            decision = DecisionMaker.Complete(policy, step.Pending!, now);
            commit = new AccountCommit(riskEvent.Account, step.Snapshot.Version, step.Snapshot.State, step.Fingerprint, decision, Later(riskEvent.At, now) + policy.IdempotencyWindow)
            {
                IpFailure = step.IpFailure,
                Clock = now,
            };
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            step.Result = Failed(riskEvent, e);
            return true;
        }
        if (await batch.StageAsync(commit, cancellationToken) != CommitStatus.Committed) return false;
        step.Result = EvaluationResult.Decided(decision); // the sinks hear of its events once the batch commits
        return true;
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<AccountUnfrozen>> ExpireCoolDownsAsync(int max = 1000, CancellationToken cancellationToken = default)
    {
        await using var unit = await BeginBatchAsync(cancellationToken);
        var lifted = await unit.ExpireCoolDownsAsync(max, cancellationToken);
        await unit.CommitAsync(null, cancellationToken);
        return lifted;
    }

    /// <summary>Stages the lifting of every freeze whose cool-down has passed by the engine's clock.</summary>
    private async ValueTask<IReadOnlyList<AccountUnfrozen>> ExpireCoolDownsAsync(IStateBatch batch, int max, CancellationToken cancellationToken)
    {
        var policy = Policy;
        var now = _time.GetUtcNow();
        var lifted = new List<AccountUnfrozen>();
        foreach (var (reason, coolDown) in policy.Freeze.CoolDown)
        {
            foreach (var account in await _store.ListFrozenAsync(reason, now - coolDown, max - lifted.Count, cancellationToken))
            {
                var e = await AccountEdit.RunAsync<AccountUnfrozen?>(batch, account, _options.MaxCommitRetries, now, snapshot =>
                {
                    if (snapshot.State.Freeze is not { } f || f.Reason != reason || f.At + coolDown > now) return (false, null); // lifted meanwhile
                    var cause = Domain.EventId.Create("cooldown:" + (f.At + coolDown).ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));
                    return (true, DecisionMaker.Unfreeze(policy, snapshot.State, cause, account, f.At + coolDown, "cooldown"));
                }, cancellationToken);
                if (e is not null) lifted.Add(e);
            }
            if (lifted.Count >= max) break;
        }
        return lifted;
    }

    /// <inheritdoc />
    public async ValueTask<AccountStatus> GetAccountStatusAsync(AccountId account, CancellationToken cancellationToken = default)
    {
        var policy = Policy;
        var state = (await _store.LoadAccountAsync(account, cancellationToken)).State;
        var now = _time.GetUtcNow();
        var f = state.Freeze;
        DateTimeOffset? unfreezesAt = f is not null && policy.Freeze.CoolDown.TryGetValue(f.Reason, out var cd) ? f.At + cd : null;
        return new AccountStatus(account, f is not null, f?.Reason, f?.At, f is not null && policy.Freeze.SelfService.Contains(f.Reason),
            unfreezesAt, state.LockedUntil is { } u && u > now ? u : null, state.Totp is { Confirmed: true })
        {
            SupportLog = [.. state.SupportLog],
        };
    }

    /// <summary>
    /// Records kept for other keys (idempotency, IP windows) expire by the engine's clock counted from the later of
    /// the event's time and now: a replayed old stream keeps them for a whole window, and one far-future event can
    /// never expire another account's records.
    /// </summary>
    private static DateTimeOffset Later(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    /// <summary>The store cannot be reached: nothing is decided or recorded; the outage carries the fail-closed answer.</summary>
    private EvaluationResult Unavailable(RiskPolicy policy, RiskEvent riskEvent, StateStoreUnavailableException e)
    {
        var outcome = _options.WhenStoreUnavailable;
        var answer = new Decision(riskEvent.Id, riskEvent.Account, riskEvent.At, outcome,
            [new RuleHit("StoreUnavailable", ReasonCodes.EngineUnavailable, "the risk engine cannot reach its state store; try again shortly", outcome)],
            policy.Version, []);
        return EvaluationResult.Unavailable(new StoreOutage(e.Message, answer));
    }

    /// <summary>A bug met while deciding one event: that event is rejected and logged; nothing was committed.</summary>
    private EvaluationResult Failed(RiskEvent e, Exception error)
    {
        LogDecideFailed(_log, e.Id.Value, e.Account.Value, error);
        return EvaluationResult.Rejected(new Rejection(e.Id, null,
            $"event '{e.Id}' could not be decided because of an internal error ({error.GetType().Name}); it was logged, nothing was applied, and the event went to the dead-letter output"));
    }

    [LoggerMessage(LogLevel.Error, "deciding event {EventId} of account {Account} failed; the event is rejected and nothing was applied")]
    private static partial void LogDecideFailed(ILogger logger, string eventId, string account, Exception error);

    private Rejection? Check(RiskPolicy policy, RiskEvent e)
    {
        if (_options.MaxFutureSkew is { } skew && e.At > _time.GetUtcNow() + skew)
            return new Rejection(e.Id, "at", $"at is more than {skew.TotalMinutes.ToString(CultureInfo.InvariantCulture)} minutes in the future of the engine's clock");
        var money = e switch
        {
            TransactionAttempt t => t.Amount,
            LimitArrangement l => l.Amount,
            _ => (Money?)null,
        };
        if (money is { } m && policy.Assets.TryGetValue(m.Currency, out var asset) && m.Scale > asset.Decimals)
            return new Rejection(e.Id, "amount", $"amount has {m.Scale} decimal places; {m.Currency} allows {asset.Decimals}");
        if (e is LimitArrangement { } la && la.Until <= la.At)
            return new Rejection(e.Id, "until", "until must be later than at");
        return null;
    }

    private static EvaluationResult Replayed(RiskEvent e, string fingerprint, StoredDecision stored) =>
        stored.Fingerprint == fingerprint && stored.Decision.Account == e.Account
            ? EvaluationResult.Decided(stored.Decision with { Duplicate = true, Events = [] })
            : EvaluationResult.Rejected(new Rejection(e.Id, "id", $"event id '{e.Id}' was already used for a different event"));
}

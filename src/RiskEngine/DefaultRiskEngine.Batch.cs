using RiskEngine.Decisions;
using RiskEngine.Events;
using RiskEngine.Policies;
using RiskEngine.State;

namespace RiskEngine;

public sealed partial class DefaultRiskEngine
{
    /// <inheritdoc />
    /// <remarks>
    /// The batch is decided in waves of distinct accounts: each account's events are decided in input order, and the
    /// facts of a wave go through NRules together — one insert, one fire, one retract per event type. What accounts
    /// share keeps input order too: an event comes after an earlier event with its id, and after an earlier failed
    /// sign-in from its IP under the throttle (committed in an earlier wave, so it is counted), so every answer is
    /// what one call per event, in input order, would have given. After an account's event meets a store outage,
    /// its later events in the batch are answered <see cref="ResultKind.Unavailable"/> too, undecided, so none is
    /// decided before it.
    /// </remarks>
    public async ValueTask<IReadOnlyList<EvaluationResult>> EvaluateBatchAsync(IReadOnlyList<RiskEvent> events, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        var policy = Policy;
        IReadOnlyList<EvaluationResult> results;
        try
        {
            await using var unit = await BeginBatchAsync(cancellationToken);
            results = await unit.EvaluateAsync(events, cancellationToken);
            await unit.CommitAsync(null, cancellationToken);
        }
        catch (StateStoreUnavailableException e)
        {
            // Nothing of the batch is durable: every answer it made is withdrawn.
            var withdrawn = new EvaluationResult[events.Count];
            for (var i = 0; i < events.Count; i++) withdrawn[i] = Unavailable(policy, events[i], e);
            return withdrawn;
        }
        return results;
    }

    /// <inheritdoc />
    public async ValueTask<IDecisionBatch> BeginBatchAsync(CancellationToken cancellationToken = default) =>
        new Unit(this, await _store.BeginBatchAsync(cancellationToken));

    /// <summary>The engine's unit of work: decisions staged in the store's batch; the sinks hear of them after its commit.</summary>
    private sealed class Unit(DefaultRiskEngine engine, IStateBatch state) : IDecisionBatch
    {
        private readonly List<AccountEvent> _events = [];

        public async ValueTask<IReadOnlyList<EvaluationResult>> EvaluateAsync(IReadOnlyList<RiskEvent> events, CancellationToken cancellationToken = default)
        {
            var results = await engine.DecideBatchAsync(state, events, cancellationToken);
            foreach (var r in results) if (r.Decision is { Events.Count: > 0 } d) _events.AddRange(d.Events);
            return results;
        }

        public async ValueTask<IReadOnlyList<AccountUnfrozen>> ExpireCoolDownsAsync(int max = 1000, CancellationToken cancellationToken = default)
        {
            var lifted = await engine.ExpireCoolDownsAsync(state, max, cancellationToken);
            _events.AddRange(lifted);
            return lifted;
        }

        public async ValueTask<AccountFrozen?> HoldAsync(SupportHold hold, CancellationToken cancellationToken = default)
        {
            var frozen = await engine.HoldAsync(state, hold, cancellationToken);
            if (frozen is not null) _events.Add(frozen);
            return frozen;
        }

        public async ValueTask<TwoFactor.TotpVerification> CheckTotpAsync(TwoFactor.ITwoFactorService service, Domain.AccountId account, string code, bool confirming, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(service);
            var verification = await service.CheckAsync(state, account, code, confirming, cancellationToken);
            _events.AddRange(verification.Events);
            return verification;
        }

        public async ValueTask<TwoFactor.TotpResetResult> ResetTotpAsync(TwoFactor.ITwoFactorService service, Domain.AccountId account, string by, string reason, string? key, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(service);
            var reset = await service.ResetAsync(state, account, by, reason, key, cancellationToken);
            _events.AddRange(reset.Events);
            return reset;
        }

        public async ValueTask CommitAsync(JournalEntry? journal = null, CancellationToken cancellationToken = default)
        {
            await state.CommitAsync(journal, cancellationToken);
            if (_events.Count == 0) return;
            var events = _events.ToArray();
            _events.Clear();
            await SinkPublisher.PublishAsync(engine._sinks, events, engine._log, cancellationToken);
        }

        public ValueTask DisposeAsync() => state.DisposeAsync();
    }

    /// <summary>
    /// Stages a support hold: freezes the account with <see cref="ReasonCodes.SupportHold"/> at the engine's clock, its
    /// support case naming the hold's own event id (<c>hold:MILLIS:RANDOM</c>), and records who and why in the support
    /// log. Null when the account is already frozen (nothing staged).
    /// </summary>
    private async ValueTask<AccountFrozen?> HoldAsync(IStateBatch batch, SupportHold hold, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(hold);
        if (Domain.TextRules.CheckIdentifier(hold.By, 128, "by") is { } byError) throw new ArgumentException(byError, nameof(hold));
        if (string.IsNullOrWhiteSpace(hold.Reason) || hold.Reason.Length > 512) throw new ArgumentException("reason must be 1–512 characters", nameof(hold));
        var policy = Policy;
        var now = _time.GetUtcNow();
        var cause = Domain.EventId.Create("hold:" + now.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture) + ":" +
            Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4)));
        return await AccountEdit.RunAsync<AccountFrozen?>(batch, hold.Account, _options.MaxCommitRetries, now, snapshot =>
        {
            var state = snapshot.State;
            if (state.Freeze is not null) return (false, null);
            var frozen = DecisionMaker.Freeze(policy, state, cause, hold.Account, now, now, ReasonCodes.SupportHold, ReasonCodes.SupportHold);
            state.LogSupport(new SupportAction(now, hold.By, ReasonCodes.SupportHold, hold.Reason) { Key = hold.Key });
            return (true, frozen);
        }, cancellationToken);
    }

    /// <summary>Decides a batch through <paramref name="batch"/> (see <see cref="EvaluateBatchAsync"/>); nothing is committed here.</summary>
    private async ValueTask<IReadOnlyList<EvaluationResult>> DecideBatchAsync(IStateBatch batch, IReadOnlyList<RiskEvent> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        var results = new EvaluationResult[events.Count];
        var rules = _policies.Current;
        var policy = rules.Policy;

        // Waves, in input order within each: an event goes in the wave after its account's previous event, and no
        // earlier than an earlier event it shares an IP (the throttle) or an id (idempotency) with, so what one
        // event can see of another is what it would see one call at a time.
        var waves = new List<List<(int Index, Step Step)>>();
        var nextOfAccount = new Dictionary<Domain.AccountId, int>();
        var waveOfId = new Dictionary<Domain.EventId, int>();
        var waveOfIp = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < events.Count; i++)
        {
            var e = events[i] ?? throw new ArgumentException($"event {i} is null", nameof(events));
            var (step, answer) = Begin(policy, e);
            if (step is null)
            {
                results[i] = answer;
                continue;
            }
            var w = nextOfAccount.GetValueOrDefault(e.Account);
            var ipKey = e is LoginAttempt { Ip: { } ip } && policy.Logins.IpThrottle is not null ? ip.ToString() : null;
            w = Math.Max(w, waveOfId.GetValueOrDefault(e.Id));
            if (ipKey is not null) w = Math.Max(w, waveOfIp.GetValueOrDefault(ipKey));
            nextOfAccount[e.Account] = w + 1;
            waveOfId[e.Id] = w;
            if (ipKey is not null && e is LoginAttempt { PasswordOk: false }) waveOfIp[ipKey] = w + 1; // a failure others must count
            while (waves.Count <= w) waves.Add([]);
            waves[w].Add((i, step));
        }

        Dictionary<Domain.AccountId, EvaluationResult>? outages = null;
        foreach (var wave in waves)
        {
            var steps = new List<Step>(wave.Count);
            foreach (var (i, step) in wave)
            {
                if (outages?.TryGetValue(step.Event.Account, out var outage) == true) results[i] = OutageFor(policy, step.Event, outage);
                else steps.Add(step);
            }
            await DecideWaveAsync(rules, steps, batch, cancellationToken);
            foreach (var (i, step) in wave)
            {
                if (step.Result is not { } result) continue; // answered above
                results[i] = result;
                if (result.Kind == ResultKind.Unavailable) (outages ??= [])[step.Event.Account] = result;
            }
        }
        return results;
    }

    /// <summary>Decides one event of each of several distinct accounts, their stripes held.</summary>
    private async ValueTask DecideWaveAsync(Rules.PolicyRuleSet rules, List<Step> wave, IStateBatch batch, CancellationToken cancellationToken)
    {
        var policy = rules.Policy;
        // Stripes are taken in index order, so two batches never wait for each other crosswise.
        var stripes = wave.Select(s => StripeOf(s.Event.Account)).Distinct().Order().ToArray();
        var held = 0;
        try
        {
            for (; held < stripes.Length; held++) await _stripes[stripes[held]].WaitAsync(cancellationToken);

            // The accounts of a wave are distinct, so their reads, and then their commits, are in flight together: a
            // remote store (Redis) pipelines them on its connection instead of waiting a round trip for each.
            await AllAsync(wave, step => StartOneAsync(policy, step, batch, cancellationToken));
            FireAll(rules, wave);
            await AllAsync(wave, step => step.Result is null ? FinishOneAsync(rules, step, batch, cancellationToken) : ValueTask.CompletedTask);
        }
        finally
        {
            for (var i = 0; i < held; i++) _stripes[stripes[i]].Release();
        }
    }

    private async ValueTask StartOneAsync(RiskPolicy policy, Step step, IStateBatch batch, CancellationToken cancellationToken)
    {
        try
        {
            await StartAsync(policy, step, batch, cancellationToken);
        }
        catch (StateStoreUnavailableException e)
        {
            step.Result = Unavailable(policy, step.Event, e);
        }
    }

    private async ValueTask FinishOneAsync(Rules.PolicyRuleSet rules, Step step, IStateBatch batch, CancellationToken cancellationToken)
    {
        try
        {
            if (!await FinishAsync(rules.Policy, step, batch, cancellationToken))
                step.Result = await DecideAsync(rules, new Step(step.Event, step.Fingerprint), batch, cancellationToken); // lost a race: alone, with retries
        }
        catch (StateStoreUnavailableException e)
        {
            step.Result = Unavailable(rules.Policy, step.Event, e);
        }
        catch (Exception e) when (e is not OperationCanceledException && step.Result is null)
        {
            step.Result = Failed(step.Event, e); // e.g. commit retries exhausted: this event only
        }
    }

    /// <summary>Starts <paramref name="work"/> for every step, then waits for all of them (none is left running on a throw).</summary>
    private static async ValueTask AllAsync(List<Step> steps, Func<Step, ValueTask> work)
    {
        var running = new ValueTask[steps.Count];
        Exception? first = null;
        for (var i = 0; i < steps.Count; i++)
        {
            try
            {
#pragma warning disable CA2012 // each is awaited exactly once, below: started together, then awaited in turn
                running[i] = work(steps[i]);
#pragma warning restore CA2012
            }
            catch (Exception e)
            {
                first ??= e;
            }
        }
        for (var i = 0; i < running.Length; i++)
        {
            try
            {
                await running[i];
            }
            catch (Exception e)
            {
                first ??= e;
            }
        }
        if (first is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(first);
    }

    /// <summary>The outage an earlier event of the account met, answered for this one.</summary>
    private EvaluationResult OutageFor(RiskPolicy policy, RiskEvent e, EvaluationResult earlier) =>
        Unavailable(policy, e, new StateStoreUnavailableException(earlier.Outage!.Reason));

    private int StripeOf(Domain.AccountId account) => (int)((uint)StringComparer.Ordinal.GetHashCode(account.Value) % (uint)_stripes.Length);
}

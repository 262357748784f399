using RiskEngine.Decisions;
using RiskEngine.Events;
using RiskEngine.State;

namespace RiskEngine;

public sealed partial class DefaultRiskEngine
{
    /// <inheritdoc />
    /// <remarks>
    /// The batch is decided in waves of distinct accounts: each account's events are decided in input order, and the
    /// facts of a wave go through NRules together — one insert, one fire, one retract per event type. Events that
    /// share what accounts share (an IP under the throttle, an event id) are never decided before an earlier one,
    /// and failed sign-ins earlier in the same wave count towards the throttle of later ones, so every answer is what
    /// one call per event, in input order, would have given.
    /// </remarks>
    public async ValueTask<IReadOnlyList<EvaluationResult>> EvaluateBatchAsync(IReadOnlyList<RiskEvent> events, CancellationToken cancellationToken = default)
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
            Step step;
            try
            {
                if (Check(policy, e) is { } rejection)
                {
                    results[i] = EvaluationResult.Rejected(rejection);
                    continue;
                }
                step = new Step(e, e.Fingerprint());
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                results[i] = Failed(e, ex);
                continue;
            }
            var w = nextOfAccount.GetValueOrDefault(e.Account);
            var ipKey = e is LoginAttempt { Ip: { } ip } && policy.Logins.IpThrottle is not null ? ip.ToString() : null;
            w = Math.Max(w, waveOfId.GetValueOrDefault(e.Id));
            if (ipKey is not null) w = Math.Max(w, waveOfIp.GetValueOrDefault(ipKey));
            nextOfAccount[e.Account] = w + 1;
            waveOfId[e.Id] = w;
            if (ipKey is not null) waveOfIp[ipKey] = w;
            while (waves.Count <= w) waves.Add([]);
            waves[w].Add((i, step));
        }

        foreach (var wave in waves)
        {
            var steps = wave.ConvertAll(x => x.Step);
            await DecideWaveAsync(rules, steps, cancellationToken);
            foreach (var (i, step) in wave) results[i] = step.Result!.Value;
        }
        return results;
    }

    /// <summary>Decides one event of each of several distinct accounts, their stripes held.</summary>
    private async ValueTask DecideWaveAsync(Rules.PolicyRuleSet rules, List<Step> wave, CancellationToken cancellationToken)
    {
        var policy = rules.Policy;
        // Stripes are taken in index order, so two batches never wait for each other crosswise.
        var stripes = wave.Select(s => StripeOf(s.Event.Account)).Distinct().Order().ToArray();
        var held = 0;
        try
        {
            for (; held < stripes.Length; held++) await _stripes[stripes[held]].WaitAsync(cancellationToken);

            var recentIpFailures = policy.Logins.IpThrottle is null ? null : new Dictionary<string, List<DateTimeOffset>>(StringComparer.Ordinal);
            foreach (var step in wave)
            {
                try
                {
                    await StartAsync(policy, step, recentIpFailures, cancellationToken);
                }
                catch (StateStoreUnavailableException e)
                {
                    step.Result = Unavailable(policy, step.Event, e);
                }
            }
            FireAll(rules, wave);
            foreach (var step in wave)
            {
                if (step.Result is not null) continue;
                try
                {
                    if (!await FinishAsync(policy, step, cancellationToken))
                        step.Result = await DecideAsync(rules, step.Event, step.Fingerprint, cancellationToken); // lost a race: alone, with retries
                }
                catch (StateStoreUnavailableException e)
                {
                    step.Result = Unavailable(policy, step.Event, e);
                }
            }
        }
        finally
        {
            for (var i = 0; i < held; i++) _stripes[stripes[i]].Release();
        }
    }

    private int StripeOf(Domain.AccountId account) => (int)((uint)StringComparer.Ordinal.GetHashCode(account.Value) % (uint)_stripes.Length);
}

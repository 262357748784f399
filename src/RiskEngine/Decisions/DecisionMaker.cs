using RiskEngine.Domain;
using RiskEngine.Events;
using RiskEngine.Policies;
using RiskEngine.Rules;
using RiskEngine.State;

namespace RiskEngine.Decisions;

/// <summary>
/// Decides one event against one account's state: computes the facts, fires the policy's rules, combines the hits
/// and applies the effects to the (copied) state. Pure apart from that state: no I/O, no clock.
/// </summary>
internal static class DecisionMaker
{
    private static readonly TimeSpan Day = TimeSpan.FromDays(1);
    private static readonly TimeSpan Month = TimeSpan.FromDays(30);

    public static Decision Decide(PolicyRuleSet rules, RiskEvent e, AccountState state, int ipFailures)
    {
        List<RuleHit>? shadow = null;
        var policy = rules.Policy;
        var events = new List<AccountEvent>(0); // no allocation of a backing array unless an event happens
        ApplyCoolDown(policy, e, state, events);

        List<RuleHit> hits;
        switch (e)
        {
            case TransactionAttempt t:
                hits = Fire(rules, TransactionFacts(policy, t, state), ref shadow);
                ApplyTransaction(policy, t, state, Combine(hits));
                break;
            case LoginAttempt l:
                hits = Fire(rules, LoginFacts(policy, l, state, ipFailures), ref shadow);
                ApplyLogin(policy, l, state, hits, ipFailures);
                break;
            case LimitArrangement a:
                hits = Fire(rules, LimitFacts(policy, a, state), ref shadow);
                if (Combine(hits) == Outcome.Allow)
                    state.Limits[a.Amount.Currency.Value] = new ArrangedLimit(a.Amount.Amount, a.At, a.Until);
                break;
            case SupportUnfreeze u:
                hits = [];
                if (state.Freeze is null)
                {
                    hits.Add(new RuleHit("SupportUnfreeze", ReasonCodes.AccountNotFrozen,
                        policy.Messages.RenderOne(policy.Messages.DefaultLanguage, ReasonCodes.AccountNotFrozen, PolicyRule.Placeholders(policy, ReasonCodes.AccountNotFrozen), "the account is not frozen"), Outcome.Deny));
                }
                else
                {
                    events.Add(Unfreeze(policy, state, e.Id, e.Account, e.At, u.By));
                }
                break;
            default:
                throw new ArgumentException($"unknown event type {e.GetType().Name}", nameof(e));
        }

        var outcome = Combine(hits);
        if (outcome == Outcome.Freeze && state.Freeze is null)
        {
            var reason = hits.First(h => h.Outcome == Outcome.Freeze).Code;
            events.Add(Freeze(policy, state, e.Id, e.Account, e.At, reason));
        }
        Prune(policy, state, e.At);
        if (state.LatestEventAt is not { } latest || e.At > latest) state.LatestEventAt = e.At;
        // Most severe first; stable within a severity so the output is deterministic.
        var ordered = hits.Count switch
        {
            0 => [],
            1 => [hits[0]],
            _ => hits.OrderByDescending(h => h.Outcome).ToArray(),
        };
        return new Decision(e.Id, e.Account, e.At, outcome, ordered, policy.Version, events.Count == 0 ? [] : events)
        {
            Shadow = shadow is null ? [] : shadow,
        };
    }

    internal static Outcome Combine(List<RuleHit> hits)
    {
        var outcome = Outcome.Allow;
        foreach (var h in hits) if (h.Outcome > outcome) outcome = h.Outcome;
        return outcome;
    }

    /// <summary>Fires the rules; shadow hits are moved aside so nothing downstream can act on them.</summary>
    private static List<RuleHit> Fire(PolicyRuleSet rules, List<object> facts, ref List<RuleHit>? shadow)
    {
        var hits = rules.Fire(facts);
        for (var i = hits.Count - 1; i >= 0; i--)
        {
            if (!hits[i].Shadow) continue;
            (shadow ??= []).Insert(0, hits[i]);
            hits.RemoveAt(i);
        }
        return hits;
    }

    private static List<object> TransactionFacts(RiskPolicy policy, TransactionAttempt t, AccountState state)
    {
        var facts = new List<object>(6) { new TransactionFact(t), new AccountStatusFact(state.Freeze is not null, state.Freeze?.Reason) };
        var currency = t.Amount.Currency;
        if (!policy.Assets.TryGetValue(currency, out var asset))
        {
            facts.Add(new UnsupportedCurrencyFact(currency.Value));
        }
        else if (state.Freeze is null)
        {
            decimal daily = 0, monthly = 0;
            var dayStart = t.At - Day;
            var monthStart = t.At - Month;
            foreach (var a in state.Allowed)
            {
                if (a.Currency != currency.Value || a.At > t.At || a.At <= monthStart) continue;
                monthly += a.Amount;
                if (a.At > dayStart) daily += a.Amount;
            }
            decimal perTxCap = asset.PerTransaction, dailyCap = asset.Daily;
            if (state.Limits.TryGetValue(currency.Value, out var limit) && limit.From <= t.At && t.At < limit.Until)
            {
                perTxCap = Math.Max(perTxCap, limit.Amount);
                dailyCap = Math.Max(dailyCap, limit.Amount);
            }
            facts.Add(new CapUsageFact(asset, t.Amount.Amount, daily, monthly, perTxCap, dailyCap, t.TotpVerified));
        }

        if (state.Freeze is null)
        {
            foreach (var v in policy.Velocity)
            {
                var start = t.At - v.Window;
                int count = 1;
                decimal amount = v.Currency is { } vc && vc == currency ? t.Amount.Amount : 0;
                foreach (var a in state.Attempts)
                {
                    if (a.At <= start || a.At > t.At) continue;
                    count++;
                    if (v.Currency is { } c && a.Currency == c.Value) amount += a.Amount;
                }
                facts.Add(new VelocityFact(v, count, amount));
            }
        }
        return facts;
    }

    private static void ApplyTransaction(RiskPolicy policy, TransactionAttempt t, AccountState state, Outcome outcome)
    {
        if (state.Freeze is not null) return; // attempts on a frozen account count towards nothing
        if (policy.Velocity.Count > 0)
            AccountState.InsertOrdered(state.Attempts, new AmountEntry(t.At, t.Amount.Currency.Value, t.Amount.Amount), static x => x.At);
        if (outcome == Outcome.Allow)
            AccountState.InsertOrdered(state.Allowed, new AmountEntry(t.At, t.Amount.Currency.Value, t.Amount.Amount), static x => x.At);
    }

    private static List<object> LimitFacts(RiskPolicy policy, LimitArrangement a, AccountState state)
    {
        var facts = new List<object>(4) { new AccountStatusFact(state.Freeze is not null, state.Freeze?.Reason) };
        policy.Assets.TryGetValue(a.Amount.Currency, out var asset);
        facts.Add(new LimitFact(a, asset));
        if (asset is null) facts.Add(new UnsupportedCurrencyFact(a.Amount.Currency.Value));
        return facts;
    }

    private static List<object> LoginFacts(RiskPolicy policy, LoginAttempt l, AccountState state, int ipFailures)
    {
        var p = policy.Logins;
        var failures = 0;
        var lockouts = 0;
        if (p.FailedAttempts is { } f)
        {
            foreach (var at in state.LoginFailures) if (at > l.At - f.Window && at <= l.At) failures++;
            foreach (var at in state.Lockouts) if (at > l.At - f.LockoutWindow && at <= l.At) lockouts++;
        }
        double? kmh = null;
        if (l.Location is { } here && state.LastLogin is { } last && l.At >= last.At)
        {
            var km = here.DistanceKm(new GeoPoint(last.Latitude, last.Longitude));
            var hours = (l.At - last.At).TotalHours;
            // Same instant: any real distance is impossible; a few km is GPS/IP geolocation noise.
            kmh = hours > 0 ? km / hours : km > 50 ? double.PositiveInfinity : 0;
        }
        var history = new LoginHistoryFact(
            state.HasLoggedIn,
            state.KnownDevices.Contains(l.Device.Value),
            state.KnownCountries.Contains(l.Country.Value),
            state.LockedUntil is { } until && l.At < until,
            failures,
            lockouts,
            kmh);
        var facts = new List<object>(4) { new LoginFact(l), history };
        if (l.Ip is not null && p.IpThrottle is not null)
            facts.Add(new IpFailuresFact(l.Ip.ToString(), ipFailures + (l.PasswordOk ? 0 : 1)));
        return facts;
    }

    private static void ApplyLogin(RiskPolicy policy, LoginAttempt l, AccountState state, List<RuleHit> hits, int ipFailures)
    {
        var outcome = Combine(hits);
        var locked = state.LockedUntil is { } until && l.At < until;
        if (l.PasswordOk)
        {
            if (outcome != Outcome.Allow) return;
            state.HasLoggedIn = true;
            AccountState.Touch(state.KnownDevices, l.Device.Value);
            AccountState.Touch(state.KnownCountries, l.Country.Value);
            if (l.Location is { } g && (state.LastLogin is null || l.At >= state.LastLogin.At))
                state.LastLogin = new LoginPlace(l.At, g.Latitude, g.Longitude, l.Country.Value);
            return;
        }

        var throttled = policy.Logins.IpThrottle is { } ip && l.Ip is not null && ipFailures + 1 > ip.MaxFailures;
        if (locked || throttled || policy.Logins.FailedAttempts is null) return;
        if (hits.Any(h => h.StartsLockout))
        {
            state.LoginFailures.Clear(); // a lockout resets the failure count
            state.LockedUntil = l.At + policy.Logins.FailedAttempts.Lockout;
            AccountState.InsertOrdered(state.Lockouts, l.At, static x => x);
        }
        else
        {
            AccountState.InsertOrdered(state.LoginFailures, l.At, static x => x);
        }
    }

    private static void ApplyCoolDown(RiskPolicy policy, RiskEvent e, AccountState state, List<AccountEvent> events)
    {
        if (state.Freeze is { } f && policy.Freeze.CoolDown.TryGetValue(f.Reason, out var coolDown) && f.At + coolDown <= e.At)
            events.Add(Unfreeze(policy, state, e.Id, e.Account, f.At + coolDown, "cooldown"));
    }

    /// <summary>Freezes the account and renders the event that tells the user how to reach support.</summary>
    internal static AccountFrozen Freeze(RiskPolicy policy, AccountState state, EventId cause, AccountId account, DateTimeOffset at, string reason)
    {
        state.Freeze = new FreezeState(reason, at, cause.Value);
        return new AccountFrozen(cause, account, at, reason, policy.Freeze.SelfService.Contains(reason), policy.Support,
            policy.Messages.RenderAll("account.frozen", Placeholders(policy, account, reason)));
    }

    /// <summary>
    /// Lifts the freeze and forgets the evidence that froze the account — velocity windows, failed sign-ins and
    /// lockouts, the last sign-in place — so it cannot freeze the user again at their next attempt.
    /// </summary>
    internal static AccountUnfrozen Unfreeze(RiskPolicy policy, AccountState state, EventId cause, AccountId account, DateTimeOffset at, string by)
    {
        var reason = state.Freeze?.Reason ?? "";
        state.Freeze = null;
        state.Attempts.Clear();
        state.LoginFailures.Clear();
        state.Lockouts.Clear();
        state.LockedUntil = null;
        state.LastLogin = null;
        return new AccountUnfrozen(cause, account, at, by, reason, policy.Support,
            policy.Messages.RenderAll("account.unfrozen", Placeholders(policy, account, reason)));
    }

    private static Dictionary<string, string> Placeholders(RiskPolicy policy, AccountId account, string reason)
    {
        var values = PolicyRule.Placeholders(policy, reason);
        values["account"] = account.Value;
        return values;
    }

    private static void Prune(RiskPolicy policy, AccountState state, DateTimeOffset now)
    {
        AccountState.PruneBefore(state.Allowed, now - Month, static x => x.At);
        AccountState.PruneBefore(state.Attempts, now - policy.LongestVelocityWindow, static x => x.At);
        if (policy.Logins.FailedAttempts is { } f)
        {
            AccountState.PruneBefore(state.LoginFailures, now - f.Window, static x => x);
            AccountState.PruneBefore(state.Lockouts, now - f.LockoutWindow, static x => x);
        }
        else
        {
            state.LoginFailures.Clear();
            state.Lockouts.Clear();
        }
        if (state.LockedUntil is { } until && until <= now) state.LockedUntil = null;
        if (state.Limits.Count > 0)
        {
            foreach (var key in state.Limits.Where(kv => kv.Value.Until <= now).Select(kv => kv.Key).ToArray())
                state.Limits.Remove(key);
        }
        if (state.Totp is { } totp)
            AccountState.PruneBefore(totp.Failures, now - policy.Totp.FailureWindow, static x => x);
    }
}

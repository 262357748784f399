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

    /// <summary>Decides one event: prepares its fact, fires the rules for it, and applies the outcome.</summary>
    /// <param name="clock">The engine's clock, recorded with a freeze (default: the event's time).</param>
    public static Decision Decide(PolicyRuleSet rules, RiskEvent e, AccountState state, int ipFailures, DateTimeOffset? clock = null)
    {
        var pending = Prepare(rules.Policy, e, state, ipFailures);
        if (pending.Fact is { } fact) rules.Fire(fact);
        return Complete(rules.Policy, pending, clock ?? e.At);
    }

    /// <summary>
    /// The first half of a decision: lifts a cool-down that has passed, and computes the event's fact from the
    /// account's state. The rules are then fired for the fact (alone, or with the facts of other accounts), and
    /// <see cref="Complete"/> applies the outcome to the same state.
    /// </summary>
    public static Pending Prepare(RiskPolicy policy, RiskEvent e, AccountState state, int ipFailures)
    {
        var events = new List<AccountEvent>(0); // no allocation of a backing array unless an event happens
        ApplyCoolDown(policy, e, state, events);
        EventFact? fact = e switch
        {
            TransactionAttempt t => TransactionFactFor(policy, t, state),
            LoginAttempt l => LoginFactFor(policy, l, state, ipFailures),
            LimitArrangement a => LimitFactFor(policy, a, state),
            TransactionReversal r => ReversalFactFor(r, state),
            ActivityReport a => new ReportFact { Report = a },
            LimitCancellation c => new LimitCancellationFact { Cancellation = c },
            SupportUnfreeze => null,
            _ => throw new ArgumentException($"unknown event type {e.GetType().Name}", nameof(e)),
        };
        return new Pending(e, state, fact, events, ipFailures);
    }

    /// <summary>The second half of a decision: combines the fact's hits and applies the outcome to the state.</summary>
    /// <param name="clock">The engine's clock (not the event's claimed time), recorded with a freeze.</param>
    public static Decision Complete(RiskPolicy policy, Pending pending, DateTimeOffset clock)
    {
        var (e, state, fact, events, ipFailures) = pending;
        List<RuleHit>? shadow = null;
        var hits = new List<RuleHit>(fact?.Hits.Count ?? 0); // no array unless there are hits
        if (fact is not null)
        {
            foreach (var h in fact.Hits)
            {
                if (h.Shadow) (shadow ??= []).Add(h); // moved aside so nothing downstream can act on it
                else hits.Add(h);
            }
        }
        switch (e)
        {
            case TransactionAttempt t:
                ApplyTransaction(policy, t, state, Combine(hits));
                break;
            case LoginAttempt l:
                ApplyLogin(policy, l, state, hits, ipFailures);
                break;
            case LimitArrangement a:
                if (Combine(hits) == Outcome.Allow)
                    state.Limits[a.Amount.Currency.Value] = new ArrangedLimit(a.Amount.Amount, a.At, a.Until, MonthlyUsed(state, a.Amount.Currency.Value, a.At));
                break;
            case LimitCancellation c:
                if (Combine(hits) == Outcome.Allow) state.Limits.Remove(c.Currency.Value);
                break;
            case TransactionReversal r:
                if (Combine(hits) == Outcome.Allow) Reverse(state, r.Transaction.Value);
                break;
            case SupportUnfreeze u:
                if (state.Freeze is null)
                {
                    hits.Add(new RuleHit("SupportUnfreeze", ReasonCodes.AccountNotFrozen,
                        policy.Messages.RenderOne(policy.Messages.DefaultLanguage, ReasonCodes.AccountNotFrozen, PolicyRule.Placeholders(policy, ReasonCodes.AccountNotFrozen), "the account is not frozen"), Outcome.Deny));
                }
                else
                {
                    events.Add(Unfreeze(policy, state, e.Id, e.Account, e.At, u.By, note: u.Reason));
                    state.LogSupport(new SupportAction(e.At, u.By, "unfreeze", u.Reason) { Key = u.Key });
                }
                break;
        }

        var outcome = Combine(hits);
        if (outcome == Outcome.Freeze && state.Freeze is null)
        {
            var reason = hits.First(h => h.Outcome == Outcome.Freeze).Code;
            events.Add(Freeze(policy, state, e.Id, e.Account, e.At, clock, reason, TypeOf(e), e));
        }
        Prune(policy, state, e.At);
        if (state.LatestEventAt is not { } latest || e.At > latest) state.LatestEventAt = e.At;
        // Most severe first, then in the policy's rule order: the same whatever order the rules fired in.
        if (hits.Count > 1) hits.Sort(static (a, b) => a.Outcome != b.Outcome ? b.Outcome.CompareTo(a.Outcome) : a.Order.CompareTo(b.Order));
        shadow?.Sort(static (a, b) => a.Order.CompareTo(b.Order));
        return new Decision(e.Id, e.Account, e.At, outcome, hits.Count == 0 ? [] : hits, policy.Version, events.Count == 0 ? [] : events)
        {
            Shadow = shadow is null ? [] : shadow,
        };
    }

    /// <summary>A decision between <see cref="Prepare"/> and <see cref="Complete"/>.</summary>
    internal sealed record Pending(RiskEvent Event, AccountState State, EventFact? Fact, List<AccountEvent> Events, int IpFailures);

    internal static Outcome Combine(List<RuleHit> hits)
    {
        var outcome = Outcome.Allow;
        foreach (var h in hits) if (h.Outcome > outcome) outcome = h.Outcome;
        return outcome;
    }

    private static TransactionFact TransactionFactFor(RiskPolicy policy, TransactionAttempt t, AccountState state)
    {
        var currency = t.Amount.Currency;
        var frozen = state.Freeze is not null;
        var supported = policy.Assets.TryGetValue(currency, out var asset);
        decimal daily = 0, monthly = 0, perTxCap = 0, dailyCap = 0, monthlyCap = 0, channelDaily = 0, channelMonthly = 0;
        ChannelCaps? channelCaps = null;
        if (supported && !frozen)
        {
            if (t.Channel is { } ch && policy.Channels.TryGetValue(ch, out var byCurrency)) byCurrency.TryGetValue(currency, out channelCaps);
            var dayStart = t.At - Day;
            var monthStart = t.At - Month;
            foreach (var a in state.Allowed)
            {
                if (a.Reversed || a.Currency != currency.Value || a.At > t.At || a.At <= monthStart) continue;
                monthly += a.Amount;
                if (a.At > dayStart) daily += a.Amount;
                if (channelCaps is null || a.Channel != t.Channel) continue;
                channelMonthly += a.Amount;
                if (a.At > dayStart) channelDaily += a.Amount;
            }
            (perTxCap, dailyCap) = (asset!.PerTransaction, asset.Daily);
            monthlyCap = asset.Monthly;
            if (state.Limits.TryGetValue(currency.Value, out var limit) && limit.From <= t.At && t.At < limit.Until)
            {
                perTxCap = Math.Max(perTxCap, limit.Amount);
                dailyCap = Math.Max(dailyCap, limit.Amount);
                monthlyCap = Math.Max(monthlyCap, limit.Amount + limit.UsedBefore); // the arranged transfer fits the month too
            }
        }

        int[] counts = [];
        decimal[] amounts = [];
        if (!frozen && policy.Velocity.Count > 0)
        {
            counts = new int[policy.Velocity.Count];
            amounts = new decimal[policy.Velocity.Count];
            for (var i = 0; i < policy.Velocity.Count; i++)
            {
                var v = policy.Velocity[i];
                var start = t.At - v.Window;
                // With "below", only small attempts of the entry's currency count (card testing).
                var thisCounts = v.Below is not { } below || (v.Currency == currency && t.Amount.Amount < below);
                int count = thisCounts ? 1 : 0;
                decimal amount = v.Currency is { } vc && vc == currency ? t.Amount.Amount : 0;
                foreach (var a in state.Attempts)
                {
                    if (a.At <= start || a.At > t.At) continue;
                    if (v.Below is not { } b || (v.Currency is { } bc && a.Currency == bc.Value && a.Amount < b)) count++;
                    if (v.Currency is { } c && a.Currency == c.Value) amount += a.Amount;
                }
                counts[i] = count;
                amounts[i] = amount;
            }
        }

        return new TransactionFact
        {
            Attempt = t,
            Frozen = frozen,
            FreezeReason = state.Freeze?.Reason,
            FreezeCase = state.Freeze is { } f ? CaseOf(t.Account, f) : null,
            Currency = currency.Value,
            CurrencySupported = supported,
            CapsApply = supported && !frozen,
            Amount = t.Amount.Amount,
            PerTransactionCap = perTxCap,
            DailyUsed = daily,
            DailyCap = dailyCap,
            MonthlyUsed = monthly,
            MonthlyCap = monthlyCap,
            ChallengeAbove = asset?.ChallengeAbove,
            Authenticated = StepUp(policy, state, t.TotpVerified, t.At),
            HasHistory = state.LatestEventAt is not null,
            StructuringCount = supported && !frozen ? StructuringCount(policy, state, t, asset!) : 0,
            // Only looked up when the novelty rules are on: otherwise nothing reads them.
            DeviceKnown = policy.Transactions.NewDevice == Outcome.Allow || state.KnownDevices.Contains(t.Device.Value) || state.PaymentDevices.Contains(t.Device.Value),
            CountryKnown = policy.Transactions.NewCountry == Outcome.Allow || state.KnownCountries.Contains(t.Origin.Value) || state.PaymentCountries.Contains(t.Origin.Value),
            ChannelCapsApply = channelCaps is not null,
            ChannelPerTransactionCap = channelCaps?.PerTransaction ?? 0,
            ChannelDailyUsed = channelDaily,
            ChannelDailyCap = channelCaps?.Daily ?? 0,
            ChannelMonthlyUsed = channelMonthly,
            ChannelMonthlyCap = channelCaps?.Monthly ?? 0,
            VelocityCounts = counts,
            VelocityAmounts = amounts,
        };
    }

    private static void ApplyTransaction(RiskPolicy policy, TransactionAttempt t, AccountState state, Outcome outcome)
    {
        if (state.Freeze is not null) return; // attempts on a frozen account count towards nothing
        if (policy.Velocity.Count > 0)
            AccountState.InsertOrdered(state.Attempts, new AmountEntry(t.At, t.Amount.Currency.Value, t.Amount.Amount), static x => x.At);
        if (outcome != Outcome.Allow) return;
        AccountState.InsertOrdered(state.Allowed, new AmountEntry(t.At, t.Amount.Currency.Value, t.Amount.Amount, AmountEntry.KeyOf(t.Id.Value), Channel: t.Channel), static x => x.At);
        if (policy.Transactions.NewDevice != Outcome.Allow) AccountState.Touch(state.PaymentDevices, t.Device.Value);
        if (policy.Transactions.NewCountry != Outcome.Allow) AccountState.Touch(state.PaymentCountries, t.Origin.Value);
    }

    /// <summary>
    /// Whether an event's <c>authenticated: "totp"</c> counts. Trusted as stated unless the policy asks for verified
    /// step-up: then it counts only when RiskEngine accepted a code for the account within <c>stepUpValidity</c>
    /// before the event (30 s after it allowed, for clocks a little apart), and that code is used up.
    /// </summary>
    private static bool StepUp(RiskPolicy policy, AccountState state, bool claimed, DateTimeOffset at)
    {
        if (!claimed) return false;
        if (policy.Totp.StepUp == StepUpMode.TrustCaller) return true;
        for (var i = 0; i < state.StepUps.Count; i++)
        {
            var accepted = state.StepUps[i];
            if (accepted < at - policy.Totp.StepUpValidity || accepted > at + TimeSpan.FromSeconds(30)) continue;
            state.StepUps.RemoveAt(i); // once per accepted code
            return true;
        }
        return false;
    }

    /// <summary>
    /// Payments of the asset within [nearBelow × challengeAbove, challengeAbove] in the structuring window: the allowed
    /// ones before this one, plus this one — 0 when this one is not near the threshold itself.
    /// </summary>
    private static int StructuringCount(RiskPolicy policy, AccountState state, TransactionAttempt t, AssetPolicy asset)
    {
        if (policy.Structuring is not { } s || asset.ChallengeAbove is not { } top) return 0;
        var low = s.NearBelow * top;
        if (t.Amount.Amount < low || t.Amount.Amount > top) return 0;
        var count = 1;
        foreach (var a in state.Allowed)
        {
            if (!a.Reversed && a.Currency == asset.Currency.Value && a.At > t.At - s.Window && a.At <= t.At && a.Amount >= low && a.Amount <= top) count++;
        }
        return count;
    }

    /// <summary>Allowed, unreversed spending in <paramref name="currency"/> over the 30 days up to <paramref name="at"/>.</summary>
    private static decimal MonthlyUsed(AccountState state, string currency, DateTimeOffset at)
    {
        decimal used = 0;
        foreach (var a in state.Allowed)
            if (!a.Reversed && a.Currency == currency && a.At <= at && a.At > at - Month) used += a.Amount;
        return used;
    }

    /// <summary>What the account's allowed transactions (the 30-day cap window) say about the one a reversal names.</summary>
    private static ReversalFact ReversalFactFor(TransactionReversal r, AccountState state)
    {
        var key = AmountEntry.KeyOf(r.Transaction.Value);
        foreach (var a in state.Allowed)
        {
            if (a.EventKey == key) return new ReversalFact { Reversal = r, Known = true, AlreadyReversed = a.Reversed };
        }
        return new ReversalFact { Reversal = r };
    }

    /// <summary>Takes the transaction out of the caps, keeping its entry so a second reversal is recognised.</summary>
    private static void Reverse(AccountState state, string transaction)
    {
        var key = AmountEntry.KeyOf(transaction);
        var i = state.Allowed.FindIndex(a => a.EventKey == key);
        if (i >= 0) state.Allowed[i] = state.Allowed[i] with { Reversed = true };
    }

    private static LimitFact LimitFactFor(RiskPolicy policy, LimitArrangement a, AccountState state)
    {
        policy.Assets.TryGetValue(a.Amount.Currency, out var asset);
        return new LimitFact
        {
            Arrangement = a,
            Asset = asset,
            Frozen = state.Freeze is not null,
            FreezeReason = state.Freeze?.Reason,
            FreezeCase = state.Freeze is { } f ? CaseOf(a.Account, f) : null,
            Currency = a.Amount.Currency.Value,
            CurrencySupported = asset is not null,
            TooLong = a.Until - a.At > policy.MaxLimitDuration,
            Authenticated = StepUp(policy, state, a.TotpVerified, a.At),
        };
    }

    private static LoginFact LoginFactFor(RiskPolicy policy, LoginAttempt l, AccountState state, int ipFailures)
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
            if (p.ImpossibleTravel is { MinKm: > 0 } travel && km < travel.MinKm) km = 0; // jitter within a city is no travel
            var hours = (l.At - last.At).TotalHours;
            // Same instant: any real distance is impossible; a few km is GPS/IP geolocation noise.
            kmh = hours > 0 ? km / hours : km > 50 ? double.PositiveInfinity : 0;
        }
        return new LoginFact
        {
            Attempt = l,
            PasswordOk = l.PasswordOk,
            TotpVerified = StepUp(policy, state, l.TotpVerified, l.At),
            HasPriorLogin = state.HasLoggedIn,
            DeviceKnown = state.KnownDevices.Contains(l.Device.Value),
            CountryKnown = state.KnownCountries.Contains(l.Country.Value),
            Locked = state.LockedUntil is { } until && l.At < until,
            RecentFailures = failures,
            RecentLockouts = lockouts,
            TravelKmh = kmh,
            IpFailures = l.Ip is not null && p.IpThrottle is not null ? ipFailures + (l.PasswordOk ? 0 : 1) : -1,
        };
    }

    private static void ApplyLogin(RiskPolicy policy, LoginAttempt l, AccountState state, List<RuleHit> hits, int ipFailures)
    {
        var outcome = Combine(hits);
        var locked = state.LockedUntil is { } until && l.At < until;
        if (l.PasswordOk)
        {
            if (outcome != Outcome.Allow) return;
            // An allowed sign-in ends the run of failures (contract, third wave correction, as Keycloak and ASP.NET
            // Core Identity do); lockouts stay, so freezeAfterLockouts still sees a password being guessed.
            state.LoginFailures.Clear();
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

    /// <summary>
    /// Freezes the account and renders the event that tells the user how to reach support, with the support case
    /// filled in from <paramref name="causeEvent"/> (the amount, currency, country and time they will be asked about).
    /// <paramref name="clock"/> is the engine's time, kept beside the event's <paramref name="at"/> for self-service.
    /// </summary>
    internal static AccountFrozen Freeze(RiskPolicy policy, AccountState state, EventId cause, AccountId account, DateTimeOffset at, DateTimeOffset clock,
        string reason, string causeType, RiskEvent? causeEvent = null)
    {
        var (amount, currency, country) = causeEvent switch
        {
            TransactionAttempt t => ((decimal?)Money.Normalize(t.Amount.Amount), t.Amount.Currency.Value, t.Origin.Value),
            LoginAttempt l => ((decimal?)null, (string?)null, l.Country.Value),
            _ => (null, null, null),
        };
        state.Freeze = new FreezeState(reason, at, cause.Value) { EventType = causeType, Amount = amount, Currency = currency, Country = country, Clock = clock };
        var @case = CaseOf(account, state.Freeze);
        return new AccountFrozen(cause, account, at, reason, policy.Freeze.SelfService.Contains(reason), policy.Support,
            policy.Messages.RenderAll("account.frozen", Placeholders(policy, account, reason, @case)))
        {
            Case = @case,
        };
    }

    /// <summary>
    /// Lifts the freeze and forgets the evidence that froze the account — velocity windows, failed sign-ins and
    /// lockouts, the last sign-in place — so it cannot freeze the user again at their next attempt. The event carries
    /// the freeze's support case and, when support lifted it, the agent's <paramref name="note"/>.
    /// </summary>
    internal static AccountUnfrozen Unfreeze(RiskPolicy policy, AccountState state, EventId cause, AccountId account, DateTimeOffset at, string by, string? note = null)
    {
        var reason = state.Freeze?.Reason ?? "";
        var @case = state.Freeze is { } f ? CaseOf(account, f) : null;
        state.Freeze = null;
        state.Attempts.Clear();
        state.LoginFailures.Clear();
        state.Lockouts.Clear();
        state.LockedUntil = null;
        state.LastLogin = null;
        return new AccountUnfrozen(cause, account, at, by, reason, policy.Support,
            policy.Messages.RenderAll("account.unfrozen", Placeholders(policy, account, reason, @case)))
        {
            Case = @case,
            Note = note,
        };
    }

    /// <summary>The wire type of an event, for the support case.</summary>
    internal static string TypeOf(RiskEvent e) => EventAuthority.WireType(e);

    internal static SupportCase CaseOf(AccountId account, FreezeState f) =>
        new(account, EventId.Create(f.Event), f.EventType ?? "unknown", f.At, f.Reason) { Amount = f.Amount, Currency = f.Currency, Country = f.Country };

    /// <summary>Values for an account message's placeholders: the contacts, <c>{reason}</c>, <c>{account}</c> and the support case.</summary>
    internal static Dictionary<string, string> Placeholders(RiskPolicy policy, AccountId account, string reason, SupportCase? @case)
    {
        var values = PolicyRule.Placeholders(policy, reason);
        values["account"] = account.Value;
        if (@case is null) return values;
        values["event"] = @case.Event.Value;
        values["at"] = BuiltInWording.CaseTime(@case.At);
        if (@case.Amount is { } amount) values["amount"] = amount.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (@case.Currency is { } currency) values["currency"] = currency;
        foreach (var language in BuiltInWording.Languages) values["case:" + language] = BuiltInWording.CasePhrase(language, @case);
        return values;
    }

    /// <summary>Apart from <see cref="Prune"/>: its lambda would otherwise allocate a closure on every decision.</summary>
    private static void PruneLimits(AccountState state, DateTimeOffset now)
    {
        foreach (var key in state.Limits.Where(kv => kv.Value.Until <= now).Select(kv => kv.Key).ToArray())
            state.Limits.Remove(key);
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
        if (state.StepUps.Count > 0) AccountState.PruneBefore(state.StepUps, now - policy.Totp.StepUpValidity, static x => x);
        if (state.Limits.Count > 0) PruneLimits(state, now);
        if (state.Totp is { } totp)
            AccountState.PruneBefore(totp.Failures, now - policy.Totp.FailureWindow, static x => x);
    }
}

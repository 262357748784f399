using RiskEngine.Decisions;
using RiskEngine.Events;
using RiskEngine.Policies;

namespace RiskEngine.Benchmarks.Baseline;

/// <summary>
/// The physical limit: the contract's rules for one policy written as plain C# over plain dictionaries — no rules
/// engine, no store abstraction, no copies, single-threaded. Used only to measure the engine against (and, in a
/// test, to cross-check its outcomes on generated traffic). Not for production: no persistence, no concurrency.
/// </summary>
public sealed class HandWrittenEvaluator(RiskPolicy policy)
{
    private static readonly TimeSpan Day = TimeSpan.FromDays(1);
    private static readonly TimeSpan Month = TimeSpan.FromDays(30);
    private readonly Dictionary<string, Acct> _accounts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Fingerprint, Outcome Outcome)> _decided = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<DateTimeOffset>> _ipFailures = new(StringComparer.Ordinal);

    // Verified step-up: a claimed "totp" counts only after a code was accepted through RiskEngine, and a stream of
    // events alone never carries one, so under that policy setting every claim is refused.
    private readonly bool _trustClaims = policy.Totp.StepUp == RiskEngine.Policies.StepUpMode.TrustCaller;

    /// <summary>Decides one event; null when the engine would reject it.</summary>
    public Outcome? Decide(RiskEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var money = e switch { TransactionAttempt t => t.Amount, LimitArrangement l => l.Amount, _ => (RiskEngine.Domain.Money?)null };
        if (money is { } m && policy.Assets.TryGetValue(m.Currency, out var asset0) && m.Scale > asset0.Decimals) return null;
        if (e is LimitArrangement la && la.Until <= la.At) return null;
        var fp = e.Fingerprint();
        if (_decided.TryGetValue(e.Id.Value, out var prior)) return prior.Fingerprint == fp ? prior.Outcome : null;

        if (!_accounts.TryGetValue(e.Account.Value, out var a)) _accounts[e.Account.Value] = a = new Acct();
        if (a.FrozenReason is { } r && policy.Freeze.CoolDown.TryGetValue(r, out var cd) && a.FrozenAt + cd <= e.At) Unfreeze(a);

        var outcome = e switch
        {
            TransactionAttempt t => Transaction(a, t),
            LoginAttempt l => Login(a, l),
            LimitArrangement l => Limit(a, l),
            SupportUnfreeze => a.FrozenReason is null ? Outcome.Deny : UnfreezeAllowed(a),
            _ => throw new ArgumentException("unknown event", nameof(e)),
        };
        _decided[e.Id.Value] = (fp, outcome);
        a.Seen = true;
        return outcome;
    }

    private static Outcome UnfreezeAllowed(Acct a)
    {
        Unfreeze(a);
        return Outcome.Allow;
    }

    private static void Unfreeze(Acct a)
    {
        a.FrozenReason = null;
        a.Attempts.Clear();
        a.Failures.Clear();
        a.Lockouts.Clear();
        a.LockedUntil = null;
        a.LastPlace = null;
    }

    private void Freeze(Acct a, string reason, DateTimeOffset at)
    {
        if (a.FrozenReason is not null) return;
        a.FrozenReason = reason;
        a.FrozenAt = at;
    }

    private Outcome Transaction(Acct a, TransactionAttempt t)
    {
        var o = Outcome.Allow;
        string? freezeReason = null;
        var frozen = a.FrozenReason is not null;
        if (frozen) o = Outcome.Deny;
        var r = policy.Regions;
        if ((r.CheckOrigin && r.IsUnavailable(t.Origin)) || (r.CheckResidence && t.Residence is { } res && r.IsUnavailable(res)) ||
            (r.CheckCounterparty && t.Counterparty is { } cp && r.IsUnavailable(cp)))
            o = Max(o, Outcome.Deny);
        var cur = t.Amount.Currency.Value;
        if (!policy.Assets.TryGetValue(t.Amount.Currency, out var asset))
        {
            o = Max(o, Outcome.Deny);
        }
        else if (!frozen)
        {
            decimal daily = 0, monthly = 0;
            foreach (var x in a.Allowed)
            {
                if (x.Currency != cur || x.At > t.At || x.At <= t.At - Month) continue;
                monthly += x.Amount;
                if (x.At > t.At - Day) daily += x.Amount;
            }
            decimal perTx = asset.PerTransaction, dayCap = asset.Daily;
            if (a.Limits.TryGetValue(cur, out var lim) && lim.From <= t.At && t.At < lim.Until)
            {
                perTx = Math.Max(perTx, lim.Amount);
                dayCap = Math.Max(dayCap, lim.Amount);
            }
            var amount = t.Amount.Amount;
            if (amount > perTx || daily + amount > dayCap || monthly + amount > asset.Monthly) o = Max(o, Outcome.Deny);
            var verified = t.TotpVerified && _trustClaims;
            if (!verified && asset.ChallengeAbove is { } c && amount > c) o = Max(o, Outcome.Challenge);
            // Novelty: a device or country never seen in an allowed sign-in or payment, never on the account's first event.
            var tx = policy.Transactions;
            if (a.Seen && !verified && tx.NewDevice != Outcome.Allow && !a.Devices.Contains(t.Device.Value) && !a.PaymentDevices.Contains(t.Device.Value))
                o = Max(o, tx.NewDevice);
            if (a.Seen && !verified && tx.NewCountry != Outcome.Allow && !a.Countries.Contains(t.Origin.Value) && !a.PaymentCountries.Contains(t.Origin.Value))
                o = Max(o, tx.NewCountry);
            // Structuring: payments in [nearBelow × challengeAbove, challengeAbove], this one and the allowed ones in the window.
            if (policy.Structuring is { } st && asset.ChallengeAbove is { } top && amount >= st.NearBelow * top && amount <= top)
            {
                var near = 1;
                foreach (var x in a.Allowed)
                    if (x.Currency == cur && x.At > t.At - st.Window && x.At <= t.At && x.Amount >= st.NearBelow * top && x.Amount <= top) near++;
                if (near > st.MaxCount && !(st.Then == Outcome.Challenge && verified))
                {
                    if (st.Then == Outcome.Freeze) freezeReason ??= ReasonCodes.CapStructuring;
                    o = Max(o, st.Then);
                }
            }
        }
        if (!frozen)
        {
            foreach (var v in policy.Velocity)
            {
                // With "below", only the small attempts of the entry's currency count (card testing).
                int count = v.Below is not { } below || (v.Currency == t.Amount.Currency && t.Amount.Amount < below) ? 1 : 0;
                decimal sum = v.Currency is { } vc && vc == t.Amount.Currency ? t.Amount.Amount : 0;
                foreach (var x in a.Attempts)
                {
                    if (x.At <= t.At - v.Window || x.At > t.At) continue;
                    if (v.Below is not { } b || (v.Currency is { } bc && x.Currency == bc.Value && x.Amount < b)) count++;
                    if (v.Currency is { } c2 && x.Currency == c2.Value) sum += x.Amount;
                }
                var byCount = v.MaxCount is { } mc && count > mc;
                if (byCount || (v.MaxAmount is { } ma && sum > ma))
                {
                    if (v.Then == Outcome.Freeze && freezeReason is null) freezeReason = byCount ? ReasonCodes.VelocityCount : ReasonCodes.VelocityAmount;
                    o = Max(o, v.Then);
                }
            }
            if (policy.Velocity.Count > 0) a.Attempts.Add(new Entry(t.At, cur, t.Amount.Amount));
            if (o == Outcome.Allow)
            {
                a.Allowed.Add(new Entry(t.At, cur, t.Amount.Amount));
                if (policy.Transactions.NewDevice != Outcome.Allow) Touch(a.PaymentDevices, t.Device.Value);
                if (policy.Transactions.NewCountry != Outcome.Allow) Touch(a.PaymentCountries, t.Origin.Value);
            }
            Trim(a.Allowed, t.At - Month);
            Trim(a.Attempts, t.At - policy.LongestVelocityWindow);
        }
        if (o == Outcome.Freeze) Freeze(a, freezeReason!, t.At);
        return o;
    }

    private Outcome Limit(Acct a, LimitArrangement l)
    {
        var o = a.FrozenReason is not null ? Outcome.Deny : Outcome.Allow;
        if (!policy.Assets.TryGetValue(l.Amount.Currency, out var asset)) o = Outcome.Deny;
        else if (l.Amount.Amount > asset.MaxArrangedLimit) o = Outcome.Deny;
        if (!(l.TotpVerified && _trustClaims)) o = Outcome.Deny;
        if (o == Outcome.Allow) a.Limits[l.Amount.Currency.Value] = (l.Amount.Amount, l.At, l.Until);
        return o;
    }

    private Outcome Login(Acct a, LoginAttempt l)
    {
        var p = policy.Logins;
        var o = Outcome.Allow;
        string? freezeReason = null;
        var locked = a.LockedUntil is { } u && l.At < u;
        var ip = l.Ip?.ToString();
        var ipFailures = 0;
        if (ip is not null && p.IpThrottle is { } th)
        {
            if (_ipFailures.TryGetValue(ip, out var list)) foreach (var x in list) if (x > l.At - th.Window && x <= l.At) ipFailures++;
        }
        var throttled = ip is not null && p.IpThrottle is { } th2 && ipFailures + (l.PasswordOk ? 0 : 1) > th2.MaxFailures;
        if (throttled) o = Outcome.Deny;
        if (locked) o = Max(o, Outcome.Deny);
        if (!l.PasswordOk)
        {
            if (!locked) o = Max(o, Outcome.Deny);
            if (!locked && !throttled && p.FailedAttempts is { } f)
            {
                var failures = 0;
                foreach (var x in a.Failures) if (x > l.At - f.Window && x <= l.At) failures++;
                if (failures + 1 >= f.Max)
                {
                    var lockouts = 0;
                    foreach (var x in a.Lockouts) if (x > l.At - f.LockoutWindow && x <= l.At) lockouts++;
                    if (lockouts + 1 >= f.FreezeAfterLockouts)
                    {
                        o = Max(o, Outcome.Freeze);
                        freezeReason ??= ReasonCodes.LoginFailedAttempts;
                    }
                    a.Failures.Clear();
                    a.LockedUntil = l.At + f.Lockout;
                    a.Lockouts.Add(l.At);
                }
                else
                {
                    a.Failures.Add(l.At);
                }
            }
            if (ip is not null && p.IpThrottle is not null)
            {
                if (!_ipFailures.TryGetValue(ip, out var list)) _ipFailures[ip] = list = [];
                list.Add(l.At);
                list.RemoveAll(x => x <= l.At - p.IpThrottle.Window);
            }
        }
        else if (!locked)
        {
            if (p.ImpossibleTravel is { } it && l.Location is { } here && a.LastPlace is { } last && l.At >= last.At)
            {
                var km = here.DistanceKm(last.Point);
                if (it.MinKm is > 0 && km < it.MinKm) km = 0; // jitter within a city is no travel
                var hours = (l.At - last.At).TotalHours;
                var kmh = hours > 0 ? km / hours : km > 50 ? double.PositiveInfinity : 0;
                if (kmh > it.MaxKmh)
                {
                    if (it.Then == Outcome.Freeze) freezeReason ??= ReasonCodes.LoginImpossibleTravel;
                    o = Max(o, it.Then);
                }
            }
            if (a.HasLoggedIn && !(l.TotpVerified && _trustClaims))
            {
                if (p.NewDevice != Outcome.Allow && !a.Devices.Contains(l.Device.Value)) o = Max(o, p.NewDevice);
                if (p.NewCountry != Outcome.Allow && !a.Countries.Contains(l.Country.Value)) o = Max(o, p.NewCountry);
            }
            if (o == Outcome.Allow)
            {
                a.Failures.Clear(); // an allowed sign-in resets the failure count, not the lockouts
                a.HasLoggedIn = true;
                Touch(a.Devices, l.Device.Value);
                Touch(a.Countries, l.Country.Value);
                if (l.Location is { } g && (a.LastPlace is null || l.At >= a.LastPlace.Value.At)) a.LastPlace = (l.At, g);
            }
        }
        if (a.LockedUntil is { } lu && lu <= l.At) a.LockedUntil = null;
        if (p.FailedAttempts is { } fa)
        {
            a.Failures.RemoveAll(x => x <= l.At - fa.Window);
            a.Lockouts.RemoveAll(x => x <= l.At - fa.LockoutWindow);
        }
        if (o == Outcome.Freeze) Freeze(a, freezeReason ?? ReasonCodes.LoginNewDevice, l.At);
        return o;
    }

    private static void Touch(List<string> list, string value)
    {
        list.Remove(value);
        list.Add(value);
        if (list.Count > RiskEngine.State.AccountState.MaxKnownPlaces) list.RemoveAt(0);
    }

    private static void Trim(List<Entry> list, DateTimeOffset cutoff)
    {
        var n = 0;
        while (n < list.Count && list[n].At <= cutoff) n++;
        if (n > 0) list.RemoveRange(0, n);
    }

    private static Outcome Max(Outcome a, Outcome b) => a > b ? a : b;

    private readonly record struct Entry(DateTimeOffset At, string Currency, decimal Amount);

    private sealed class Acct
    {
        public string? FrozenReason;
        public DateTimeOffset FrozenAt;
        public readonly List<Entry> Allowed = [];
        public readonly List<Entry> Attempts = [];
        public readonly Dictionary<string, (decimal Amount, DateTimeOffset From, DateTimeOffset Until)> Limits = new(StringComparer.Ordinal);
        public readonly List<string> Devices = [];
        public readonly List<string> Countries = [];
        public readonly List<string> PaymentDevices = [];
        public readonly List<string> PaymentCountries = [];
        public bool Seen;
        public bool HasLoggedIn;
        public (DateTimeOffset At, GeoPoint Point)? LastPlace;
        public readonly List<DateTimeOffset> Failures = [];
        public readonly List<DateTimeOffset> Lockouts = [];
        public DateTimeOffset? LockedUntil;
    }
}

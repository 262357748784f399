using RiskEngine.Events;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

// Facts are plain records: the engine computes them from the event and the account's stored state, so rules stay
// stateless comparisons and no history lives in NRules' working memory (its joins are not indexed).

/// <summary>A transaction attempt under evaluation.</summary>
public sealed record TransactionFact(TransactionAttempt Attempt);

/// <summary>Whether the account is frozen; inserted for attempts that move money.</summary>
public sealed record AccountStatusFact(bool Frozen, string? Reason);

/// <summary>The attempt's currency is not one the policy lists.</summary>
public sealed record UnsupportedCurrencyFact(string Currency);

/// <summary>An attempt's amount against its asset's caps, with allowed spending already in the windows.</summary>
/// <param name="Asset">The asset's policy.</param>
/// <param name="Amount">The attempt's amount.</param>
/// <param name="DailyUsed">Allowed amount in the trailing 24 hours.</param>
/// <param name="MonthlyUsed">Allowed amount in the trailing 30 days.</param>
/// <param name="PerTransactionCap">Per-transaction cap, raised by an arranged limit in force.</param>
/// <param name="DailyCap">Daily cap, raised by an arranged limit in force.</param>
/// <param name="Authenticated">A TOTP code was verified for this attempt.</param>
public sealed record CapUsageFact(AssetPolicy Asset, decimal Amount, decimal DailyUsed, decimal MonthlyUsed, decimal PerTransactionCap, decimal DailyCap, bool Authenticated);

/// <summary>Attempts in one velocity window, this one included.</summary>
public sealed record VelocityFact(VelocityLimit Limit, int Count, decimal Amount)
{
    /// <summary>More attempts than the limit allows.</summary>
    public bool CountExceeded => Limit.MaxCount is { } max && Count > max;

    /// <summary>More value than the limit allows.</summary>
    public bool AmountExceeded => Limit.MaxAmount is { } max && Amount > max;
}

/// <summary>A limit arrangement under evaluation.</summary>
public sealed record LimitFact(LimitArrangement Arrangement, AssetPolicy? Asset);

/// <summary>A sign-in attempt under evaluation.</summary>
public sealed record LoginFact(LoginAttempt Attempt);

/// <summary>What the account's history says about this sign-in.</summary>
/// <param name="HasPriorLogin">An earlier sign-in was allowed.</param>
/// <param name="DeviceKnown">The device was seen in an allowed sign-in.</param>
/// <param name="CountryKnown">The country was seen in an allowed sign-in.</param>
/// <param name="Locked">The account is inside a lockout.</param>
/// <param name="RecentFailures">Failed passwords inside the failure window, before this one.</param>
/// <param name="RecentLockouts">Lockouts inside the lockout window, before this attempt.</param>
/// <param name="TravelKmh">Speed from the last allowed sign-in with coordinates, when both have them.</param>
public sealed record LoginHistoryFact(bool HasPriorLogin, bool DeviceKnown, bool CountryKnown, bool Locked, int RecentFailures, int RecentLockouts, double? TravelKmh);

/// <summary>Failed sign-ins from the attempt's IP across accounts in the throttle window, this one included.</summary>
public sealed record IpFailuresFact(string Ip, int Failures);

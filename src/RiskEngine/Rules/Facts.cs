using RiskEngine.Decisions;
using RiskEngine.Events;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

// One fact per event, with every value the rules compare already computed from the event and the account's stored
// state: each rule is then a single pattern over one fact (no joins, no Not), which NRules evaluates in its alpha
// network alone, and facts of many accounts can go through one session together. Not thread-safe: a fact belongs
// to the decision being made.

/// <summary>The fact an event becomes; the rules that fire add their hits to it.</summary>
public abstract class EventFact
{
    private List<RuleHit>? _hits;

    /// <summary>Hits in firing order (empty when no rule fired).</summary>
    public IReadOnlyList<RuleHit> Hits => _hits is null ? [] : _hits;

    /// <summary>Adds a hit (called from rule actions).</summary>
    public void Add(RuleHit hit) => (_hits ??= new List<RuleHit>(2)).Add(hit);

    /// <summary>Forgets the hits, to fire the rules again after a failed batch.</summary>
    internal void ClearHits() => _hits?.Clear();
}

/// <summary>An event that moves or limits money: the account's status and the currency matter to it.</summary>
public abstract class MoneyFact : EventFact
{
    /// <summary>The account is frozen.</summary>
    public bool Frozen { get; init; }

    /// <summary>Why it is frozen, when it is.</summary>
    public string? FreezeReason { get; init; }

    /// <summary>The freeze's support case, when it is frozen: what the <c>account.frozen</c> deny tells the user to have ready.</summary>
    public SupportCase? FreezeCase { get; init; }

    /// <summary>The event's currency or asset code.</summary>
    public required string Currency { get; init; }

    /// <summary>The policy lists the currency.</summary>
    public bool CurrencySupported { get; init; }
}

/// <summary>A transaction attempt, with the account's usage against its asset's caps and velocity windows.</summary>
public sealed class TransactionFact : MoneyFact
{
    /// <summary>The attempt.</summary>
    public required TransactionAttempt Attempt { get; init; }

    /// <summary>The caps are checked: the account is not frozen and the currency is supported.</summary>
    public bool CapsApply { get; init; }

    /// <summary>The attempt's amount.</summary>
    public decimal Amount { get; init; }

    /// <summary>Per-transaction cap, raised by an arranged limit in force.</summary>
    public decimal PerTransactionCap { get; init; }

    /// <summary>Allowed amount in the trailing 24 hours.</summary>
    public decimal DailyUsed { get; init; }

    /// <summary>Daily cap, raised by an arranged limit in force.</summary>
    public decimal DailyCap { get; init; }

    /// <summary>Allowed amount in the trailing 30 days.</summary>
    public decimal MonthlyUsed { get; init; }

    /// <summary>Monthly cap.</summary>
    public decimal MonthlyCap { get; init; }

    /// <summary>Above this a TOTP step-up is needed (null: never).</summary>
    public decimal? ChallengeAbove { get; init; }

    /// <summary>A TOTP code was verified for this attempt.</summary>
    public bool Authenticated { get; init; }

    /// <summary>Near-threshold payments in the structuring window, this one included (0 when off or this one is not near).</summary>
    public int StructuringCount { get; init; }

    /// <summary>The account decided an event before this one (the first is never challenged for novelty).</summary>
    public bool HasHistory { get; init; }

    /// <summary>The device was seen in an allowed sign-in or allowed transaction (true when <c>transactions.newDevice</c> is off).</summary>
    public bool DeviceKnown { get; init; }

    /// <summary>The origin country was seen in an allowed sign-in or allowed transaction (true when <c>transactions.newCountry</c> is off).</summary>
    public bool CountryKnown { get; init; }

    /// <summary>The attempt's channel has caps for its currency (and the caps are checked).</summary>
    public bool ChannelCapsApply { get; init; }

    /// <summary>The channel's per-transaction cap (0: none).</summary>
    public decimal ChannelPerTransactionCap { get; init; }

    /// <summary>Allowed amount through the channel in the trailing 24 hours.</summary>
    public decimal ChannelDailyUsed { get; init; }

    /// <summary>The channel's daily cap (0: none).</summary>
    public decimal ChannelDailyCap { get; init; }

    /// <summary>Allowed amount through the channel in the trailing 30 days.</summary>
    public decimal ChannelMonthlyUsed { get; init; }

    /// <summary>The channel's monthly cap (0: none).</summary>
    public decimal ChannelMonthlyCap { get; init; }

    /// <summary>Attempts in each velocity window of the policy (this one included), by entry index; empty when frozen.</summary>
    public int[] VelocityCounts { get; init; } = [];

    /// <summary>Value of the entry's currency in each velocity window (this one included), by entry index.</summary>
    public decimal[] VelocityAmounts { get; init; } = [];
}

/// <summary>A limit arrangement.</summary>
public sealed class LimitFact : MoneyFact
{
    /// <summary>The arrangement.</summary>
    public required LimitArrangement Arrangement { get; init; }

    /// <summary>The asset's policy (null when the currency is not supported).</summary>
    public AssetPolicy? Asset { get; init; }

    /// <summary>A TOTP code verifies the arrangement (see <c>totp.stepUp</c>).</summary>
    public bool Authenticated { get; init; }

    /// <summary>It would last longer than the policy's <c>limits.maxDuration</c>.</summary>
    public bool TooLong { get; init; }
}

/// <summary>The cancellation of an arranged limit.</summary>
public sealed class LimitCancellationFact : EventFact
{
    /// <summary>The cancellation.</summary>
    public required LimitCancellation Cancellation { get; init; }
}

/// <summary>A sign-in attempt with what the account's history says about it.</summary>
public sealed class LoginFact : EventFact
{
    /// <summary>The attempt.</summary>
    public required LoginAttempt Attempt { get; init; }

    /// <summary>The password check passed.</summary>
    public bool PasswordOk { get; init; }

    /// <summary>A TOTP code was verified for this attempt.</summary>
    public bool TotpVerified { get; init; }

    /// <summary>An earlier sign-in was allowed.</summary>
    public bool HasPriorLogin { get; init; }

    /// <summary>The device was seen in an allowed sign-in.</summary>
    public bool DeviceKnown { get; init; }

    /// <summary>The country was seen in an allowed sign-in.</summary>
    public bool CountryKnown { get; init; }

    /// <summary>The account is inside a lockout.</summary>
    public bool Locked { get; init; }

    /// <summary>Failed passwords inside the failure window, before this one.</summary>
    public int RecentFailures { get; init; }

    /// <summary>Lockouts inside the lockout window, before this attempt.</summary>
    public int RecentLockouts { get; init; }

    /// <summary>Speed from the last allowed sign-in with coordinates, when both have them.</summary>
    public double? TravelKmh { get; init; }

    /// <summary>Failed sign-ins from the attempt's IP across accounts in the throttle window, this one included (-1: no IP or no throttle).</summary>
    public int IpFailures { get; init; } = -1;
}

/// <summary>A reversal, with what the account's allowed transactions say about the one it names.</summary>
public sealed class ReversalFact : EventFact
{
    /// <summary>The reversal.</summary>
    public required TransactionReversal Reversal { get; init; }

    /// <summary>The named transaction is an allowed transaction of this account inside the 30-day cap window.</summary>
    public bool Known { get; init; }

    /// <summary>It was reversed already.</summary>
    public bool AlreadyReversed { get; init; }
}

/// <summary>A report of activity the user did not do.</summary>
public sealed class ReportFact : EventFact
{
    /// <summary>The report.</summary>
    public required ActivityReport Report { get; init; }
}

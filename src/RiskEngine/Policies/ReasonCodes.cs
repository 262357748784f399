using System.Collections.Frozen;

namespace RiskEngine.Policies;

/// <summary>The reason codes RiskEngine emits. Stable: clients switch on them.</summary>
public static class ReasonCodes
{
#pragma warning disable CS1591 // the names are the documentation
    public const string AccountFrozen = "account.frozen";
    public const string EngineUnavailable = "engine.unavailable";
    public const string AccountNotFrozen = "account.not_frozen";
    public const string CapPerTransaction = "cap.per_transaction";
    public const string CapDaily = "cap.daily";
    public const string CapMonthly = "cap.monthly";
    public const string CapStepUp = "cap.step_up";
    public const string CapStructuring = "cap.structuring";
    public const string CurrencyUnsupported = "currency.unsupported";
    public const string LimitAboveMax = "limit.above_max";
    public const string LimitUnauthenticated = "limit.unauthenticated";
    public const string LimitTooLong = "limit.too_long";
    public const string LimitCancelled = "limit.cancelled";
    public const string RegionUnavailable = "region.unavailable";
    public const string VelocityCount = "velocity.count";
    public const string VelocityAmount = "velocity.amount";
    public const string LoginNewDevice = "login.new_device";
    public const string LoginNewCountry = "login.new_country";
    public const string LoginImpossibleTravel = "login.impossible_travel";
    public const string LoginFailed = "login.failed";
    public const string LoginFailedAttempts = "login.failed_attempts";
    public const string LoginLocked = "login.locked";
    public const string LoginIpThrottled = "login.ip_throttled";
    public const string TotpFailedAttempts = "totp.failed_attempts";
    public const string TotpReplayed = "totp.replayed";
    public const string AccountReported = "account.reported";
    public const string SupportHold = "support.hold";
    public const string PaymentNewDevice = "payment.new_device";
    public const string PaymentNewCountry = "payment.new_country";
    public const string CapChannelPerTransaction = "cap.channel.per_transaction";
    public const string CapChannelDaily = "cap.channel.daily";
    public const string CapChannelMonthly = "cap.channel.monthly";
    public const string ReversalApplied = "reversal.applied";
    public const string ReversalUnknown = "reversal.unknown";
    public const string ReversalDuplicate = "reversal.duplicate";
#pragma warning restore CS1591

    /// <summary>Reason codes that can freeze an account (and so can appear in <c>freeze.coolDown</c> and <c>freeze.selfService</c>).</summary>
    public static readonly FrozenSet<string> Freezing = new[]
    {
        VelocityCount, VelocityAmount, LoginImpossibleTravel, LoginFailedAttempts, LoginNewDevice, LoginNewCountry, TotpFailedAttempts,
        AccountReported, SupportHold,
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>Every reason code the engine emits (each has the engine's own words in en and zh-CN).</summary>
    public static readonly IReadOnlyList<string> All = typeof(ReasonCodes)
        .GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
        .Where(f => f.IsLiteral && f.FieldType == typeof(string))
        .Select(f => (string)f.GetRawConstantValue()!)
        .ToArray();

    /// <summary>Freeze reasons only support may lift: never listed in <c>freeze.selfService</c>.</summary>
    public static readonly FrozenSet<string> SupportOnly = new[] { AccountReported, SupportHold }.ToFrozenSet(StringComparer.Ordinal);
}

using System.Collections.Frozen;
using RiskEngine.Decisions;
using RiskEngine.Domain;

namespace RiskEngine.Policies;

/// <summary>A validated policy: thresholds, lists, windows, support contacts and message templates. Immutable.</summary>
public sealed class RiskPolicy
{
    internal RiskPolicy(
        string name,
        string version,
        string source,
        FrozenDictionary<CurrencyCode, AssetPolicy> assets,
        RegionPolicy regions,
        IReadOnlyList<VelocityLimit> velocity,
        LoginPolicy logins,
        TotpPolicy totp,
        FreezePolicy freeze,
        TimeSpan idempotencyWindow,
        SupportContacts support,
        MessageCatalog messages)
    {
        Name = name;
        Version = version;
        Source = source;
        Assets = assets;
        Regions = regions;
        Velocity = velocity;
        Logins = logins;
        Totp = totp;
        Freeze = freeze;
        IdempotencyWindow = idempotencyWindow;
        Support = support;
        Messages = messages;
        LongestVelocityWindow = velocity.Count == 0 ? TimeSpan.Zero : velocity.Max(v => v.Window);
    }

    /// <summary>The policy's <c>name</c>.</summary>
    public string Name { get; }

    /// <summary>Content hash of the policy file (<c>sha256:</c> and 16 hex digits); every decision records it.</summary>
    public string Version { get; }

    /// <summary>Where the policy came from (a file path or <c>embedded:default.json</c>).</summary>
    public string Source { get; }

    /// <summary>Supported currencies and assets with their caps. A currency not listed is unsupported.</summary>
    public FrozenDictionary<CurrencyCode, AssetPolicy> Assets { get; }

    /// <summary>Regional availability.</summary>
    public RegionPolicy Regions { get; }

    /// <summary>Abnormal-frequency limits.</summary>
    public IReadOnlyList<VelocityLimit> Velocity { get; }

    /// <summary>The longest velocity window (how much attempt history the state store must keep).</summary>
    public TimeSpan LongestVelocityWindow { get; }

    /// <summary>Unusual-login rules.</summary>
    public LoginPolicy Logins { get; }

    /// <summary>TOTP parameters.</summary>
    public TotpPolicy Totp { get; }

    /// <summary>Cool-downs and self-service unfreeze.</summary>
    public FreezePolicy Freeze { get; }

    /// <summary>How long an event id is remembered for de-duplication.</summary>
    public TimeSpan IdempotencyWindow { get; }

    /// <summary>Where frozen users are sent.</summary>
    public SupportContacts Support { get; }

    /// <summary>Message templates per language.</summary>
    public MessageCatalog Messages { get; }

    /// <summary>
    /// Transactions from a device or origin country never seen in an allowed sign-in or allowed transaction of the
    /// account (<c>transactions.newDevice</c> / <c>newCountry</c>; <see cref="Outcome.Allow"/> = off, the default).
    /// </summary>
    public (Outcome NewDevice, Outcome NewCountry) Transactions { get; internal init; } = (Outcome.Allow, Outcome.Allow);

    /// <summary>Repeated payments just below the step-up threshold (<c>structuring</c>); null when off.</summary>
    public StructuringPolicy? Structuring { get; internal init; }

    /// <summary>The longest an arranged limit may last (<c>limits.maxDuration</c>, default 30 days).</summary>
    public TimeSpan MaxLimitDuration { get; internal init; } = TimeSpan.FromDays(30);

    /// <summary>Extra caps per payment channel and currency (<c>channels</c>); empty when the policy has none.</summary>
    public FrozenDictionary<string, FrozenDictionary<CurrencyCode, ChannelCaps>> Channels { get; internal init; } =
        FrozenDictionary<string, FrozenDictionary<CurrencyCode, ChannelCaps>>.Empty;

    /// <summary>What a new password must satisfy (<see cref="Passwords.PasswordPolicy.Default"/> when the policy has no <c>passwords</c> section).</summary>
    public Passwords.PasswordPolicy Passwords { get; internal init; } = RiskEngine.Passwords.PasswordPolicy.Default;
}

/// <summary>
/// More than <paramref name="MaxCount"/> payments in <paramref name="Window"/> within
/// [<paramref name="NearBelow"/> × challengeAbove, challengeAbove] of their asset (the allowed ones before plus this
/// one) → <paramref name="Then"/>, code <c>cap.structuring</c>.
/// </summary>
public sealed record StructuringPolicy(TimeSpan Window, decimal NearBelow, int MaxCount, Outcome Then);

/// <summary>A payment channel's caps for one currency, in addition to the asset's; null: no cap of that kind.</summary>
public sealed record ChannelCaps(decimal? PerTransaction, decimal? Daily, decimal? Monthly);

/// <summary>Caps for one currency or asset.</summary>
public sealed record AssetPolicy(
    CurrencyCode Currency,
    int Decimals,
    decimal PerTransaction,
    decimal Daily,
    decimal Monthly,
    decimal? ChallengeAbove,
    decimal MaxArrangedLimit);

/// <summary>Whether <see cref="RegionPolicy.Countries"/> lists where the service is not offered, or the only places it is.</summary>
public enum RegionMode
{
    /// <summary>Listed countries are unavailable.</summary>
    Deny,

    /// <summary>Only listed countries are available.</summary>
    Allow,
}

/// <summary>Regional availability: which countries, and which attempt fields are checked.</summary>
public sealed record RegionPolicy(RegionMode Mode, FrozenSet<CountryCode> Countries, bool CheckOrigin, bool CheckResidence, bool CheckCounterparty)
{
    /// <summary>Shadow mode: evaluated and reported under <c>shadow</c>, never changes an outcome.</summary>
    public bool Shadow { get; init; }

    /// <summary>True when the service is not offered in <paramref name="country"/>.</summary>
    public bool IsUnavailable(CountryCode country) =>
        Mode == RegionMode.Deny ? Countries.Contains(country) : !Countries.Contains(country);
}

/// <summary>One abnormal-frequency limit: more than <see cref="MaxCount"/> attempts, or more than <see cref="MaxAmount"/>
/// of <see cref="Currency"/>, in the trailing <see cref="Window"/>.</summary>
public sealed record VelocityLimit(string Id, TimeSpan Window, int? MaxCount, decimal? MaxAmount, CurrencyCode? Currency, Outcome Then)
{
    /// <summary>Shadow mode: evaluated and reported under <c>shadow</c>, never changes an outcome.</summary>
    public bool Shadow { get; init; }

    /// <summary>With <see cref="Currency"/>: count only attempts in that currency below this amount (card testing: many tiny payments).</summary>
    public decimal? Below { get; init; }
}

/// <summary>Unusual-login rules.</summary>
public sealed record LoginPolicy(
    Outcome NewDevice,
    Outcome NewCountry,
    ImpossibleTravelPolicy? ImpossibleTravel,
    FailedAttemptsPolicy? FailedAttempts,
    IpThrottlePolicy? IpThrottle);

/// <summary>Speed above <see cref="MaxKmh"/> between two sign-ins decides <see cref="Then"/>.</summary>
public sealed record ImpossibleTravelPolicy(double MaxKmh, Outcome Then)
{
    /// <summary>Moves shorter than this never count as travel (GPS and IP-geolocation jitter within a city; default 0).</summary>
    public double MinKm { get; init; }
}

/// <summary>Failed-password lockout with escalation to freeze.</summary>
public sealed record FailedAttemptsPolicy(int Max, TimeSpan Window, TimeSpan Lockout, int FreezeAfterLockouts, TimeSpan LockoutWindow);

/// <summary>Failures from one IP across accounts.</summary>
public sealed record IpThrottlePolicy(int MaxFailures, TimeSpan Window);

/// <summary>TOTP parameters (RFC 6238).</summary>
public sealed record TotpPolicy(string Issuer, int Digits, int Period, string Algorithm, int Drift, int MaxFailures, TimeSpan FailureWindow)
{
    /// <summary>
    /// What <c>authenticated: "totp"</c> on an event proves (<c>totp.stepUp</c>): with
    /// <see cref="StepUpMode.Verified"/>, only a code RiskEngine itself accepted for the account within
    /// <see cref="StepUpValidity"/> before the event, each accepted code once.
    /// </summary>
    public StepUpMode StepUp { get; init; } = StepUpMode.TrustCaller;

    /// <summary>How long an accepted code stands for a later attempt (<c>totp.stepUpValidity</c>, default 5 minutes).</summary>
    public TimeSpan StepUpValidity { get; init; } = TimeSpan.FromMinutes(5);
}

/// <summary>What an event's <c>authenticated: "totp"</c> is taken to mean.</summary>
public enum StepUpMode
{
    /// <summary>The caller checked the code (through RiskEngine or its own): the flag is believed (the first wave's meaning).</summary>
    TrustCaller,

    /// <summary>The flag counts only after RiskEngine accepted a code for the account shortly before, once per code.</summary>
    Verified,
}

/// <summary>How freezes are lifted besides support.</summary>
/// <param name="CoolDown">Reason code → time after which the freeze lifts by itself.</param>
/// <param name="SelfService">Reason codes a valid TOTP code can lift.</param>
public sealed record FreezePolicy(FrozenDictionary<string, TimeSpan> CoolDown, FrozenSet<string> SelfService);

/// <summary>Support contacts shown to a frozen user, and what they should have ready.</summary>
public sealed record SupportContacts(string Phone, string Chat, string Email, IReadOnlyList<string> Social, IReadOnlyList<string> Prepare);

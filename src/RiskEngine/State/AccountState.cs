namespace RiskEngine.State;

/// <summary>
/// Everything RiskEngine remembers about one account. A plain serialisable document: stores persist it whole and
/// compare versions on commit, so the decision logic lives in one place and every store behaves the same.
/// The engine prunes it on every commit, so its size stays bounded by the policy's windows.
/// </summary>
public sealed class AccountState
{
    /// <summary>Most devices and countries remembered per account; the least recently used are forgotten first.</summary>
    public const int MaxKnownPlaces = 32;

    /// <summary>Set while the account is frozen.</summary>
    public FreezeState? Freeze { get; set; }

    /// <summary>Allowed transactions inside the longest cap window (30 days), oldest first.</summary>
    public List<AmountEntry> Allowed { get; set; } = [];

    /// <summary>Transaction attempts inside the longest velocity window, oldest first.</summary>
    public List<AmountEntry> Attempts { get; set; } = [];

    /// <summary>Arranged limits by currency code.</summary>
    public Dictionary<string, ArrangedLimit> Limits { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Devices seen in allowed sign-ins, most recent last.</summary>
    public List<string> KnownDevices { get; set; } = [];

    /// <summary>Countries seen in allowed sign-ins, most recent last.</summary>
    public List<string> KnownCountries { get; set; } = [];

    /// <summary>Devices of allowed transactions, most recent last (the transaction rules' "known device" adds these to sign-ins').</summary>
    public List<string> PaymentDevices { get; set; } = [];

    /// <summary>Origin countries of allowed transactions, most recent last.</summary>
    public List<string> PaymentCountries { get; set; } = [];

    /// <summary>True once a sign-in has been allowed.</summary>
    public bool HasLoggedIn { get; set; }

    /// <summary>The last allowed sign-in that carried coordinates.</summary>
    public LoginPlace? LastLogin { get; set; }

    /// <summary>Failed password attempts since the last lockout or allowed sign-in, inside the failure window.</summary>
    public List<DateTimeOffset> LoginFailures { get; set; } = [];

    /// <summary>Sign-ins are refused until this instant.</summary>
    public DateTimeOffset? LockedUntil { get; set; }

    /// <summary>When lockouts started, inside the lockout window.</summary>
    public List<DateTimeOffset> Lockouts { get; set; } = [];

    /// <summary>TOTP enrolment, when the account has one.</summary>
    public TotpState? Totp { get; set; }

    /// <summary>What support did to the account (a hold, an unfreeze, a factor reset), newest last, at most 20: who, when, why, through which API key.</summary>
    public List<SupportAction> SupportLog { get; set; } = [];

    /// <summary>
    /// When RiskEngine accepted TOTP codes for the account that no attempt has used yet (oldest first): with
    /// <c>totp.stepUp: "verified"</c>, each lets one later <c>authenticated: "totp"</c> attempt count as verified.
    /// </summary>
    public List<DateTimeOffset> StepUps { get; set; } = [];

    /// <summary>The time of the account's latest decided event; much older events are rejected as out of order.</summary>
    public DateTimeOffset? LatestEventAt { get; set; }

    /// <summary>A deep copy, so a decision can change it and throw it away on conflict.</summary>
    public AccountState Clone() => new()
    {
        Freeze = Freeze,
        Allowed = [.. Allowed],
        Attempts = [.. Attempts],
        Limits = new Dictionary<string, ArrangedLimit>(Limits, StringComparer.Ordinal),
        KnownDevices = [.. KnownDevices],
        KnownCountries = [.. KnownCountries],
        PaymentDevices = [.. PaymentDevices],
        PaymentCountries = [.. PaymentCountries],
        HasLoggedIn = HasLoggedIn,
        LastLogin = LastLogin,
        LoginFailures = [.. LoginFailures],
        LockedUntil = LockedUntil,
        Lockouts = [.. Lockouts],
        Totp = Totp is null ? null : Totp with { Failures = [.. Totp.Failures], RecoveryHashes = [.. Totp.RecoveryHashes] },
        StepUps = [.. StepUps],
        SupportLog = [.. SupportLog],
        LatestEventAt = LatestEventAt,
    };

    /// <summary>Back to an empty state, keeping the lists' storage (for a store that reuses state objects).</summary>
    internal void Reset()
    {
        Freeze = null;
        Allowed.Clear();
        Attempts.Clear();
        if (Limits.Count > 0) Limits.Clear();
        KnownDevices.Clear();
        KnownCountries.Clear();
        PaymentDevices.Clear();
        PaymentCountries.Clear();
        HasLoggedIn = false;
        LastLogin = null;
        LoginFailures.Clear();
        LockedUntil = null;
        Lockouts.Clear();
        Totp = null;
        StepUps.Clear();
        SupportLog.Clear();
        LatestEventAt = null;
    }

    /// <summary>Most entries kept in <see cref="SupportLog"/>; the oldest are forgotten first.</summary>
    public const int MaxSupportLog = 20;

    /// <summary>Appends to <see cref="SupportLog"/>, forgetting the oldest entry past <see cref="MaxSupportLog"/>.</summary>
    internal void LogSupport(SupportAction action)
    {
        if (SupportLog.Count >= MaxSupportLog) SupportLog.RemoveAt(0);
        SupportLog.Add(action);
    }

    /// <summary>Remembers <paramref name="value"/> as most recently used, forgetting the oldest past the bound.</summary>
    internal static void Touch(List<string> list, string value)
    {
        list.Remove(value);
        list.Add(value);
        if (list.Count > MaxKnownPlaces) list.RemoveAt(0);
    }

    /// <summary>Drops entries at or before <paramref name="cutoff"/> from a time-ordered list.</summary>
    internal static void PruneBefore<T>(List<T> list, DateTimeOffset cutoff, Func<T, DateTimeOffset> at)
    {
        var remove = 0;
        while (remove < list.Count && at(list[remove]) <= cutoff) remove++;
        if (remove > 0) list.RemoveRange(0, remove);
    }

    /// <summary>Inserts keeping time order (events can arrive slightly out of order).</summary>
    internal static void InsertOrdered<T>(List<T> list, T item, Func<T, DateTimeOffset> at)
    {
        var i = list.Count;
        var t = at(item);
        while (i > 0 && at(list[i - 1]) > t) i--;
        list.Insert(i, item);
    }
}

/// <summary>Something support did to an account: a hold, an unfreeze, a factor reset.</summary>
/// <param name="At">When (the engine's clock; for an unfreeze, the event's time).</param>
/// <param name="By">The agent, as the caller claimed it.</param>
/// <param name="Action">What: <c>support.hold</c>, <c>unfreeze</c>, <c>totp.reset</c>.</param>
/// <param name="Reason">Why, as the agent wrote it.</param>
public sealed record SupportAction(DateTimeOffset At, string By, string Action, string Reason)
{
    /// <summary>
    /// The name of the API key that authenticated the request, for an action taken through the server: what did it,
    /// beside <see cref="By"/>, who the key holder said did it. Null for actions taken otherwise (the CLI on the data
    /// folder, an <c>unfreeze</c> event from a stream) and in entries written before keys were recorded. Never the
    /// key itself.
    /// </summary>
    public string? Key { get; init; }
}

/// <summary>Why and since when an account is frozen.</summary>
/// <param name="Reason">The reason code, e.g. <c>velocity.count</c>.</param>
/// <param name="At">When it was frozen: the causing event's time (what cool-downs count from).</param>
/// <param name="Event">The event whose decision froze it.</param>
public sealed record FreezeState(string Reason, DateTimeOffset At, string Event)
{
    /// <summary>
    /// When the engine froze the account by its own clock (null in states written before it was recorded). Unlike
    /// <see cref="At"/>, a caller cannot move it: an event may claim a time up to the engine's future skew ahead.
    /// </summary>
    public DateTimeOffset? Clock { get; init; }

    /// <summary>The causing event's type (for the support case; null in states written before cases existed).</summary>
    public string? EventType { get; init; }

    /// <summary>The causing transaction's amount.</summary>
    public decimal? Amount { get; init; }

    /// <summary>The causing transaction's currency.</summary>
    public string? Currency { get; init; }

    /// <summary>The country the causing event came from.</summary>
    public string? Country { get; init; }
}

/// <summary>An amount at a time, for cap and velocity windows.</summary>
/// <param name="EventKey">
/// For allowed transactions, <see cref="KeyOf"/> of the transaction's event id: what a reversal names. A hash, not the
/// id, so reading an account allocates no id strings; 64 bits never collide within one account's 30-day window.
/// </param>
/// <param name="Reversed">A reversal took it out of the caps; it stays so a second reversal is recognised.</param>
/// <param name="Channel">The payment channel it went through, when named (channel caps count only their own).</param>
public readonly record struct AmountEntry(DateTimeOffset At, string Currency, decimal Amount, ulong EventKey = 0, bool Reversed = false, string? Channel = null)
{
    /// <summary>The key of an event id (XXH3 of its UTF-16 code units; never 0, which means none).</summary>
    public static ulong KeyOf(string eventId) =>
        System.IO.Hashing.XxHash3.HashToUInt64(System.Runtime.InteropServices.MemoryMarshal.AsBytes(eventId.AsSpan())) | 1;
}

/// <summary>A limit the user arranged in advance.</summary>
/// <param name="UsedBefore">What the account had spent in the currency over the 30 days before it was arranged: while the
/// limit is in force the monthly cap is at least <c>Amount + UsedBefore</c>, so the arranged transfer fits.</param>
public sealed record ArrangedLimit(decimal Amount, DateTimeOffset From, DateTimeOffset Until, decimal UsedBefore = 0);

/// <summary>Where and when an allowed sign-in with coordinates happened.</summary>
public sealed record LoginPlace(DateTimeOffset At, double Latitude, double Longitude, string Country);

/// <summary>An account's TOTP factor. The secret is only ever held encrypted (see <c>ISecretProtector</c>).</summary>
/// <param name="ProtectedSecret">The encrypted secret envelope.</param>
/// <param name="Confirmed">False until the first valid code confirms enrolment.</param>
/// <param name="LastAcceptedStep">The last time step accepted; this and older steps are refused (replay).</param>
/// <param name="Failures">Wrong codes inside the failure window.</param>
public sealed record TotpState(string ProtectedSecret, bool Confirmed, long LastAcceptedStep, List<DateTimeOffset> Failures)
{
    /// <summary>Algorithm, digits and period fixed at enrolment, so a policy change does not break existing authenticators.</summary>
    public string Algorithm { get; init; } = "SHA1";

    /// <summary>Digits per code.</summary>
    public int Digits { get; init; } = 6;

    /// <summary>Seconds per step.</summary>
    public int Period { get; init; } = 30;

    /// <summary>
    /// The unused recovery codes, each as <c>hmac:</c> and the hex HMAC-SHA256, keyed from the (encrypted) secret, of
    /// SHA-256 over <c>account:code</c>; an entry without the prefix is an earlier version's bare SHA-256, keyed at the
    /// account's next code check.
    /// </summary>
    public List<string> RecoveryHashes { get; init; } = [];

    /// <summary>
    /// When the first valid code confirmed the factor, by the engine's clock (null: before this was recorded, treated
    /// as long ago). A factor confirmed after a freeze cannot lift that freeze by self-service: whoever caused it may
    /// have enrolled it.
    /// </summary>
    public DateTimeOffset? ConfirmedAt { get; init; }
}

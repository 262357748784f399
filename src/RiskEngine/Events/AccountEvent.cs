using RiskEngine.Domain;
using RiskEngine.Policies;

namespace RiskEngine.Events;

/// <summary>
/// Something that happened to an account that its user must hear of: it was frozen or unfrozen (as a result of a
/// decision, a TOTP check or support), or its second factor changed (enrolled, or reset by support). Carries
/// everything a notification needs to tell the user how to reach support. Immutable, so thread-safe.
/// </summary>
/// <param name="Event">The event id whose decision caused this.</param>
/// <param name="Account">The account.</param>
/// <param name="At">When.</param>
/// <param name="SelfService">Whether the user can lift the freeze with a TOTP code.</param>
/// <param name="Support">Support contacts and what to have ready.</param>
/// <param name="Message">One rendered text per language in the policy, keyed by language tag (e.g. <c>en</c>, <c>zh-CN</c>).</param>
public abstract record AccountEvent(
    EventId Event,
    AccountId Account,
    DateTimeOffset At,
    bool SelfService,
    SupportContacts Support,
    IReadOnlyDictionary<string, string> Message)
{
    /// <summary>The record type: <c>account.frozen</c>, <c>account.unfrozen</c>, <c>account.factor_enrolled</c> or <c>account.factor_reset</c>.</summary>
    public abstract string Type { get; }

    /// <summary>What the user should give support, filled in from the event that caused the freeze.</summary>
    public SupportCase? Case { get; init; }
}

/// <summary>
/// The support case of a freeze: what the user will be asked about, filled in (the contract's <c>case</c>).
/// </summary>
/// <param name="Account">The account.</param>
/// <param name="Event">The event that caused the freeze.</param>
/// <param name="Type">That event's type (<c>transaction</c>, <c>login</c>, <c>report</c>, <c>totp</c>, …).</param>
/// <param name="At">When it happened.</param>
/// <param name="Reason">The freeze reason code.</param>
public sealed record SupportCase(AccountId Account, EventId Event, string Type, DateTimeOffset At, string Reason)
{
    /// <summary>The transaction's amount, when a transaction caused it.</summary>
    public decimal? Amount { get; init; }

    /// <summary>The transaction's currency, when a transaction caused it.</summary>
    public string? Currency { get; init; }

    /// <summary>The country the causing event came from, when it had one.</summary>
    public string? Country { get; init; }
}

/// <summary>The account was frozen.</summary>
/// <param name="Reason">The reason code of the freeze, e.g. <c>velocity.count</c>.</param>
public sealed record AccountFrozen(
    EventId Event,
    AccountId Account,
    DateTimeOffset At,
    string Reason,
    bool SelfService,
    SupportContacts Support,
    IReadOnlyDictionary<string, string> Message) : AccountEvent(Event, Account, At, SelfService, Support, Message)
{
    /// <inheritdoc />
    public override string Type => "account.frozen";
}

/// <summary>The account was unfrozen.</summary>
/// <param name="By">Who lifted it: a support agent id, <c>totp</c> (self-service) or <c>cooldown</c>.</param>
/// <param name="Reason">The reason code of the freeze that was lifted.</param>
public sealed record AccountUnfrozen(
    EventId Event,
    AccountId Account,
    DateTimeOffset At,
    string By,
    string Reason,
    SupportContacts Support,
    IReadOnlyDictionary<string, string> Message) : AccountEvent(Event, Account, At, false, Support, Message)
{
    /// <inheritdoc />
    public override string Type => "account.unfrozen";

    /// <summary>The support agent's reason, when support lifted the freeze (kept in the account's history).</summary>
    public string? Note { get; init; }
}

/// <summary>
/// A second factor became effective: its enrolment was confirmed with a first valid code (an enrolment that is never
/// confirmed changes nothing and is not announced). The message tells the user to contact support if it was not them:
/// whoever knows the password can enrol a factor on an account that has none.
/// </summary>
/// <param name="Factor">The kind of factor: <c>totp</c>.</param>
public sealed record AccountFactorEnrolled(
    EventId Event,
    AccountId Account,
    DateTimeOffset At,
    string Factor,
    SupportContacts Support,
    IReadOnlyDictionary<string, string> Message) : AccountEvent(Event, Account, At, false, Support, Message)
{
    /// <summary>The record type.</summary>
    public const string TypeName = "account.factor_enrolled";

    /// <inheritdoc />
    public override string Type => TypeName;
}

/// <summary>Support removed the account's second factor (a lost authenticator), so the user can enrol another.</summary>
/// <param name="Factor">The kind of factor: <c>totp</c>.</param>
/// <param name="By">The support agent, as the caller claimed it.</param>
public sealed record AccountFactorReset(
    EventId Event,
    AccountId Account,
    DateTimeOffset At,
    string Factor,
    string By,
    SupportContacts Support,
    IReadOnlyDictionary<string, string> Message) : AccountEvent(Event, Account, At, false, Support, Message)
{
    /// <summary>The record type.</summary>
    public const string TypeName = "account.factor_reset";

    /// <inheritdoc />
    public override string Type => TypeName;

    /// <summary>The support agent's reason (also kept in the account's support log).</summary>
    public string? Note { get; init; }
}

/// <summary>
/// Receives account events once the batch that caused them is committed (durable in a durable store). Register any
/// number; the engine calls each in turn after the commit, holding no lock, so a sink may call back into the engine;
/// it should still hand the event on quickly (a queue, an outbox), since the caller waits for it. Sinks are called
/// concurrently for different batches: they must be thread-safe. A sink that throws is logged; the decision stands.
/// </summary>
public interface IRiskEventSink
{
    /// <summary>Called after the decision that caused <paramref name="accountEvent"/> is committed.</summary>
    ValueTask PublishAsync(AccountEvent accountEvent, CancellationToken cancellationToken);
}

using System.ComponentModel;
using System.Text.Json.Serialization;

namespace RiskEngine.Server.Operations;

// The shapes the OpenAPI document describes. The handlers write these bodies themselves (the decision records come
// from the pump exactly as `riskengine replay` writes them); these records name their members for the document.
#pragma warning disable CA1812 // documentation types: never instantiated

/// <summary>One contract event (docs/ and the README's wire contract): the fields used depend on <c>type</c>.</summary>
[Description("A contract event; which fields apply depends on type. Unknown fields are ignored.")]
internal sealed record ContractEvent(
    [property: Description("transaction, login, limit, unfreeze, reversal or report")] string Type,
    [property: Description("The event id: the idempotency key (a retry returns the stored decision with duplicate: true)")] string Id,
    [property: Description("RFC 3339 timestamp of the event")] DateTimeOffset At,
    [property: Description("The account the event concerns")] string Account,
    decimal? Amount = null,
    string? Currency = null,
    [property: Description("ISO 3166-1 alpha-2")] string? Country = null,
    string? Device = null,
    string? Residence = null,
    string? CounterpartyCountry = null,
    string? Ip = null,
    [property: Description("\"totp\" when the attempt was verified with a second factor")] string? Authenticated = null,
    bool? Success = null,
    double? Lat = null,
    double? Lon = null,
    DateTimeOffset? Until = null,
    string? By = null,
    string? Reason = null,
    string? Transaction = null,
    string? Event = null,
    string? Note = null,
    string? Channel = null,
    bool? Cancel = null);

/// <summary>A decision record, as <c>riskengine replay</c> writes it.</summary>
internal sealed record DecisionRecord(
    [property: Description("\"decision\"")] string Type,
    string Event,
    string Account,
    [property: Description("allow, challenge, deny or freeze")] string Outcome,
    [property: Description("Every rule that fired, most severe first")] IReadOnlyList<RuleHitRecord> Reasons,
    [property: Description("Content hash of the policy that decided")] string Policy,
    [property: Description("Present (true) when this is the stored answer to a retried event id")] bool? Duplicate,
    [property: Description("Hits of shadow-mode policy entries: what they would have decided")] IReadOnlyList<RuleHitRecord>? Shadow);

/// <summary>One rule that fired.</summary>
internal sealed record RuleHitRecord(string Rule, [property: Description("Stable reason code, e.g. cap.per_transaction")] string Code, string Message, string? Outcome);

/// <summary>An account event (<c>account.frozen</c> / <c>account.unfrozen</c> / <c>account.factor_enrolled</c> / <c>account.factor_reset</c>), as the output and webhooks carry it.</summary>
internal sealed record AccountEventRecord(
    [property: Description("account.frozen, account.unfrozen, account.factor_enrolled or account.factor_reset")] string Type,
    string Event,
    string Account,
    string? Reason,
    string? By,
    [property: Description("The second factor enrolled or reset: totp")] string? Factor,
    bool? SelfService,
    [property: Description("Localized messages by language (en, zh-CN)")] IReadOnlyDictionary<string, string>? Message);

/// <summary>The answer to one event: the decision and the account events it caused.</summary>
internal sealed record DecisionResponse(DecisionRecord Decision, IReadOnlyList<AccountEventRecord> Events);

/// <summary>RFC 9457 problem details, with the offending field of a rejected event or request.</summary>
internal sealed record FieldProblem(
    string Type,
    string Title,
    int Status,
    string? Detail,
    [property: Description("The offending top-level field (null when the body is not JSON)")] string? Field,
    [property: Description("The rejected event's id, when it could be read")] string? Event);

/// <summary>The freeze case: what happened.</summary>
internal sealed record FreezeCase(string Event, string Type, decimal? Amount, string? Currency, string? Country, string At, string Reason);

/// <summary>An arranged limit in force.</summary>
internal sealed record LimitRecord(string Currency, decimal Amount, string From, string Until);

/// <summary>A support action on the account's log.</summary>
internal sealed record SupportLogEntry(
    string At,
    [property: Description("The agent, as the caller sent it in `by` (the key holder's claim)")] string By,
    [property: Description("support.hold, unfreeze or totp.reset")] string Action,
    string? Reason,
    [property: Description("The name of the API key that authenticated the request (never the key); null for an action taken otherwise (the CLI, an unfreeze event from a stream) or recorded before keys were")] string? Key);

/// <summary>An account's status for support.</summary>
internal sealed record AccountStatusResponse(
    string Account,
    bool Frozen,
    string? Reason,
    string? FrozenAt,
    bool SelfService,
    string? UnfreezesAt,
    [property: JsonPropertyName("case")] FreezeCase? Case,
    string? LockedUntil,
    bool TotpEnrolled,
    IReadOnlyList<LimitRecord> Limits,
    IReadOnlyList<SupportLogEntry> SupportLog);

/// <summary>One decision of an account's history, as <c>riskengine account history</c> prints it: the decision record with the account events it caused.</summary>
internal sealed record HistoryLine(
    string Type,
    string Event,
    string Account,
    string Outcome,
    IReadOnlyList<RuleHitRecord> Reasons,
    string Policy,
    bool? Duplicate,
    IReadOnlyList<AccountEventRecord>? Events);

/// <summary>Who acts and why (recorded in the account's support log).</summary>
internal sealed record SupportActionRequest([property: Description("The agent")] string By, [property: Description("Why, for the record")] string Reason);

/// <summary>The answer to a support hold.</summary>
internal sealed record FreezeResponse(bool Frozen, IReadOnlyList<AccountEventRecord> Events);

/// <summary>Optional enrolment settings.</summary>
internal sealed record TotpEnrollRequest([property: Description("Issuer shown in the authenticator app")] string? Issuer);

/// <summary>A new TOTP factor: shown once.</summary>
internal sealed record TotpEnrollmentResponse(string Account, [property: Description("otpauth:// URI")] string Uri, string Secret,
    [property: Description("The URI as a QR code, SVG")] string QrSvg, IReadOnlyList<string> RecoveryCodes);

/// <summary>A TOTP or recovery code.</summary>
internal sealed record TotpCodeRequest(string Code);

/// <summary>The result of a TOTP check and the account events it caused.</summary>
internal sealed record TotpCheckResponse(bool Accepted, string? Reason, IReadOnlyList<AccountEventRecord> Events);

/// <summary>A support reset of a lost factor.</summary>
internal sealed record TotpResetResponse(string Account, bool Reset, [property: Description("The account.factor_reset event, also journaled to the output and webhooks")] IReadOnlyList<AccountEventRecord> Events);

/// <summary>A candidate password and what is known of its owner (the candidate is never logged, stored or echoed).</summary>
internal sealed record PasswordCheckRequest(string Password, string? Email, string? Name, [property: Description("YYYY-MM-DD")] string? BirthDate);

/// <summary>One finding of the password policy.</summary>
internal sealed record PasswordFinding(string Code, string Advice);

/// <summary>The password policy's verdict.</summary>
internal sealed record PasswordVerdictResponse(bool Allowed, int Score, IReadOnlyList<PasswordFinding> Reasons, double? RotateAfterDays);

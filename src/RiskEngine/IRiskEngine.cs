using RiskEngine.Decisions;
using RiskEngine.Domain;
using RiskEngine.Events;
using RiskEngine.Policies;

namespace RiskEngine;

/// <summary>
/// The decision API. Thread-safe; one instance per process. Every method is idempotent per event id: a repeated id
/// with the same payload returns the stored decision with <see cref="Decision.Duplicate"/> set and applies nothing
/// again; the same id with another payload is rejected on field <c>id</c>.
/// </summary>
public interface IRiskEngine
{
    /// <summary>The policy in force.</summary>
    RiskPolicy Policy { get; }

    /// <summary>Decides any input event.</summary>
    ValueTask<EvaluationResult> EvaluateAsync(RiskEvent riskEvent, CancellationToken cancellationToken = default);

    /// <summary>
    /// Decides a batch of events and answers each, in input order. Events of one account are decided in input order;
    /// the engine may decide events of distinct accounts together (the default engine fires them through NRules as
    /// one batch). Each result is what <see cref="EvaluateAsync"/> would have answered. The batch commits as one
    /// unit of work (see <see cref="BeginBatchAsync"/>).
    /// </summary>
    async ValueTask<IReadOnlyList<EvaluationResult>> EvaluateBatchAsync(IReadOnlyList<RiskEvent> events, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        var results = new EvaluationResult[events.Count];
        for (var i = 0; i < events.Count; i++) results[i] = await EvaluateAsync(events[i], cancellationToken);
        return results;
    }

    /// <summary>
    /// Begins a unit of work the caller owns and commits (<see cref="IDecisionBatch"/>): how a host commits a batch of
    /// decisions together with its own bookkeeping. Begin it before anything else that waits on the store.
    /// </summary>
    ValueTask<IDecisionBatch> BeginBatchAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<IDecisionBatch>(new ImmediateDecisionBatch(this));

    /// <summary>Decides a payment or transfer attempt: allow, challenge (ask for TOTP), deny or freeze.</summary>
    ValueTask<EvaluationResult> EvaluateTransactionAsync(TransactionAttempt attempt, CancellationToken cancellationToken = default);

    /// <summary>Decides a sign-in attempt.</summary>
    ValueTask<EvaluationResult> EvaluateLoginAsync(LoginAttempt attempt, CancellationToken cancellationToken = default);

    /// <summary>Arranges a higher limit in advance (must be TOTP-verified).</summary>
    ValueTask<EvaluationResult> ArrangeLimitAsync(LimitArrangement arrangement, CancellationToken cancellationToken = default);

    /// <summary>A support agent lifts a freeze.</summary>
    ValueTask<EvaluationResult> UnfreezeAsync(SupportUnfreeze unfreeze, CancellationToken cancellationToken = default);

    /// <summary>
    /// Support freezes an account (a hold: the user asked, or support saw something a rule did not): the account is
    /// frozen with reason <c>support.hold</c> (never self-service, no cool-down: support lifts it with an
    /// <c>unfreeze</c> event), who, when and why go to its support log, and an <c>account.frozen</c> event is emitted
    /// (also to the sinks). Null, and nothing changed, when the account is already frozen.
    /// </summary>
    async ValueTask<AccountFrozen?> HoldAsync(SupportHold hold, CancellationToken cancellationToken = default)
    {
        await using var batch = await BeginBatchAsync(cancellationToken);
        var frozen = await batch.HoldAsync(hold, cancellationToken);
        await batch.CommitAsync(null, cancellationToken);
        return frozen;
    }

    /// <summary>
    /// Lifts every freeze whose cool-down has passed by the engine's clock, without waiting for the account's next
    /// event, and returns the <c>account.unfrozen</c> events (also sent to the sinks). Hosts call it from a timer.
    /// </summary>
    ValueTask<IReadOnlyList<AccountUnfrozen>> ExpireCoolDownsAsync(int max = 1000, CancellationToken cancellationToken = default);

    /// <summary>The account's current status (frozen or not, lockout).</summary>
    ValueTask<AccountStatus> GetAccountStatusAsync(AccountId account, CancellationToken cancellationToken = default);
}

/// <summary>A support agent's hold on an account (<see cref="IRiskEngine.HoldAsync"/>).</summary>
/// <param name="Account">The account.</param>
/// <param name="By">The agent id (an identifier: no control or format characters, at most 128).</param>
/// <param name="Reason">Why, for the support log (at most 512 characters).</param>
public sealed record SupportHold(AccountId Account, string By, string Reason)
{
    /// <summary>The name of the API key that authenticated the request, for a hold placed through the server (see <see cref="State.SupportAction.Key"/>).</summary>
    public string? Key { get; init; }
}

/// <summary>What support and the user see about an account.</summary>
/// <param name="Account">The account.</param>
/// <param name="Frozen">Whether it is frozen.</param>
/// <param name="FreezeReason">The reason code of the freeze.</param>
/// <param name="FrozenAt">Since when.</param>
/// <param name="SelfService">Whether a valid TOTP code can lift the freeze.</param>
/// <param name="UnfreezesAt">When a cool-down will lift the freeze, if the policy has one for the reason.</param>
/// <param name="LockedUntil">Sign-in lockout end, if locked.</param>
/// <param name="TotpEnrolled">Whether the account has a confirmed TOTP factor.</param>
public sealed record AccountStatus(
    AccountId Account,
    bool Frozen,
    string? FreezeReason,
    DateTimeOffset? FrozenAt,
    bool SelfService,
    DateTimeOffset? UnfreezesAt,
    DateTimeOffset? LockedUntil,
    bool TotpEnrolled)
{
    /// <summary>What support did to the account (holds, unfreezes, factor resets): who, when, why, through which API key; newest last.</summary>
    public IReadOnlyList<State.SupportAction> SupportLog { get; init; } = [];
}

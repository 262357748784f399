using RiskEngine.Decisions;
using RiskEngine.Events;
using RiskEngine.State;

namespace RiskEngine;

/// <summary>
/// A unit of work that a host owns (<see cref="IRiskEngine.BeginBatchAsync"/>): decisions made through it are staged
/// in the store's batch and become durable together at <see cref="CommitAsync"/>, with the host's journal entry
/// (output records, input position) when it passes one. The sinks hear of the account events only after that
/// commit; until then the answers are provisional, and a batch disposed without committing leaves a durable store as
/// it was (the host then decides those events again). Not thread-safe: one caller at a time.
/// </summary>
/// <example>
/// <code>
/// await using var batch = await engine.BeginBatchAsync();
/// var results = await batch.EvaluateAsync(events);
/// await batch.CommitAsync(new JournalEntry(records, position));
/// </code>
/// </example>
public interface IDecisionBatch : IAsyncDisposable
{
    /// <summary>Decides events as <see cref="IRiskEngine.EvaluateBatchAsync"/> does, staged in this batch.</summary>
    ValueTask<IReadOnlyList<EvaluationResult>> EvaluateAsync(IReadOnlyList<RiskEvent> events, CancellationToken cancellationToken = default);

    /// <summary>Lifts the freezes whose cool-down has passed (as <see cref="IRiskEngine.ExpireCoolDownsAsync"/>), staged in this batch.</summary>
    ValueTask<IReadOnlyList<AccountUnfrozen>> ExpireCoolDownsAsync(int max = 1000, CancellationToken cancellationToken = default);

    /// <summary>
    /// A support hold (see <see cref="IRiskEngine.HoldAsync"/>), staged in this batch: null when the account was already frozen.
    /// </summary>
    ValueTask<AccountFrozen?> HoldAsync(SupportHold hold, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException($"{GetType().Name} cannot place a support hold");

    /// <summary>
    /// A TOTP check (see <see cref="TwoFactor.ITwoFactorService.CheckAsync"/>) staged in this batch: the accepted step or
    /// failure and the freeze or self-service unfreeze it causes commit with the batch and its journal entry.
    /// </summary>
    ValueTask<TwoFactor.TotpVerification> CheckTotpAsync(TwoFactor.ITwoFactorService service, Domain.AccountId account, string code, bool confirming, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException($"{GetType().Name} cannot check a TOTP code in its batch");

    /// <summary>
    /// A support reset of a TOTP factor (see <see cref="TwoFactor.ITwoFactorService.ResetAsync(IStateBatch, Domain.AccountId, string, string, string?, CancellationToken)"/>)
    /// staged in this batch: the reset and its <c>account.factor_reset</c> commit with the batch and its journal entry.
    /// </summary>
    ValueTask<TwoFactor.TotpResetResult> ResetTotpAsync(TwoFactor.ITwoFactorService service, Domain.AccountId account, string by, string reason, string? key, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException($"{GetType().Name} cannot reset a TOTP factor in its batch");

    /// <summary>
    /// Makes everything staged durable, with <paramref name="journal"/> in the same transaction, then tells the sinks
    /// about the account events. Throws <see cref="StateStoreUnavailableException"/> when the store cannot be written.
    /// </summary>
    ValueTask CommitAsync(JournalEntry? journal = null, CancellationToken cancellationToken = default);
}

/// <summary>
/// The batch of an engine that has none of its own: each call is decided and committed by the engine at once, so
/// there is nothing to hold back; a journal entry cannot be written with it.
/// </summary>
internal sealed class ImmediateDecisionBatch(IRiskEngine engine) : IDecisionBatch
{
    public ValueTask<IReadOnlyList<EvaluationResult>> EvaluateAsync(IReadOnlyList<RiskEvent> events, CancellationToken cancellationToken = default) =>
        engine.EvaluateBatchAsync(events, cancellationToken);

    public ValueTask<IReadOnlyList<AccountUnfrozen>> ExpireCoolDownsAsync(int max = 1000, CancellationToken cancellationToken = default) =>
        engine.ExpireCoolDownsAsync(max, cancellationToken);

    public ValueTask CommitAsync(JournalEntry? journal = null, CancellationToken cancellationToken = default) =>
        journal is null ? ValueTask.CompletedTask
            : throw new NotSupportedException($"{engine.GetType().Name} commits each decision itself; it cannot write a journal entry with them");

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

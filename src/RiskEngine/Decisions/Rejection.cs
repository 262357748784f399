using RiskEngine.Domain;

namespace RiskEngine.Decisions;

/// <summary>An event that was not decided because it is malformed or conflicts with an earlier one. No state changed.</summary>
/// <param name="EventId">The event id, when it could be read.</param>
/// <param name="Field">The offending top-level field (e.g. <c>amount</c>), or null when the input is not JSON at all.</param>
/// <param name="Error">A sentence a person understands.</param>
public sealed record Rejection(EventId? EventId, string? Field, string Error);

/// <summary>How an evaluation ended.</summary>
public enum ResultKind
{
    /// <summary>The event was decided; <see cref="EvaluationResult.Decision"/> holds the decision.</summary>
    Decided = 1, // not 0: a default(EvaluationResult) is no kind at all

    /// <summary>The event was refused without a decision; <see cref="EvaluationResult.Rejection"/> says why.</summary>
    Rejected,

    /// <summary>
    /// The state store could not be reached; nothing was decided or recorded. <see cref="EvaluationResult.Outage"/>
    /// holds the answer to give a caller who cannot wait (the configured fail-closed outcome); a worker with a
    /// queued event pauses and decides it later instead.
    /// </summary>
    Unavailable,
}

/// <summary>The store could not be reached while deciding an event.</summary>
/// <param name="Reason">What the store said, for logs.</param>
/// <param name="FailClosed">
/// The answer for a caller who must answer now: <see cref="RiskEngineOptions.WhenStoreUnavailable"/> (deny by
/// default), reason <c>engine.unavailable</c>. It was not recorded: the same event is decided for real later.
/// </param>
public sealed record StoreOutage(string Reason, Decision FailClosed);

/// <summary>
/// The result of evaluating one event: <see cref="ResultKind.Decided"/>, <see cref="ResultKind.Rejected"/> or
/// <see cref="ResultKind.Unavailable"/>. Immutable.
/// </summary>
public readonly struct EvaluationResult
{
    private EvaluationResult(ResultKind kind, Decision? decision, Rejection? rejection, StoreOutage? outage)
    {
        Kind = kind;
        Decision = decision;
        Rejection = rejection;
        Outage = outage;
    }

    /// <summary>How the evaluation ended.</summary>
    public ResultKind Kind { get; }

    /// <summary>The decision, when the event was decided.</summary>
    public Decision? Decision { get; }

    /// <summary>Why the event was refused without a decision.</summary>
    public Rejection? Rejection { get; }

    /// <summary>The outage, when the store could not be reached.</summary>
    public StoreOutage? Outage { get; }

    /// <summary>True when <see cref="Decision"/> is set.</summary>
    public bool IsDecided => Kind == ResultKind.Decided;

    /// <summary>A decided result.</summary>
    public static EvaluationResult Decided(Decision decision) => new(ResultKind.Decided, decision ?? throw new ArgumentNullException(nameof(decision)), null, null);

    /// <summary>A rejected result.</summary>
    public static EvaluationResult Rejected(Rejection rejection) => new(ResultKind.Rejected, null, rejection ?? throw new ArgumentNullException(nameof(rejection)), null);

    /// <summary>A result for an event the store could not serve.</summary>
    public static EvaluationResult Unavailable(StoreOutage outage) => new(ResultKind.Unavailable, null, null, outage ?? throw new ArgumentNullException(nameof(outage)));

    /// <summary>
    /// The answer to act on now: the decision, or during a store outage the fail-closed answer; an exception
    /// describing the rejection (for callers that treat a rejection as a bug).
    /// </summary>
    public Decision GetDecisionOrThrow() => Kind switch
    {
        ResultKind.Decided => Decision!,
        ResultKind.Unavailable => Outage!.FailClosed,
        _ => throw new InvalidOperationException($"event rejected: {Rejection!.Field}: {Rejection.Error}"),
    };
}

using RiskEngine.Domain;

namespace RiskEngine.Decisions;

/// <summary>An event that was not decided because it is malformed or conflicts with an earlier one. No state changed.</summary>
/// <param name="EventId">The event id, when it could be read.</param>
/// <param name="Field">The offending top-level field (e.g. <c>amount</c>), or null when the input is not JSON at all.</param>
/// <param name="Error">A sentence a person understands.</param>
public sealed record Rejection(EventId? EventId, string? Field, string Error);

/// <summary>The result of evaluating one event: a <see cref="Decisions.Decision"/> or a <see cref="Decisions.Rejection"/>.</summary>
public readonly struct EvaluationResult
{
    private EvaluationResult(Decision? decision, Rejection? rejection)
    {
        Decision = decision;
        Rejection = rejection;
    }

    /// <summary>The decision, when the event was decided.</summary>
    public Decision? Decision { get; }

    /// <summary>Why the event was refused without a decision.</summary>
    public Rejection? Rejection { get; }

    /// <summary>True when <see cref="Decision"/> is set.</summary>
    public bool IsDecided => Decision is not null;

    /// <summary>A decided result.</summary>
    public static EvaluationResult Decided(Decision decision) => new(decision ?? throw new ArgumentNullException(nameof(decision)), null);

    /// <summary>A rejected result.</summary>
    public static EvaluationResult Rejected(Rejection rejection) => new(null, rejection ?? throw new ArgumentNullException(nameof(rejection)));

    /// <summary>The decision, or an exception describing the rejection (for callers that treat a rejection as a bug).</summary>
    public Decision GetDecisionOrThrow() =>
        Decision ?? throw new InvalidOperationException($"event rejected: {Rejection!.Field}: {Rejection.Error}");
}

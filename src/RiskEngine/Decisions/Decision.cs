using RiskEngine.Domain;
using RiskEngine.Events;

namespace RiskEngine.Decisions;

/// <summary>The engine's answer for one event: the outcome, every rule that fired, and the account events it caused.</summary>
/// <param name="EventId">The event decided.</param>
/// <param name="Account">The account it concerns.</param>
/// <param name="At">Decision time: the event's own timestamp, so a replay decides the same way.</param>
/// <param name="Outcome">The most severe outcome among <paramref name="Reasons"/>, or allow when none fired.</param>
/// <param name="Reasons">Every rule that fired, most severe first.</param>
/// <param name="PolicyVersion">The content hash of the policy that decided.</param>
/// <param name="Events">Account events caused by this decision (freeze, unfreeze), in order.</param>
public sealed record Decision(
    EventId EventId,
    AccountId Account,
    DateTimeOffset At,
    Outcome Outcome,
    IReadOnlyList<RuleHit> Reasons,
    string PolicyVersion,
    IReadOnlyList<AccountEvent> Events)
{
    /// <summary>True when the event id was decided before: this is the stored decision, and no effect was applied again.</summary>
    public bool Duplicate { get; init; }

    /// <summary>Hits of policy entries in shadow mode: what they would have decided. They changed nothing.</summary>
    public IReadOnlyList<RuleHit> Shadow { get; init; } = [];

    /// <summary>True when the reasons include <paramref name="code"/>.</summary>
    public bool HasReason(string code) => Reasons.Any(r => r.Code == code);
}

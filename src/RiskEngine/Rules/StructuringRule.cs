using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>
/// Payments kept just below the step-up threshold, again and again (structuring): more than <c>structuring.maxCount</c>
/// in the window → the policy's outcome (a challenge by default), code <c>cap.structuring</c>. A verified step-up
/// satisfies a challenge.
/// </summary>
public sealed class StructuringRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override Type FactType => typeof(TransactionFact);

    /// <inheritdoc />
    public override bool IsEnabled => Policy.Structuring is not null;

    /// <inheritdoc />
    public override void Define()
    {
        var s = Policy.Structuring!;
        var hit = Hit(ReasonCodes.CapStructuring, s.Then, "several payments just below the verification threshold: confirm this one with your verification code");
        var max = s.MaxCount;
        var challengeOnly = s.Then == Outcome.Challenge;
        TransactionFact f = default!;
        When()
            .Match(() => f, x => x.CapsApply && x.StructuringCount > max && !(challengeOnly && x.Authenticated));
        Then()
            .Do(_ => f.Add(hit));
    }
}

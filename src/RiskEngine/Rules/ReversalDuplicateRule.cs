using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>Denies a second reversal of the same transaction.</summary>
public sealed class ReversalDuplicateRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override Type FactType => typeof(ReversalFact);

    /// <inheritdoc />
    public override void Define()
    {
        var hit = Hit(ReasonCodes.ReversalDuplicate, Outcome.Deny, "this payment was already reversed");
        ReversalFact f = default!;
        When()
            .Match(() => f, x => x.Known && x.AlreadyReversed);
        Then()
            .Do(_ => f.Add(hit));
    }
}

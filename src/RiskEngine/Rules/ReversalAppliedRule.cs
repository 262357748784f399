using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>Allows a reversal of an allowed transaction of the account: its amount stops counting towards the caps.</summary>
public sealed class ReversalAppliedRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override Type FactType => typeof(ReversalFact);

    /// <inheritdoc />
    public override void Define()
    {
        var hit = Hit(ReasonCodes.ReversalApplied, Outcome.Allow, "the payment was reversed; it no longer counts towards your limits");
        ReversalFact f = default!;
        When()
            .Match(() => f, x => x.Known && !x.AlreadyReversed);
        Then()
            .Do(_ => f.Add(hit));
    }
}

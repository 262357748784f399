using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>Denies a reversal naming no allowed transaction of the account (unknown, another account's, refused, or older than the 30-day window).</summary>
public sealed class ReversalUnknownRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override Type FactType => typeof(ReversalFact);

    /// <inheritdoc />
    public override void Define()
    {
        var hit = Hit(ReasonCodes.ReversalUnknown, Outcome.Deny, "no allowed payment of this account has that id");
        ReversalFact f = default!;
        When()
            .Match(() => f, x => !x.Known);
        Then()
            .Do(_ => f.Add(hit));
    }
}

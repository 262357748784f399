using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>Allows the cancellation of an arranged limit (it only lowers what the account may spend).</summary>
public sealed class LimitCancelledRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override Type FactType => typeof(LimitCancellationFact);

    /// <inheritdoc />
    public override void Define()
    {
        var hit = Hit(ReasonCodes.LimitCancelled, Outcome.Allow, "the arranged limit was cancelled");
        LimitCancellationFact f = default!;
        When()
            .Match(() => f, x => true);
        Then()
            .Do(_ => f.Add(hit));
    }
}

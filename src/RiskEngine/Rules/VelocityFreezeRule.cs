using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>
/// Abnormal frequency: more attempts (or more value) in a trailing window than a velocity entry allows decides the
/// entry's <c>then</c>, a freeze by default. Fires once per exceeded entry.
/// </summary>
public sealed class VelocityFreezeRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override bool IsEnabled => Policy.Velocity.Count > 0;

    /// <inheritdoc />
    public override void Define()
    {
        VelocityFact v = default!;
        When()
            .Match(() => v, f => f.CountExceeded || f.AmountExceeded);
        Then()
            .Do(_ => Collect(HitFor(v)));
    }

    private RuleHit HitFor(VelocityFact v) =>
        (v.CountExceeded
            ? Hit(ReasonCodes.VelocityCount, v.Limit.Then, $"{v.Count} attempts within {v.Limit.Window}")
            : Hit(ReasonCodes.VelocityAmount, v.Limit.Then, $"{v.Amount} {v.Limit.Currency} within {v.Limit.Window}"))
        with { Rule = $"{RuleId}/{v.Limit.Id}", Shadow = v.Limit.Shadow };
}

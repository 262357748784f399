using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>An arranged limit must be confirmed with a TOTP code.</summary>
public sealed class ArrangedLimitUnauthenticatedRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override Type FactType => typeof(LimitFact);

    /// <inheritdoc />
    public override void Define()
    {
        var hit = Hit(ReasonCodes.LimitUnauthenticated, Outcome.Deny, "arranging a higher limit needs a verification code");
        LimitFact f = default!;
        When()
            .Match(() => f, x => !x.Authenticated);
        Then()
            .Do(_ => f.Add(hit));
    }
}

/// <summary>An arranged limit may not exceed the asset's <c>maxArrangedLimit</c>.</summary>
public sealed class ArrangedLimitAboveMaxRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override Type FactType => typeof(LimitFact);

    /// <inheritdoc />
    public override void Define()
    {
        var known = FixedHit(ReasonCodes.LimitAboveMax, Outcome.Deny);
        LimitFact f = default!;
        When()
            .Match(() => f, x => x.Asset != null && x.Arrangement.Amount.Amount > x.Asset.MaxArrangedLimit);
        Then()
            .Do(_ => f.Add(known ?? Hit(ReasonCodes.LimitAboveMax, Outcome.Deny, $"the largest limit that can be arranged is {f.Asset!.MaxArrangedLimit} {f.Asset.Currency}")));
    }
}

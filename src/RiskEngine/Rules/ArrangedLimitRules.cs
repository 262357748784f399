using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>An arranged limit must be confirmed with a TOTP code.</summary>
public sealed class ArrangedLimitUnauthenticatedRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override void Define()
    {
        LimitFact limit = default!;
        When()
            .Match(() => limit, l => !l.Arrangement.TotpVerified);
        Then()
            .Do(_ => Collect(Hit(ReasonCodes.LimitUnauthenticated, Outcome.Deny, "arranging a higher limit needs a verification code")));
    }
}

/// <summary>An arranged limit may not exceed the asset's <c>maxArrangedLimit</c>.</summary>
public sealed class ArrangedLimitAboveMaxRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override void Define()
    {
        LimitFact limit = default!;
        When()
            .Match(() => limit, l => l.Asset != null && l.Arrangement.Amount.Amount > l.Asset.MaxArrangedLimit);
        Then()
            .Do(_ => Collect(Hit(ReasonCodes.LimitAboveMax, Outcome.Deny, $"the largest limit that can be arranged is {limit.Asset!.MaxArrangedLimit} {limit.Asset.Currency}")));
    }
}

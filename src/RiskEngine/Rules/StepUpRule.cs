using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>Challenges a transaction above the asset's step-up threshold unless a TOTP code was verified for it.</summary>
public sealed class StepUpRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override void Define()
    {
        CapUsageFact cap = default!;
        When()
            .Match(() => cap, c => !c.Authenticated && c.Asset.ChallengeAbove != null && c.Amount > c.Asset.ChallengeAbove);
        Then()
            .Do(_ => Collect(Hit(ReasonCodes.CapStepUp, Outcome.Challenge, "confirm this amount with your verification code")));
    }
}

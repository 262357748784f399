using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>Challenges (asks for a TOTP code) a transaction above the asset's step-up threshold, unless already verified.</summary>
public sealed class StepUpRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override Type FactType => typeof(TransactionFact);

    /// <inheritdoc />
    public override void Define()
    {
        var hit = Hit(ReasonCodes.CapStepUp, Outcome.Challenge, "confirm this amount with your verification code");
        TransactionFact f = default!;
        When()
            .Match(() => f, x => x.CapsApply && !x.Authenticated && x.ChallengeAbove != null && x.Amount > x.ChallengeAbove);
        Then()
            .Do(_ => f.Add(hit));
    }
}

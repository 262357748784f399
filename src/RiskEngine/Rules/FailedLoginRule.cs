using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>A sign-in whose password check failed is denied.</summary>
public sealed class FailedLoginRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override void Define()
    {
        When()
            .Match<LoginFact>(l => !l.Attempt.PasswordOk)
            .Match<LoginHistoryFact>(h => !h.Locked);
        Then()
            .Do(_ => Collect(Hit(ReasonCodes.LoginFailed, Outcome.Deny, "wrong password")));
    }
}

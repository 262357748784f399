using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>A sign-in whose password check failed is denied.</summary>
public sealed class FailedLoginRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override Type FactType => typeof(LoginFact);

    /// <inheritdoc />
    public override void Define()
    {
        var hit = Hit(ReasonCodes.LoginFailed, Outcome.Deny, "wrong password");
        LoginFact f = default!;
        When()
            .Match(() => f, x => !x.PasswordOk && !x.Locked);
        Then()
            .Do(_ => f.Add(hit));
    }
}

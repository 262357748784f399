using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>During a lockout every sign-in is denied, whatever the password check said.</summary>
public sealed class LoginLockedRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override Type FactType => typeof(LoginFact);

    /// <inheritdoc />
    public override void Define()
    {
        var hit = Hit(ReasonCodes.LoginLocked, Outcome.Deny, "sign-in is locked for a while after repeated failures");
        LoginFact f = default!;
        When()
            .Match(() => f, x => x.Locked);
        Then()
            .Do(_ => f.Add(hit));
    }
}

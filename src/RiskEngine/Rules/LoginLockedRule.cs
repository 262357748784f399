using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>During a lockout every sign-in is denied, whatever the password check said.</summary>
public sealed class LoginLockedRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override void Define()
    {
        LoginHistoryFact history = default!;
        When()
            .Match<LoginFact>()
            .Match(() => history, h => h.Locked);
        Then()
            .Do(_ => Collect(Hit(ReasonCodes.LoginLocked, Outcome.Deny, "sign-in is locked for a while after repeated failures")));
    }
}

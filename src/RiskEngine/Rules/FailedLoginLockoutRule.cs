using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>
/// The <c>max</c>-th failed password within the window locks sign-in for <c>lockout</c>; the
/// <c>freezeAfterLockouts</c>-th lockout within <c>lockoutWindow</c> freezes the account instead. Failures counted
/// against a throttled IP do not lock the account (an attacker spraying many accounts must not lock them all out).
/// </summary>
public sealed class FailedLoginLockoutRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override bool IsEnabled => Policy.Logins.FailedAttempts is not null;

    /// <inheritdoc />
    public override Type FactType => typeof(LoginFact);

    /// <inheritdoc />
    public override void Define()
    {
        var p = Policy.Logins.FailedAttempts!;
        var ipMax = Policy.Logins.IpThrottle?.MaxFailures ?? int.MaxValue;
        var freeze = Hit(ReasonCodes.LoginFailedAttempts, Outcome.Freeze, "repeated failed sign-in attempts") with { StartsLockout = true };
        var deny = Hit(ReasonCodes.LoginFailedAttempts, Outcome.Deny, "repeated failed sign-in attempts") with { StartsLockout = true };
        LoginFact f = default!;
        When()
            .Match(() => f, x => !x.PasswordOk && !x.Locked && x.RecentFailures + 1 >= p.Max && x.IpFailures <= ipMax);
        Then()
            .Do(_ => f.Add(f.RecentLockouts + 1 >= p.FreezeAfterLockouts ? freeze : deny));
    }
}

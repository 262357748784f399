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
    public override void Define()
    {
        var p = Policy.Logins.FailedAttempts!;
        var ipMax = Policy.Logins.IpThrottle?.MaxFailures ?? int.MaxValue;
        LoginHistoryFact history = default!;
        When()
            .Match<LoginFact>(l => !l.Attempt.PasswordOk)
            .Match(() => history, h => !h.Locked && h.RecentFailures + 1 >= p.Max)
            .Not<IpFailuresFact>(ip => ip.Failures > ipMax);
        Then()
            .Do(_ => Collect(HitFor(history, p)));
    }

    private RuleHit HitFor(LoginHistoryFact history, FailedAttemptsPolicy p) =>
        (history.RecentLockouts + 1 >= p.FreezeAfterLockouts
            ? Hit(ReasonCodes.LoginFailedAttempts, Outcome.Freeze, "repeated failed sign-in attempts")
            : Hit(ReasonCodes.LoginFailedAttempts, Outcome.Deny, "repeated failed sign-in attempts"))
        with { StartsLockout = true };
}

using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>Credential stuffing: more failed sign-ins from one IP across accounts than allowed in the window denies that IP.</summary>
public sealed class IpThrottleRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override bool IsEnabled => Policy.Logins.IpThrottle is not null;

    /// <inheritdoc />
    public override Type FactType => typeof(LoginFact);

    /// <inheritdoc />
    public override void Define()
    {
        var max = Policy.Logins.IpThrottle!.MaxFailures;
        var hit = Hit(ReasonCodes.LoginIpThrottled, Outcome.Deny, "too many failed sign-ins from this network; try again later");
        LoginFact f = default!;
        When()
            .Match(() => f, x => x.IpFailures > max);
        Then()
            .Do(_ => f.Add(hit));
    }
}

using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>Credential stuffing: more failed sign-ins from one IP across accounts than allowed in the window denies that IP.</summary>
public sealed class IpThrottleRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override bool IsEnabled => Policy.Logins.IpThrottle is not null;

    /// <inheritdoc />
    public override void Define()
    {
        var max = Policy.Logins.IpThrottle!.MaxFailures;
        When()
            .Match<LoginFact>()
            .Match<IpFailuresFact>(ip => ip.Failures > max);
        Then()
            .Do(_ => Collect(Hit(ReasonCodes.LoginIpThrottled, Outcome.Deny, "too many failed sign-ins from this network; try again later")));
    }
}

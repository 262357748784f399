using System.Globalization;
using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>
/// Two sign-ins further apart than anyone can travel in the time between them (great-circle distance over elapsed
/// time above <c>maxKmh</c>) decide <c>impossibleTravel.then</c>. TOTP does not excuse it: a stolen session can pass TOTP.
/// </summary>
public sealed class ImpossibleTravelRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override bool IsEnabled => Policy.Logins.ImpossibleTravel is not null;

    /// <inheritdoc />
    public override void Define()
    {
        var p = Policy.Logins.ImpossibleTravel!;
        LoginHistoryFact history = default!;
        When()
            .Match<LoginFact>(l => l.Attempt.PasswordOk)
            .Match(() => history, h => !h.Locked && h.TravelKmh != null && h.TravelKmh > p.MaxKmh);
        Then()
            .Do(_ => Collect(HitFor(history, p)));
    }

    private RuleHit HitFor(LoginHistoryFact history, ImpossibleTravelPolicy p) =>
        Hit(ReasonCodes.LoginImpossibleTravel, p.Then, string.Create(CultureInfo.InvariantCulture, $"sign-ins {history.TravelKmh:0} km/h apart"));
}

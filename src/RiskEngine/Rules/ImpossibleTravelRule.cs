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
    public override Type FactType => typeof(LoginFact);

    /// <inheritdoc />
    public override void Define()
    {
        var p = Policy.Logins.ImpossibleTravel!;
        _known = FixedHit(ReasonCodes.LoginImpossibleTravel, p.Then);
        LoginFact f = default!;
        When()
            .Match(() => f, x => x.PasswordOk && !x.Locked && x.TravelKmh != null && x.TravelKmh > p.MaxKmh);
        Then()
            .Do(_ => f.Add(HitFor(f)));
    }

    private RuleHit? _known;

    private RuleHit HitFor(LoginFact f) =>
        _known ?? Hit(ReasonCodes.LoginImpossibleTravel, Policy.Logins.ImpossibleTravel!.Then, string.Create(CultureInfo.InvariantCulture, $"sign-ins {f.TravelKmh:0} km/h apart"));
}

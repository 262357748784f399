using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>A sign-in from a country never seen in an allowed sign-in decides <c>logins.newCountry</c>, unless TOTP-verified.</summary>
public sealed class NewCountryRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override bool IsEnabled => Policy.Logins.NewCountry != Outcome.Allow;

    /// <inheritdoc />
    public override Type FactType => typeof(LoginFact);

    /// <inheritdoc />
    public override void Define()
    {
        var hit = Hit(ReasonCodes.LoginNewCountry, Policy.Logins.NewCountry, "sign-in from a new country");
        LoginFact f = default!;
        When()
            .Match(() => f, x => x.PasswordOk && !x.TotpVerified && x.HasPriorLogin && !x.CountryKnown && !x.Locked);
        Then()
            .Do(_ => f.Add(hit));
    }
}

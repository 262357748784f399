using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>A sign-in from a country never seen in an allowed sign-in decides <c>logins.newCountry</c>, unless TOTP-verified.</summary>
public sealed class NewCountryRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override bool IsEnabled => Policy.Logins.NewCountry != Outcome.Allow;

    /// <inheritdoc />
    public override void Define()
    {
        When()
            .Match<LoginFact>(l => l.Attempt.PasswordOk && !l.Attempt.TotpVerified)
            .Match<LoginHistoryFact>(h => h.HasPriorLogin && !h.CountryKnown && !h.Locked);
        Then()
            .Do(_ => Collect(Hit(ReasonCodes.LoginNewCountry, Policy.Logins.NewCountry, "sign-in from a new country")));
    }
}

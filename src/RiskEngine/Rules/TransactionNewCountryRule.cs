using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>
/// A payment from a country never seen in an allowed sign-in or allowed transaction of the account gets the policy's
/// <c>transactions.newCountry</c> outcome (a challenge, typically); a verified step-up satisfies it, and an account's first
/// event is never challenged for it. Off when the policy says <c>allow</c> (the default).
/// </summary>
public sealed class TransactionNewCountryRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override Type FactType => typeof(TransactionFact);

    /// <inheritdoc />
    public override bool IsEnabled => Policy.Transactions.NewCountry != Outcome.Allow;

    /// <inheritdoc />
    public override void Define()
    {
        var hit = Hit(ReasonCodes.PaymentNewCountry, Policy.Transactions.NewCountry, "a payment from a country this account has not used");
        TransactionFact f = default!;
        When()
            .Match(() => f, x => x.CapsApply && x.HasHistory && !x.CountryKnown && !x.Authenticated);
        Then()
            .Do(_ => f.Add(hit));
    }
}

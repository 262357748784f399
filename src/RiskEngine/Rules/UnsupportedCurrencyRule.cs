using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>Denies a transaction or limit in a currency or asset the policy does not list.</summary>
public sealed class UnsupportedCurrencyRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override Type FactType => typeof(MoneyFact);

    /// <inheritdoc />
    public override void Define()
    {
        var known = FixedHit(ReasonCodes.CurrencyUnsupported, Outcome.Deny);
        MoneyFact f = default!;
        When()
            .Match(() => f, x => !x.CurrencySupported);
        Then()
            .Do(_ => f.Add(known ?? Hit(ReasonCodes.CurrencyUnsupported, Outcome.Deny, $"{f.Currency} is not supported")));
    }
}

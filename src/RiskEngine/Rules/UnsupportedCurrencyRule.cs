using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>Denies attempts in a currency or asset the policy does not list.</summary>
public sealed class UnsupportedCurrencyRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override void Define()
    {
        UnsupportedCurrencyFact currency = default!;
        When()
            .Match(() => currency);
        Then()
            .Do(_ => Collect(Hit(ReasonCodes.CurrencyUnsupported, Outcome.Deny, $"{currency.Currency} is not supported")));
    }
}

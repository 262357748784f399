using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>Denies a transaction that would take allowed spending in the trailing 30 days above the monthly cap.</summary>
public sealed class MonthlyCapRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override void Define()
    {
        CapUsageFact cap = default!;
        When()
            .Match(() => cap, c => c.MonthlyUsed + c.Amount > c.Asset.Monthly);
        Then()
            .Do(_ => Collect(Hit(ReasonCodes.CapMonthly, Outcome.Deny, "the amount would exceed the monthly limit")));
    }
}

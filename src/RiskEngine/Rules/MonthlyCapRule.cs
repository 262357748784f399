using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>Denies a transaction that would take allowed spending in the trailing 30 days above the monthly cap.</summary>
public sealed class MonthlyCapRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override Type FactType => typeof(TransactionFact);

    /// <inheritdoc />
    public override void Define()
    {
        var hit = Hit(ReasonCodes.CapMonthly, Outcome.Deny, "the amount would exceed the monthly limit");
        TransactionFact f = default!;
        When()
            .Match(() => f, x => x.CapsApply && x.MonthlyUsed + x.Amount > x.MonthlyCap);
        Then()
            .Do(_ => f.Add(hit));
    }
}

using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>Denies a transaction that would take allowed spending in the trailing 24 hours above the daily cap.</summary>
public sealed class DailyCapRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override void Define()
    {
        CapUsageFact cap = default!;
        When()
            .Match(() => cap, c => c.DailyUsed + c.Amount > c.DailyCap);
        Then()
            .Do(_ => Collect(Hit(ReasonCodes.CapDaily, Outcome.Deny, "the amount would exceed the daily limit")));
    }
}

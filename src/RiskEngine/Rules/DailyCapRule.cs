using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>Denies a transaction that would take allowed spending in the trailing 24 hours above the daily cap.</summary>
public sealed class DailyCapRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override Type FactType => typeof(TransactionFact);

    /// <inheritdoc />
    public override void Define()
    {
        var hit = Hit(ReasonCodes.CapDaily, Outcome.Deny, "the amount would exceed the daily limit");
        TransactionFact f = default!;
        When()
            .Match(() => f, x => x.CapsApply && x.DailyUsed + x.Amount > x.DailyCap);
        Then()
            .Do(_ => f.Add(hit));
    }
}

using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>Denies a transaction above the per-transaction cap (raised by an arranged limit in force).</summary>
public sealed class PerTransactionCapRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override void Define()
    {
        CapUsageFact cap = default!;
        When()
            .Match(() => cap, c => c.Amount > c.PerTransactionCap);
        Then()
            .Do(_ => Collect(Hit(ReasonCodes.CapPerTransaction, Outcome.Deny, "the amount is above the per-transaction limit")));
    }
}

using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>Denies a transaction above the per-transaction cap (raised by an arranged limit in force).</summary>
public sealed class PerTransactionCapRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override Type FactType => typeof(TransactionFact);

    /// <inheritdoc />
    public override void Define()
    {
        var hit = Hit(ReasonCodes.CapPerTransaction, Outcome.Deny, "the amount is above the per-transaction limit");
        TransactionFact f = default!;
        When()
            .Match(() => f, x => x.CapsApply && x.Amount > x.PerTransactionCap);
        Then()
            .Do(_ => f.Add(hit));
    }
}

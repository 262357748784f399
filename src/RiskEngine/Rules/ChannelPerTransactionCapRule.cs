using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>Denies a transaction above its payment channel's per-transaction cap for the currency (in addition to the asset's caps).</summary>
public sealed class ChannelPerTransactionCapRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override Type FactType => typeof(TransactionFact);

    /// <inheritdoc />
    public override bool IsEnabled => Policy.Channels.Count > 0;

    /// <inheritdoc />
    public override void Define()
    {
        var hit = Hit(ReasonCodes.CapChannelPerTransaction, Outcome.Deny, "the amount is above this payment method's per-transaction limit");
        TransactionFact f = default!;
        When()
            .Match(() => f, x => x.ChannelCapsApply && x.ChannelPerTransactionCap > 0 && x.Amount > x.ChannelPerTransactionCap);
        Then()
            .Do(_ => f.Add(hit));
    }
}

using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>Denies a transaction that would take the channel's allowed spending in the trailing 30 days above its monthly cap.</summary>
public sealed class ChannelMonthlyCapRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override Type FactType => typeof(TransactionFact);

    /// <inheritdoc />
    public override bool IsEnabled => Policy.Channels.Count > 0;

    /// <inheritdoc />
    public override void Define()
    {
        var hit = Hit(ReasonCodes.CapChannelMonthly, Outcome.Deny, "the amount would exceed this payment method's monthly limit");
        TransactionFact f = default!;
        When()
            .Match(() => f, x => x.ChannelCapsApply && x.ChannelMonthlyCap > 0 && x.ChannelMonthlyUsed + x.Amount > x.ChannelMonthlyCap);
        Then()
            .Do(_ => f.Add(hit));
    }
}

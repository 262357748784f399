using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>Denies a transaction that would take the channel's allowed spending in the trailing 24 hours above its daily cap.</summary>
public sealed class ChannelDailyCapRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override Type FactType => typeof(TransactionFact);

    /// <inheritdoc />
    public override bool IsEnabled => Policy.Channels.Count > 0;

    /// <inheritdoc />
    public override void Define()
    {
        var hit = Hit(ReasonCodes.CapChannelDaily, Outcome.Deny, "the amount would exceed this payment method's daily limit");
        TransactionFact f = default!;
        When()
            .Match(() => f, x => x.ChannelCapsApply && x.ChannelDailyCap > 0 && x.ChannelDailyUsed + x.Amount > x.ChannelDailyCap);
        Then()
            .Do(_ => f.Add(hit));
    }
}

using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>A frozen account moves no money: every transaction and limit arrangement is denied.</summary>
public sealed class AccountFrozenRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override void Define()
    {
        AccountStatusFact status = default!;
        When()
            .Match(() => status, s => s.Frozen);
        Then()
            .Do(_ => Collect(Hit(ReasonCodes.AccountFrozen, Outcome.Deny, "the account is frozen; contact support", status.Reason)));
    }
}

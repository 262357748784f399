using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>Denies every transaction and limit arrangement on a frozen account; sign-ins are still decided.</summary>
public sealed class AccountFrozenRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override Type FactType => typeof(MoneyFact);

    /// <inheritdoc />
    public override void Define()
    {
        // The message names the freeze reason: one hit per reason the engine can freeze for, made here.
        _hits = ReasonCodes.Freezing.ToDictionary(r => r, HitFor, StringComparer.Ordinal);
        MoneyFact f = default!;
        When()
            .Match(() => f, x => x.Frozen);
        Then()
            .Do(_ => f.Add(HitFor(f)));
    }

    private Dictionary<string, RuleHit> _hits = [];

    private RuleHit HitFor(MoneyFact f) => f.FreezeReason is { } r && _hits.TryGetValue(r, out var hit) ? hit : HitFor(f.FreezeReason);

    private RuleHit HitFor(string? reason) => Hit(ReasonCodes.AccountFrozen, Outcome.Deny, "the account is frozen; contact support", reason);
}

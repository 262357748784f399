using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>
/// Denies every transaction and limit arrangement on a frozen account; sign-ins are still decided. The message is the
/// policy's <c>account.frozen</c> wording, with the freeze's reason and, when the wording names them, its support case
/// (<c>{case}</c>, <c>{account}</c>, <c>{event}</c>, <c>{at}</c>, <c>{amount}</c>, <c>{currency}</c>): the same words
/// the <c>account.frozen</c> event gave the user. Read-only once defined, so its actions may run on any session.
/// </summary>
public sealed class AccountFrozenRule(RiskPolicy policy) : PolicyRule(policy)
{
    private const string Fallback = "the account is frozen; contact support";

    /// <summary>Placeholders that differ per freeze: wording that uses one is rendered for each event.</summary>
    private static readonly string[] CasePlaceholders = ["{case}", "{account}", "{event}", "{at}", "{amount}", "{currency}"];

    /// <inheritdoc />
    public override Type FactType => typeof(MoneyFact);

    /// <inheritdoc />
    public override void Define()
    {
        // The message names the freeze reason: one hit per reason the engine can freeze for, made here, unless the
        // wording also names the case (the default policy's does), which differs per freeze.
        _perCase = Policy.Messages.Find(Policy.Messages.DefaultLanguage, ReasonCodes.AccountFrozen) is { } template &&
            Array.Exists(CasePlaceholders, p => template.Contains(p, StringComparison.Ordinal));
        _hits = ReasonCodes.Freezing.ToDictionary(r => r, HitFor, StringComparer.Ordinal);
        MoneyFact f = default!;
        When()
            .Match(() => f, x => x.Frozen);
        Then()
            .Do(_ => f.Add(HitFor(f)));
    }

    private Dictionary<string, RuleHit> _hits = [];
    private bool _perCase;

    private RuleHit HitFor(MoneyFact f)
    {
        if (_perCase && f.FreezeCase is { } c)
            return Hit(ReasonCodes.AccountFrozen, Outcome.Deny, Fallback, DecisionMaker.Placeholders(Policy, c.Account, c.Reason, c));
        return f.FreezeReason is { } r && _hits.TryGetValue(r, out var hit) ? hit : HitFor(f.FreezeReason);
    }

    private RuleHit HitFor(string? reason) => Hit(ReasonCodes.AccountFrozen, Outcome.Deny, Fallback, reason);
}

using RiskEngine.Decisions;
using RiskEngine.Events;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>
/// Denies a transaction that touches a country where the service is not offered: the request origin, the account's
/// residence or the counterparty's country, as the policy's <c>regions.check</c> lists.
/// </summary>
public sealed class RegionAvailabilityRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override bool IsEnabled => Policy.Regions.Mode == RegionMode.Allow || Policy.Regions.Countries.Count > 0;

    /// <inheritdoc />
    public override void Define()
    {
        TransactionFact tx = default!;
        When()
            .Match(() => tx, t => Unavailable(t.Attempt) != null);
        Then()
            .Do(_ => Collect(HitFor(tx)));
    }

    private RuleHit HitFor(TransactionFact tx) =>
        Hit(ReasonCodes.RegionUnavailable, Outcome.Deny, $"the service is not available in {Unavailable(tx.Attempt)}") with { Shadow = Policy.Regions.Shadow };

    private string? Unavailable(TransactionAttempt a)
    {
        var r = Policy.Regions;
        if (r.CheckOrigin && r.IsUnavailable(a.Origin)) return a.Origin.Value;
        if (r.CheckResidence && a.Residence is { } res && r.IsUnavailable(res)) return res.Value;
        if (r.CheckCounterparty && a.Counterparty is { } cp && r.IsUnavailable(cp)) return cp.Value;
        return null;
    }
}

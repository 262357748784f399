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
    public override Type FactType => typeof(TransactionFact);

    /// <inheritdoc />
    public override void Define()
    {
        _known = FixedHit(ReasonCodes.RegionUnavailable, Outcome.Deny) is { } k ? k with { Shadow = Policy.Regions.Shadow } : null;
        TransactionFact f = default!;
        When()
            .Match(() => f, x => Unavailable(x.Attempt) != null);
        Then()
            .Do(_ => f.Add(HitFor(f)));
    }

    private RuleHit? _known;

    private RuleHit HitFor(TransactionFact f) =>
        _known ?? Hit(ReasonCodes.RegionUnavailable, Outcome.Deny, $"the service is not available in {Unavailable(f.Attempt)}") with { Shadow = Policy.Regions.Shadow };

    private string? Unavailable(TransactionAttempt a)
    {
        var r = Policy.Regions;
        if (r.CheckOrigin && r.IsUnavailable(a.Origin)) return a.Origin.Value;
        if (r.CheckResidence && a.Residence is { } res && r.IsUnavailable(res)) return res.Value;
        if (r.CheckCounterparty && a.Counterparty is { } cp && r.IsUnavailable(cp)) return cp.Value;
        return null;
    }
}

using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>
/// Abnormal frequency: more attempts (or more value) in a trailing window than a velocity entry allows decides the
/// entry's <c>then</c>, a freeze by default. Compiled once per velocity entry of the policy, each named
/// <c>VelocityFreezeRule/ID</c>.
/// </summary>
public sealed class VelocityFreezeRule : PolicyRule
{
    private readonly int _index;

    /// <summary>The rule for the policy's first velocity entry (the class's stand-in; see <see cref="Instances"/>).</summary>
    public VelocityFreezeRule(RiskPolicy policy) : this(policy, 0)
    {
    }

    private VelocityFreezeRule(RiskPolicy policy, int index) : base(policy) => _index = index;

    /// <inheritdoc />
    public override bool IsEnabled => Policy.Velocity.Count > 0;

    /// <inheritdoc />
    public override Type FactType => typeof(TransactionFact);

    /// <inheritdoc />
    protected override string RuleId => $"{nameof(VelocityFreezeRule)}/{Policy.Velocity[_index].Id}";

    /// <inheritdoc />
    public override IEnumerable<PolicyRule> Instances() => Policy.Velocity.Select((_, i) => new VelocityFreezeRule(Policy, i));

    /// <inheritdoc />
    public override void Define()
    {
        var i = _index;
        var v = Policy.Velocity[i];
        var maxCount = v.MaxCount ?? int.MaxValue;
        var maxAmount = v.MaxAmount ?? decimal.MaxValue;
        _countHit = FixedHit(ReasonCodes.VelocityCount, v.Then) is { } c ? c with { Shadow = v.Shadow } : null;
        _amountHit = FixedHit(ReasonCodes.VelocityAmount, v.Then) is { } a ? a with { Shadow = v.Shadow } : null;
        Name(RuleId);
        TransactionFact f = default!;
        When()
            .Match(() => f, x => x.VelocityCounts.Length > i && (x.VelocityCounts[i] > maxCount || x.VelocityAmounts[i] > maxAmount));
        Then()
            .Do(_ => f.Add(HitFor(f)));
    }

    private RuleHit? _countHit;
    private RuleHit? _amountHit;

    private RuleHit HitFor(TransactionFact f)
    {
        var v = Policy.Velocity[_index];
        return f.VelocityCounts[_index] > (v.MaxCount ?? int.MaxValue)
            ? _countHit ?? Hit(ReasonCodes.VelocityCount, v.Then, $"{f.VelocityCounts[_index]} attempts within {v.Window}") with { Shadow = v.Shadow }
            : _amountHit ?? Hit(ReasonCodes.VelocityAmount, v.Then, $"{f.VelocityAmounts[_index]} {v.Currency} within {v.Window}") with { Shadow = v.Shadow };
    }
}

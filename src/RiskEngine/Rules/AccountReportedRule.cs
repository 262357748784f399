using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>Freezes an account whose user reports activity they did not do; only support lifts it.</summary>
public sealed class AccountReportedRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override Type FactType => typeof(ReportFact);

    /// <inheritdoc />
    public override void Define()
    {
        var hit = Hit(ReasonCodes.AccountReported, Outcome.Freeze, "activity you reported as not yours");
        ReportFact f = default!;
        When()
            .Match(() => f, x => true);
        Then()
            .Do(_ => f.Add(hit));
    }
}

using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>Denies an arranged limit whose <c>until</c> lies further ahead than the policy's <c>limits.maxDuration</c>.</summary>
public sealed class ArrangedLimitTooLongRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override Type FactType => typeof(LimitFact);

    /// <inheritdoc />
    public override void Define()
    {
        var hit = Hit(ReasonCodes.LimitTooLong, Outcome.Deny, $"an arranged limit can last at most {Days(Policy.MaxLimitDuration)}");
        LimitFact f = default!;
        When()
            .Match(() => f, x => x.TooLong);
        Then()
            .Do(_ => f.Add(hit));
    }

    private static string Days(TimeSpan d) =>
        d.TotalDays >= 1 && d.TotalDays == Math.Floor(d.TotalDays)
            ? $"{d.TotalDays.ToString(System.Globalization.CultureInfo.InvariantCulture)} days"
            : $"{d.TotalHours.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture)} hours";
}

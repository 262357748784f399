namespace RiskEngine.Decisions;

/// <summary>One rule that fired for an attempt.</summary>
/// <param name="Rule">The rule's id, e.g. <c>VelocityFreezeRule/burst</c>.</param>
/// <param name="Code">The reason code, e.g. <c>velocity.count</c>; stable, for machines.</param>
/// <param name="Message">A human sentence, from the policy's templates when it has one for <paramref name="Code"/>.</param>
/// <param name="Outcome">What this rule alone would decide.</param>
public sealed record RuleHit(string Rule, string Code, string Message, Outcome Outcome)
{
    /// <summary>Set by the failed-login lockout rule: apply the policy's lockout to the account.</summary>
    public bool StartsLockout { get; init; }

    /// <summary>From a policy entry in shadow mode: reported under <c>shadow</c>, never changes the outcome or state.</summary>
    public bool Shadow { get; init; }

    /// <summary>The rule's place in the compiled policy: hits of one outcome are reported in this order.</summary>
    internal int Order { get; init; }
}

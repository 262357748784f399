using RiskEngine.Decisions;

namespace RiskEngine.Rules;

/// <summary>
/// Where rule actions put their hits. Not a fact: joining every rule with a collector fact costs a join per rule and
/// decision. Rules fire synchronously on the deciding thread, so the collector is that thread's.
/// </summary>
public sealed class DecisionCollector
{
    [ThreadStatic] private static DecisionCollector? t_current;

    /// <summary>The collector of the decision being made on this thread.</summary>
    public static DecisionCollector Current => t_current ?? throw new InvalidOperationException("rules fired outside PolicyRuleSet.Fire");

    internal static DecisionCollector? Swap(DecisionCollector? collector)
    {
        var previous = t_current;
        t_current = collector;
        return previous;
    }

    /// <summary>Hits in firing order.</summary>
    public List<RuleHit> Hits { get; } = new(4);

    /// <summary>Adds a hit.</summary>
    public void Add(RuleHit hit) => Hits.Add(hit);
}

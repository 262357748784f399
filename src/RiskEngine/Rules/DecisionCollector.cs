using RiskEngine.Decisions;

namespace RiskEngine.Rules;

/// <summary>Inserted into every session; rule actions add their hits here.</summary>
public sealed class DecisionCollector
{
    /// <summary>Hits in firing order.</summary>
    public List<RuleHit> Hits { get; } = new(4);

    /// <summary>Adds a hit.</summary>
    public void Add(RuleHit hit) => Hits.Add(hit);
}

using NRules;
using NRules.Fluent;
using NRules.Fluent.Dsl;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>A policy compiled into an NRules session factory. Thread-safe; compiled once per policy version.</summary>
public sealed class PolicyRuleSet
{
    private PolicyRuleSet(RiskPolicy policy, ISessionFactory factory, IReadOnlyList<string> ruleNames)
    {
        Policy = policy;
        Factory = factory;
        RuleNames = ruleNames;
    }

    /// <summary>The policy.</summary>
    public RiskPolicy Policy { get; }

    /// <summary>The compiled rules; create one session per decision (sessions are not thread-safe).</summary>
    public ISessionFactory Factory { get; }

    /// <summary>Names of the rules compiled (the families the policy turned off are absent).</summary>
    public IReadOnlyList<string> RuleNames { get; }

    /// <summary>Every rule class in RiskEngine, in the order they are compiled.</summary>
    public static IReadOnlyList<Type> RuleTypes { get; } = typeof(PolicyRule).Assembly.GetTypes()
        .Where(t => t.IsSubclassOf(typeof(PolicyRule)) && !t.IsAbstract)
        .OrderBy(t => t.Name, StringComparer.Ordinal)
        .ToArray();

    /// <summary>Compiles <paramref name="policy"/>'s rules.</summary>
    public static PolicyRuleSet Compile(RiskPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var activator = new PolicyRuleActivator(policy);
        var repository = new RuleRepository(activator);
        repository.Load(x => x.From(RuleTypes));
        var factory = repository.Compile();
        var names = repository.GetRules().Select(r => r.Name).ToArray();
        return new PolicyRuleSet(policy, factory, names);
    }

    private sealed class PolicyRuleActivator(RiskPolicy policy) : IRuleActivator
    {
        public IEnumerable<Rule> Activate(Type type)
        {
            var rule = (PolicyRule)Activator.CreateInstance(type, policy)!;
            return rule.IsEnabled ? [rule] : [];
        }
    }
}

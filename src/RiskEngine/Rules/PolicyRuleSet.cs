using NRules;
using NRules.Fluent;
using NRules.Fluent.Dsl;
using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>A policy compiled into an NRules session factory. Thread-safe; compiled once per policy version.</summary>
public sealed class PolicyRuleSet
{
    // One idle session per thread, for the rule set it was made from (policy swaps are rare, so one slot is enough).
    [ThreadStatic] private static PolicyRuleSet? t_owner;
    [ThreadStatic] private static ISession? t_session;

    private PolicyRuleSet(RiskPolicy policy, ISessionFactory factory, IReadOnlyList<string> ruleNames)
    {
        Policy = policy;
        Factory = factory;
        RuleNames = ruleNames;
    }

    /// <summary>
    /// Inserts <paramref name="facts"/>, fires the rules, retracts the facts again and returns the hits, on a session kept per thread:
    /// creating a session costs more than the rules themselves, and a session is not thread-safe.
    /// </summary>
    public List<RuleHit> Fire(IReadOnlyList<object> facts)
    {
        ArgumentNullException.ThrowIfNull(facts);
        var collector = new DecisionCollector();
        var outer = DecisionCollector.Swap(collector);
        var session = ReferenceEquals(t_owner, this) && t_session is not null ? t_session : Factory.CreateSession();
        t_session = null; // taken: a re-entrant call on this thread gets its own
        try
        {
            session.InsertAll(facts);
            session.Fire();
            session.RetractAll(facts);
        }
        catch
        {
            session = null; // state unknown: let the next call on this thread start afresh
            throw;
        }
        finally
        {
            DecisionCollector.Swap(outer);
            if (session is not null)
            {
                t_owner = this;
                t_session = session;
            }
        }
        return collector.Hits;
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

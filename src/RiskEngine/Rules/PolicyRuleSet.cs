using NRules;
using NRules.Fluent;
using NRules.Fluent.Dsl;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>
/// A policy compiled into NRules: one session factory per fact type (transactions, sign-ins, limits), each holding
/// only the rules that match that type. Thread-safe; compiled once per policy version.
/// </summary>
public sealed class PolicyRuleSet
{
    private static readonly Type[] FactTypes = [typeof(TransactionFact), typeof(LoginFact), typeof(LimitFact), typeof(ReversalFact), typeof(ReportFact), typeof(LimitCancellationFact)];

    // Idle sessions of this thread, one per fact type, for the rule set they were made from (policy swaps are rare,
    // so one owner is enough). Creating a session costs more than the rules themselves; a session is not thread-safe.
    [ThreadStatic] private static PolicyRuleSet? t_owner;
    [ThreadStatic] private static ISession?[]? t_sessions;

    private readonly ISessionFactory[] _factories;

    private PolicyRuleSet(RiskPolicy policy, ISessionFactory[] factories, IReadOnlyList<string> ruleNames)
    {
        Policy = policy;
        _factories = factories;
        RuleNames = ruleNames;
    }

    /// <summary>The policy.</summary>
    public RiskPolicy Policy { get; }

    /// <summary>Names of the rules compiled (the families the policy turned off are absent; velocity rules once per entry).</summary>
    public IReadOnlyList<string> RuleNames { get; }

    /// <summary>Every rule class in RiskEngine, in the order they are compiled.</summary>
    public static IReadOnlyList<Type> RuleTypes { get; } = typeof(PolicyRule).Assembly.GetTypes()
        .Where(t => t.IsSubclassOf(typeof(PolicyRule)) && !t.IsAbstract)
        .OrderBy(t => t.Name, StringComparer.Ordinal)
        .ToArray();

    /// <summary>Fires the rules for one fact; its hits are then in <see cref="EventFact.Hits"/>.</summary>
    public void Fire(EventFact fact)
    {
        ArgumentNullException.ThrowIfNull(fact);
        FireGroup(TypeIndex(fact), [fact]);
    }

    /// <summary>
    /// Fires the rules for many facts at once: one insert, one fire, one retract per fact type. The facts must be
    /// independent (distinct accounts): rules see one fact at a time, so facts never influence each other.
    /// </summary>
    public void Fire(IReadOnlyList<EventFact> facts)
    {
        ArgumentNullException.ThrowIfNull(facts);
        if (facts.Count == 1)
        {
            Fire(facts[0]);
            return;
        }
        var byType = new List<EventFact>?[FactTypes.Length];
        foreach (var f in facts) (byType[TypeIndex(f)] ??= new List<EventFact>(facts.Count)).Add(f);
        for (var type = 0; type < byType.Length; type++)
            if (byType[type] is { } group) FireGroup(type, group);
    }

    private void FireGroup(int type, IReadOnlyList<EventFact> group)
    {
        var session = Take(type);
        try
        {
            session.InsertAll(group);
            session.Fire();
            session.RetractAll(group);
        }
        catch
        {
            session = null; // state unknown: the next call on this thread starts afresh
            throw;
        }
        finally
        {
            if (session is not null) Return(type, session);
        }
    }

    /// <summary>
    /// Fires <paramref name="facts"/> together; if that throws, fires them one at a time (hits cleared first), so only
    /// the facts whose own firing fails are reported, by index, with their exception. Null when none failed.
    /// </summary>
    public Dictionary<int, Exception>? FireIsolated(IReadOnlyList<EventFact> facts) => FireIsolated(facts, _fireAll ??= Fire, _fireOne ??= Fire);

    private Action<IReadOnlyList<EventFact>>? _fireAll;
    private Action<EventFact>? _fireOne;

    /// <summary>The logic of <see cref="FireIsolated(IReadOnlyList{EventFact})"/> over any way of firing (tests inject faults).</summary>
    internal static Dictionary<int, Exception>? FireIsolated(IReadOnlyList<EventFact> facts, Action<IReadOnlyList<EventFact>> fireAll, Action<EventFact> fireOne)
    {
        ArgumentNullException.ThrowIfNull(facts);
        if (facts.Count == 0) return null;
        try
        {
            fireAll(facts);
            return null;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            if (facts.Count == 1) return new Dictionary<int, Exception> { [0] = e };
        }
        Dictionary<int, Exception>? failed = null;
        for (var i = 0; i < facts.Count; i++)
        {
            try
            {
                facts[i].ClearHits(); // what a failed batch left is unknown
                fireOne(facts[i]);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                (failed ??= [])[i] = e;
            }
        }
        return failed;
    }

    private static int TypeIndex(EventFact fact) => fact switch
    {
        TransactionFact => 0,
        LoginFact => 1,
        LimitFact => 2,
        ReversalFact => 3,
        ReportFact => 4,
        LimitCancellationFact => 5,
        _ => throw new ArgumentException($"no rules match {fact.GetType().Name}", nameof(fact)),
    };

    private ISession Take(int type)
    {
        if (ReferenceEquals(t_owner, this) && t_sessions![type] is { } idle)
        {
            t_sessions[type] = null; // taken: a re-entrant call on this thread gets its own
            return idle;
        }
        return _factories[type].CreateSession();
    }

    private void Return(int type, ISession session)
    {
        if (!ReferenceEquals(t_owner, this))
        {
            t_owner = this;
            t_sessions = new ISession?[FactTypes.Length];
        }
        t_sessions![type] = session;
    }

    /// <summary>Compiles <paramref name="policy"/>'s rules.</summary>
    public static PolicyRuleSet Compile(RiskPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var factories = new ISessionFactory[FactTypes.Length];
        var names = new List<string>();
        for (var i = 0; i < FactTypes.Length; i++)
        {
            var repository = new RuleRepository(new PolicyRuleActivator(policy, FactTypes[i]));
            repository.Load(x => x.From(RuleTypes));
            factories[i] = repository.Compile();
            names.AddRange(repository.GetRules().Select(r => r.Name).Where(n => !names.Contains(n)));
        }
        return new PolicyRuleSet(policy, factories, names);
    }

    /// <summary>Makes the enabled rules that match <paramref name="factType"/>, numbered in compile order.</summary>
    private sealed class PolicyRuleActivator(RiskPolicy policy, Type factType) : IRuleActivator
    {
        public IEnumerable<Rule> Activate(Type type)
        {
            var rule = (PolicyRule)Activator.CreateInstance(type, policy)!;
            if (!rule.IsEnabled || !rule.FactType.IsAssignableFrom(factType)) return [];
            var typeIndex = ((IList<Type>)RuleTypes).IndexOf(type);
            var instances = rule.Instances().ToList();
            for (var i = 0; i < instances.Count; i++) instances[i].Order = typeIndex * 10_000 + i;
            return instances;
        }
    }
}

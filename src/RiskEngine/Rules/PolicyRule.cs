using NRules.Fluent.Dsl;
using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>
/// Base of RiskEngine's rules: one instance per compiled policy, so thresholds come from the policy through the
/// constructor and are baked into the compiled network.
/// </summary>
public abstract class PolicyRule : Rule
{
    /// <summary>Creates the rule for <paramref name="policy"/>.</summary>
    protected PolicyRule(RiskPolicy policy) => Policy = policy;

    /// <summary>The policy this rule was compiled for.</summary>
    protected RiskPolicy Policy { get; }

    /// <summary>False when the policy turns this rule's family off; the rule is then not compiled at all.</summary>
    public virtual bool IsEnabled => true;

    /// <summary>The rule's id in decisions: its class name.</summary>
    protected virtual string RuleId => GetType().Name;

    /// <summary>Records a hit for the decision being made on this thread (see <see cref="DecisionCollector.Current"/>).</summary>
    protected static void Collect(RuleHit hit) => DecisionCollector.Current.Add(hit);

    /// <summary>
    /// A hit with the policy's message for <paramref name="code"/> (placeholders filled: support contacts, and
    /// <c>{reason}</c> from <paramref name="reason"/>), or <paramref name="fallback"/> when the policy has none.
    /// </summary>
    protected RuleHit Hit(string code, Outcome outcome, string fallback, string? reason = null)
    {
        // A policy's messages never change, so each (code, reason, fallback) renders once per rule set.
        var message = _messages.GetOrAdd((code, reason, fallback), static (k, p) =>
            p.Messages.RenderOne(p.Messages.DefaultLanguage, k.Code, Placeholders(p, k.Reason ?? k.Code), k.Fallback), Policy);
        return new RuleHit(RuleId, code, message, outcome);
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Code, string? Reason, string Fallback), string> _messages = new();

    /// <summary>Values for message placeholders: <c>{reason}</c>, <c>{phone}</c>, <c>{chat}</c>, <c>{email}</c>.</summary>
    internal static Dictionary<string, string> Placeholders(RiskPolicy policy, string reason) => new(StringComparer.Ordinal)
    {
        ["reason"] = reason,
        ["phone"] = policy.Support.Phone,
        ["chat"] = policy.Support.Chat,
        ["email"] = policy.Support.Email,
    };
}

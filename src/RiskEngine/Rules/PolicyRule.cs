using NRules.Fluent.Dsl;
using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>
/// Base of RiskEngine's rules: one instance per compiled policy, so thresholds come from the policy through the
/// constructor and are baked into the compiled network. Each rule matches one fact type (<see cref="FactType"/>)
/// with a single pattern and adds a hit to the fact when it fires; hits that do not depend on the event are made
/// once, when the rule is defined.
/// </summary>
public abstract class PolicyRule : Rule
{
    /// <summary>Creates the rule for <paramref name="policy"/>.</summary>
    protected PolicyRule(RiskPolicy policy) => Policy = policy;

    /// <summary>The policy this rule was compiled for.</summary>
    protected RiskPolicy Policy { get; }

    /// <summary>False when the policy turns this rule's family off; the rule is then not compiled at all.</summary>
    public virtual bool IsEnabled => true;

    /// <summary>The fact type the rule matches; it is compiled into the session factory of the events of that type.</summary>
    public abstract Type FactType { get; }

    /// <summary>Where the rule's hits sort among the hits of one decision with the same outcome (compile order).</summary>
    internal int Order { get; set; }

    /// <summary>The rules to compile for this class: itself, or one instance per policy entry (velocity).</summary>
    public virtual IEnumerable<PolicyRule> Instances() => [this];

    /// <summary>The rule's id in decisions: its class name.</summary>
    protected virtual string RuleId => GetType().Name;

    /// <summary>
    /// A hit with the policy's message for <paramref name="code"/> (placeholders filled: support contacts, and
    /// <c>{reason}</c> from <paramref name="reason"/>), or <paramref name="fallback"/> when the policy has none.
    /// </summary>
    protected RuleHit Hit(string code, Outcome outcome, string fallback, string? reason = null) =>
        new(RuleId, code, Message(code, reason) ?? fallback, outcome) { Order = Order };

    /// <summary>
    /// A hit with the policy's message for <paramref name="code"/> rendered with <paramref name="values"/> (an account's
    /// own: its support case), or <paramref name="fallback"/> when the policy has none.
    /// </summary>
    internal RuleHit Hit(string code, Outcome outcome, string fallback, IReadOnlyDictionary<string, string> values)
    {
        var language = Policy.Messages.DefaultLanguage;
        var message = Policy.Messages.Find(language, code) is null
            ? (language == "en" ? null : BuiltInWording.Find(language, code))
            : Policy.Messages.RenderOne(language, code, values, "");
        return new(RuleId, code, message ?? fallback, outcome) { Order = Order };
    }

    /// <summary>The hit for <paramref name="code"/> when the policy words it (the same for every event), else null.</summary>
    protected RuleHit? FixedHit(string code, Outcome outcome) => Message(code) is null ? null : Hit(code, outcome, "");

    /// <summary>The policy's message for <paramref name="code"/>, or null when it has none (then callers describe the event).</summary>
    protected string? Message(string code, string? reason = null)
    {
        var language = Policy.Messages.DefaultLanguage;
        if (Policy.Messages.Find(language, code) is null)
        {
            // English keeps the rules' texts (they name the currency, limit or region); zh-CN gets the engine's words.
            return language == "en" ? null : BuiltInWording.Find(language, code);
        }
        return Policy.Messages.RenderOne(Policy.Messages.DefaultLanguage, code, Placeholders(Policy, reason ?? code), "");
    }

    /// <summary>Values for message placeholders: <c>{reason}</c>, <c>{phone}</c>, <c>{chat}</c>, <c>{email}</c>.</summary>
    internal static Dictionary<string, string> Placeholders(RiskPolicy policy, string reason) => new(StringComparer.Ordinal)
    {
        ["reason"] = reason,
        ["phone"] = policy.Support.Phone,
        ["chat"] = policy.Support.Chat,
        ["email"] = policy.Support.Email,
    };
}

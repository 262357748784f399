using System.Globalization;
using System.Text;
using RiskEngine.Decisions;
using RiskEngine.Events;
using RiskEngine.Policies;

namespace RiskEngine.Cli;

/// <summary>
/// What a policy did to labelled traffic, per scenario: an attack is a scenario against one account; it counts as
/// stopped when any of its events is not allowed, and the fraudulent payments it got through before that are what
/// the policy let leave. Legitimate traffic: accounts frozen, payments denied and challenged. A legitimate payment
/// denied because an attack froze the account (the customer's own payment on an account the attacker holds the
/// password of) is the freeze working, not a false positive: it is counted on its own line, not as denied. Not
/// thread-safe.
/// </summary>
internal sealed class ScenarioMetrics
{
    private readonly Dictionary<string, Attack> _attacks = new(StringComparer.Ordinal);
    private readonly HashSet<string> _legitAccounts = new(StringComparer.Ordinal);
    private readonly HashSet<string> _legitFrozen = new(StringComparer.Ordinal);
    private readonly HashSet<string> _frozenByAttack = new(StringComparer.Ordinal);
    private int _legitPayments, _legitDenied, _legitChallenged, _victimDenied;

    private sealed class Attack(string scenario)
    {
        public string Scenario { get; } = scenario;
        public bool Stopped { get; set; }
        public int Payments { get; set; }
        public int AllowedBeforeStop { get; set; }
    }

    /// <summary>Counts one decided event of labelled traffic (in stream order).</summary>
    public void Add(RiskEvent e, string label, string? scenario, Decision decision)
    {
        var outcome = decision.Outcome;
        var payment = e is TransactionAttempt;
        var account = e.Account.Value;
        if (label != "fraud")
        {
            _legitAccounts.Add(account);
            if (outcome == Outcome.Freeze)
            {
                _legitFrozen.Add(account);
                _frozenByAttack.Remove(account);
            }
            if (e is SupportUnfreeze && outcome == Outcome.Allow) _frozenByAttack.Remove(account);
            if (!payment) return;
            _legitPayments++;
            if (outcome >= Outcome.Deny && decision.Reasons.Count == 1 && decision.HasReason(ReasonCodes.AccountFrozen) && _frozenByAttack.Contains(account)) _victimDenied++;
            else if (outcome >= Outcome.Deny) _legitDenied++;
            else if (outcome == Outcome.Challenge) _legitChallenged++;
            return;
        }
        if (outcome == Outcome.Freeze) _frozenByAttack.Add(account);
        var name = scenario ?? "fraud";
        var key = name + "\n" + e.Account.Value;
        if (!_attacks.TryGetValue(key, out var attack)) _attacks[key] = attack = new Attack(name);
        if (payment)
        {
            attack.Payments++;
            if (outcome == Outcome.Allow && !attack.Stopped) attack.AllowedBeforeStop++;
        }
        if (outcome != Outcome.Allow) attack.Stopped = true;
    }

    public int Attacks => _attacks.Count;

    public double? StoppedShare => Share(_attacks.Values.Count(a => a.Stopped), _attacks.Count);

    public double? FraudPaymentsAllowedShare => Share(_attacks.Values.Sum(a => a.AllowedBeforeStop), _attacks.Values.Sum(a => a.Payments));

    public double? LegitAccountsFrozenShare => Share(_legitFrozen.Count, _legitAccounts.Count);

    public double? LegitPaymentsDeniedShare => Share(_legitDenied, _legitPayments);

    /// <summary>Legitimate payments denied only because an attack had frozen the account (not counted in <see cref="LegitPaymentsDeniedShare"/>).</summary>
    public double? VictimPaymentsDeniedShare => Share(_victimDenied, _legitPayments);

    public double? LegitPaymentsChallengedShare => Share(_legitChallenged, _legitPayments);

    /// <summary>Per scenario: attacks, share stopped, share of its fraudulent payments allowed before the stop.</summary>
    public IEnumerable<(string Scenario, int Attacks, double? Stopped, double? PaymentsAllowed)> PerScenario() =>
        _attacks.Values.GroupBy(a => a.Scenario, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g =>
            (g.Key, g.Count(), Share(g.Count(a => a.Stopped), g.Count()), Share(g.Sum(a => a.AllowedBeforeStop), g.Sum(a => a.Payments))));

    public object ToJson() => new Dictionary<string, object?>
    {
        ["attacks"] = Attacks,
        ["attacksStopped"] = StoppedShare,
        ["fraudPaymentsAllowed"] = FraudPaymentsAllowedShare,
        ["legitAccountsFrozen"] = LegitAccountsFrozenShare,
        ["legitPaymentsDenied"] = LegitPaymentsDeniedShare,
        ["legitPaymentsChallenged"] = LegitPaymentsChallengedShare,
        ["victimPaymentsDeniedWhileFrozenByAttack"] = VictimPaymentsDeniedShare,
        ["scenarios"] = PerScenario().ToDictionary(s => s.Scenario, s => new { attacks = s.Attacks, stopped = s.Stopped, paymentsAllowed = s.PaymentsAllowed }),
    };

    /// <summary>The two policies side by side.</summary>
    public static string Table(ScenarioMetrics current, ScenarioMetrics candidate)
    {
        var sb = new StringBuilder();
        void Row(string name, double? a, double? b) =>
            sb.AppendLine(CultureInfo.InvariantCulture, $"{name,-44}{Pct(a),12}{Pct(b),12}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"{"(labelled scenarios)",-44}{"current",12}{"candidate",12}");
        Row("attacks stopped", current.StoppedShare, candidate.StoppedShare);
        Row("fraud payments allowed before stop", current.FraudPaymentsAllowedShare, candidate.FraudPaymentsAllowedShare);
        Row("legit accounts frozen", current.LegitAccountsFrozenShare, candidate.LegitAccountsFrozenShare);
        Row("legit payments denied", current.LegitPaymentsDeniedShare, candidate.LegitPaymentsDeniedShare);
        Row("legit payments challenged", current.LegitPaymentsChallengedShare, candidate.LegitPaymentsChallengedShare);
        Row("victims' payments denied, frozen by attack", current.VictimPaymentsDeniedShare, candidate.VictimPaymentsDeniedShare);
        var b = candidate.PerScenario().ToDictionary(s => s.Scenario, StringComparer.Ordinal);
        foreach (var s in current.PerScenario())
        {
            var c = b.GetValueOrDefault(s.Scenario);
            Row($"  {s.Scenario}: stopped ({s.Attacks})", s.Stopped, c.Stopped);
            Row($"  {s.Scenario}: payments allowed", s.PaymentsAllowed, c.PaymentsAllowed);
        }
        return sb.ToString();
    }

    private static double? Share(int part, int whole) => whole == 0 ? null : (double)part / whole;

    internal static string Pct(double? v) => v is null ? "n/a" : v.Value.ToString("P2", CultureInfo.InvariantCulture);
}

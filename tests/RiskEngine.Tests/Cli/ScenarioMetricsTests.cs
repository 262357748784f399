using RiskEngine.Cli;
using RiskEngine.Decisions;
using RiskEngine.Domain;
using RiskEngine.Events;

namespace RiskEngine.Tests.Cli;

/// <summary>The backtest's per-scenario figures: attacks stopped, fraud let through first, legitimate customers hurt.</summary>
public sealed class ScenarioMetricsTests
{
    private static int _next;

    private static TransactionAttempt Pay(string account) =>
        new(EventId.Create($"m{Interlocked.Increment(ref _next)}"), TestEngine.T0, AccountId.Create(account), Money.Create(10m, "USD"), CountryCode.Create("US"), DeviceId.Create("d"));

    private static LoginAttempt SignIn(string account) =>
        new(EventId.Create($"m{Interlocked.Increment(ref _next)}"), TestEngine.T0, AccountId.Create(account), true, DeviceId.Create("d"), CountryCode.Create("US"));

    private static Decision D(RiskEvent e, Outcome outcome, params string[] codes) =>
        new(e.Id, e.Account, e.At, outcome, codes.Select(c => new RuleHit(c, c, c, outcome)).ToList(), "test", []);

    private static void Add(ScenarioMetrics m, RiskEvent e, string label, string scenario, Outcome outcome, params string[] codes) =>
        m.Add(e, label, scenario, D(e, outcome, codes.Length > 0 ? codes : outcome == Outcome.Allow ? [] : ["rule." + outcome]));

    [Fact]
    public void An_attack_is_stopped_at_its_first_refused_event_and_the_payments_before_it_count_as_let_through()
    {
        var m = new ScenarioMetrics();
        // card testing on account x: two payments allowed, the third frozen, a fourth denied after the stop.
        Add(m, Pay("x"), "fraud", "card-testing", Outcome.Allow);
        Add(m, Pay("x"), "fraud", "card-testing", Outcome.Allow);
        Add(m, Pay("x"), "fraud", "card-testing", Outcome.Freeze);
        Add(m, Pay("x"), "fraud", "card-testing", Outcome.Deny);
        // takeover on y: the sign-in is challenged (stopped), its payment never allowed.
        Add(m, SignIn("y"), "fraud", "takeover", Outcome.Challenge);
        Add(m, Pay("y"), "fraud", "takeover", Outcome.Deny);
        // takeover on z: never stopped.
        Add(m, Pay("z"), "fraud", "takeover", Outcome.Allow);
        // legitimate customers: one frozen, payments denied and challenged.
        Add(m, Pay("a"), "legit", "shopping", Outcome.Allow);
        Add(m, Pay("a"), "legit", "shopping", Outcome.Challenge);
        Add(m, Pay("b"), "legit", "shopping", Outcome.Deny);
        Add(m, SignIn("b"), "legit", "travel", Outcome.Freeze);

        Assert.Equal(3, m.Attacks);
        Assert.Equal(2.0 / 3, m.StoppedShare!.Value, 6);
        Assert.Equal(3.0 / 6, m.FraudPaymentsAllowedShare!.Value, 6); // x: 2 of 4, y: 0 of 1, z: 1 of 1
        Assert.Equal(0.5, m.LegitAccountsFrozenShare);
        Assert.Equal(1.0 / 3, m.LegitPaymentsDeniedShare!.Value, 6);
        Assert.Equal(1.0 / 3, m.LegitPaymentsChallengedShare!.Value, 6);
        var takeover = m.PerScenario().Single(s => s.Scenario == "takeover");
        Assert.Equal((2, 0.5, 0.5), (takeover.Attacks, takeover.Stopped!.Value, takeover.PaymentsAllowed!.Value));
        Assert.Contains("attacks stopped", ScenarioMetrics.Table(m, m), StringComparison.Ordinal);
    }

    [Fact]
    public void A_customer_s_payment_denied_because_an_attack_froze_the_account_is_counted_apart_from_false_positives()
    {
        var m = new ScenarioMetrics();
        // v: the attacker's sign-in freezes the account; the customer's next payment is denied only for the freeze.
        Add(m, SignIn("v"), "fraud", "takeover", Outcome.Freeze, "login.impossible_travel");
        Add(m, Pay("v"), "legit", "payment", Outcome.Deny, "account.frozen");
        // after support lifts the freeze, a denial is the policy's own again.
        var unfreeze = new SupportUnfreeze(EventId.Create("m-unfreeze"), TestEngine.T0, AccountId.Create("v"), "agent", "verified the customer");
        Add(m, unfreeze, "legit", "support", Outcome.Allow);
        Add(m, Pay("v"), "legit", "payment", Outcome.Deny, "account.frozen");
        // w: frozen by a legitimate event of its own (a false positive): its denials count as denied.
        Add(m, Pay("w"), "legit", "payment", Outcome.Freeze, "velocity.count");
        Add(m, Pay("w"), "legit", "payment", Outcome.Deny, "account.frozen");

        Assert.Equal(1.0 / 4, m.VictimPaymentsDeniedShare!.Value, 6);
        Assert.Equal(3.0 / 4, m.LegitPaymentsDeniedShare!.Value, 6); // of 4 payments: v after the unfreeze, w's freeze and w's denial
        Assert.Contains("frozen by attack", ScenarioMetrics.Table(m, m), StringComparison.Ordinal);
    }
}

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

    [Fact]
    public void An_attack_is_stopped_at_its_first_refused_event_and_the_payments_before_it_count_as_let_through()
    {
        var m = new ScenarioMetrics();
        // card testing on account x: two payments allowed, the third frozen, a fourth denied after the stop.
        m.Add(Pay("x"), "fraud", "card-testing", Outcome.Allow);
        m.Add(Pay("x"), "fraud", "card-testing", Outcome.Allow);
        m.Add(Pay("x"), "fraud", "card-testing", Outcome.Freeze);
        m.Add(Pay("x"), "fraud", "card-testing", Outcome.Deny);
        // takeover on y: the sign-in is challenged (stopped), its payment never allowed.
        m.Add(SignIn("y"), "fraud", "takeover", Outcome.Challenge);
        m.Add(Pay("y"), "fraud", "takeover", Outcome.Deny);
        // takeover on z: never stopped.
        m.Add(Pay("z"), "fraud", "takeover", Outcome.Allow);
        // legitimate customers: one frozen, payments denied and challenged.
        m.Add(Pay("a"), "legit", "shopping", Outcome.Allow);
        m.Add(Pay("a"), "legit", "shopping", Outcome.Challenge);
        m.Add(Pay("b"), "legit", "shopping", Outcome.Deny);
        m.Add(SignIn("b"), "legit", "travel", Outcome.Freeze);

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
}

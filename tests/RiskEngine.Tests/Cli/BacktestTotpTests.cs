using System.Text;
using System.Text.Json.Nodes;
using RiskEngine.Cli;
using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Tests.Cli;

/// <summary>
/// Under <c>totp.stepUp: "verified"</c> a replayed stream cannot prove a TOTP check; the backtest performs one through
/// the real two-factor service for lines marked <c>simulation: "totp_passed"</c>, and only for those.
/// </summary>
public sealed class BacktestTotpTests() : ScratchFolder("riskengine-backtest-totp-")
{
    private static RiskPolicy Default(string stepUp)
    {
        using var s = typeof(PolicyLoader).Assembly.GetManifestResourceStream("RiskEngine.Policies.default.json")!;
        var json = JsonNode.Parse(s)!.AsObject();
        json["totp"]!["stepUp"] = stepUp;
        return PolicyLoader.Load(Encoding.UTF8.GetBytes(json.ToJsonString()), stepUp);
    }

    private static string Line(string type, string id, string at, string account, string extra, string label, string? simulation = null) =>
        $$"""{"type":"{{type}}","id":"{{id}}","at":"2026-11-01T10:{{at}}Z","account":"{{account}}","device":"d1","country":"US"{{extra}},"label":"{{label}}","scenario":"s"{{(simulation is null ? "" : $",\"simulation\":\"{simulation}\"")}}}""";

    [Fact]
    public async Task A_customer_s_retry_after_a_real_totp_check_is_allowed_and_a_bare_claim_is_not_whatever_the_label()
    {
        const string pay = ",\"amount\":6000,\"currency\":\"USD\"";
        string[] lines =
        [
            // c passed TOTP before retrying; m (labelled legit, so the label cannot be what decides) only claims it.
            Line("login", "c1", "00:00", "c", ",\"success\":true", "legit"),
            Line("transaction", "c2", "01:00", "c", pay, "legit"),
            Line("transaction", "c3", "01:40", "c", pay + ",\"authenticated\":\"totp\"", "legit", "totp_passed"),
            Line("login", "m1", "00:00", "m", ",\"success\":true", "legit"),
            Line("transaction", "m2", "01:00", "m", pay, "legit"),
            Line("transaction", "m3", "01:40", "m", pay + ",\"authenticated\":\"totp\"", "legit"),
            // f is labelled fraud yet marked as having passed: the mark, not the label, stands for the check.
            Line("login", "f1", "00:00", "f", ",\"success\":true", "fraud"),
            Line("transaction", "f2", "02:00", "f", pay + ",\"authenticated\":\"totp\"", "fraud", "totp_passed"),
            // A code counts once: a second attempt on the same check is challenged again.
            Line("transaction", "f3", "02:30", "f", pay + ",\"authenticated\":\"totp\"", "fraud"),
        ];
        await File.WriteAllLinesAsync(P("events.jsonl"), lines);

        var report = await BacktestCommand.RunAsync(P("events.jsonl"), Default("verified"), Default("trust-caller"), CancellationToken.None);

        Assert.Equal(9, report.Events);
        Assert.Equal(2, report.TotpPassed);
        Assert.Equal(0, report.TotpRefused);
        // Verified: logins, c3 and f2 allowed; c2, m2, m3 and f3 challenged. Trust-caller also allows the bare claims m3 and f3.
        Assert.Equal(5, report.Current.Counts[(int)Outcome.Allow]);
        Assert.Equal(4, report.Current.Counts[(int)Outcome.Challenge]);
        Assert.Equal(7, report.Candidate.Counts[(int)Outcome.Allow]);
        Assert.Equal(["f3", "m3"], report.Changed.Select(c => c.Event).Order(StringComparer.Ordinal));
        Assert.All(report.Changed, c => Assert.Equal((Outcome.Challenge, Outcome.Allow), (c.Current, c.Candidate)));
        Assert.All(report.Changed, c => Assert.Contains("cap.step_up", c.CurrentReasons, StringComparison.Ordinal));
    }
}

using System.Text;
using Microsoft.Extensions.DependencyInjection;
using RiskEngine.Benchmarks.Baseline;
using RiskEngine.Benchmarks.Traffic;
using RiskEngine.Events;

namespace RiskEngine.Tests.Benchmarks;

/// <summary>
/// The benchmark floor must decide what the engine decides, or the ratio measures different work. It also
/// cross-checks the engine's rules against an independent implementation of the contract.
/// </summary>
public sealed class BaselineEquivalenceTests
{
    [Fact]
    public async Task The_hand_written_baseline_gives_the_engine_s_outcome_on_100000_generated_events()
    {
        var lines = new TrafficGenerator(accounts: 2_000, events: 100_000, seed: 20261127, span: TimeSpan.FromDays(3)).Generate(100_000).ToList();
        Assert.Equal(100_000, lines.Count);
        await using var provider = new ServiceCollection().AddRiskEngine(o => o.MaxFutureSkew = null).BuildServiceProvider();
        var engine = provider.GetRequiredService<IRiskEngine>();
        var baseline = new HandWrittenEvaluator(engine.Policy);

        var outcomes = new Dictionary<string, int>();
        for (var i = 0; i < lines.Count; i++)
        {
            var parsed = EventParser.Parse(Encoding.UTF8.GetBytes(lines[i]));
            Assert.True(parsed.Event is not null, $"generated line {i + 1} was rejected: {parsed.Rejection}");
            var result = await engine.EvaluateAsync(parsed.Event);
            var expected = baseline.Decide(parsed.Event);
            var actual = result.Decision?.Outcome;
            Assert.True(expected == actual,
                $"line {i + 1}: engine {actual?.ToString() ?? "rejected"} ({string.Join(",", result.Decision?.Reasons.Select(r => r.Code) ?? [])}), baseline {expected?.ToString() ?? "rejected"}\n{lines[i]}");
            var key = actual?.ToString() ?? "rejected";
            outcomes[key] = outcomes.GetValueOrDefault(key) + 1;
        }
        // The stream exercises every outcome, so agreement is not agreement on "allow" alone.
        Assert.All(new[] { "Allow", "Challenge", "Deny", "Freeze" }, o => Assert.True(outcomes.GetValueOrDefault(o) > 50, $"{o}: {outcomes.GetValueOrDefault(o)}"));
    }

    /// <summary>
    /// Runs of failed and successful sign-ins a minute or two apart, which the generated traffic rarely holds: the
    /// failure count (reset by a lockout and by an allowed sign-in), lockouts and the freeze after them.
    /// </summary>
    [Fact]
    public async Task The_hand_written_baseline_gives_the_engine_s_outcome_on_runs_of_failed_and_successful_sign_ins()
    {
        await using var provider = new ServiceCollection().AddRiskEngine(o => o.MaxFutureSkew = null).BuildServiceProvider();
        var engine = provider.GetRequiredService<IRiskEngine>();
        var baseline = new HandWrittenEvaluator(engine.Policy);
        var rng = new Random(20261127);
        var t0 = new DateTimeOffset(2026, 11, 27, 10, 0, 0, TimeSpan.Zero);
        var outcomes = new Dictionary<string, int>();
        for (var account = 0; account < 40; account++)
        {
            var at = t0;
            for (var i = 0; i < 150; i++)
            {
                at += TimeSpan.FromSeconds(rng.Next(20, 240));
                var ok = rng.NextDouble() < 0.3;
                var line = $$"""{"type":"login","id":"l{{account}}-{{i}}","at":"{{at.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}}","account":"acct-{{account}}","success":{{(ok ? "true" : "false")}},"device":"dev-{{account}}","country":"US"}""";
                var e = EventParser.Parse(Encoding.UTF8.GetBytes(line)).Event!;
                var actual = (await engine.EvaluateAsync(e)).Decision!;
                var expected = baseline.Decide(e);
                Assert.True(expected == actual.Outcome, $"{line}: engine {actual.Outcome} ({string.Join(",", actual.Reasons.Select(r => r.Code))}), baseline {expected}");
                foreach (var r in actual.Reasons) outcomes[r.Code] = outcomes.GetValueOrDefault(r.Code) + 1;
            }
        }
        Assert.All(new[] { "login.failed", "login.failed_attempts", "login.locked" }, c => Assert.True(outcomes.GetValueOrDefault(c) > 20, $"{c}: {outcomes.GetValueOrDefault(c)}"));
    }
}

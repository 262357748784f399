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
}

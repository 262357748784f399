using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using RiskEngine.Pipeline;

namespace RiskEngine.Tests.Contract;

/// <summary>The wire contract's own example: events.example.jsonl under policy.example.json gives expected.example.jsonl.</summary>
public sealed class ContractExampleTests
{
    private static string Sample(string name) => Path.Combine(AppContext.BaseDirectory, "samples", name);

    [Fact]
    public async Task Example_stream_produces_the_expected_records()
    {
        var services = new ServiceCollection().AddRiskEngine(o =>
        {
            o.PolicyPath = Sample("policy.example.json");
            o.MaxFutureSkew = null;
        });
        await using var provider = services.BuildServiceProvider();
        var engine = provider.GetRequiredService<IRiskEngine>();
        await using var input = File.OpenRead(Sample("events.example.jsonl"));
        using var output = new MemoryStream();
        using var deadLetter = new MemoryStream();

        var summary = await new EventStreamProcessor(engine).RunAsync(input, output, deadLetter);

        var actual = Lines(Encoding.UTF8.GetString(output.ToArray()));
        var expected = Lines(await File.ReadAllTextAsync(Sample("expected.example.jsonl")));
        AssertMatches(expected, actual);
        Assert.Equal(34, summary.Lines);
        Assert.Equal(3, summary.Rejected);
        var dead = Lines(Encoding.UTF8.GetString(deadLetter.ToArray()));
        Assert.Equal([28L, 29L, 34L], dead.Select(d => d["line"]!.GetValue<long>()));
        Assert.All(dead, d => Assert.False(string.IsNullOrWhiteSpace(d["error"]!.GetValue<string>())));
        Assert.All(actual.Where(a => a["type"]!.GetValue<string>() == "decision"),
            a => Assert.Equal(engine.Policy.Version, a["policy"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Replay_command_prints_the_expected_records()
    {
        var outFile = Path.GetTempFileName();
        try
        {
            var code = await RiskEngine.Cli.Program.Build()
                .Parse(["replay", "--policy", Sample("policy.example.json"), "--input", Sample("events.example.jsonl"), "--output", outFile])
                .InvokeAsync();
            Assert.Equal(0, code);
            AssertMatches(Lines(await File.ReadAllTextAsync(Sample("expected.example.jsonl"))), Lines(await File.ReadAllTextAsync(outFile)));
        }
        finally
        {
            File.Delete(outFile);
        }
    }

    [Fact]
    public async Task Replay_command_refuses_a_bad_policy_with_file_path_and_reason()
    {
        var policy = Path.GetTempFileName();
        var error = new StringWriter();
        var previous = Console.Error;
        try
        {
            var json = JsonNode.Parse(await File.ReadAllTextAsync(Sample("policy.example.json")))!;
            json["assets"]!["USD"]!["daily"] = -5;
            await File.WriteAllTextAsync(policy, json.ToJsonString());
            Console.SetError(error);
            var code = await RiskEngine.Cli.Program.Build().Parse(["replay", "--policy", policy, "--input", Sample("events.example.jsonl"), "--output", Path.GetTempFileName()]).InvokeAsync();
            Assert.Equal(1, code);
            Assert.Contains(policy, error.ToString(), StringComparison.Ordinal);
            Assert.Contains("$.assets.USD.daily", error.ToString(), StringComparison.Ordinal);
            Assert.Contains("greater than 0", error.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            Console.SetError(previous);
            File.Delete(policy);
        }
    }

    internal static List<JsonObject> Lines(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();

    /// <summary>The contract's comparison: same number of records; each expected field equal; expected reason codes present.</summary>
    internal static void AssertMatches(List<JsonObject> expected, List<JsonObject> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            foreach (var (name, value) in expected[i])
            {
                var where = $"record {i + 1} ({expected[i].ToJsonString()}), field {name}";
                Assert.True(actual[i].ContainsKey(name), $"{where}: missing in {actual[i].ToJsonString()}");
                if (name == "reasons")
                {
                    var codes = actual[i]["reasons"]!.AsArray().Select(r => r!["code"]!.GetValue<string>()).ToHashSet();
                    foreach (var code in value!.AsArray()) Assert.True(codes.Contains(code!.GetValue<string>()), $"{where}: {code} not in {string.Join(",", codes)}");
                    if (value.AsArray().Count == 0) Assert.Empty(codes);
                }
                else
                {
                    Assert.True(JsonNode.DeepEquals(value, actual[i][name]), $"{where}: expected {value?.ToJsonString()}, got {actual[i][name]?.ToJsonString()}");
                }
            }
        }
    }
}

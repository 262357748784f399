using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using RiskEngine.Benchmarks.Traffic;
using RiskEngine.Pipeline;
using RiskEngine.Tests.Packaging;

namespace RiskEngine.Tests.Contract;

/// <summary>
/// No user ever reads a template's <c>{placeholder}</c>: every record the engine writes for the shipped samples and
/// policies, and for generated traffic, has its messages filled in — decision reasons (<c>message</c>) and every
/// language of an account event's <c>message</c> — and so do the expected outputs and the documentation's examples.
/// </summary>
public sealed partial class PlaceholderTests
{
    private static string Sample(string name) => Path.Combine(AppContext.BaseDirectory, "samples", name);

    [GeneratedRegex(@"\{[A-Za-z][A-Za-z0-9_:.-]*\}")]
    private static partial Regex Placeholder();

    /// <summary>Every sample stream under every shipped policy: the samples' own and the embedded default's files.</summary>
    public static TheoryData<string, string> StreamsAndPolicies()
    {
        var data = new TheoryData<string, string>();
        var policies = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "samples"), "policy*.json")
            .Concat(Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "policies"), "*.json"))
            .Select(p => Path.GetRelativePath(AppContext.BaseDirectory, p).Replace('\\', '/')).Order(StringComparer.Ordinal).ToArray();
        Assert.True(policies.Length >= 3, string.Join(", ", policies));
        foreach (var events in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "samples"), "events*.jsonl").Order(StringComparer.Ordinal))
            foreach (var policy in policies) data.Add(Path.GetFileName(events), policy);
        return data;
    }

    [Theory]
    [MemberData(nameof(StreamsAndPolicies))]
    public async Task The_records_of_a_sample_stream_hold_no_unfilled_placeholder(string events, string policy)
    {
        var lines = await RunAsync(Path.Combine(AppContext.BaseDirectory, policy), await File.ReadAllBytesAsync(Sample(events)));
        Assert.True(AssertFilled(lines, $"{events} under {policy}") > 0);
    }

    [Theory]
    [InlineData("policies/default.json")]
    [InlineData("samples/policy.example.json")]
    [InlineData("samples/policy.wallet.json")]
    public async Task The_records_of_generated_traffic_hold_no_unfilled_placeholder(string policy)
    {
        var stream = new StringBuilder();
        foreach (var line in new TrafficGenerator(accounts: 300, events: 20_000, seed: 12, span: TimeSpan.FromDays(2)).Generate(20_000)) stream.Append(line).Append('\n');
        var lines = await RunAsync(Path.Combine(AppContext.BaseDirectory, policy), Encoding.UTF8.GetBytes(stream.ToString()));
        // The traffic freezes accounts and then pays from them: the frozen account's deny is among what is checked.
        Assert.Contains(lines, l => l["type"]?.GetValue<string>() == "account.frozen");
        Assert.Contains(lines, l => l["reasons"] is JsonArray r && r.Any(x => x!["code"]!.GetValue<string>() == "account.frozen"));
        Assert.True(AssertFilled(lines, $"generated traffic under {policy}") > 1000);
    }

    [Fact]
    public async Task The_expected_outputs_and_the_documentation_s_example_records_hold_no_unfilled_placeholder()
    {
        foreach (var expected in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "samples"), "expected*.jsonl"))
            AssertFilled(ContractExampleTests.Lines(await File.ReadAllTextAsync(expected)), Path.GetFileName(expected));
        var docs = Directory.GetFiles(Path.Combine(Dotnet.RepositoryRoot, "docs"), "*.md").Append(Path.Combine(Dotnet.RepositoryRoot, "README.md"))
            .Append(Path.Combine(Dotnet.RepositoryRoot, "policies", "README.md"));
        var records = 0;
        var texts = 0;
        foreach (var doc in docs)
        {
            var lines = await File.ReadAllLinesAsync(doc);
            for (var i = 0; i < lines.Length; i++)
            {
                // Example output: a whole record on a line, or a comment showing an answer.
                var text = lines[i].TrimStart('#', ' ');
                if (!text.StartsWith("{\"", StringComparison.Ordinal) || JsonNodeOrNull(text) is not JsonObject record) continue;
                records++;
                texts += AssertFilled([record], $"{Path.GetFileName(doc)}:{i + 1}");
            }
        }
        Assert.True(records > 5 && texts > 5, $"only {records} example records ({texts} texts) found in the documentation");
    }

    private static JsonNode? JsonNodeOrNull(string text)
    {
        try
        {
            return JsonNode.Parse(text);
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private static async Task<List<JsonObject>> RunAsync(string policy, byte[] events)
    {
        await using var provider = new ServiceCollection().AddRiskEngine(o =>
        {
            o.PolicyPath = policy;
            o.MaxFutureSkew = null;
        }).BuildServiceProvider();
        using var output = new MemoryStream();
        await new EventStreamProcessor(provider.GetRequiredService<IRiskEngine>()).RunAsync(new MemoryStream(events), output);
        return ContractExampleTests.Lines(Encoding.UTF8.GetString(output.ToArray()));
    }

    /// <summary>Every text a person reads: a reason's <c>message</c>, and each language of an account event's <c>message</c> (nested too: history lines).</summary>
    /// <returns>How many texts were checked.</returns>
    internal static int AssertFilled(IEnumerable<JsonObject> records, string where)
    {
        var checkedTexts = 0;
        foreach (var record in records) Walk(record, inMessage: false);
        return checkedTexts;

        void Walk(JsonNode? node, bool inMessage)
        {
            switch (node)
            {
                case JsonObject o:
                    foreach (var (name, value) in o) Walk(value, inMessage || name is "message" or "en" or "zh-CN");
                    break;
                case JsonArray a:
                    foreach (var item in a) Walk(item, inMessage);
                    break;
                case JsonValue v when inMessage && v.TryGetValue<string>(out var text):
                    checkedTexts++;
                    var match = Placeholder().Match(text);
                    Assert.False(match.Success, $"{where}: unfilled {match.Value} in \"{text}\"\nin {node.Root.ToJsonString()}");
                    break;
            }
        }
    }
}

using System.Text.Json.Nodes;
using RiskEngine.Domain;
using RiskEngine.Policies;

namespace RiskEngine.Benchmarks;

/// <summary>Policies for the suites: the embedded default, edited.</summary>
internal static class BenchmarkPolicies
{
    public static JsonObject Default()
    {
        using var s = typeof(PolicyLoader).Assembly.GetManifestResourceStream("RiskEngine.Policies.default.json")!;
        return JsonNode.Parse(s)!.AsObject();
    }

    public static RiskPolicy Load(JsonObject json) => PolicyLoader.Load(System.Text.Encoding.UTF8.GetBytes(json.ToJsonString()), "benchmark");

    /// <summary>The default policy with <paramref name="entries"/> velocity entries and as many region entries (at most the 249 assigned codes).</summary>
    public static JsonObject Grown(int entries)
    {
        var p = Default();
        var velocity = new JsonArray();
        for (var i = 0; i < entries; i++)
            velocity.Add(new JsonObject { ["id"] = $"v{i}", ["window"] = $"{60 + i}s", ["maxCount"] = 5 + i, ["then"] = "freeze" });
        p["velocity"] = velocity;
        var countries = new JsonArray();
        foreach (var c in CountryCode.All.Where(c => c != "US").Take(entries)) countries.Add(c);
        p["regions"]!["countries"] = countries;
        return p;
    }
}

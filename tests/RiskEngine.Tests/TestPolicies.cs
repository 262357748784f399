using System.Text;
using System.Text.Json.Nodes;
using RiskEngine.Policies;

namespace RiskEngine.Tests;

/// <summary>The contract's example policy as editable JSON, and what the loader says of an edited one.</summary>
internal static class TestPolicies
{
    /// <summary>A fresh copy of <c>samples/policy.example.json</c>.</summary>
    public static JsonObject Example() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "samples", "policy.example.json")))!.AsObject();

    /// <summary>The example policy with <paramref name="edit"/> applied, as the loader's errors (none when valid).</summary>
    public static IReadOnlyList<PolicyError> ErrorsOf(Action<JsonObject> edit)
    {
        var policy = Example();
        edit(policy);
        return PolicyLoader.TryLoad(Encoding.UTF8.GetBytes(policy.ToJsonString()), "p.json").Errors;
    }
}

using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Tests.Policies;

public sealed class PolicyLoaderTests
{
    private static JsonObject Example() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "samples", "policy.example.json")))!.AsObject();

    private static IReadOnlyList<PolicyError> Errors(JsonObject policy) =>
        PolicyLoader.TryLoad(Encoding.UTF8.GetBytes(policy.ToJsonString()), "p.json").Errors;

    [Fact]
    public void The_example_and_the_embedded_default_load()
    {
        var example = PolicyLoader.Load(Encoding.UTF8.GetBytes(Example().ToJsonString()), "example");
        Assert.Equal(3, example.Assets.Count);
        Assert.Equal(TimeSpan.FromSeconds(60), example.Velocity[0].Window);
        Assert.Equal(TimeSpan.FromMinutes(15), example.Logins.FailedAttempts!.Lockout);
        Assert.Equal(Outcome.Freeze, example.Logins.ImpossibleTravel!.Then);
        var embedded = PolicyLoader.LoadEmbeddedDefault();
        Assert.Contains("en", embedded.Messages.Languages);
        Assert.Contains("zh-CN", embedded.Messages.Languages);
        Assert.Equal(PolicyLoader.EmbeddedDefaultSource, embedded.Source);
    }

    [Theory]
    [InlineData("assets.USD.perTransacton", 1, "$.assets.USD.perTransacton", "unknown field")]
    [InlineData("assets.USD.daily", -1, "$.assets.USD.daily", "greater than 0")]
    [InlineData("assets.USD.decimals", "two", "$.assets.USD.decimals", "whole number")]
    [InlineData("velocity.0.window", "60 seconds", "$.velocity[0].window", "duration")]
    [InlineData("velocity.0.then", "explode", "$.velocity[0].then", "not one of")]
    [InlineData("regions.countries.1", "XX", "$.regions.countries[1]", "ISO 3166-1")]
    [InlineData("regions.mode", "maybe", "$.regions.mode", "not one of")]
    [InlineData("logins.failedAttempts.window", "0m", "$.logins.failedAttempts.window", "greater than zero")]
    [InlineData("totp.digits", 7, "$.totp.digits", "6 or 8")]
    [InlineData("totp.algorithm", "MD5", "$.totp.algorithm", "not one of")]
    [InlineData("freeze.coolDown.cap.daily", "1h", "$.freeze.coolDown['cap.daily']", "not a freeze reason")]
    [InlineData("support.email", "nobody", "$.support.email", "e-mail")]
    public void Invalid_values_are_reported_with_file_path_and_reason(string path, object value, string jsonPath, string reason)
    {
        var policy = Example();
        Set(policy, path, JsonValue.Create(value));
        var error = Assert.Single(Errors(policy), e => e.Path == jsonPath);
        Assert.Equal("p.json", error.File);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_sections_and_templates_are_reported()
    {
        var policy = Example();
        policy.Remove("support");
        policy["messages"]!["zh-CN"]!.AsObject().Remove("account.frozen");
        var errors = Errors(policy);
        Assert.Contains(errors, e => e.Path == "$.support" && e.Message == "is required");
        Assert.Contains(errors, e => e.Path == "$.messages['zh-CN']" && e.Message.Contains("account.frozen", StringComparison.Ordinal));
    }

    [Fact]
    public void Invalid_json_is_reported_with_its_position()
    {
        var (policy, errors) = PolicyLoader.TryLoad("{ \"name\": \"x\", }}"u8, "broken.json");
        Assert.Null(policy);
        var error = Assert.Single(errors);
        Assert.Equal("broken.json", error.File);
        Assert.Contains("not valid JSON", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_is_reported_with_its_name()
    {
        var e = Assert.Throws<PolicyValidationException>(() => PolicyLoader.LoadFile("/nonexistent/policy.json"));
        Assert.Equal("/nonexistent/policy.json", Assert.Single(e.Errors).File);
        Assert.Contains("/nonexistent/policy.json", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_version_is_a_content_hash()
    {
        var a = PolicyLoader.Load(Encoding.UTF8.GetBytes(Example().ToJsonString()), "a");
        var b = PolicyLoader.Load(Encoding.UTF8.GetBytes(Example().ToJsonString()), "b");
        var changed = Example();
        changed["assets"]!["USD"]!["daily"] = 20001;
        var c = PolicyLoader.Load(Encoding.UTF8.GetBytes(changed.ToJsonString()), "c");
        Assert.Equal(a.Version, b.Version);
        Assert.NotEqual(a.Version, c.Version);
        Assert.StartsWith("sha256:", a.Version, StringComparison.Ordinal);
    }

    [Fact]
    public void AddRiskEngine_refuses_a_bad_policy_on_start_with_path_and_reason()
    {
        var policy = Example();
        policy["velocity"]![0]!["window"] = "soon";
        var services = new ServiceCollection().AddRiskEngine(o => o.PolicyJson = policy.ToJsonString());
        using var provider = services.BuildServiceProvider();
        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains(e.Failures, f => f.Contains("$.velocity[0].window", StringComparison.Ordinal) && f.Contains("duration", StringComparison.Ordinal));
    }

    [Fact]
    public void AddRiskEngine_validates_its_own_options()
    {
        var services = new ServiceCollection().AddRiskEngine(o => o.MaxFutureSkew = TimeSpan.FromMinutes(-1));
        using var provider = services.BuildServiceProvider();
        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains(e.Failures, f => f.Contains("MaxFutureSkew", StringComparison.Ordinal));
    }

    [Fact]
    public void Rule_families_the_policy_turns_off_are_not_compiled()
    {
        var policy = Example();
        policy.Remove("velocity");
        policy["logins"]!.AsObject().Remove("ipThrottle");
        var rules = PolicyRuleSetFor(policy);
        Assert.DoesNotContain(rules.RuleNames, n => n.Contains("Velocity", StringComparison.Ordinal));
        Assert.DoesNotContain(rules.RuleNames, n => n.Contains("IpThrottle", StringComparison.Ordinal));
        Assert.Contains(rules.RuleNames, n => n.Contains("DailyCapRule", StringComparison.Ordinal));
    }

    private static RiskEngine.Rules.PolicyRuleSet PolicyRuleSetFor(JsonObject policy) =>
        RiskEngine.Rules.PolicyRuleSet.Compile(PolicyLoader.Load(Encoding.UTF8.GetBytes(policy.ToJsonString()), "p"));

    private static void Set(JsonObject root, string dotted, JsonNode? value)
    {
        // Keys containing dots (reason codes) are the last segment's remainder.
        var parts = dotted.Split('.');
        JsonNode node = root;
        var i = 0;
        for (; i < parts.Length - 1; i++)
        {
            var next = node is JsonArray arr ? arr[int.Parse(parts[i], System.Globalization.CultureInfo.InvariantCulture)] : node[parts[i]];
            if (next is null) break;
            node = next;
        }
        var key = string.Join('.', parts[i..]);
        if (node is JsonArray array) array[int.Parse(key, System.Globalization.CultureInfo.InvariantCulture)] = value;
        else node[key] = value;
    }
}

using System.Text.Json.Nodes;
using RiskEngine.Tests.Worker;

namespace RiskEngine.Tests.Cli;

/// <summary><c>riskengine password check</c>: the candidate comes from standard input and never comes back out.</summary>
[Trait("Category", "EndToEnd")]
public sealed class PasswordCommandTests
{
    [Fact]
    public async Task A_refused_password_exits_1_with_every_reason_and_the_candidate_appears_nowhere()
    {
        var (code, output, err) = await WorkerProcess.RunCliAsync("alice19900512\n", "password", "check", "--account", "alice", "--birth-date", "1990-05-12", "--format", "json");
        Assert.Equal(1, code);
        var verdict = JsonNode.Parse(output)!;
        Assert.False((bool)verdict["allowed"]!);
        var codes = verdict["reasons"]!.AsArray().Select(r => (string)r!["code"]!).ToArray();
        Assert.Contains("password.contains_birth_date", codes);
        Assert.Contains("password.contains_name", codes);
        Assert.DoesNotContain("19900512", output + err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_strong_password_exits_0_and_an_empty_input_is_a_usage_error()
    {
        var (code, output, _) = await WorkerProcess.RunCliAsync("Tundra-lantern-47-quietly-orbit!\n", "password", "check");
        Assert.True(code == 0, output);
        Assert.StartsWith("allowed", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Tundra", output, StringComparison.Ordinal);

        (code, _, var err) = await WorkerProcess.RunCliAsync("", "password", "check");
        Assert.Equal(1, code);
        Assert.Contains("standard input", err, StringComparison.Ordinal);
    }
}

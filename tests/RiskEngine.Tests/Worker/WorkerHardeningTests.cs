using System.Text.Json.Nodes;
using RiskEngine.Tests.Contract;
using RiskEngine.Tests.Engine;

namespace RiskEngine.Tests.Worker;

/// <summary>No event, policy file or bad value stops a worker; the CLI refuses every policy a worker could not run.</summary>
[Trait("Category", "EndToEnd")]
public sealed class WorkerHardeningTests() : ScratchFolder("riskengine-hardening-")
{
    private static string Tx(string id, string at, string amount) => PoisonEvents.Tx(id, at, amount);

    [Fact]
    public async Task A_file_of_poison_events_is_decided_line_by_line_by_replay_and_by_the_worker_once_and_following()
    {
        await File.WriteAllLinesAsync(P("in.jsonl"), PoisonEvents.Lines);

        var (code, stdout, stderr) = await WorkerProcess.RunCliAsync(null, "replay", "--policy", Sample("policy.example.json"),
            "--input", P("in.jsonl"), "--output", P("replay.jsonl"), "--dead-letter", P("replay-dead.jsonl"));
        Assert.True(code == 0, stdout + stderr);
        PoisonEvents.AssertHandled(ContractExampleTests.Lines(await File.ReadAllTextAsync(P("replay.jsonl"))), ContractExampleTests.Lines(await File.ReadAllTextAsync(P("replay-dead.jsonl"))));

        var (exit, log) = await WorkerProcess.RunAsync("--policy", Sample("policy.example.json"), "--input", P("in.jsonl"), "--output", P("once.jsonl"),
            "--dead-letter", P("once-dead.jsonl"), "--data", P("once-data"), "--once");
        Assert.True(exit == 0, log);
        PoisonEvents.AssertHandled(ContractExampleTests.Lines(await File.ReadAllTextAsync(P("once.jsonl"))), ContractExampleTests.Lines(await File.ReadAllTextAsync(P("once-dead.jsonl"))));

        using var w = WorkerProcess.Start("--policy", Sample("policy.example.json"), "--input", P("in.jsonl"), "--output", P("follow.jsonl"),
            "--dead-letter", P("follow-dead.jsonl"), "--data", P("follow-data"), "--max-future-skew", "off", "--RiskEngine:FollowPollInterval=00:00:00.020");
        int Lines(string f) => File.Exists(P(f)) ? File.ReadAllLines(P(f)).Length : 0;
        Assert.True(await w.WaitUntilAsync(() => Lines("follow.jsonl") >= PoisonEvents.Lines.Length, TimeSpan.FromSeconds(60)), w.Log);
        Assert.False(w.HasExited, w.Log);
        w.Terminate();
        Assert.Equal(0, await w.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        PoisonEvents.AssertHandled(ContractExampleTests.Lines(await File.ReadAllTextAsync(P("follow.jsonl"))), ContractExampleTests.Lines(await File.ReadAllTextAsync(P("follow-dead.jsonl"))));
    }

    [Theory]
    [InlineData("velocity", "3000000d")]
    [InlineData("idempotencyWindow", "3650000d")]
    [InlineData("idempotencyWindow", "999999999d")]
    [InlineData("idempotencyWindow", "99999999999999d")]
    public async Task Validate_refuses_durations_the_engine_cannot_run(string where, string duration)
    {
        var policy = JsonNode.Parse(await File.ReadAllTextAsync(Sample("policy.example.json")))!;
        if (where == "velocity") policy["velocity"]![0]!["window"] = duration;
        else policy[where] = duration;
        await File.WriteAllTextAsync(P("policy.json"), policy.ToJsonString());
        var (code, stdout, stderr) = await WorkerProcess.RunCliAsync(null, "validate", P("policy.json"));
        Assert.True(code == 1, stdout + stderr);
        Assert.Contains("366d", stdout + stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_policy_file_that_cannot_be_run_is_refused_while_running_and_reverting_it_makes_health_healthy_again()
    {
        var original = await File.ReadAllTextAsync(Sample("policy.example.json"));
        await File.WriteAllTextAsync(P("policy.json"), original);
        await File.WriteAllTextAsync(P("in.jsonl"), Tx("a", "2026-11-27T10:00:00Z", "100") + "\n");
        using var w = WorkerProcess.Start("--policy", P("policy.json"), "--input", P("in.jsonl"), "--output", P("out.jsonl"), "--data", P("data"),
            "--max-future-skew", "off", "--RiskEngine:PolicyPollInterval=00:00:00.050", "--RiskEngine:FollowPollInterval=00:00:00.020",
            "--RiskEngine:ProgressInterval=00:00:00.100");
        int Lines() => File.Exists(P("out.jsonl")) ? File.ReadAllLines(P("out.jsonl")).Length : 0;
        string Health() => File.Exists(P("data/health.json")) ? File.ReadAllText(P("data/health.json")) : "";
        Assert.True(await w.WaitUntilAsync(() => Lines() == 1, TimeSpan.FromSeconds(60)), w.Log);

        var bad = JsonNode.Parse(original)!;
        bad["idempotencyWindow"] = "999999999d"; // overflowed TimeSpan and stopped the host with exit 0
        await File.WriteAllTextAsync(P("policy.json.tmp"), bad.ToJsonString());
        File.Move(P("policy.json.tmp"), P("policy.json"), overwrite: true);
        Assert.True(await w.WaitForLogAsync("policy refused", TimeSpan.FromSeconds(30)), w.Log);
        Assert.True(await w.WaitUntilAsync(() => Health().Contains("Degraded", StringComparison.Ordinal), TimeSpan.FromSeconds(30)), w.Log + Health());

        await File.AppendAllTextAsync(P("in.jsonl"), Tx("b", "2026-11-27T10:01:00Z", "100") + "\n");
        Assert.True(await w.WaitUntilAsync(() => Lines() == 2, TimeSpan.FromSeconds(30)), w.Log);
        Assert.False(w.HasExited, w.Log);

        await File.WriteAllTextAsync(P("policy.json.tmp"), original); // back to the policy in force
        File.Move(P("policy.json.tmp"), P("policy.json"), overwrite: true);
        Assert.True(await w.WaitUntilAsync(() => Health().Contains("\"status\":\"Healthy\"", StringComparison.Ordinal), TimeSpan.FromSeconds(30)), w.Log + Health());

        w.Terminate();
        Assert.Equal(0, await w.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }
}

using System.Text.Json.Nodes;
using RiskEngine.Tests.Contract;
using RiskEngine.Tests.Worker;

namespace RiskEngine.Tests.Cli;

/// <summary>What the <c>riskengine</c> commands print and exit with at their edges: limits, unknown accounts, missing files.</summary>
[Trait("Category", "EndToEnd")]
public sealed class CliExitCodeTests() : ScratchFolder("riskengine-cli-exit-")
{
    private async Task RunExampleAsync()
    {
        var (code, log) = await WorkerProcess.RunAsync("--policy", Sample("policy.example.json"), "--input", Sample("events.example.jsonl"),
            "--output", P("out.jsonl"), "--data", P("data"), "--once");
        Assert.True(code == 0, log);
    }

    [Fact]
    public async Task History_limit_is_the_number_of_lines_each_decision_with_the_account_events_it_caused()
    {
        await RunExampleAsync();

        var (code, output, err) = await WorkerProcess.RunCliAsync(null, "account", "history", "acct-D", "--data", P("data"), "--limit", "3");
        Assert.True(code == 0, err);
        var lines = ContractExampleTests.Lines(output);
        Assert.Equal(3, lines.Count);
        Assert.All(lines, l => Assert.Equal("decision", (string)l["type"]!));
        Assert.Equal(["e20", "e19", "e18"], lines.Select(l => (string)l["event"]!));
        // e20 froze the account: its account.frozen event travels inside the decision's line, not on a line of its own.
        var frozen = lines[0]["events"]!.AsArray().Single()!;
        Assert.Equal("account.frozen", (string)frozen["type"]!);
        Assert.Equal("login.impossible_travel", (string)frozen["reason"]!);
        Assert.Null(lines[1]["events"]);

        (code, output, _) = await WorkerProcess.RunCliAsync(null, "account", "history", "acct-D", "--data", P("data"), "--limit", "1");
        Assert.Equal(0, code);
        Assert.Single(ContractExampleTests.Lines(output));

        (code, _, err) = await WorkerProcess.RunCliAsync(null, "account", "history", "acct-D", "--data", P("data"), "--limit", "0");
        Assert.Equal(1, code);
        Assert.Contains("--limit", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_of_an_unknown_account_says_so_and_exits_3()
    {
        await RunExampleAsync();

        var (code, output, err) = await WorkerProcess.RunCliAsync(null, "account", "status", "acct-nobody", "--data", P("data"));
        Assert.Equal(3, code);
        Assert.Equal("", output.Trim());
        Assert.Contains("acct-nobody is unknown", err, StringComparison.Ordinal);

        (code, output, err) = await WorkerProcess.RunCliAsync(null, "account", "status", "acct-D", "--data", P("data"));
        Assert.True(code == 0, err);
        Assert.True((bool)JsonNode.Parse(output)!["frozen"]!);
    }

    [Fact]
    public async Task A_missing_input_file_is_an_environment_problem_exit_2_without_a_stack_trace()
    {
        var missing = P("missing.jsonl");
        var (code, output, err) = await WorkerProcess.RunCliAsync(null, "replay", "--input", missing, "--output", P("out.jsonl"));
        Assert.Equal(2, code);
        Assert.Contains(missing, err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", err, StringComparison.Ordinal);

        (code, output, err) = await WorkerProcess.RunCliAsync(null, "backtest", "--events", missing, "--policy", Sample("policy.example.json"),
            "--candidate", Sample("policy.example.json"));
        Assert.Equal(2, code);
        Assert.Contains(missing, err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", err, StringComparison.Ordinal);

        // The worker, following the input (no --once) and with --once.
        foreach (var once in new[] { false, true })
        {
            string[] args = ["--input", missing, "--output", P("out.jsonl"), "--data", P("data"), .. once ? new[] { "--once" } : []];
            var (wcode, log) = await WorkerProcess.RunAsync(args);
            Assert.True(wcode == 2, log);
            Assert.Contains("does not exist", log, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", log, StringComparison.Ordinal);
        }
    }
}

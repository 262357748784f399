using System.Text;
using System.Text.Json.Nodes;
using RiskEngine.Tests.Contract;

namespace RiskEngine.Tests.Worker;

/// <summary>The worker as an operator runs it: a separate process, files in a temp folder, SQLite state.</summary>
[Trait("Category", "EndToEnd")]
public sealed class WorkerEndToEndTests() : ScratchFolder("riskengine-worker-")
{
    private string[] Args(string input, string output, string data, params string[] more) =>
        ["--policy", Sample("policy.example.json"), "--input", input, "--output", output, "--dead-letter", P("dead.jsonl"), "--data", data, .. more];

    [Fact]
    public async Task The_contract_example_produces_the_expected_records_and_a_rerun_decides_nothing_twice()
    {
        var (code, log) = await WorkerProcess.RunAsync(Args(Sample("events.example.jsonl"), P("out.jsonl"), P("data"), "--once"));
        Assert.True(code == 0, log);
        var expected = ContractExampleTests.Lines(await File.ReadAllTextAsync(Sample("expected.example.jsonl")));
        ContractExampleTests.AssertMatches(expected, ContractExampleTests.Lines(await File.ReadAllTextAsync(P("out.jsonl"))));
        Assert.Equal(3, File.ReadAllLines(P("dead.jsonl")).Length);

        (code, log) = await WorkerProcess.RunAsync(Args(Sample("events.example.jsonl"), P("out.jsonl"), P("data"), "--once"));
        Assert.True(code == 0, log);
        var again = ContractExampleTests.Lines(await File.ReadAllTextAsync(P("out.jsonl")));
        Assert.Equal(34, again.Count); // one record per line, and no account event this time
        Assert.All(again.Where(r => (string)r["type"]! == "decision"), r => Assert.True((bool)r["duplicate"]!));
        Assert.DoesNotContain(again, r => ((string)r["type"]!).StartsWith("account.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Killing_the_worker_at_random_points_loses_and_doubles_nothing()
    {
        var events = EventStream.Generate(20_000, 500, seed: 42, withGarbage: true);
        await File.WriteAllLinesAsync(P("in.jsonl"), events);

        var (code, log) = await WorkerProcess.RunAsync(["--policy", Sample("policy.example.json"), "--input", P("in.jsonl"), "--output", P("ref.jsonl"),
            "--dead-letter", P("ref-dead.jsonl"), "--data", P("ref-data"), "--once"]);
        Assert.True(code == 0, log);
        var reference = await File.ReadAllBytesAsync(P("ref.jsonl"));
        Assert.True(reference.Length > 1_000_000);

        var rng = new Random(7);
        var kills = 0;
        var finished = false; // a slow kill may come after the pass completed: a further --once run would be a new pass
        foreach (var fraction in new[] { 0.15, 0.4, 0.65, 0.9 })
        {
            var threshold = (long)(reference.Length * (fraction + rng.NextDouble() * 0.1));
            // Small batches: many commits to be killed between, and a run slow enough to be killed at all (batched, it is fast).
            using var w = WorkerProcess.Start(["--policy", Sample("policy.example.json"), "--input", P("in.jsonl"), "--output", P("crash.jsonl"),
                "--dead-letter", P("crash-dead.jsonl"), "--data", P("crash-data"), "--once", "--batch-size", "16"]);
            await w.WaitUntilAsync(() => File.Exists(P("crash.jsonl")) && new FileInfo(P("crash.jsonl")).Length >= threshold, TimeSpan.FromMinutes(2));
            if (!w.HasExited)
            {
                w.KillHard();
                kills++;
            }
            var exit = await w.WaitForExitAsync(TimeSpan.FromSeconds(30));
            if (exit == 0)
            {
                finished = true;
                break;
            }
        }
        Assert.True(kills >= 2, "the worker finished before it could be killed; the test proves nothing");

        if (!finished)
        {
            (code, log) = await WorkerProcess.RunAsync(["--policy", Sample("policy.example.json"), "--input", P("in.jsonl"), "--output", P("crash.jsonl"),
                "--dead-letter", P("crash-dead.jsonl"), "--data", P("crash-data"), "--once"]);
            Assert.True(code == 0, log);
        }
        var crashed = await File.ReadAllBytesAsync(P("crash.jsonl"));
        Assert.True(reference.AsSpan().SequenceEqual(crashed), FirstDifference(reference, crashed));
        Assert.Equal(await File.ReadAllTextAsync(P("ref-dead.jsonl")), await File.ReadAllTextAsync(P("crash-dead.jsonl")));
    }

    private static string FirstDifference(byte[] a, byte[] b)
    {
        var la = Encoding.UTF8.GetString(a).Split('\n');
        var lb = Encoding.UTF8.GetString(b).Split('\n');
        for (var i = 0; i < Math.Min(la.Length, lb.Length); i++)
            if (la[i] != lb[i]) return $"line {i + 1} differs:\n  uninterrupted: {la[i]}\n  with crashes:  {lb[i]}";
        return $"lengths differ: {la.Length} vs {lb.Length} lines";
    }

    [Fact]
    public async Task Duplicated_and_reordered_delivery_freezes_each_account_once()
    {
        var lines = new List<string>();
        var t0 = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
        for (var a = 0; a < 20; a++)
            for (var i = 0; i < 8; i++)
                lines.Add($$"""{"type":"transaction","id":"b{{a}}-{{i}}","at":"{{t0.AddSeconds(a * 100 + i):yyyy-MM-dd'T'HH:mm:ss'Z'}}","account":"burst-{{a}}","amount":1,"currency":"USD","country":"US","device":"d"}""");
        var rng = new Random(3);
        var redelivered = lines.Concat(lines.OrderBy(_ => rng.Next())).Concat(lines.Take(40)).ToList();
        await File.WriteAllLinesAsync(P("in.jsonl"), redelivered);

        var (code, log) = await WorkerProcess.RunAsync(Args(P("in.jsonl"), P("out.jsonl"), P("data"), "--once"));
        Assert.True(code == 0, log);
        var records = ContractExampleTests.Lines(await File.ReadAllTextAsync(P("out.jsonl")));
        var frozen = records.Where(r => (string)r["type"]! == "account.frozen").Select(r => (string)r["account"]!).ToList();
        Assert.Equal(20, frozen.Count);
        Assert.Equal(20, frozen.Distinct().Count());
        Assert.Equal(redelivered.Count - lines.Count, records.Count(r => r["duplicate"] is not null));
    }

    [Fact]
    public async Task A_policy_edit_while_running_changes_later_decisions_and_a_broken_edit_does_not()
    {
        var policy = JsonNode.Parse(await File.ReadAllTextAsync(Sample("policy.example.json")))!;
        await File.WriteAllTextAsync(P("policy.json"), policy.ToJsonString());
        string Tx(string id, int amount) => $$"""{"type":"transaction","id":"{{id}}","at":"2026-11-27T10:00:00Z","account":"acct-{{id}}","amount":{{amount}},"currency":"USD","country":"US","device":"d","authenticated":"totp"}""";
        await File.WriteAllTextAsync(P("in.jsonl"), Tx("a", 8000) + "\n");

        using var w = WorkerProcess.Start(["--policy", P("policy.json"), "--input", P("in.jsonl"), "--output", P("out.jsonl"), "--data", P("data"),
            "--max-future-skew", "off", "--RiskEngine:PolicyPollInterval=00:00:00.050", "--RiskEngine:FollowPollInterval=00:00:00.020"]);
        int Lines() => File.Exists(P("out.jsonl")) ? File.ReadAllLines(P("out.jsonl")).Length : 0;
        Assert.True(await w.WaitUntilAsync(() => Lines() == 1, TimeSpan.FromSeconds(60)), w.Log);

        policy["assets"]!["USD"]!["perTransaction"] = 5000;
        await ReplaceAsync(P("policy.json"), policy.ToJsonString());
        Assert.True(await w.WaitForLogAsync("reloaded", TimeSpan.FromSeconds(30)), w.Log);
        await File.AppendAllTextAsync(P("in.jsonl"), Tx("b", 8000) + "\n");
        Assert.True(await w.WaitUntilAsync(() => Lines() == 2, TimeSpan.FromSeconds(30)), w.Log);

        await ReplaceAsync(P("policy.json"), "{ \"assets\": { \"USD\": { \"decimals\": \"two\" } } }");
        Assert.True(await w.WaitForLogAsync("$.assets.USD.decimals", TimeSpan.FromSeconds(30)), w.Log);
        Assert.Contains("policy refused", w.Log, StringComparison.Ordinal);
        await File.AppendAllTextAsync(P("in.jsonl"), Tx("c", 8000) + "\n");
        Assert.True(await w.WaitUntilAsync(() => Lines() == 3, TimeSpan.FromSeconds(30)), w.Log);

        w.Terminate();
        Assert.Equal(0, await w.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        var records = ContractExampleTests.Lines(await File.ReadAllTextAsync(P("out.jsonl")));
        Assert.Equal("allow", (string)records[0]["outcome"]!);
        Assert.Equal("deny", (string)records[1]["outcome"]!);
        Assert.Equal("cap.per_transaction", (string)records[1]["reasons"]![0]!["code"]!);
        Assert.NotEqual((string)records[0]["policy"]!, (string)records[1]["policy"]!);
        Assert.Equal((string)records[1]["policy"]!, (string)records[2]["policy"]!); // the broken edit changed nothing
        Assert.Equal("deny", (string)records[2]["outcome"]!);
    }

    /// <summary>Replaces a file the way deployment tools do (write aside, rename over), so no reader sees half of it.</summary>
    private static async Task ReplaceAsync(string path, string text)
    {
        await File.WriteAllTextAsync(path + ".tmp", text);
        File.Move(path + ".tmp", path, overwrite: true);
    }

    [Fact]
    public async Task A_10_MB_line_and_garbage_go_to_dead_letter_while_good_events_keep_flowing()
    {
        var good = EventStream.Generate(200, 20, seed: 5);
        var rng = new Random(11);
        var input = new StringBuilder();
        var garbage = 0;
        for (var i = 0; i < good.Count; i++)
        {
            input.Append(good[i]).Append('\n');
            if (i == 50) { input.Append('{').Append('"', 1).Append(new string('x', 10 * 1024 * 1024)).Append('\n'); garbage++; }
            if (i % 20 == 7)
            {
                var bytes = new byte[rng.Next(1, 200)];
                rng.NextBytes(bytes);
                input.Append(Encoding.Latin1.GetString(bytes).Replace('\n', ' ')).Append('\n');
                garbage++;
            }
        }
        await File.WriteAllTextAsync(P("in.jsonl"), input.ToString(), new UTF8Encoding(false));

        var (code, log) = await WorkerProcess.RunAsync(Args(P("in.jsonl"), P("out.jsonl"), P("data"), "--once"));
        Assert.True(code == 0, log);
        var dead = ContractExampleTests.Lines(await File.ReadAllTextAsync(P("dead.jsonl")));
        Assert.Equal(garbage, dead.Count);
        Assert.Contains(dead, d => ((string)d["error"]!).Contains("the limit is 65536", StringComparison.Ordinal));
        Assert.All(dead, d => Assert.False(string.IsNullOrWhiteSpace((string?)d["error"])));
        var outRecords = ContractExampleTests.Lines(await File.ReadAllTextAsync(P("out.jsonl")));
        Assert.Equal(good.Count, outRecords.Count(r => (string)r["type"]! == "decision"));
        Assert.Equal(good.Count + garbage, outRecords.Count(r => (string)r["type"]! is "decision" or "rejected"));
    }

    [Fact]
    public async Task Bad_settings_stop_the_worker_with_a_message_naming_the_setting()
    {
        var (code, log) = await WorkerProcess.RunAsync("--input", Sample("events.example.jsonl"), "--store", "mongo", "--data", P("data"), "--once");
        Assert.Equal(2, code);
        Assert.Contains("RiskEngine:Store", log, StringComparison.Ordinal);

        await File.WriteAllTextAsync(P("bad.json"), "{ \"assets\": {} }");
        (code, log) = await WorkerProcess.RunAsync("--input", Sample("events.example.jsonl"), "--policy", P("bad.json"), "--data", P("data"), "--once");
        Assert.Equal(2, code);
        Assert.Contains(P("bad.json"), log, StringComparison.Ordinal);
        Assert.Contains("$.support", log, StringComparison.Ordinal);
    }
}

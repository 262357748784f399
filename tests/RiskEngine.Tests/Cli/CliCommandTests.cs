using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using QRCoder;
using RiskEngine.Benchmarks.Traffic;
using RiskEngine.Decisions;
using RiskEngine.Events;
using RiskEngine.Policies;
using RiskEngine.Tests.Contract;
using RiskEngine.Tests.TwoFactor;
using RiskEngine.Tests.Worker;

namespace RiskEngine.Tests.Cli;

/// <summary>Each <c>riskengine</c> command through its real entry point: a process, its exit code, its output and files.</summary>
[Trait("Category", "EndToEnd")]
public sealed class CliCommandTests() : ScratchFolder("riskengine-cli-")
{
    private static JsonObject ExamplePolicy() => JsonNode.Parse(File.ReadAllText(Sample("policy.example.json")))!.AsObject();

    [Fact]
    public async Task Help_and_usage_name_the_command_riskengine_and_version_is_the_repository_s()
    {
        // Started as dotnet RiskEngine.Cli.dll: help still names the command as users type it.
        var (code, output, err) = await WorkerProcess.RunCliAsync(null, "--help");
        Assert.True(code == 0, err);
        Assert.Contains("Usage:\n  riskengine [command] [options]", output, StringComparison.Ordinal);
        Assert.DoesNotContain("RiskEngine.Cli", output, StringComparison.Ordinal);
        (code, output, err) = await WorkerProcess.RunCliAsync(null, "totp", "verify", "--help");
        Assert.True(code == 0, err);
        Assert.Contains("Usage:\n  riskengine totp verify", output, StringComparison.Ordinal);
        (code, output, err) = await WorkerProcess.RunCliAsync(null, "--version");
        Assert.True(code == 0, err);
        Assert.Matches($@"^{System.Text.RegularExpressions.Regex.Escape(Packaging.Dotnet.Version)}(\+[0-9a-f]+)?$", output.Trim());
    }

    [Fact]
    public async Task Validate_reports_file_path_and_reason_and_sets_the_exit_code()
    {
        var (code, output, _) = await WorkerProcess.RunCliAsync(null, "validate", Sample("policy.example.json"));
        Assert.Equal(0, code);
        Assert.Contains("ok", output, StringComparison.Ordinal);

        var bad = ExamplePolicy();
        bad["regions"]!["countries"]![1] = "XX";
        await File.WriteAllTextAsync(P("bad.json"), bad.ToJsonString());
        (code, output, _) = await WorkerProcess.RunCliAsync(null, "validate", Sample("policy.example.json"), P("bad.json"), "--format", "json");
        Assert.Equal(1, code);
        var results = JsonNode.Parse(output)!.AsArray();
        Assert.True((bool)results[0]!["valid"]!);
        Assert.False((bool)results[1]!["valid"]!);
        Assert.Equal(P("bad.json"), (string)results[1]!["file"]!);
        Assert.Equal("$.regions.countries[1]", (string)results[1]!["errors"]![0]!["path"]!);
    }

    [Fact]
    public async Task Backtest_reports_a_stricter_candidate_s_extra_freezes_exactly()
    {
        var lines = new TrafficGenerator(300, 8_000, seed: 99).Generate(8_000).ToList();
        await File.WriteAllLinesAsync(P("events.jsonl"), lines);
        var strict = ExamplePolicy();
        strict["velocity"]![0]!["maxCount"] = 3;
        await File.WriteAllTextAsync(P("strict.json"), strict.ToJsonString());

        var (code, output, err) = await WorkerProcess.RunCliAsync(null, "backtest", "--events", P("events.jsonl"), "--policy", Sample("policy.example.json"),
            "--candidate", P("strict.json"), "--format", "json");
        Assert.True(code == 0, err);
        var report = JsonNode.Parse(output)!;

        // The same comparison, done here with the library directly.
        var expected = await Compare(lines, PolicyLoader.LoadFile(Sample("policy.example.json")), PolicyLoader.LoadFile(P("strict.json")));
        Assert.Equal(lines.Count, (int)report["events"]!);
        foreach (var o in Enum.GetValues<Outcome>())
        {
            Assert.Equal(expected.Current[o], (int)report["current"]!["counts"]![o.ToWire()]!);
            Assert.Equal(expected.Candidate[o], (int)report["candidate"]!["counts"]![o.ToWire()]!);
        }
        Assert.True(expected.Gained > 0, "the stricter candidate should freeze more");
        Assert.Equal(expected.Gained, (int)report["freezesGained"]!);
        Assert.Equal(expected.Lost, (int)report["freezesLost"]!);
        Assert.Equal(expected.Changed, report["changed"]!.AsArray().Count);
        Assert.NotNull(report["current"]!["freeze"]!["precision"]);

        (code, _, err) = await WorkerProcess.RunCliAsync(null, "backtest", "--events", P("events.jsonl"), "--policy", Sample("policy.example.json"),
            "--candidate", P("strict.json"), "--format", "html", "--output", P("report.html"));
        Assert.True(code == 0, err);
        var html = await File.ReadAllTextAsync(P("report.html"));
        Assert.Contains("<svg", html, StringComparison.Ordinal);
        Assert.Contains($"Freezes gained: {expected.Gained}", html, StringComparison.Ordinal);
        Assert.Contains("current <b>example</b>", html, StringComparison.Ordinal); // the policy's name, not just its hash
        Assert.Equal(2, html.Split("<svg").Length - 1); // all outcomes, and the rare ones on their own scale
        Assert.Contains("text-anchor=\"end\"", html, StringComparison.Ordinal); // y-axis labels
        Assert.Contains("<th>reasons</th>", html, StringComparison.Ordinal);
        Assert.Contains("velocity.count", html, StringComparison.Ordinal); // a reason code behind a changed decision

        (code, output, _) = await WorkerProcess.RunCliAsync(null, "backtest", "--events", P("events.jsonl"), "--policy", Sample("policy.example.json"), "--candidate", P("strict.json"));
        Assert.Equal(0, code);
        Assert.Contains($"freezes gained: {expected.Gained}", output, StringComparison.Ordinal);
        Assert.Contains("freeze precision", output, StringComparison.Ordinal);
    }

    private static async Task<(Dictionary<Outcome, int> Current, Dictionary<Outcome, int> Candidate, int Gained, int Lost, int Changed)> Compare(List<string> lines, RiskPolicy a, RiskPolicy b)
    {
        await using var pa = new ServiceCollection().AddSingleton<IPolicyProvider>(new PolicyHolder(a)).AddRiskEngine(o => o.MaxFutureSkew = null).BuildServiceProvider();
        await using var pb = new ServiceCollection().AddSingleton<IPolicyProvider>(new PolicyHolder(b)).AddRiskEngine(o => o.MaxFutureSkew = null).BuildServiceProvider();
        var ea = pa.GetRequiredService<IRiskEngine>();
        var eb = pb.GetRequiredService<IRiskEngine>();
        var ca = Enum.GetValues<Outcome>().ToDictionary(o => o, _ => 0);
        var cb = Enum.GetValues<Outcome>().ToDictionary(o => o, _ => 0);
        int gained = 0, lost = 0, changed = 0;
        foreach (var line in lines)
        {
            var e = EventParser.Parse(Encoding.UTF8.GetBytes(line)).Event!;
            var oa = (await ea.EvaluateAsync(e)).Decision!.Outcome;
            var ob = (await eb.EvaluateAsync(e)).Decision!.Outcome;
            ca[oa]++;
            cb[ob]++;
            if (oa != ob) changed++;
            if (ob == Outcome.Freeze && oa != Outcome.Freeze) gained++;
            if (oa == Outcome.Freeze && ob != Outcome.Freeze) lost++;
        }
        return (ca, cb, gained, lost, changed);
    }

    [Fact]
    public async Task A_shadow_rule_fires_without_changing_any_outcome()
    {
        var policy = ExamplePolicy();
        policy["velocity"]!.AsArray().Add(new JsonObject { ["id"] = "strict-trial", ["window"] = "60s", ["maxCount"] = 1, ["then"] = "freeze", ["mode"] = "shadow" });
        await File.WriteAllTextAsync(P("shadow.json"), policy.ToJsonString());

        var (code, output, err) = await WorkerProcess.RunCliAsync(null, "replay", "--policy", P("shadow.json"), "--input", Sample("events.example.jsonl"), "--output", "-");
        Assert.True(code == 0, err);
        var records = ContractExampleTests.Lines(output);
        ContractExampleTests.AssertMatches(ContractExampleTests.Lines(await File.ReadAllTextAsync(Sample("expected.example.jsonl"))), records);
        var shadowed = records.Where(r => r["shadow"] is not null).ToList();
        Assert.NotEmpty(shadowed);
        Assert.All(shadowed, r => Assert.Equal("VelocityFreezeRule/strict-trial", (string)r["shadow"]![0]!["rule"]!));
        Assert.Contains(shadowed, r => (string)r["outcome"]! == "allow");
    }

    [Fact]
    public async Task Account_commands_show_unfreeze_and_list_history_against_the_worker_s_store()
    {
        var (code, log) = await WorkerProcess.RunAsync("--policy", Sample("policy.example.json"), "--input", Sample("events.example.jsonl"),
            "--output", P("out.jsonl"), "--data", P("data"), "--once");
        Assert.True(code == 0, log);

        var (c, output, err) = await WorkerProcess.RunCliAsync(null, "account", "status", "acct-D", "--data", P("data"), "--policy", Sample("policy.example.json"));
        Assert.True(c == 0, err);
        var status = JsonNode.Parse(output)!;
        Assert.True((bool)status["frozen"]!);
        Assert.Equal("login.impossible_travel", (string)status["reason"]!);

        (c, output, err) = await WorkerProcess.RunCliAsync(null, "account", "unfreeze", "acct-D", "--by", "agent-3", "--reason", "called the user", "--data", P("data"), "--policy", Sample("policy.example.json"));
        Assert.True(c == 0, err);
        var records = ContractExampleTests.Lines(output);
        Assert.Equal("allow", (string)records[0]["outcome"]!);
        Assert.Equal("account.unfrozen", (string)records[1]["type"]!);
        Assert.Equal("agent-3", (string)records[1]["by"]!);
        Assert.Equal("+1-800-555-0100", (string)records[1]["support"]!["phone"]!);

        (c, output, _) = await WorkerProcess.RunCliAsync(null, "account", "status", "acct-D", "--data", P("data"));
        Assert.False((bool)JsonNode.Parse(output)!["frozen"]!);
        (c, output, _) = await WorkerProcess.RunCliAsync(null, "account", "unfreeze", "acct-D", "--by", "agent-3", "--reason", "again", "--data", P("data"));
        Assert.Equal(1, c);
        Assert.Equal("account.not_frozen", (string)ContractExampleTests.Lines(output)[0]["reasons"]![0]!["code"]!);

        (c, output, _) = await WorkerProcess.RunCliAsync(null, "account", "history", "acct-D", "--data", P("data"));
        Assert.Equal(0, c);
        var history = ContractExampleTests.Lines(output).Where(h => (string)h["type"]! == "decision").ToList();
        Assert.Contains(history, h => (string)h["event"]! == "e20" && (string)h["outcome"]! == "freeze");
        Assert.Contains(history, h => (string)h["event"]! == "e17");
        Assert.Equal(6, history.Count); // e17–e20 and the two support actions
    }

    [Fact]
    public async Task Account_changes_are_refused_while_a_worker_runs_on_the_data_folder()
    {
        await File.WriteAllTextAsync(P("in.jsonl"), "");
        using var worker = WorkerProcess.Start("--input", P("in.jsonl"), "--output", P("out.jsonl"), "--data", P("data"));
        Assert.True(await worker.WaitForLogAsync("worker starting", TimeSpan.FromSeconds(60)), worker.Log);
        var (code, _, err) = await WorkerProcess.RunCliAsync(null, "account", "unfreeze", "acct-D", "--by", "a", "--reason", "r", "--data", P("data"));
        Assert.Equal(2, code);
        Assert.Contains("a worker is running", err, StringComparison.Ordinal);
        worker.Terminate();
        Assert.Equal(0, await worker.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Totp_enroll_prints_a_uri_and_a_matching_qr_code_and_codes_from_an_independent_implementation_verify()
    {
        using var p = WorkerProcess.StartCli("totp", "enroll", "alice", "--issuer", "Wallet Co", "--data", P("data"), "--png", P("qr.png"));
        Assert.True(await p.WaitUntilAsync(() => p.StdOut.Any(l => l.Contains("enter the first code", StringComparison.Ordinal)), TimeSpan.FromSeconds(60)), p.Log);
        var lines = p.StdOut.ToList();
        var uri = lines[0];
        Assert.StartsWith("otpauth://totp/Wallet%20Co:alice?secret=", uri, StringComparison.Ordinal);
        var secret = Rfc6238.Query(uri)["secret"];

        // The terminal QR code is the library's own matrix for exactly this URI.
        var printed = lines.Skip(1).TakeWhile(l => !l.Contains("enter the first code", StringComparison.Ordinal)).Where(l => l.Length > 0).ToList();
        using (var generator = new QRCodeGenerator())
        using (var data = generator.CreateQrCode(uri, QRCodeGenerator.ECCLevel.M))
        {
            Assert.Equal(data.ModuleMatrix.Count, printed.Count);
            for (var y = 0; y < printed.Count; y++)
                for (var x = 0; x < data.ModuleMatrix.Count; x++)
                    Assert.Equal(data.ModuleMatrix[y][x], printed[y].Substring(2 * x, 2) == "██");
        }
        Assert.True(new FileInfo(P("qr.png")).Length > 100);

        await p.Input.WriteLineAsync(Code(secret, 0));
        p.Input.Close();
        Assert.Equal(0, await p.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains(p.StdOut, l => l.Contains("confirmed", StringComparison.Ordinal));

        // The code for the next step is inside the ±1 drift window; the confirmation's own step is spent.
        var (code, output, err) = await WorkerProcess.RunCliAsync(null, "totp", "verify", "alice", "--code", Code(secret, 0), "--data", P("data"));
        Assert.Equal(1, code);
        Assert.Contains("totp.replayed", output, StringComparison.Ordinal);
        (code, output, err) = await WorkerProcess.RunCliAsync(Code(secret, 30) + "\n", "totp", "verify", "alice", "--data", P("data"));
        Assert.True(code == 0, output + err);
        Assert.Contains("accepted", output, StringComparison.Ordinal);

        // Nothing in the data folder holds the secret in the clear.
        foreach (var file in Directory.EnumerateFiles(P("data"), "*", SearchOption.AllDirectories))
        {
            var bytes = await File.ReadAllBytesAsync(file);
            Assert.DoesNotContain(secret, Encoding.Latin1.GetString(bytes), StringComparison.Ordinal);
            Assert.DoesNotContain(Convert.ToHexString(Rfc6238.FromBase32(secret)), Convert.ToHexString(bytes), StringComparison.Ordinal);
        }
    }

    /// <summary>The code from Debian's oathtool when installed (CI installs it), else from the test's own RFC 6238 code.</summary>
    private static string Code(string base32, int secondsAhead)
    {
        if (File.Exists("/usr/bin/oathtool"))
        {
            var info = new ProcessStartInfo("/usr/bin/oathtool") { RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var a in new[] { "--totp", "-b", "-N", $"now + {secondsAhead} seconds", base32 }) info.ArgumentList.Add(a);
            using var p = Process.Start(info)!;
            var code = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            Assert.Equal(0, p.ExitCode);
            return code;
        }
        return Rfc6238.Code(Rfc6238.FromBase32(base32), Rfc6238.Step(DateTimeOffset.UtcNow.AddSeconds(secondsAhead)));
    }
}

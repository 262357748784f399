using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using RiskEngine.Tests.Contract;
using RiskEngine.Tests.TwoFactor;
using RiskEngine.Tests.Worker;

namespace RiskEngine.Tests.Cli;

/// <summary>
/// <c>riskengine account …</c> and <c>riskengine totp …</c> with <c>--server URL</c>: the real server process on a
/// loopback port, the real CLI process, keys from a keys file (a support key, a decide key); the account events the CLI
/// causes reach the server's <c>--output</c>, and what the CLI prints is what the local mode prints.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed partial class CliServerModeTests() : ScratchFolder("riskengine-cli-server-")
{
    private const string SupportKey = "rk_test-support-key-0123456789abcdefghijklmnopq";
    private const string DecideKey = "rk_test-decide-key-0123456789abcdefghijklmnopqr";
    private const string UnknownKey = "rk_test-unknown-key-0123456789abcdefghijklmnopq";
    private static readonly string[] Keys = [SupportKey, DecideKey, UnknownKey];

    [GeneratedRegex(@"listening on (http://127\.0\.0\.1:\d+)")]
    private static partial Regex Listening();

    private static Dictionary<string, string?> WithKey(string? key) => new() { ["RISKENGINE_KEY"] = key };

    /// <summary>Starts the server on a free loopback port with a keys file; returns it and its address.</summary>
    private async Task<(WorkerProcess Server, string Url)> StartServerAsync()
    {
        var keys = new JsonArray(
            new JsonObject { ["name"] = "desk", ["roles"] = new JsonArray("support"), ["sha256"] = Sha256(SupportKey) },
            new JsonObject { ["name"] = "app", ["roles"] = new JsonArray("decide"), ["sha256"] = Sha256(DecideKey) });
        await File.WriteAllTextAsync(P("keys.json"), keys.ToJsonString());
        var server = WorkerProcess.StartServer("--urls", "http://127.0.0.1:0", "--data", P("data"), "--keys", P("keys.json"),
            "--policy", Sample("policy.example.json"), "--output", P("out.jsonl"));
        Assert.True(await server.WaitUntilAsync(() => Listening().IsMatch(server.Log), TimeSpan.FromSeconds(60)), server.Log);
        return (server, Listening().Match(server.Log).Groups[1].Value);
    }

    private static string Sha256(string key) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key)));

    /// <summary>Runs the CLI with <paramref name="key"/> in RISKENGINE_KEY and checks that no key shows in anything it printed.</summary>
    private static async Task<(int Code, string Out, string Err)> CliAsync(string? key, string? stdin, params string[] args)
    {
        var (code, output, err) = await WorkerProcess.RunCliWithEnvironmentAsync(WithKey(key), stdin, args);
        foreach (var k in Keys)
        {
            Assert.DoesNotContain(k, output, StringComparison.Ordinal);
            Assert.DoesNotContain(k, err, StringComparison.Ordinal);
        }
        return (code, output, err);
    }

    /// <summary>Polls the server's output file until a record matches (the outbox publishes after the commit).</summary>
    private async Task<JsonNode?> WaitForOutputAsync(Func<JsonNode, bool> match)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            if (File.Exists(P("out.jsonl")))
            {
                string text;
                using (var file = new FileStream(P("out.jsonl"), FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
                using (var reader = new StreamReader(file))
                    text = await reader.ReadToEndAsync();
                foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    try
                    {
                        if (JsonNode.Parse(line) is { } node && match(node)) return node;
                    }
                    catch (System.Text.Json.JsonException)
                    {
                        // a line still being written
                    }
                }
            }
            await Task.Delay(50);
        }
        return null;
    }

    [Fact]
    public async Task Account_status_unfreeze_freeze_and_history_go_through_the_server_and_their_events_reach_its_output()
    {
        var (server, url) = await StartServerAsync();
        using (server)
        {
            // Freeze acct-D with the contract example, posted to the server as a payment platform would.
            using (var http = new HttpClient { BaseAddress = new Uri(url) })
            using (var request = new HttpRequestMessage(HttpMethod.Post, "/v1/events") { Content = new ByteArrayContent(await File.ReadAllBytesAsync(Sample("events.example.jsonl"))) })
            {
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", DecideKey);
                using var response = await http.SendAsync(request);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                await response.Content.ReadAsStringAsync();
            }

            var (code, output, err) = await CliAsync(SupportKey, null, "account", "status", "acct-D", "--server", url);
            Assert.True(code == 0, err);
            var status = JsonNode.Parse(output)!.AsObject();
            Assert.Equal(["account", "frozen", "reason", "frozenAt", "selfService", "unfreezesAt", "lockedUntil", "totpEnrolled"], status.Select(p => p.Key));
            Assert.True((bool)status["frozen"]!);
            Assert.Equal("login.impossible_travel", (string)status["reason"]!);

            // The local mode is refused while the server holds the data folder; --server is the way in.
            (code, _, err) = await CliAsync(null, null, "account", "unfreeze", "acct-D", "--by", "agent-3", "--reason", "r", "--data", P("data"));
            Assert.Equal(2, code);
            Assert.Contains("is running", err, StringComparison.Ordinal);

            (code, output, err) = await CliAsync(SupportKey, null, "account", "unfreeze", "acct-D", "--by", "agent-3", "--reason", "called the user", "--server", url);
            Assert.True(code == 0, err);
            var records = ContractExampleTests.Lines(output);
            Assert.Equal(2, records.Count);
            Assert.Equal("decision", (string)records[0]["type"]!);
            Assert.Equal("allow", (string)records[0]["outcome"]!);
            Assert.Equal("account.unfrozen", (string)records[1]["type"]!);
            Assert.Equal("agent-3", (string)records[1]["by"]!);
            Assert.Equal("+1-800-555-0100", (string)records[1]["support"]!["phone"]!);
            // The point: the event the CLI caused is in the server's output, where a notification pipeline reads it.
            var unfrozen = await WaitForOutputAsync(r => (string?)r["type"] == "account.unfrozen" && (string?)r["event"] == (string)records[1]["event"]!);
            Assert.NotNull(unfrozen);
            Assert.Equal("called the user", (string)unfrozen["note"]!);

            (code, output, _) = await CliAsync(SupportKey, null, "account", "unfreeze", "acct-D", "--by", "agent-3", "--reason", "again", "--server", url);
            Assert.Equal(1, code);
            Assert.Equal("account.not_frozen", (string)ContractExampleTests.Lines(output)[0]["reasons"]![0]!["code"]!);

            // A support hold, then a second one: already frozen, nothing changed.
            (code, output, err) = await CliAsync(SupportKey, null, "account", "freeze", "acct-D", "--by", "agent-4", "--reason", "the user asked", "--server", url);
            Assert.True(code == 0, err);
            var frozen = ContractExampleTests.Lines(output).Single();
            Assert.Equal("account.frozen", (string)frozen["type"]!);
            Assert.Equal("support.hold", (string)frozen["reason"]!);
            Assert.NotNull(await WaitForOutputAsync(r => (string?)r["type"] == "account.frozen" && (string?)r["event"] == (string)frozen["event"]!));
            (code, _, err) = await CliAsync(SupportKey, null, "account", "freeze", "acct-D", "--by", "agent-4", "--reason", "again", "--server", url);
            Assert.Equal(1, code);
            Assert.Contains("already frozen", err, StringComparison.Ordinal);

            (code, output, err) = await CliAsync(SupportKey, null, "account", "status", "acct-D", "--server", url);
            Assert.True(code == 0, err);
            Assert.Equal("support.hold", (string)JsonNode.Parse(output)!["reason"]!);
            var serverStatus = output;

            (code, output, err) = await CliAsync(SupportKey, null, "account", "history", "acct-D", "--limit", "3", "--server", url);
            Assert.True(code == 0, err);
            var history = ContractExampleTests.Lines(output);
            Assert.Equal(3, history.Count);
            Assert.All(history, h => Assert.Equal("decision", (string)h["type"]!));
            Assert.Equal((string)records[0]["event"]!, (string)history[1]["event"]!); // newest first: the refused unfreeze, then the one that lifted the freeze
            (code, var serverHistory, err) = await CliAsync(SupportKey, null, "account", "history", "acct-D", "--limit", "10", "--server", url);
            Assert.True(code == 0, err);

            // An account id with a slash: the CLI escapes it, the server reads it back as the same account.
            (code, output, err) = await CliAsync(SupportKey, null, "account", "freeze", "team/ops", "--by", "agent-4", "--reason", "the user asked", "--server", url);
            Assert.True(code == 0, err);
            Assert.Equal("team/ops", (string)ContractExampleTests.Lines(output).Single()["account"]!);
            (code, output, err) = await CliAsync(SupportKey, null, "account", "status", "team/ops", "--server", url);
            Assert.True(code == 0, err);
            Assert.Equal("team/ops", (string)JsonNode.Parse(output)!["account"]!);
            Assert.Equal("support.hold", (string)JsonNode.Parse(output)!["reason"]!);
            (code, _, err) = await CliAsync(SupportKey, null, "account", "status", "team%2Fops", "--server", url);
            Assert.Equal(3, code); // the account literally named team%2Fops is another, unknown one

            (code, output, err) = await CliAsync(SupportKey, null, "account", "status", "acct-nobody", "--server", url);
            Assert.Equal(3, code);
            Assert.Equal("", output.Trim());
            Assert.Contains("acct-nobody is unknown", err, StringComparison.Ordinal);

            (code, _, err) = await CliAsync(SupportKey, null, "account", "history", "acct-D", "--limit", "5000", "--server", url);
            Assert.Equal(1, code);
            Assert.Contains("field 'limit'", err, StringComparison.Ordinal);

            server.Terminate();
            Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(60)));

            // Scripts do not change: the local mode prints exactly what the server mode printed.
            (code, output, err) = await CliAsync(null, null, "account", "status", "acct-D", "--data", P("data"));
            Assert.True(code == 0, err);
            Assert.Equal(serverStatus, output);
            (code, output, err) = await CliAsync(null, null, "account", "history", "acct-D", "--limit", "10", "--data", P("data"));
            Assert.True(code == 0, err);
            Assert.Equal(serverHistory, output);
        }
    }

    [Fact]
    public async Task Totp_enroll_verify_and_reset_go_through_the_server_with_codes_from_Otp_net_and_roles_are_named_when_a_key_lacks_them()
    {
        var (server, url) = await StartServerAsync();
        using (server)
        {
            using var enroll = WorkerProcess.StartCliWithEnvironment(WithKey(DecideKey), "totp", "enroll", "alice", "--issuer", "Wallet Co", "--server", url, "--png", P("qr.png"));
            Assert.True(await enroll.WaitUntilAsync(() => enroll.StdOut.Any(l => l.Contains("enter the first code", StringComparison.Ordinal)), TimeSpan.FromSeconds(60)), enroll.Log);
            var uri = enroll.StdOut.First();
            Assert.StartsWith("otpauth://totp/Wallet%20Co:alice?secret=", uri, StringComparison.Ordinal);
            Assert.True(new FileInfo(P("qr.png")).Length > 100);
            // The server checks with the real clock: the code for now (a step that turns meanwhile is inside the ±1 drift window).
            var totp = new OtpNet.Totp(OtpNet.Base32Encoding.ToBytes(Rfc6238.Query(uri)["secret"]), step: 30, totpSize: 6);
            await enroll.Input.WriteLineAsync(totp.ComputeTotp(DateTime.UtcNow));
            enroll.Input.Close();
            Assert.True(await enroll.WaitForExitAsync(TimeSpan.FromSeconds(60)) == 0, string.Join('\n', enroll.StdOut) + enroll.Log);
            var lines = enroll.StdOut.ToList();
            Assert.Contains("confirmed: the factor is active", lines);
            // The confirmation's account event, as the server journaled it, on the line after.
            var enrolled = JsonNode.Parse(lines[lines.IndexOf("confirmed: the factor is active") + 1])!;
            Assert.Equal(("account.factor_enrolled", "alice"), ((string)enrolled["type"]!, (string)enrolled["account"]!));
            Assert.Equal(10, lines.SkipWhile(l => !l.StartsWith("recovery codes", StringComparison.Ordinal)).Skip(1).Count(l => l.StartsWith("  ", StringComparison.Ordinal) && l.Trim().Length > 0));
            Assert.DoesNotContain(DecideKey, enroll.Log, StringComparison.Ordinal);

            // The next step's code: later than the confirmation's step, and inside the drift window wherever the clock is in its step.
            var next = totp.ComputeTotp(DateTime.UtcNow.AddSeconds(30));
            var (code, output, err) = await CliAsync(DecideKey, next + "\n", "totp", "verify", "alice", "--server", url);
            Assert.True(code == 0, output + err);
            Assert.Equal("accepted", output.Trim());
            (code, output, _) = await CliAsync(DecideKey, null, "totp", "verify", "alice", "--code", next, "--server", url);
            Assert.Equal(1, code);
            Assert.Equal("refused: totp.replayed", output.Trim());

            // A decide key cannot reset a factor or read an account: the message names the role, never the key.
            (code, output, err) = await CliAsync(DecideKey, null, "totp", "reset", "alice", "--by", "agent-2", "--reason", "lost phone", "--server", url);
            Assert.Equal(2, code);
            Assert.Equal("", output.Trim());
            Assert.Contains("403", err, StringComparison.Ordinal);
            Assert.Contains("'support' role", err, StringComparison.Ordinal);
            (code, _, err) = await CliAsync(SupportKey, null, "totp", "verify", "alice", "--code", "123456", "--server", url);
            Assert.Equal(2, code);
            Assert.Contains("'decide' role", err, StringComparison.Ordinal);
            (code, _, err) = await CliAsync(UnknownKey, null, "account", "status", "alice", "--server", url);
            Assert.Equal(2, code);
            Assert.Contains("refused the API key (401", err, StringComparison.Ordinal);
            Assert.Contains("RISKENGINE_KEY", err, StringComparison.Ordinal);

            // --key works too (ps shows it: the help says to prefer the environment variable).
            (code, output, err) = await CliAsync(null, null, "totp", "reset", "alice", "--by", "agent-2", "--reason", "lost phone", "--server", url, "--key", SupportKey);
            Assert.True(code == 0, err);
            var resetLines = output.Trim().Split('\n');
            Assert.Equal("""{"account":"alice","reset":true}""", resetLines[0]);
            Assert.Equal(("account.factor_reset", "agent-2"), ((string)JsonNode.Parse(resetLines[1])!["type"]!, (string)JsonNode.Parse(resetLines[1])!["by"]!));
            Assert.Equal(2, resetLines.Length);
            (code, _, err) = await CliAsync(SupportKey, null, "totp", "reset", "alice", "--by", "agent-2", "--reason", "again", "--server", url);
            Assert.Equal(1, code);
            Assert.Contains("no TOTP factor", err, StringComparison.Ordinal);
            (code, _, err) = await CliAsync(SupportKey, null, "totp", "reset", "alice", "--by", new string('a', 129), "--reason", "r", "--server", url);
            Assert.Equal(1, code);
            Assert.Contains("field 'by'", err, StringComparison.Ordinal);
            (code, output, _) = await CliAsync(SupportKey, null, "account", "status", "alice", "--server", url);
            Assert.Equal(0, code);
            Assert.False((bool)JsonNode.Parse(output)!["totpEnrolled"]!);

            server.Terminate();
            Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            foreach (var k in Keys) Assert.DoesNotContain(k, server.Log, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Without_a_server_listening_or_without_a_key_the_commands_say_so_clearly()
    {
        var url = $"http://127.0.0.1:{FreePort()}"; // nothing listens there now

        string[][] commands =
        [
            ["account", "status", "acct-D"],
            ["account", "unfreeze", "acct-D", "--by", "a", "--reason", "r"],
            ["account", "freeze", "acct-D", "--by", "a", "--reason", "r"],
            ["account", "history", "acct-D"],
            ["totp", "verify", "alice", "--code", "123456"],
            ["totp", "reset", "alice", "--by", "a", "--reason", "r"],
        ];
        foreach (var command in commands)
        {
            var (code, output, err) = await CliAsync(SupportKey, null, [.. command, "--server", url]);
            Assert.True(code == 2, string.Join(' ', command) + ": " + err);
            Assert.Equal("", output.Trim());
            Assert.Contains($"cannot reach the server at {url}", err, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", err, StringComparison.Ordinal);
        }

        var (c, _, e) = await CliAsync(null, null, "account", "status", "acct-D", "--server", url);
        Assert.Equal(2, c);
        Assert.Contains("RISKENGINE_KEY", e, StringComparison.Ordinal);
        (c, _, e) = await CliAsync(SupportKey, null, "account", "status", "acct-D", "--server", url, "--data", P("data"));
        Assert.Equal(1, c);
        Assert.Contains("--data cannot be used with --server", e, StringComparison.Ordinal);
        (c, _, e) = await CliAsync(null, null, "account", "status", "acct-D", "--key", SupportKey);
        Assert.Equal(1, c);
        Assert.Contains("--key needs --server", e, StringComparison.Ordinal);
        (c, _, e) = await CliAsync(SupportKey, null, "account", "status", "acct-D", "--server", "ftp://example.invalid/");
        Assert.Equal(1, c);
        Assert.Contains("--server must be an http:// or https:// URL", e, StringComparison.Ordinal);
    }

    /// <summary>
    /// The answers a healthy test server cannot be made to give on cue (a store outage, a rate limit, a crash), from a
    /// stand-in HTTP server on loopback that also records what the CLI sent: the route, the method, the body, the key.
    /// </summary>
    [Fact]
    public async Task Http_errors_become_the_cli_s_exit_codes_and_messages_and_each_command_calls_its_route()
    {
        var port = FreePort();
        var url = $"http://127.0.0.1:{port}";
        using var listener = new HttpListener();
        listener.Prefixes.Add(url + "/");
        listener.Start();
        var answers = new Queue<(int Status, string Type, string Body, string? RetryAfter)>();
        var seen = new List<(string Method, string Path, string Body, string? Authorization)>();
        using var stop = new CancellationTokenSource();
        var serving = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                HttpListenerContext context;
                try
                {
                    context = await listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }
                using var reader = new StreamReader(context.Request.InputStream);
                var body = await reader.ReadToEndAsync();
                (int Status, string Type, string Body, string? RetryAfter) answer;
                lock (answers)
                {
                    seen.Add((context.Request.HttpMethod, context.Request.RawUrl!, body, context.Request.Headers["Authorization"]));
                    answer = answers.Dequeue();
                }
                context.Response.StatusCode = answer.Status;
                context.Response.ContentType = answer.Type;
                if (answer.RetryAfter is not null) context.Response.Headers["Retry-After"] = answer.RetryAfter;
                var bytes = System.Text.Encoding.UTF8.GetBytes(answer.Body);
                await context.Response.OutputStream.WriteAsync(bytes);
                context.Response.Close();
            }
        });

        async Task<(int Code, string Out, string Err)> RunAsync((int, string, string, string?) answer, params string[] args)
        {
            lock (answers) answers.Enqueue(answer);
            return await CliAsync(SupportKey, null, [.. args, "--server", url]);
        }
        static (int, string, string, string?) Problem(int status, string detail, string? field = null, string? retryAfter = null) =>
            (status, "application/problem+json", new JsonObject { ["status"] = status, ["title"] = "t", ["detail"] = detail, ["field"] = field }.ToJsonString(), retryAfter);

        var (code, output, err) = await RunAsync(Problem(503, "nothing was decided or changed (redis down); retry the same request", retryAfter: "5"),
            "account", "unfreeze", "acct-D", "--by", "agent-3", "--reason", "called");
        Assert.Equal(2, code);
        Assert.Contains("state store cannot be reached", err, StringComparison.Ordinal);
        Assert.Contains("redis down", err, StringComparison.Ordinal);
        Assert.Equal(("POST", "/v1/accounts/acct-D/unfreeze", "Bearer " + SupportKey), (seen[^1].Method, seen[^1].Path, seen[^1].Authorization));
        Assert.Equal("agent-3", (string)JsonNode.Parse(seen[^1].Body)!["by"]!);
        Assert.Equal("called", (string)JsonNode.Parse(seen[^1].Body)!["reason"]!);

        (code, _, err) = await RunAsync(Problem(429, "slow down", retryAfter: "7"), "account", "status", "acct-D");
        Assert.Equal(2, code);
        Assert.Contains("rate limiting this API key (429); retry after 7 s", err, StringComparison.Ordinal);
        Assert.Equal(("GET", "/v1/accounts/acct-D"), (seen[^1].Method, seen[^1].Path));

        (code, _, err) = await RunAsync(Problem(500, "boom"), "account", "history", "acct-D", "--limit", "7");
        Assert.Equal(2, code);
        Assert.Contains("failed (500", err, StringComparison.Ordinal);
        Assert.Equal(("GET", "/v1/accounts/acct-D/history?limit=7"), (seen[^1].Method, seen[^1].Path));

        (code, _, err) = await RunAsync(Problem(422, "'by' must be at most 128 characters", "by"), "account", "freeze", "acct-D", "--by", "a", "--reason", "r");
        Assert.Equal(1, code);
        Assert.Contains("'by' must be at most 128 characters (field 'by')", err, StringComparison.Ordinal);
        Assert.Equal(("POST", "/v1/accounts/acct-D/freeze"), (seen[^1].Method, seen[^1].Path));

        (code, _, err) = await RunAsync((404, "text/plain", "", null), "totp", "verify", "alice", "--code", "123456");
        Assert.Equal(2, code); // a route the server does not have is no unknown account
        Assert.Contains("is it a riskengine-server", err, StringComparison.Ordinal);
        Assert.Equal(("POST", "/v1/accounts/alice/totp/verify"), (seen[^1].Method, seen[^1].Path));
        Assert.Equal("123456", (string)JsonNode.Parse(seen[^1].Body)!["code"]!);

        (code, _, err) = await RunAsync((200, "text/html", "<html/>", null), "totp", "reset", "alice", "--by", "a", "--reason", "r");
        Assert.Equal(2, code);
        Assert.Contains("without JSON", err, StringComparison.Ordinal);
        Assert.Equal(("POST", "/v1/accounts/alice/totp/reset"), (seen[^1].Method, seen[^1].Path));

        (code, output, err) = await RunAsync((200, "application/json", """{"accepted":false,"reason":"totp.invalid","events":[]}""", null), "totp", "verify", "a/b?c");
        Assert.Equal(1, code);
        Assert.Equal("refused: totp.invalid", output.Trim());
        Assert.Equal("/v1/accounts/a%2Fb%3Fc/totp/verify", seen[^1].Path); // the account id escaped into one path segment

        await stop.CancelAsync();
        listener.Stop();
        await serving;
    }

    private static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    [Fact]
    public async Task Freeze_and_totp_reset_also_work_on_the_data_folder()
    {
        var (code, log) = await WorkerProcess.RunAsync("--policy", Sample("policy.example.json"), "--input", Sample("events.example.jsonl"),
            "--output", P("out.jsonl"), "--data", P("data"), "--once");
        Assert.True(code == 0, log);

        var (c, output, err) = await CliAsync(null, null, "account", "freeze", "acct-D", "--by", "agent-4", "--reason", "the user asked", "--data", P("data"));
        Assert.Equal(1, c); // frozen by the example already
        Assert.Contains("already frozen", err, StringComparison.Ordinal);
        (c, _, err) = await CliAsync(null, null, "account", "unfreeze", "acct-D", "--by", "agent-4", "--reason", "called", "--data", P("data"));
        Assert.True(c == 0, err);
        (c, output, err) = await CliAsync(null, null, "account", "freeze", "acct-D", "--by", "agent-4", "--reason", "the user asked", "--data", P("data"));
        Assert.True(c == 0, err);
        var frozen = ContractExampleTests.Lines(output).Single();
        Assert.Equal("account.frozen", (string)frozen["type"]!);
        Assert.Equal("support.hold", (string)frozen["reason"]!);
        (c, output, _) = await CliAsync(null, null, "account", "status", "acct-D", "--data", P("data"));
        Assert.Equal("support.hold", (string)JsonNode.Parse(output)!["reason"]!);

        (c, _, err) = await CliAsync(null, null, "totp", "reset", "alice", "--by", "agent-2", "--reason", "lost phone", "--data", P("data"));
        Assert.Equal(1, c);
        Assert.Contains("no TOTP factor", err, StringComparison.Ordinal);
        using (var enroll = WorkerProcess.StartCli("totp", "enroll", "alice", "--data", P("data")))
        {
            Assert.True(await enroll.WaitUntilAsync(() => enroll.StdOut.Any(l => l.Contains("enter the first code", StringComparison.Ordinal)), TimeSpan.FromSeconds(60)), enroll.Log);
            var totp = new OtpNet.Totp(OtpNet.Base32Encoding.ToBytes(Rfc6238.Query(enroll.StdOut.First())["secret"]), step: 30, totpSize: 6);
            await enroll.Input.WriteLineAsync(totp.ComputeTotp(DateTime.UtcNow));
            enroll.Input.Close();
            Assert.Equal(0, await enroll.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains(enroll.StdOut, l => l.StartsWith("""{"type":"account.factor_enrolled","event":"totp:""", StringComparison.Ordinal));
        }
        (c, output, err) = await CliAsync(null, null, "totp", "reset", "alice", "--by", "agent-2", "--reason", "lost phone", "--data", P("data"));
        Assert.True(c == 0, err);
        var lines = output.Trim().Split('\n');
        Assert.Equal("""{"account":"alice","reset":true}""", lines[0]);
        var reset = JsonNode.Parse(lines[1])!;
        Assert.Equal(("account.factor_reset", "alice", "agent-2", "lost phone"), ((string)reset["type"]!, (string)reset["account"]!, (string)reset["by"]!, (string)reset["note"]!));
        Assert.Equal("+1-800-555-0100", (string)reset["support"]!["phone"]!);
        (c, output, _) = await CliAsync(null, null, "account", "status", "alice", "--data", P("data"));
        Assert.False((bool)JsonNode.Parse(output)!["totpEnrolled"]!);
    }
}

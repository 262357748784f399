using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using RiskEngine.Pipeline;
using RiskEngine.State;
using RiskEngine.Tests.Contract;

namespace RiskEngine.Tests.Server;

/// <summary>The HTTP decision service in process, on a SQLite store in a temporary folder.</summary>
public sealed class ServerApiTests() : ScratchFolder("riskengine-server-")
{
    private ServerFactory? _factory;

    private ServerFactory Start(IReadOnlyDictionary<string, string>? settings = null, Action<IServiceCollection>? services = null)
    {
        _factory = new ServerFactory(P(""), settings ?? new Dictionary<string, string>(), services);
        return _factory;
    }

    protected override void Cleanup() => _factory?.Dispose();

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<JsonObject> BodyAsync(HttpResponseMessage response) => JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();

    /// <summary>What replay writes for the contract example: the reference the server's stream must equal byte for byte.</summary>
    private static async Task<byte[]> ReplayAsync()
    {
        var services = new ServiceCollection().AddRiskEngine(o =>
        {
            o.PolicyPath = Sample("policy.example.json");
            o.MaxFutureSkew = null;
        });
        await using var provider = services.BuildServiceProvider();
        await using var input = File.OpenRead(Sample("events.example.jsonl"));
        using var output = new MemoryStream();
        await new EventStreamProcessor(provider.GetRequiredService<IRiskEngine>()).RunAsync(input, output);
        return output.ToArray();
    }

    [Fact]
    public async Task The_contract_example_posted_one_by_one_gives_the_expected_records_and_the_output_holds_them()
    {
        using var client = Start().Client(ServerFactory.AdminKey); // the example mixes the platform's events and a support unfreeze
        var actual = new List<JsonObject>();
        var lines = await File.ReadAllLinesAsync(Sample("events.example.jsonl"));
        for (var i = 0; i < lines.Length; i++)
        {
            using var response = await client.PostAsync("/v1/events", Json(lines[i]));
            var body = await BodyAsync(response);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
                actual.Add(body["decision"]!.AsObject());
                actual.AddRange(body["events"]!.AsArray().Select(e => e!.AsObject()));
            }
            else
            {
                Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
                actual.Add(new JsonObject { ["type"] = "rejected", ["line"] = i + 1, ["event"] = body["event"]?.DeepClone(), ["field"] = body["field"]?.DeepClone() });
            }
        }
        var expected = ContractExampleTests.Lines(await File.ReadAllTextAsync(Sample("expected.example.jsonl")));
        ContractExampleTests.AssertMatches(expected, actual);

        // The outbox: every decision record and account event reached --output, in order, once the batch committed.
        var output = ContractExampleTests.Lines(await File.ReadAllTextAsync(_factory!.Output));
        Assert.Equal(actual.Where(a => (string)a["type"]! != "rejected").Select(a => (string)a["type"]! + a["event"]),
            output.Where(a => (string)a["type"]! != "rejected").Select(a => (string)a["type"]! + a["event"]));
        Assert.Contains(output, r => (string)r["type"]! == "account.frozen" && (string)r["account"]! == "acct-D");
    }

    [Fact]
    public async Task The_contract_example_as_one_ndjson_body_is_exactly_what_replay_writes()
    {
        using var client = Start().Client(ServerFactory.AdminKey); // the example mixes the platform's events and a support unfreeze
        var content = new ByteArrayContent(await File.ReadAllBytesAsync(Sample("events.example.jsonl")));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
        using var response = await client.PostAsync("/v1/events", content);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType!.MediaType);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        var replay = await ReplayAsync();
        Assert.Equal(Encoding.UTF8.GetString(replay), Encoding.UTF8.GetString(bytes));
        ContractExampleTests.AssertMatches(ContractExampleTests.Lines(await File.ReadAllTextAsync(Sample("expected.example.jsonl"))),
            ContractExampleTests.Lines(Encoding.UTF8.GetString(bytes)));
    }

    [Fact]
    public async Task A_retry_is_a_duplicate_and_the_same_id_with_other_content_is_rejected_on_id()
    {
        using var client = Start().Client(ServerFactory.DecideKey);
        const string tx = """{"type":"transaction","id":"r1","at":"2026-11-27T10:00:00Z","account":"acct-R","amount":100,"currency":"USD","country":"US","device":"d1"}""";
        using var first = await client.PostAsync("/v1/events", Json(tx));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Null((await BodyAsync(first))["decision"]!["duplicate"]);

        using var retry = await client.PostAsync("/v1/events", Json(tx));
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        var again = await BodyAsync(retry);
        Assert.True((bool)again["decision"]!["duplicate"]!);
        Assert.Equal("allow", (string)again["decision"]!["outcome"]!);
        Assert.Empty(again["events"]!.AsArray());

        using var conflict = await client.PostAsync("/v1/events", Json(tx.Replace("\"amount\":100", "\"amount\":200", StringComparison.Ordinal)));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, conflict.StatusCode);
        Assert.Equal("id", (string)(await BodyAsync(conflict))["field"]!);
    }

    [Fact]
    public async Task A_malformed_event_is_a_422_problem_naming_the_field()
    {
        using var client = Start().Client(ServerFactory.DecideKey);
        using var response = await client.PostAsync("/v1/events",
            Json("""{"type":"transaction","id":"m1","at":"2026-11-27T10:00:00Z","account":"acct-M","amount":-5,"currency":"USD","country":"US","device":"d1"}"""));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var problem = await BodyAsync(response);
        Assert.Equal(422, (int)problem["status"]!);
        Assert.Equal("amount", (string)problem["field"]!);
        Assert.Equal("m1", (string)problem["event"]!);
        Assert.False(string.IsNullOrWhiteSpace((string)problem["detail"]!));

        using var notJson = await client.PostAsync("/v1/events", Json("not json {"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, notJson.StatusCode);
        Assert.Null((await BodyAsync(notJson))["field"]);
    }

    [Fact]
    public async Task No_key_or_an_unknown_key_is_401_with_a_bearer_challenge_and_a_key_without_the_role_is_403()
    {
        var factory = Start();
        const string tx = """{"type":"transaction","id":"a1","at":"2026-11-27T10:00:00Z","account":"acct-Z","amount":1,"currency":"USD","country":"US","device":"d1"}""";
        foreach (var key in new[] { null, "not-a-key" })
        {
            using var client = factory.Client(key);
            using var response = await client.PostAsync("/v1/events", Json(tx));
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        }
        using (var support = factory.Client(ServerFactory.SupportKey))
        using (var response = await support.PostAsync("/v1/events", Json(tx)))
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }
        using (var decide = factory.Client(ServerFactory.DecideKey))
        using (var response = await decide.GetAsync("/v1/accounts/acct-Z"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }
        using (var admin = factory.Client(ServerFactory.AdminKey)) // admin implies decide and support
        {
            using var decided = await admin.PostAsync("/v1/events", Json(tx));
            Assert.Equal(HttpStatusCode.OK, decided.StatusCode);
            using var status = await admin.GetAsync("/v1/accounts/acct-Z");
            Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        }
    }

    [Fact]
    public async Task A_key_over_its_rate_limit_gets_429_with_retry_after_and_other_keys_do_not()
    {
        var factory = Start(new Dictionary<string, string> { ["RiskEngine:Server:PermitsPerSecond"] = "1" });
        using var client = factory.Client(ServerFactory.DecideKey);
        var statuses = new List<HttpResponseMessage>();
        for (var i = 0; i < 10; i++)
            statuses.Add(await client.PostAsync("/v1/events", Json($$"""{"type":"transaction","id":"rl{{i}}","at":"2026-11-27T10:00:00Z","account":"acct-L","amount":1,"currency":"USD","country":"US","device":"d1"}""")));
        var limited = statuses.Where(s => s.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.NotEmpty(limited);
        Assert.All(limited, r => Assert.True(r.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), "Retry-After"));
        Assert.Contains(statuses, s => s.StatusCode == HttpStatusCode.OK);
        using var support = factory.Client(ServerFactory.SupportKey); // its own bucket
        using var status = await support.GetAsync("/v1/accounts/acct-L");
        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        foreach (var s in statuses) s.Dispose();
    }

    [Fact]
    public async Task Support_reads_status_and_history_and_lifts_a_freeze_and_the_account_event_reaches_the_output()
    {
        var factory = Start();
        using var decide = factory.Client(ServerFactory.DecideKey);
        using var support = factory.Client(ServerFactory.SupportKey);
        var content = new ByteArrayContent(await File.ReadAllBytesAsync(Sample("events.example.jsonl")));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
        (await decide.PostAsync("/v1/events", content)).EnsureSuccessStatusCode();

        var status = await BodyAsync(await support.GetAsync("/v1/accounts/acct-D"));
        Assert.True((bool)status["frozen"]!);
        Assert.Equal("login.impossible_travel", (string)status["reason"]!);
        Assert.Equal("login", (string)status["case"]!["type"]!);

        using var missing = await support.PostAsync("/v1/accounts/acct-D/unfreeze", Json("""{"by":"agent-1"}"""));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, missing.StatusCode);
        Assert.Equal("reason", (string)(await BodyAsync(missing))["field"]!);

        using var lifted = await support.PostAsync("/v1/accounts/acct-D/unfreeze", Json("""{"by":"agent-1","reason":"called the user back"}"""));
        Assert.Equal(HttpStatusCode.OK, lifted.StatusCode);
        var answer = await BodyAsync(lifted);
        Assert.Equal("allow", (string)answer["decision"]!["outcome"]!);
        var unfrozen = Assert.Single(answer["events"]!.AsArray())!;
        Assert.Equal("account.unfrozen", (string)unfrozen["type"]!);
        Assert.Equal("agent-1", (string)unfrozen["by"]!);
        Assert.Equal("called the user back", (string)unfrozen["note"]!);

        Assert.False((bool)(await BodyAsync(await support.GetAsync("/v1/accounts/acct-D")))["frozen"]!);
        var history = JsonNode.Parse(await support.GetStringAsync("/v1/accounts/acct-D/history"))!.AsArray();
        Assert.Contains(history, h => (string)h!["event"]! == "e20" && h["events"]![0]!["type"]!.GetValue<string>() == "account.frozen");
        Assert.Contains(history, h => h!["events"]?[0]?["type"]?.GetValue<string>() == "account.unfrozen");

        var output = ContractExampleTests.Lines(await File.ReadAllTextAsync(factory.Output));
        Assert.Contains(output, r => (string)r["type"]! == "account.unfrozen" && (string)r["account"]! == "acct-D" && (string)r["by"]! == "agent-1");
        using var unknown = await support.GetAsync("/v1/accounts/nobody");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    /// <summary>
    /// An account id may hold <c>/</c>; clients escape it as <c>%2F</c>, which the server does not decode into the path.
    /// The route's account is the raw path segment unescaped exactly once: <c>a%2Fb</c> is account <c>a/b</c>, and the
    /// account literally named <c>a%2Fb</c> is <c>a%252Fb</c> — never the one for the other.
    /// </summary>
    [Fact]
    public async Task An_escaped_slash_in_the_path_names_the_account_with_the_slash_and_never_the_literal_percent_account()
    {
        var factory = Start();
        factory.UseKestrel(0); // the in-memory test server keeps no raw request target; Kestrel, as deployed, does
        using var decide = factory.Client(ServerFactory.DecideKey);
        using var support = factory.Client(ServerFactory.SupportKey);
        var now = DateTimeOffset.UtcNow;
        var events = ConsoleBrowserTests.VelocityBurst("a/b", now).Append(System.Text.Json.JsonSerializer.Serialize(new
        {
            type = "transaction", id = "p1", at = RecordWriter.FormatTime(now.AddSeconds(-30).AddTicks(-(now.Ticks % TimeSpan.TicksPerSecond))),
            account = "a%2Fb", amount = 7m, currency = "USD", country = "US", device = "dev-P1",
        }));
        var content = new StringContent(string.Join('\n', events) + "\n");
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
        (await decide.PostAsync("/v1/events", content)).EnsureSuccessStatusCode();

        // a%2Fb is the frozen a/b; a%252Fb is the account literally named a%2Fb, not frozen.
        var slash = await BodyAsync(await support.GetAsync(new Uri("/v1/accounts/a%2Fb", UriKind.Relative)));
        Assert.Equal("a/b", (string)slash["account"]!);
        Assert.True((bool)slash["frozen"]!);
        Assert.Equal("velocity.count", (string)slash["reason"]!);
        var percent = await BodyAsync(await support.GetAsync(new Uri("/v1/accounts/a%252Fb", UriKind.Relative)));
        Assert.Equal("a%2Fb", (string)percent["account"]!);
        Assert.False((bool)percent["frozen"]!);
        var history = JsonNode.Parse(await support.GetStringAsync(new Uri("/v1/accounts/a%2Fb/history", UriKind.Relative)))!.AsArray();
        Assert.Equal(6, history.Count);
        Assert.All(history, h => Assert.Equal("a/b", (string)h!["account"]!));
        var percentHistory = JsonNode.Parse(await support.GetStringAsync(new Uri("/v1/accounts/a%252Fb/history", UriKind.Relative)))!.AsArray();
        Assert.Equal("p1", (string)Assert.Single(percentHistory)!["event"]!);

        // Unfreezing through the escaped path lifts a/b's freeze; a hold through the doubly escaped one holds a%2Fb.
        using var lifted = await support.PostAsync(new Uri("/v1/accounts/a%2Fb/unfreeze", UriKind.Relative), Json("""{"by":"agent-1","reason":"called the user back"}"""));
        Assert.Equal(HttpStatusCode.OK, lifted.StatusCode);
        var unfrozen = Assert.Single((await BodyAsync(lifted))["events"]!.AsArray())!;
        Assert.Equal("account.unfrozen", (string)unfrozen["type"]!);
        Assert.Equal("a/b", (string)unfrozen["account"]!);
        using var held = await support.PostAsync(new Uri("/v1/accounts/a%252Fb/freeze", UriKind.Relative), Json("""{"by":"agent-1","reason":"user reports a stolen phone"}"""));
        Assert.Equal(HttpStatusCode.OK, held.StatusCode);
        Assert.Equal("a%2Fb", (string)(await BodyAsync(held))["events"]![0]!["account"]!);
        Assert.False((bool)(await BodyAsync(await support.GetAsync(new Uri("/v1/accounts/a%2Fb", UriKind.Relative))))["frozen"]!);
        Assert.Equal("support.hold", (string)(await BodyAsync(await support.GetAsync(new Uri("/v1/accounts/a%252Fb", UriKind.Relative))))["reason"]!);

        // The TOTP and password routes read the account the same way.
        using var enrolled = await decide.PostAsync(new Uri("/v1/accounts/a%2Fb/totp/enroll", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.OK, enrolled.StatusCode);
        Assert.Equal("a/b", (string)(await BodyAsync(enrolled))["account"]!);
        using var checkedPassword = await decide.PostAsync(new Uri("/v1/accounts/a%252Fb/password-check", UriKind.Relative), Json("""{"password":"correct-Horse-battery-staple-91!"}"""));
        Assert.Equal(HttpStatusCode.OK, checkedPassword.StatusCode);

        // An escape that is not UTF-8 names no account: 422 on account, for every route.
        foreach (var (method, path) in new[] { ("GET", "/v1/accounts/a%FFb"), ("GET", "/v1/accounts/a%FFb/history"), ("POST", "/v1/accounts/a%C3b/unfreeze") })
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative)) { Content = method == "POST" ? Json("""{"by":"x","reason":"y"}""") : null };
            using var bad = await support.SendAsync(request);
            Assert.Equal(HttpStatusCode.UnprocessableEntity, bad.StatusCode);
            Assert.Equal("account", (string)(await BodyAsync(bad))["field"]!);
        }
    }

    [Fact]
    public async Task Support_places_a_hold_that_is_journaled_and_published_and_lifts_it()
    {
        var factory = Start();
        using var support = factory.Client(ServerFactory.SupportKey);
        using var noReason = await support.PostAsync("/v1/accounts/acct-H/freeze", Json("""{"by":"agent-9"}"""));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, noReason.StatusCode);
        Assert.Equal("reason", (string)(await BodyAsync(noReason))["field"]!);
        using var noBy = await support.PostAsync("/v1/accounts/acct-H/freeze", Json("""{"reason":"x"}"""));
        Assert.Equal("by", (string)(await BodyAsync(noBy))["field"]!);
        using var longBy = await support.PostAsync("/v1/accounts/acct-T/totp/reset", Json($$"""{"by":"{{new string('a', 129)}}","reason":"lost phone"}"""));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, longBy.StatusCode); // the service's limit, not a 500
        Assert.Equal("by", (string)(await BodyAsync(longBy))["field"]!);

        using var held = await support.PostAsync("/v1/accounts/acct-H/freeze", Json("""{"by":"agent-9","reason":"user reports a stolen phone"}"""));
        Assert.Equal(HttpStatusCode.OK, held.StatusCode);
        var frozen = Assert.Single((await BodyAsync(held))["events"]!.AsArray())!;
        Assert.Equal("account.frozen", (string)frozen["type"]!);
        Assert.Equal("support.hold", (string)frozen["reason"]!);
        Assert.False((bool)frozen["selfService"]!);
        Assert.NotNull(frozen["message"]!["zh-CN"]);

        using var again = await support.PostAsync("/v1/accounts/acct-H/freeze", Json("""{"by":"agent-9","reason":"twice"}"""));
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);

        var status = await BodyAsync(await support.GetAsync("/v1/accounts/acct-H"));
        Assert.True((bool)status["frozen"]!);
        Assert.Equal("support.hold", (string)status["reason"]!);
        Assert.Equal("agent-9", (string)status["supportLog"]![0]!["by"]!);

        using var decide = factory.Client(ServerFactory.DecideKey);
        var denied = await BodyAsync(await decide.PostAsync("/v1/events", Json("""{"type":"transaction","id":"h1","at":"2026-11-28T10:00:00Z","account":"acct-H","amount":1,"currency":"USD","country":"US","device":"d1"}""")));
        Assert.Equal("deny", (string)denied["decision"]!["outcome"]!);

        using var lifted = await support.PostAsync("/v1/accounts/acct-H/unfreeze", Json("""{"by":"agent-9","reason":"identity checked"}"""));
        Assert.Equal("account.unfrozen", (string)(await BodyAsync(lifted))["events"]![0]!["type"]!);
        var output = ContractExampleTests.Lines(await File.ReadAllTextAsync(factory.Output));
        Assert.Equal(["account.frozen", "decision", "decision", "account.unfrozen"], output.Select(r => (string)r["type"]!));
    }

    [Fact]
    public async Task Support_actions_record_the_authenticated_key_name_beside_the_by_as_sent()
    {
        var factory = Start();
        using var support = factory.Client(ServerFactory.SupportKey); // configured as "support-desk"

        // A hold, then an unfreeze (a contract unfreeze event through the pump), each claiming another agent.
        using var held = await support.PostAsync("/v1/accounts/acct-K/freeze", Json("""{"by":"agent-1","reason":"user reports a stolen phone"}"""));
        Assert.Equal(HttpStatusCode.OK, held.StatusCode);
        using var lifted = await support.PostAsync("/v1/accounts/acct-K/unfreeze", Json("""{"by":"agent-2","reason":"identity checked"}"""));
        Assert.Equal(HttpStatusCode.OK, lifted.StatusCode);
        var unfrozen = (await BodyAsync(lifted))["events"]![0]!.AsObject();
        Assert.Equal("account.unfrozen", (string)unfrozen["type"]!);
        Assert.Equal("agent-2", (string)unfrozen["by"]!); // the account event's by stays as sent
        Assert.False(unfrozen.ContainsKey("key")); // the contract of account events is unchanged

        // A TOTP reset: the factor is enrolled through the decide key, reset through the support key.
        using var decide = factory.Client(ServerFactory.DecideKey);
        using (var enrolled = await decide.PostAsync("/v1/accounts/acct-K/totp/enroll", null)) Assert.Equal(HttpStatusCode.OK, enrolled.StatusCode);
        using var reset = await support.PostAsync("/v1/accounts/acct-K/totp/reset", Json("""{"by":"agent-3","reason":"lost phone"}"""));
        Assert.Equal(HttpStatusCode.OK, reset.StatusCode);

        var log = (await BodyAsync(await support.GetAsync("/v1/accounts/acct-K")))["supportLog"]!.AsArray();
        Assert.Equal(
            [("agent-1", "support.hold", "user reports a stolen phone", "support-desk"), ("agent-2", "unfreeze", "identity checked", "support-desk"), ("agent-3", "totp.reset", "lost phone", "support-desk")],
            log.Select(e => ((string)e!["by"]!, (string)e["action"]!, (string)e["reason"]!, (string?)e["key"])));

        // The store keeps the key's name (the codec's encoding), never the key itself.
        var stored = (await factory.Services.GetRequiredService<IRiskStateStore>().LoadAccountAsync(RiskEngine.Domain.AccountId.Create("acct-K"))).State;
        Assert.All(stored.SupportLog, a => Assert.Equal("support-desk", a.Key));
        Assert.DoesNotContain(ServerFactory.SupportKey, Encoding.UTF8.GetString(StateJson.SerializeState(stored)), StringComparison.Ordinal);

        // An unfreeze the contract rejects is rejected as before: 422 with the field, the rejection in the output.
        using var held2 = await support.PostAsync("/v1/accounts/acct-K/freeze", Json("""{"by":"agent-1","reason":"again"}"""));
        Assert.Equal(HttpStatusCode.OK, held2.StatusCode);
        using var bad = await support.PostAsync("/v1/accounts/acct-K/unfreeze", Json($$"""{"by":"{{new string('a', 129)}}","reason":"x"}"""));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, bad.StatusCode);
        Assert.Equal("by", (string)(await BodyAsync(bad))["field"]!);
        Assert.Contains(ContractExampleTests.Lines(await File.ReadAllTextAsync(factory.Output)), r => (string)r["type"]! == "rejected");
    }

    [Fact]
    public async Task Beside_an_input_file_api_calls_and_file_events_share_one_store_and_one_output_and_both_positions_survive_a_restart()
    {
        var settings = new Dictionary<string, string>
        {
            ["RiskEngine:Input"] = Sample("events.example.jsonl"),
            ["RiskEngine:MaxFutureSkew"] = "off",
            ["RiskEngine:FollowPollInterval"] = "00:00:00.020",
        };
        var factory = Start(settings);
        using (var client = factory.Client(ServerFactory.DecideKey))
        {
            Assert.Equal("Healthy", await client.GetStringAsync("/health/ready")); // starts the host: the file pump and the request pump
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (Lines(factory.Output) < 37 && DateTime.UtcNow < deadline) await Task.Delay(20); // polling the file pump's progress
            Assert.Equal(37, Lines(factory.Output));

            // acct-D was frozen by the file's events: an API call sees the same store.
            var answer = await BodyAsync(await client.PostAsync("/v1/events",
                Json("""{"type":"transaction","id":"api-1","at":"2026-11-27T12:00:00Z","account":"acct-D","amount":5,"currency":"USD","country":"US","device":"d1"}""")));
            Assert.Equal("deny", (string)answer["decision"]!["outcome"]!);
            Assert.Contains(answer["decision"]!["reasons"]!.AsArray(), r => (string)r!["code"]! == "account.frozen");
        }
        var output = ContractExampleTests.Lines(await File.ReadAllTextAsync(factory.Output));
        Assert.Equal(38, output.Count);
        Assert.Equal("api-1", (string)output[^1]["event"]!);
        ContractExampleTests.AssertMatches(ContractExampleTests.Lines(await File.ReadAllTextAsync(Sample("expected.example.jsonl"))), output.Take(37).ToList());
        await factory.DisposeAsync();
        await ServerFactory.WaitUntilFolderFreeAsync(factory.Data);

        // Restarted on the same folder: the file is not read again, the API's position and the output are where they were.
        var again = Start(settings);
        using (var client = again.Client(ServerFactory.DecideKey))
        {
            Assert.Equal("Healthy", await client.GetStringAsync("/health/ready"));
            var journal = again.Services.GetRequiredService<IEventJournal>();
            Assert.Equal(1, (await journal.LoadPositionAsync(RiskEngine.Hosting.RequestPump.Source))!.Line);
            Assert.Equal(34, (await journal.LoadPositionAsync(Path.GetFullPath(Sample("events.example.jsonl"))))!.Line);
            var retry = await BodyAsync(await client.PostAsync("/v1/events",
                Json("""{"type":"transaction","id":"api-1","at":"2026-11-27T12:00:00Z","account":"acct-D","amount":5,"currency":"USD","country":"US","device":"d1"}""")));
            Assert.True((bool)retry["decision"]!["duplicate"]!);
        }
        Assert.Equal(39, Lines(again.Output)); // the retry's duplicate record, nothing of the file again
    }

    private static int Lines(string path) => File.Exists(path) ? File.ReadAllLines(path).Length : 0;

    [Fact]
    public async Task Totp_enroll_confirm_and_verify_with_codes_at_the_servers_clock()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero));
        var factory = Start(services: s => s.AddSingleton<TimeProvider>(clock));
        using var client = factory.Client(ServerFactory.DecideKey);
        using var enrolled = await client.PostAsync("/v1/accounts/acct-T/totp/enroll", null);
        Assert.Equal(HttpStatusCode.OK, enrolled.StatusCode);
        var enrollment = await BodyAsync(enrolled);
        Assert.StartsWith("otpauth://totp/", (string)enrollment["uri"]!, StringComparison.Ordinal);
        Assert.Contains("<svg", (string)enrollment["qrSvg"]!, StringComparison.Ordinal);
        Assert.Equal(10, enrollment["recoveryCodes"]!.AsArray().Count);
        var totp = new OtpNet.Totp(OtpNet.Base32Encoding.ToBytes((string)enrollment["secret"]!), step: 30, totpSize: 6);
        string Code() => totp.ComputeTotp(clock.GetUtcNow().UtcDateTime);

        var wrong = await BodyAsync(await client.PostAsync("/v1/accounts/acct-T/totp/confirm", Json($$"""{"code":"{{(int.Parse(Code(), System.Globalization.CultureInfo.InvariantCulture) + 1) % 1_000_000:D6}}"}""")));
        Assert.False((bool)wrong["accepted"]!);
        var confirmed = await BodyAsync(await client.PostAsync("/v1/accounts/acct-T/totp/confirm", Json($$"""{"code":"{{Code()}}"}""")));
        Assert.True((bool)confirmed["accepted"]!);

        var replayed = await BodyAsync(await client.PostAsync("/v1/accounts/acct-T/totp/verify", Json($$"""{"code":"{{Code()}}"}""")));
        Assert.False((bool)replayed["accepted"]!);
        Assert.Equal("totp.replayed", (string)replayed["reason"]!);
        clock.Advance(TimeSpan.FromSeconds(30));
        var verified = await BodyAsync(await client.PostAsync("/v1/accounts/acct-T/totp/verify", Json($$"""{"code":"{{Code()}}"}""")));
        Assert.True((bool)verified["accepted"]!);

        using var again = await client.PostAsync("/v1/accounts/acct-T/totp/enroll", null);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        using var support = factory.Client(ServerFactory.SupportKey);
        using var noBy = await support.PostAsync("/v1/accounts/acct-T/totp/reset", Json("""{"reason":"lost phone"}"""));
        Assert.Equal("by", (string)(await BodyAsync(noBy))["field"]!);
        using var longBy = await support.PostAsync("/v1/accounts/acct-T/totp/reset", Json($$"""{"by":"{{new string('a', 129)}}","reason":"lost phone"}"""));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, longBy.StatusCode); // the service's limit, not a 500
        Assert.Equal("by", (string)(await BodyAsync(longBy))["field"]!);
        using var reset = await support.PostAsync("/v1/accounts/acct-T/totp/reset", Json("""{"by":"agent-2","reason":"lost phone"}"""));
        Assert.Equal(HttpStatusCode.OK, reset.StatusCode);
        var status = await BodyAsync(await support.GetAsync("/v1/accounts/acct-T"));
        Assert.False((bool)status["totpEnrolled"]!);
        Assert.Equal("totp.reset", (string)status["supportLog"]![0]!["action"]!);
    }

    [Fact]
    public async Task Password_check_answers_the_policys_verdict()
    {
        using var client = Start().Client(ServerFactory.DecideKey);
        var weak = await BodyAsync(await client.PostAsync("/v1/accounts/acct-P/password-check", Json("""{"password":"password"}""")));
        Assert.False((bool)weak["allowed"]!);
        Assert.NotEmpty(weak["reasons"]!.AsArray());
        var strong = await BodyAsync(await client.PostAsync("/v1/accounts/acct-P/password-check", Json("""{"password":"correct-Horse-battery-staple-91!"}""")));
        Assert.True((bool)strong["allowed"]!);
        using var missing = await client.PostAsync("/v1/accounts/acct-P/password-check", Json("{}"));
        Assert.Equal("password", (string)(await BodyAsync(missing))["field"]!);

        // Bounded: zxcvbn's cost grows faster than the length, so a body meant to burn CPU is refused, not scored.
        using var huge = await client.PostAsync("/v1/accounts/acct-P/password-check", Json($$"""{"password":"{{new string('a', 257)}}"}"""));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, huge.StatusCode);
        Assert.Equal("password", (string)(await BodyAsync(huge))["field"]!);
        using var longName = await client.PostAsync("/v1/accounts/acct-P/password-check", Json($$"""{"password":"correct-Horse-battery-staple-91!","name":"{{new string('n', 257)}}"}"""));
        Assert.Equal("name", (string)(await BodyAsync(longName))["field"]!);
    }

    [Fact]
    public async Task Health_is_live_and_ready_without_a_key()
    {
        using var client = Start().Client(null);
        Assert.Equal("Healthy", await client.GetStringAsync("/health/live"));
        Assert.Equal("Healthy", await client.GetStringAsync("/health/ready"));
    }

    [Fact]
    public async Task A_store_outage_is_503_with_retry_after_never_the_fail_closed_decision_and_the_retry_decides()
    {
        FlakyStore? flaky = null;
        var factory = Start(new Dictionary<string, string> { ["RiskEngine:Store"] = "memory" },
            s => s.AddSingleton<IRiskStateStore>(sp => flaky = new FlakyStore(sp.GetRequiredService<InMemoryRiskStateStore>())));
        using var client = factory.Client(ServerFactory.DecideKey);
        Assert.Equal("Healthy", await client.GetStringAsync("/health/ready")); // resolves the store
        Assert.NotNull(flaky);
        const string tx = """{"type":"transaction","id":"o1","at":"2026-11-27T10:00:00Z","account":"acct-O","amount":1,"currency":"USD","country":"US","device":"d1"}""";
        flaky!.Down = true;
        using var down = await client.PostAsync("/v1/events", Json(tx));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
        Assert.NotNull(down.Headers.RetryAfter);
        Assert.Equal("application/problem+json", down.Content.Headers.ContentType!.MediaType);
        flaky.Down = false;
        using var up = await client.PostAsync("/v1/events", Json(tx));
        Assert.Equal(HttpStatusCode.OK, up.StatusCode);
        Assert.Null((await BodyAsync(up))["decision"]!["duplicate"]); // the outage decided nothing
    }

    [Fact]
    public async Task An_outage_in_the_middle_of_an_ndjson_stream_decides_none_of_its_later_lines_even_once_the_store_is_back()
    {
        OneOutageStore? store = null;
        var factory = Start(new Dictionary<string, string> { ["RiskEngine:Store"] = "memory", ["RiskEngine:BatchSize"] = "4" },
            s => s.AddSingleton<IRiskStateStore>(sp => store = new OneOutageStore(sp.GetRequiredService<InMemoryRiskStateStore>())));
        using var client = factory.Client(ServerFactory.DecideKey);
        Assert.Equal("Healthy", await client.GetStringAsync("/health/ready")); // resolves the store
        Assert.NotNull(store);
        const int count = 40;
        var events = Enumerable.Range(0, count).Select(i =>
            $$"""{"type":"transaction","id":"q{{i}}","at":"2026-11-27T10:00:00Z","account":"acct-Q","amount":1,"currency":"USD","country":"US","device":"d1"}""").ToArray();
        // The third batch fails, slowly enough that the rest of the stream is queued behind it; then the store is back.
        store!.FailBatch(3, TimeSpan.FromMilliseconds(500));
        var content = new StringContent(string.Join('\n', events) + "\n");
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");

        var answered = new List<string>();
        var aborted = false;
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/events") { Content = content };
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        try
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            while (await reader.ReadLineAsync() is { } line)
            {
                if (line.Length > 0 && (string?)JsonNode.Parse(line)!["type"] == "decision") answered.Add((string)JsonNode.Parse(line)!["event"]!);
            }
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            aborted = true;
        }
        Assert.True(store.Failed, "the outage happened");
        // The stream ends with the outage (decisions were written, so the response is cut off), never with later lines' decisions.
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(aborted, "the response ended with the outage");

        // Retried in order, the committed lines are a prefix of the stream: every line from the first failed one on is decided now, for the first time.
        var duplicates = new List<bool>();
        foreach (var e in events)
        {
            using var retry = await client.PostAsync("/v1/events", Json(e));
            Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
            duplicates.Add((await BodyAsync(retry))["decision"]!["duplicate"] is not null);
        }
        var committed = duplicates.TakeWhile(d => d).Count();
        Assert.InRange(committed, 2, count - 1); // two batches committed before the outage
        Assert.All(duplicates.Skip(committed), d => Assert.False(d));
        Assert.Equal(events.Take(answered.Count).Select((_, i) => $"q{i}"), answered);
        Assert.True(answered.Count <= committed);
    }

    /// <summary>A store whose n-th batch (counted from <see cref="FailBatch"/>) fails as an outage after a delay; the others go through.</summary>
    internal sealed class OneOutageStore(IRiskStateStore inner) : IRiskStateStore
    {
        private int _begun;
        private int _failAt = -1;
        private TimeSpan _delay;

        public volatile bool Failed;

        public void FailBatch(int n, TimeSpan delay)
        {
            _delay = delay;
            Volatile.Write(ref _begun, 0);
            Volatile.Write(ref _failAt, n);
        }

        public ValueTask<StoredDecision?> FindDecisionAsync(Domain.AccountId account, Domain.EventId eventId, CancellationToken cancellationToken = default) =>
            inner.FindDecisionAsync(account, eventId, cancellationToken);

        public ValueTask<AccountSnapshot> LoadAccountAsync(Domain.AccountId account, CancellationToken cancellationToken = default) =>
            inner.LoadAccountAsync(account, cancellationToken);

        public ValueTask<int> CountIpFailuresAsync(string ip, DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken = default) =>
            inner.CountIpFailuresAsync(ip, since, until, cancellationToken);

        public ValueTask<IReadOnlyList<Domain.AccountId>> ListFrozenAsync(string reason, DateTimeOffset frozenAtOrBefore, int max, CancellationToken cancellationToken = default) =>
            inner.ListFrozenAsync(reason, frozenAtOrBefore, max, cancellationToken);

        public ValueTask<CommitStatus> CommitAsync(AccountCommit commit, CancellationToken cancellationToken = default) =>
            inner.CommitAsync(commit, cancellationToken);

        public async ValueTask<IStateBatch> BeginBatchAsync(CancellationToken cancellationToken = default)
        {
            if (Interlocked.Increment(ref _begun) == Volatile.Read(ref _failAt))
            {
                await Task.Delay(_delay, cancellationToken);
                Failed = true;
                throw new StateStoreUnavailableException("test outage");
            }
            return await inner.BeginBatchAsync(cancellationToken);
        }
    }

    /// <summary>A store that can be made unreachable: every batch it is asked to begin fails as an outage.</summary>
    internal sealed class FlakyStore(IRiskStateStore inner) : IRiskStateStore
    {
        public volatile bool Down;

        private void Check()
        {
            if (Down) throw new StateStoreUnavailableException("test outage");
        }

        public ValueTask<StoredDecision?> FindDecisionAsync(Domain.AccountId account, Domain.EventId eventId, CancellationToken cancellationToken = default)
        {
            Check();
            return inner.FindDecisionAsync(account, eventId, cancellationToken);
        }

        public ValueTask<AccountSnapshot> LoadAccountAsync(Domain.AccountId account, CancellationToken cancellationToken = default)
        {
            Check();
            return inner.LoadAccountAsync(account, cancellationToken);
        }

        public ValueTask<int> CountIpFailuresAsync(string ip, DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken = default) =>
            inner.CountIpFailuresAsync(ip, since, until, cancellationToken);

        public ValueTask<IReadOnlyList<Domain.AccountId>> ListFrozenAsync(string reason, DateTimeOffset frozenAtOrBefore, int max, CancellationToken cancellationToken = default) =>
            inner.ListFrozenAsync(reason, frozenAtOrBefore, max, cancellationToken);

        public ValueTask<CommitStatus> CommitAsync(AccountCommit commit, CancellationToken cancellationToken = default)
        {
            Check();
            return inner.CommitAsync(commit, cancellationToken);
        }

        public ValueTask<IStateBatch> BeginBatchAsync(CancellationToken cancellationToken = default)
        {
            Check();
            return inner.BeginBatchAsync(cancellationToken);
        }
    }
}

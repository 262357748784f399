using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace RiskEngine.Tests.Server;

/// <summary>
/// Who may send what over HTTP (contract, third wave): the payment platform's <c>decide</c> key cannot lift a freeze
/// or act as an agent, a <c>support</c> key cannot decide payments; every event carries the name of the key that sent it.
/// </summary>
public sealed class EventAuthorityTests() : ScratchFolder("riskengine-authority-")
{
    private ServerFactory? _factory;

    private ServerFactory Start() => _factory = new ServerFactory(P(""), new Dictionary<string, string>());

    protected override void Cleanup() => _factory?.Dispose();

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<JsonObject> BodyAsync(HttpResponseMessage response) => JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();

    private static string Unfreeze(string id, string account) =>
        $$"""{"type":"unfreeze","id":"{{id}}","at":"2026-11-27T10:05:00Z","account":"{{account}}","by":"agent-7","reason":"verified by phone"}""";

    private static string Report(string id, string account, string by) =>
        $$"""{"type":"report","id":"{{id}}","at":"2026-11-27T10:00:00Z","account":"{{account}}","by":"{{by}}"}""";

    private static async Task HoldAsync(HttpClient support, string account)
    {
        using var held = await support.PostAsync($"/v1/accounts/{account}/freeze", Json("""{"by":"agent-1","reason":"suspected takeover"}"""));
        Assert.Equal(HttpStatusCode.OK, held.StatusCode);
    }

    private static async Task<JsonObject> StatusAsync(HttpClient support, string account)
    {
        using var response = await support.GetAsync($"/v1/accounts/{account}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await BodyAsync(response);
    }

    [Fact]
    public async Task A_decide_key_cannot_lift_a_support_hold_it_is_403_naming_the_type_and_nothing_is_decided()
    {
        var factory = Start();
        using var decide = factory.Client(ServerFactory.DecideKey);
        using var support = factory.Client(ServerFactory.SupportKey);
        await HoldAsync(support, "acct-H");

        using var response = await decide.PostAsync("/v1/events", Json(Unfreeze("u-1", "acct-H")));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var problem = await BodyAsync(response);
        Assert.Equal("type", (string)problem["field"]!);
        Assert.Contains("'unfreeze'", (string)problem["detail"]!, StringComparison.Ordinal);
        Assert.Contains("support", (string)problem["detail"]!, StringComparison.Ordinal);
        Assert.True((bool)(await StatusAsync(support, "acct-H"))["frozen"]!);
        Assert.DoesNotContain("\"u-1\"", await File.ReadAllTextAsync(factory.Output), StringComparison.Ordinal); // nothing journaled or published
        // Not decided: the id is free, so the same event under a support key is decided, not a duplicate.
        using var bySupport = await support.PostAsync("/v1/events", Json(Unfreeze("u-1", "acct-H")));
        Assert.Equal(HttpStatusCode.OK, bySupport.StatusCode);
        var decision = (await BodyAsync(bySupport))["decision"]!;
        Assert.Null(decision["duplicate"]);
        Assert.Equal("allow", (string)decision["outcome"]!);
    }

    [Fact]
    public async Task A_decide_key_cannot_lift_a_users_report_freeze_nor_report_as_an_agent_but_the_user_may_report()
    {
        var factory = Start();
        using var decide = factory.Client(ServerFactory.DecideKey);
        using var support = factory.Client(ServerFactory.SupportKey);
        using (var report = await decide.PostAsync("/v1/events", Json(Report("r-1", "acct-R", "user"))))
        {
            Assert.Equal(HttpStatusCode.OK, report.StatusCode);
            Assert.Equal("freeze", (string)(await BodyAsync(report))["decision"]!["outcome"]!);
        }
        using (var unfreeze = await decide.PostAsync("/v1/events", Json(Unfreeze("u-2", "acct-R"))))
            Assert.Equal(HttpStatusCode.Forbidden, unfreeze.StatusCode);
        using (var asAgent = await decide.PostAsync("/v1/events", Json(Report("r-2", "acct-A", "agent-9"))))
        {
            Assert.Equal(HttpStatusCode.Forbidden, asAgent.StatusCode);
            Assert.Contains("report", (string)(await BodyAsync(asAgent))["detail"]!, StringComparison.Ordinal);
        }
        Assert.True((bool)(await StatusAsync(support, "acct-R"))["frozen"]!);
        using (var never = await support.GetAsync("/v1/accounts/acct-A"))
            Assert.Equal(HttpStatusCode.NotFound, never.StatusCode); // the agent's report was never decided
    }

    [Fact]
    public async Task A_support_key_cannot_decide_payments()
    {
        using var support = Start().Client(ServerFactory.SupportKey);
        using var response = await support.PostAsync("/v1/events",
            Json("""{"type":"transaction","id":"t-1","at":"2026-11-27T10:00:00Z","account":"acct-T","amount":10,"currency":"USD","country":"US","device":"d1"}"""));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("type", (string)(await BodyAsync(response))["field"]!);
    }

    [Fact]
    public async Task In_an_ndjson_stream_a_line_the_key_may_not_send_is_rejected_on_type_and_the_others_are_decided()
    {
        var factory = Start();
        using var decide = factory.Client(ServerFactory.DecideKey);
        using var support = factory.Client(ServerFactory.SupportKey);
        await HoldAsync(support, "acct-S");
        var body = string.Join('\n',
            """{"type":"transaction","id":"s-1","at":"2026-11-27T10:00:00Z","account":"acct-X","amount":10,"currency":"USD","country":"US","device":"d1"}""",
            Unfreeze("s-2", "acct-S"),
            """{"type":"transaction","id":"s-3","at":"2026-11-27T10:00:01Z","account":"acct-X","amount":10,"currency":"USD","country":"US","device":"d1"}""") + "\n";
        var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");

        using var response = await decide.PostAsync("/v1/events", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var records = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Equal(["decision", "rejected", "decision"], records.Select(r => (string)r["type"]!));
        Assert.Equal("type", (string)records[1]["field"]!);
        Assert.Equal("s-2", (string)records[1]["event"]!);
        Assert.Equal(2, (long)records[1]["line"]!);
        Assert.True((bool)(await StatusAsync(support, "acct-S"))["frozen"]!);
    }

    [Fact]
    public async Task A_support_unfreeze_sent_as_an_event_records_the_keys_name_in_the_support_log()
    {
        var factory = Start();
        using var support = factory.Client(ServerFactory.SupportKey);
        await HoldAsync(support, "acct-K");
        using (var response = await support.PostAsync("/v1/events", Json(Unfreeze("k-1", "acct-K"))))
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var log = (await StatusAsync(support, "acct-K"))["supportLog"]!.AsArray();
        var unfreeze = log.Single(a => (string)a!["action"]! == "unfreeze")!;
        Assert.Equal("agent-7", (string)unfreeze["by"]!);
        Assert.Equal("support-desk", (string)unfreeze["key"]!);
    }
}

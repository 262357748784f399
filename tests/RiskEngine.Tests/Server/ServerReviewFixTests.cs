using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;

namespace RiskEngine.Tests.Server;

/// <summary>Request limits, publish failures, shutdown answers and enrolment input of the HTTP server.</summary>
public sealed class ServerReviewFixTests() : ScratchFolder("riskengine-server-fix-")
{
    private ServerFactory? _factory;

    private ServerFactory Start(IReadOnlyDictionary<string, string>? settings = null, Action<IServiceCollection>? services = null)
    {
        _factory?.Dispose();
        _factory = new ServerFactory(P(""), settings ?? new Dictionary<string, string>(), services);
        return _factory;
    }

    protected override void Cleanup() => _factory?.Dispose();

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<JsonObject> BodyAsync(HttpResponseMessage response) => JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();

    private static string Transaction(string id, string account = "acct-L") =>
        $$"""{"type":"transaction","id":"{{id}}","at":"2026-11-27T10:00:00Z","account":"{{account}}","amount":5,"currency":"USD","country":"US","device":"dev-L1"}""";

    [Fact]
    public async Task A_JSON_body_over_one_MiB_is_a_413_problem_while_an_NDJSON_stream_over_one_MiB_is_decided()
    {
        var factory = Start();
        factory.UseKestrel(0); // Kestrel enforces the body limit; the in-memory test server does not
        using var client = factory.Client(ServerFactory.DecideKey);
        var big = "{\"pad\":\"" + new string('x', 2 << 20) + "\"}";
        foreach (var path in new[] { "/v1/events", "/v1/accounts/x/totp/verify" })
        {
            using var response = await client.PostAsync(path, Json(big));
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
            Assert.Equal(413, (int)(await BodyAsync(response))["status"]!);
        }

        var lines = new StringBuilder();
        var count = 0;
        while (lines.Length <= (1 << 20) + 4096) lines.Append(Transaction($"n{count++}", $"acct-{count % 50}")).Append('\n');
        var content = new StringContent(lines.ToString());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
        using var stream = await client.PostAsync("/v1/events", content);
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        var answered = (await stream.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(count, answered.Count(l => (string?)JsonNode.Parse(l)!["type"] == "decision"));
    }
}

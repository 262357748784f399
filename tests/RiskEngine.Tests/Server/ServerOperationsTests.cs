using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;
using RiskEngine.Tests.Contract;

namespace RiskEngine.Tests.Server;

/// <summary>
/// Metrics and traces are read through process-wide listeners (a MeterProvider hears every <c>RiskEngine</c> meter of
/// the process): these tests run alone, not beside other servers.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class OperationsTestGroup
{
    public const string Name = "operations";
}

/// <summary>Issue 14 item 4: the OpenAPI document and reference page, Prometheus metrics at /metrics, traces.</summary>
[Collection(OperationsTestGroup.Name)]
public sealed class ServerOperationsTests() : ScratchFolder("riskengine-ops-")
{
    private ServerFactory? _factory;

    private ServerFactory Start(IReadOnlyDictionary<string, string>? settings = null, Action<IServiceCollection>? services = null)
    {
        _factory = new ServerFactory(P(""), settings ?? new Dictionary<string, string>(), services);
        return _factory;
    }

    protected override void Cleanup() => _factory?.Dispose();

    /// <summary>Routes that are not API operations: health, metrics, the document and its page, the console.</summary>
    private static readonly string[] Undocumented = ["/health", "/metrics", "/openapi", "/docs", "/console"];

    private static async Task<HttpResponseMessage> PostNdJsonAsync(HttpClient client, string file)
    {
        var content = new ByteArrayContent(await File.ReadAllBytesAsync(file));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
        return await client.PostAsync("/v1/events", content);
    }

    [Fact]
    public async Task The_openapi_document_describes_every_route_the_app_maps_with_the_bearer_scheme()
    {
        var factory = Start();
        using var client = factory.Client(null);
        using var response = await client.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = doc.RootElement;
        Assert.StartsWith("3.", root.GetProperty("openapi").GetString());
        var paths = root.GetProperty("paths");

        // Every endpoint the app maps (but health, metrics, the document and page, the console) is in the document.
        var routes = factory.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m => (Method: m.ToLowerInvariant(), Path: Normalize(e.RoutePattern.RawText))))
            .Where(r => !Undocumented.Any(u => r.Path == u || r.Path.StartsWith(u + "/", StringComparison.Ordinal)))
            .Distinct()
            .ToList();
        Assert.True(routes.Count >= 10, $"only {routes.Count} routes found");
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (method, path) in routes)
        {
            Assert.True(paths.TryGetProperty(path, out var item), $"{method.ToUpperInvariant()} {path} is mapped but not in /openapi/v1.json");
            Assert.True(item.TryGetProperty(method, out var op), $"{method.ToUpperInvariant()} {path} is mapped but its operation is not in /openapi/v1.json");
            var id = op.GetProperty("operationId").GetString()!;
            Assert.True(names.Add(id), $"operationId {id} twice");
            Assert.False(string.IsNullOrWhiteSpace(op.GetProperty("summary").GetString()), $"{id}: no summary");
            Assert.NotEmpty(op.GetProperty("tags").EnumerateArray());
            var responses = op.GetProperty("responses");
            Assert.True(responses.TryGetProperty("200", out _), $"{id}: no 200");
            foreach (var status in new[] { "401", "403", "429" })
            {
                Assert.True(responses.TryGetProperty(status, out var problem), $"{id}: no {status}");
                Assert.True(problem.GetProperty("content").TryGetProperty("application/problem+json", out _), $"{id}: {status} is not a problem");
            }
            Assert.True(responses.TryGetProperty("422", out var invalid), $"{id}: no 422");
            Assert.True(invalid.GetProperty("content").TryGetProperty("application/problem+json", out _));
            var security = op.GetProperty("security").EnumerateArray().Single();
            Assert.True(security.TryGetProperty("Bearer", out _), $"{id}: not secured by the Bearer scheme");
            // The account routes read the account from the raw path, not a handler parameter: {id} is still documented.
            if (path.Contains("{id}", StringComparison.Ordinal))
                Assert.True(op.TryGetProperty("parameters", out var parameters)
                    && parameters.EnumerateArray().Any(p => p.GetProperty("name").GetString() == "id" && p.GetProperty("in").GetString() == "path"),
                    $"{id}: the path parameter id is not documented");
        }
        // The whole document lists no operation the app does not map.
        var documented = paths.EnumerateObject().SelectMany(p => p.Value.EnumerateObject().Select(o => (o.Name, p.Name))).ToList();
        Assert.Equal(routes.Order().ToList(), documented.Order().ToList());

        var scheme = root.GetProperty("components").GetProperty("securitySchemes").GetProperty("Bearer");
        Assert.Equal("http", scheme.GetProperty("type").GetString());
        Assert.Equal("bearer", scheme.GetProperty("scheme").GetString());

        // POST /v1/events: JSON or NDJSON in, the decision (or NDJSON records) out, 422 naming the field, 503 on an outage.
        var events = paths.GetProperty("/v1/events").GetProperty("post");
        Assert.Equal("PostEvent", events.GetProperty("operationId").GetString());
        var request = events.GetProperty("requestBody").GetProperty("content");
        Assert.True(request.TryGetProperty("application/json", out _));
        Assert.True(request.TryGetProperty("application/x-ndjson", out _));
        var ok = events.GetProperty("responses").GetProperty("200").GetProperty("content");
        Assert.True(ok.TryGetProperty("application/json", out _));
        Assert.True(ok.TryGetProperty("application/x-ndjson", out _));
        Assert.True(events.GetProperty("responses").TryGetProperty("503", out _));
        var schemas = root.GetProperty("components").GetProperty("schemas");
        Assert.True(schemas.GetProperty("FieldProblem").GetProperty("properties").TryGetProperty("field", out _));
        Assert.True(schemas.GetProperty("DecisionResponse").GetProperty("properties").TryGetProperty("decision", out _));
        Assert.True(paths.GetProperty("/v1/accounts/{id}/freeze").GetProperty("post").GetProperty("responses").TryGetProperty("409", out _));
        Assert.True(paths.GetProperty("/v1/accounts/{id}").GetProperty("get").GetProperty("responses").TryGetProperty("404", out _));
    }

    private static string Normalize(string? pattern)
    {
        var p = "/" + (pattern ?? "").Trim('/');
        return p;
    }

    [Fact]
    public async Task The_api_reference_page_answers_html_without_a_key()
    {
        using var client = Start().Client(null);
        using var response = await client.GetAsync("/docs");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("openapi/v1.json", html, StringComparison.Ordinal);
        // The page's scripts are served beside it (no CDN), relative to where the page ended up.
        var page = response.RequestMessage!.RequestUri!;
        foreach (var script in new[] { "scalar.js", "scalar.aspnetcore.js" })
        {
            using var js = await client.GetAsync(new Uri(page, script));
            Assert.Equal(HttpStatusCode.OK, js.StatusCode);
        }
    }

    [Fact]
    public async Task Metrics_after_the_contract_example_count_decisions_by_outcome_and_rejections_by_field()
    {
        using var client = Start().Client(ServerFactory.AdminKey); // the example mixes the platform's events and a support unfreeze
        using (var response = await PostNdJsonAsync(client, Sample("events.example.jsonl")))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await response.Content.ReadAsByteArrayAsync();
        }

        using var scraper = _factory!.Client(ServerFactory.MetricsKey);
        using var scrape = await scraper.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
        Assert.Equal("text/plain", scrape.Content.Headers.ContentType!.MediaType);
        var text = await scrape.Content.ReadAsStringAsync();
        var metrics = PrometheusText.Parse(text);

        var expected = ContractExampleTests.Lines(await File.ReadAllTextAsync(Sample("expected.example.jsonl")));
        var decisions = expected.Where(r => (string)r["type"]! == "decision").ToList();
        var byOutcome = decisions.GroupBy(r => (string)r["outcome"]!).ToDictionary(g => g.Key, g => (double)g.Count());
        Assert.Equal("counter", metrics.Types["riskengine_decisions_total"]);
        var counted = metrics["riskengine_decisions_total"].GroupBy(s => s["outcome"]!).ToDictionary(g => g.Key, g => g.Sum(s => s.Value));
        Assert.Equal(byOutcome.OrderBy(p => p.Key), counted.OrderBy(p => p.Key));
        // The reason tag is the primary (first, most severe) reason code, or none.
        var byReason = decisions.GroupBy(r => (string)r["outcome"]! + "/" + (r["reasons"]!.AsArray().FirstOrDefault() is { } first ? (string)first! : "none"))
            .ToDictionary(g => g.Key, g => (double)g.Count());
        Assert.Equal(byReason.OrderBy(p => p.Key), metrics["riskengine_decisions_total"].ToDictionary(s => s["outcome"] + "/" + s["reason"], s => s.Value).OrderBy(p => p.Key));

        var rejected = expected.Where(r => (string)r["type"]! == "rejected").GroupBy(r => (string?)r["field"] ?? "none").ToDictionary(g => g.Key, g => (double)g.Count());
        Assert.NotEmpty(rejected);
        Assert.Equal(rejected.OrderBy(p => p.Key), metrics["riskengine_rejected_total"].ToDictionary(s => s["field"]!, s => s.Value).OrderBy(p => p.Key));

        Assert.Equal("histogram", metrics.Types["riskengine_decision_duration_seconds"]);
        var buckets = metrics["riskengine_decision_duration_seconds_bucket"].ToList();
        Assert.Contains(buckets, b => b["le"] == "+Inf" && b.Value == decisions.Count);
        Assert.Contains(buckets, b => b["le"] == "0.0001");
        Assert.Contains(buckets, b => b["le"] == "0.1");
        Assert.Equal(decisions.Count, metrics["riskengine_decision_duration_seconds_count"].Single().Value);
        Assert.True(metrics["riskengine_decision_duration_seconds_sum"].Single().Value > 0);

        var frozen = expected.Count(r => (string)r["type"]! == "account.frozen");
        Assert.Equal(frozen, metrics["riskengine_freezes_total"].Sum(s => s.Value));
        Assert.Equal(decisions.Count(d => d["duplicate"] is not null), metrics["riskengine_duplicates_total"].Sum(s => s.Value));
        Assert.Equal(1, metrics["riskengine_store_up"].Single().Value);
        Assert.Equal(0, metrics["riskengine_outbox_unpublished"].Single().Value);
        Assert.Equal(0, metrics["riskengine_outbox_lag_seconds"].Single().Value);
        // ASP.NET Core's and the runtime's instruments are exported too.
        Assert.Contains(metrics.Samples, s => s.Name == "http_server_request_duration_seconds_count" && s["http_route"] == "/v1/events");
        Assert.Contains(metrics.Samples, s => s.Name.StartsWith("dotnet_", StringComparison.Ordinal));
        // No account id in any label.
        Assert.DoesNotContain("acct-", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_need_a_metrics_key_by_default()
    {
        var factory = Start();
        using (var anonymous = factory.Client(null))
        using (var response = await anonymous.GetAsync("/metrics"))
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        using (var decide = factory.Client(ServerFactory.DecideKey))
        using (var response = await decide.GetAsync("/metrics"))
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        foreach (var key in new[] { ServerFactory.MetricsKey, ServerFactory.AdminKey })
        {
            using var client = factory.Client(key);
            using var ok = await client.GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            Assert.Contains("# TYPE", await ok.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        // A metrics key scrapes and nothing else.
        using var scraper = factory.Client(ServerFactory.MetricsKey);
        using var events = await scraper.PostAsync("/v1/events", new StringContent("{}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Forbidden, events.StatusCode);
    }

    [Fact]
    public async Task Metrics_can_be_anonymous_when_configured()
    {
        var factory = Start(new Dictionary<string, string> { ["RiskEngine:Server:MetricsAnonymous"] = "true" });
        using var anonymous = factory.Client(null);
        using var response = await anonymous.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Decisions_are_traced_with_type_outcome_reasons_and_policy_and_no_account_id_or_key()
    {
        var collected = new List<Activity>();
        var factory = Start(new Dictionary<string, string> { ["RiskEngine:Server:Tracing"] = "true" },
            services => services.ConfigureOpenTelemetryTracerProvider(b => b.AddInMemoryExporter(collected)));
        using var client = factory.Client(ServerFactory.DecideKey);
        const string deny = """{"type":"transaction","id":"t1","at":"2026-11-27T10:00:00Z","account":"acct-SECRET-1","amount":12000,"currency":"USD","country":"US","device":"d1"}""";
        using (var response = await client.PostAsync("/v1/events", new StringContent(deny, Encoding.UTF8, "application/json")))
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        const string bad = """{"type":"transaction","id":"t2","at":"2026-11-27T10:00:00Z","account":"acct-SECRET-2","amount":-1,"currency":"USD","country":"US","device":"d1"}""";
        using (var response = await client.PostAsync("/v1/events", new StringContent(bad, Encoding.UTF8, "application/json")))
            Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        using (var admin = factory.Client(ServerFactory.AdminKey)) // the example mixes the platform's events and a support unfreeze
        using (var response = await PostNdJsonAsync(admin, Sample("events.example.jsonl")))
            await response.Content.ReadAsByteArrayAsync();
        using var support = factory.Client(ServerFactory.SupportKey);
        using (var response = await support.GetAsync("/v1/accounts/acct-SECRET-1"))
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var lines = await File.ReadAllLinesAsync(Sample("events.example.jsonl"));
        List<Activity> all = [];
        for (var i = 0; i < 100; i++)
        {
            lock (collected) all = [.. collected];
            var events = all.Where(a => a.OperationName == "riskengine.batch").Sum(a => a.Events.Count());
            if (events >= lines.Length + 2 && all.Any(a => a.Source.Name == "Microsoft.AspNetCore" && a.GetTagItem("url.path") as string == "/v1/accounts/{id}")) break;
            await Task.Delay(50);
        }

        // A single event: one riskengine.decide activity, a child of the request's, tagged.
        var decide = all.Where(a => a.OperationName == "riskengine.decide").ToList();
        Assert.Equal(2, decide.Count);
        var denied = decide.Single(a => (string?)a.GetTagItem("riskengine.outcome") == "deny");
        Assert.Equal("transaction", denied.GetTagItem("riskengine.event.type"));
        Assert.Equal("cap.per_transaction", ((string[])denied.GetTagItem("riskengine.reasons")!)[0]);
        Assert.StartsWith("sha256:", (string)denied.GetTagItem("riskengine.policy.version")!);
        Assert.Matches("^[0-9a-f]{16}$", (string)denied.GetTagItem("riskengine.account.hash")!);
        Assert.NotEqual(default, denied.ParentSpanId); // the request's activity
        var rejected = decide.Single(a => (string?)a.GetTagItem("riskengine.outcome") == "rejected");
        Assert.Equal("amount", rejected.GetTagItem("riskengine.rejected.field"));

        // Pump batches: one activity each, linked to the requests, with an activity event per decided or rejected event.
        var batches = all.Where(a => a.OperationName == "riskengine.batch").ToList();
        Assert.NotEmpty(batches);
        Assert.All(batches, b => Assert.Equal("api", b.GetTagItem("riskengine.pump")));
        Assert.Contains(batches, b => b.Links.Any(l => l.Context.SpanId == denied.SpanId));
        var recorded = batches.SelectMany(b => b.Events).ToList();
        Assert.Equal(lines.Length + 2, recorded.Count);
        var expected = ContractExampleTests.Lines(await File.ReadAllTextAsync(Sample("expected.example.jsonl")));
        Assert.Equal(expected.Count(r => (string)r["type"]! == "decision") + 1, recorded.Count(e => e.Name == "riskengine.decision"));
        Assert.Equal(expected.Count(r => (string)r["type"]! == "rejected") + 1, recorded.Count(e => e.Name == "riskengine.rejected"));

        // Nothing personal or secret in any tag of any activity or activity event, the requests' included.
        var values = all.SelectMany(a => a.TagObjects.Concat(a.Events.SelectMany(e => e.Tags)))
            .SelectMany(t => t.Value is string[] many ? many : [Convert.ToString(t.Value, System.Globalization.CultureInfo.InvariantCulture) ?? ""])
            .ToList();
        Assert.NotEmpty(values);
        foreach (var secret in new[] { "acct-", "test-decide-key", "test-support-key", "dev-A1", "12000" })
            Assert.DoesNotContain(values, v => v.Contains(secret, StringComparison.Ordinal));
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RiskEngine.Hosting;
using RiskEngine.State;

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

    /// <summary>The outbox's journal, failing to mark the output published while <see cref="Fail"/> is set (a publish that did not finish).</summary>
    private sealed class FailingJournal(IEventJournal inner, bool failOpen = false) : IEventJournal
    {
        public bool Fail { get; set; }

        public ValueTask<JournalPosition?> LoadPositionAsync(string source, CancellationToken cancellationToken = default) => inner.LoadPositionAsync(source, cancellationToken);

        public ValueTask<long> LastSequenceAsync(CancellationToken cancellationToken = default) => inner.LastSequenceAsync(cancellationToken);

        public ValueTask<(long Sequence, long Length)> PublishedAsync(OutputChannel channel, CancellationToken cancellationToken = default) =>
            failOpen ? ValueTask.FromException<(long, long)>(new StateStoreUnavailableException("test: the journal cannot be read")) : inner.PublishedAsync(channel, cancellationToken);

        public ValueTask<IReadOnlyList<JournalRecord>> UnpublishedAsync(OutputChannel channel, CancellationToken cancellationToken = default) => inner.UnpublishedAsync(channel, cancellationToken);

        public ValueTask<IReadOnlyList<JournalRecord>> ReadAsync(OutputChannel channel, long afterSequence, int limit, CancellationToken cancellationToken = default) =>
            inner.ReadAsync(channel, afterSequence, limit, cancellationToken);

        public ValueTask<long> CountAsync(OutputChannel channel, long afterSequence, CancellationToken cancellationToken = default) => inner.CountAsync(channel, afterSequence, cancellationToken);

        public ValueTask MarkPublishedAsync(OutputChannel channel, long sequence, long length, CancellationToken cancellationToken = default) =>
            Fail && channel == OutputChannel.Output ? ValueTask.FromException(new IOException("No space left on device")) : inner.MarkPublishedAsync(channel, sequence, length, cancellationToken);
    }

    private static Action<IServiceCollection> WithJournal(Func<IEventJournal, IEventJournal> wrap) => services =>
        services.AddSingleton(sp => new Outbox(wrap(sp.GetRequiredService<IEventJournal>()), sp.GetRequiredService<IOptions<WorkerOptions>>(),
            sp.GetRequiredService<ILogger<Outbox>>(), sp.GetService<IOptions<OutboxOptions>>()));

    private static async Task UntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 200 && !condition(); i++) await Task.Delay(50);
        Assert.True(condition());
    }

    [Fact]
    public async Task A_failed_publish_stops_the_server_with_a_failure_and_a_restart_publishes_the_missing_records_exactly_once()
    {
        FailingJournal? failing = null;
        var factory = Start(services: WithJournal(j => failing = new FailingJournal(j)));
        using (var client = factory.Client(ServerFactory.DecideKey))
        {
            using (var first = await client.PostAsync("/v1/events", Json(Transaction("p1")))) Assert.Equal(HttpStatusCode.OK, first.StatusCode);
            var status = factory.Services.GetRequiredService<WorkerStatus>();
            var lifetime = factory.Services.GetRequiredService<IHostApplicationLifetime>();
            failing!.Fail = true;
            // Committed (its answer races the in-memory test server's stop, so it is not checked here); publishing it
            // fails, and the server stops (Main returns 1: status.Failure).
            using (await client.PostAsync("/v1/events", Json(Transaction("p2"))))
            {
            }
            await UntilAsync(() => status.Failure is not null && lifetime.ApplicationStopping.IsCancellationRequested);
            Assert.IsType<IOException>(status.Failure);
        }

        // Restart: the output is cut back to what was published, p2's records are published again, then p3 is decided.
        var data = factory.Data;
        await factory.DisposeAsync();
        await ServerFactory.WaitUntilFolderFreeAsync(data);
        factory = Start();
        using (var client = factory.Client(ServerFactory.DecideKey))
        {
            using var third = await client.PostAsync("/v1/events", Json(Transaction("p3")));
            Assert.Equal(HttpStatusCode.OK, third.StatusCode);
        }
        var decisions = File.ReadAllLines(factory.Output).Select(l => JsonNode.Parse(l)!).Where(n => (string?)n["type"] == "decision").Select(n => (string)n["event"]!).ToArray();
        Assert.Equal(["p1", "p2", "p3"], decisions);
    }

    private static async Task AssertStoppingAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal(503, (int)(await BodyAsync(response))["status"]!);
    }

    [Fact]
    public async Task Requests_after_the_pump_stopped_are_503_with_retry_after_not_500()
    {
        var factory = Start();
        using var decide = factory.Client(ServerFactory.DecideKey);
        using var support = factory.Client(ServerFactory.SupportKey);
        using (var ok = await decide.PostAsync("/v1/events", Json(Transaction("s1")))) Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        await factory.Services.GetRequiredService<RequestPump>().StopAsync(CancellationToken.None);

        using (var one = await decide.PostAsync("/v1/events", Json(Transaction("s2")))) await AssertStoppingAsync(one);
        var ndjson = new StringContent(Transaction("s3") + "\n");
        ndjson.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
        using (var stream = await decide.PostAsync("/v1/events", ndjson)) await AssertStoppingAsync(stream);
        using (var verify = await decide.PostAsync("/v1/accounts/acct-L/totp/verify", Json("""{"code":"123456"}"""))) await AssertStoppingAsync(verify);
        using (var hold = await support.PostAsync("/v1/accounts/acct-L/freeze", Json("""{"by":"agent-1","reason":"fraud call"}"""))) await AssertStoppingAsync(hold);
        using (var lift = await support.PostAsync("/v1/accounts/acct-L/unfreeze", Json("""{"by":"agent-1","reason":"called back"}"""))) await AssertStoppingAsync(lift);
    }

    [Fact]
    public async Task A_pump_that_cannot_open_the_store_fails_the_server_with_a_failure()
    {
        WorkerStatus? status = null;
        var factory = Start(services: services =>
        {
            WithJournal(j => new FailingJournal(j, failOpen: true))(services);
            services.AddSingleton(sp => status = new WorkerStatus());
        });
        _ = Record.Exception(() => factory.Services); // the server may stop before the factory has seen it start
        await UntilAsync(() => status?.Failure is not null);
        Assert.IsType<StateStoreUnavailableException>(status!.Failure);
    }

    [Fact]
    public async Task A_store_outage_on_the_account_status_route_is_503_not_500()
    {
        ServerApiTests.FlakyStore? flaky = null;
        var factory = Start(new Dictionary<string, string> { ["RiskEngine:Store"] = "memory" },
            s => s.AddSingleton<IRiskStateStore>(sp => flaky = new ServerApiTests.FlakyStore(sp.GetRequiredService<InMemoryRiskStateStore>())));
        using var client = factory.Client(ServerFactory.SupportKey);
        Assert.Equal("Healthy", await client.GetStringAsync("/health/ready"));
        flaky!.Down = true;
        using var response = await client.GetAsync("/v1/accounts/acct-L");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
    }

    [Theory]
    [InlineData("Acme:Bank")]
    [InlineData("   ")]
    [InlineData("Acme\u0001")]
    [InlineData("a-very-long-issuer-name-that-goes-on-and-on-well-past-sixty-four-characters")]
    public async Task A_bad_issuer_is_a_422_naming_issuer_and_stores_no_factor(string issuer)
    {
        var factory = Start();
        using var client = factory.Client(ServerFactory.DecideKey);
        using var bad = await client.PostAsync("/v1/accounts/acct-I/totp/enroll", Json(System.Text.Json.JsonSerializer.Serialize(new { issuer })));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, bad.StatusCode);
        Assert.Equal("issuer", (string)(await BodyAsync(bad))["field"]!);
        using var good = await client.PostAsync("/v1/accounts/acct-I/totp/enroll", Json("""{"issuer":"Acme Bank"}"""));
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
        Assert.StartsWith("otpauth://totp/Acme%20Bank:", (string)(await BodyAsync(good))["uri"]!, StringComparison.Ordinal);
    }
}

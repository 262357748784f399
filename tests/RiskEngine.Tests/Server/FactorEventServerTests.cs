using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using RiskEngine.Server.Webhooks;
using RiskEngine.State;
using RiskEngine.Tests.Contract;

namespace RiskEngine.Tests.Server;

/// <summary>
/// Through the server, a confirmed enrolment and a support reset commit their <c>account.factor_enrolled</c> /
/// <c>account.factor_reset</c> records in the request pump's batch: answered, journaled, and on <c>--output</c>.
/// </summary>
public sealed class FactorEventServerTests() : ScratchFolder("riskengine-factor-server-")
{
    private ServerFactory? _factory;

    protected override void Cleanup() => _factory?.Dispose();

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<JsonObject> BodyAsync(HttpResponseMessage response) => JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();

    [Fact]
    public async Task Confirmation_and_reset_answer_journal_and_publish_their_factor_events()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero));
        _factory = new ServerFactory(P(""), new Dictionary<string, string>(), s => s.AddSingleton<TimeProvider>(clock));
        using var client = _factory.Client(ServerFactory.DecideKey);
        using var support = _factory.Client(ServerFactory.SupportKey);
        var journal = _factory.Services.GetRequiredService<IEventJournal>();
        var enrollment = await BodyAsync(await client.PostAsync("/v1/accounts/acct-F/totp/enroll", null));
        var totp = new OtpNet.Totp(OtpNet.Base32Encoding.ToBytes((string)enrollment["secret"]!), step: 30, totpSize: 6);
        Assert.False(File.Exists(_factory.Output) && File.ReadAllText(_factory.Output).Contains("factor", StringComparison.Ordinal)); // enrolment alone: nothing

        var before = await journal.LastSequenceAsync();
        var confirmed = await BodyAsync(await client.PostAsync("/v1/accounts/acct-F/totp/confirm", Json($$"""{"code":"{{totp.ComputeTotp(clock.GetUtcNow().UtcDateTime)}}"}""")));
        Assert.True((bool)confirmed["accepted"]!);
        var enrolled = Assert.Single(confirmed["events"]!.AsArray())!.AsObject();
        Assert.Equal(("account.factor_enrolled", "acct-F", "totp", "2026-11-27T12:00:00Z"), ((string)enrolled["type"]!, (string)enrolled["account"]!, (string)enrolled["factor"]!, (string)enrolled["at"]!));
        Assert.Equal(before + 1, await journal.LastSequenceAsync()); // its output record, committed with the confirmation

        clock.Advance(TimeSpan.FromMinutes(5));
        using var resetResponse = await support.PostAsync("/v1/accounts/acct-F/totp/reset", Json("""{"by":"agent-2","reason":"lost phone"}"""));
        Assert.Equal(HttpStatusCode.OK, resetResponse.StatusCode);
        var reset = await BodyAsync(resetResponse);
        Assert.True((bool)reset["reset"]!);
        var resetEvent = Assert.Single(reset["events"]!.AsArray())!.AsObject();
        Assert.Equal(("account.factor_reset", "agent-2", "lost phone"), ((string)resetEvent["type"]!, (string)resetEvent["by"]!, (string)resetEvent["note"]!));
        Assert.Equal(before + 2, await journal.LastSequenceAsync());
        using var missing = await support.PostAsync("/v1/accounts/acct-F/totp/reset", Json("""{"by":"agent-2","reason":"again"}"""));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(before + 2, await journal.LastSequenceAsync()); // nothing to announce

        // On the output, as the worker writes account events, with their messages filled in.
        var output = ContractExampleTests.Lines(await File.ReadAllTextAsync(_factory.Output)).Where(l => ((string)l["type"]!).StartsWith("account.factor_", StringComparison.Ordinal)).ToList();
        Assert.Equal(["account.factor_enrolled", "account.factor_reset"], output.Select(l => (string)l["type"]!));
        Assert.Equal(enrolled.ToJsonString(), output[0].ToJsonString());
        Assert.Equal(resetEvent.ToJsonString(), output[1].ToJsonString());
        Assert.True(PlaceholderTests.AssertFilled(output, "the server's output") >= 2);
        var status = await BodyAsync(await support.GetAsync("/v1/accounts/acct-F"));
        Assert.Equal("support-desk", (string)status["supportLog"]![0]!["key"]!);
    }

    [Fact]
    public void Webhook_endpoints_may_subscribe_to_the_factor_events()
    {
        var options = new WebhookOptions();
        options.Endpoints.Add(new WebhookEndpoint
        {
            Name = "security",
            Url = "https://hooks.example/riskengine",
            Secret = WebhookTests.Secret,
            Events = ["account.factor_enrolled", "account.factor_reset"],
        });
        Assert.True(new WebhookOptionsValidator().Validate(null, options).Succeeded);
        options.Endpoints[0].Events = ["account.factor_changed"];
        Assert.Contains("account.factor_changed", new WebhookOptionsValidator().Validate(null, options).FailureMessage, StringComparison.Ordinal);
    }
}

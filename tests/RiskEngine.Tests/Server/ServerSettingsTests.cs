using RiskEngine.Hosting;
using RiskEngine.Passwords;
using RiskEngine.Server.Auth;

namespace RiskEngine.Tests.Server;

/// <summary>Settings and inputs the server refuses on review: stores it cannot journal in, leftover development keys, unbounded passwords.</summary>
public sealed class ServerSettingsTests
{
    [Fact]
    public void The_server_refuses_the_redis_store_whose_batches_cannot_hold_its_outbox()
    {
        var result = new WorkerOptionsValidator(HostKind.Server).Validate(null, new WorkerOptions { Store = "redis", Redis = "localhost:6379", Input = "", Output = "" });
        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.Contains("--store redis is not supported by the server", StringComparison.Ordinal));
        // The worker on a Redis stream keeps using it.
        var worker = new WorkerOptionsValidator(HostKind.Worker).Validate(null, new WorkerOptions { Store = "redis", Redis = "localhost:6379", Input = "redis-stream:ev", Output = "redis-stream:out" });
        Assert.False(worker.Failed, string.Join("; ", worker.Failures ?? []));
    }

    [Fact]
    public void A_development_key_left_in_the_data_folder_does_not_open_a_production_server()
    {
        var data = Directory.CreateTempSubdirectory("riskengine-keys-");
        try
        {
            var development = ApiKeyStore.Load(null, data.FullName, development: true, "test");
            Assert.NotNull(development);
            Assert.True(File.Exists(Path.Combine(data.FullName, ApiKeyStore.DevelopmentFile)));

            var production = ApiKeyStore.Load(null, data.FullName, development: false, "test");
            Assert.Null(production);
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task The_strength_of_a_very_long_candidate_is_estimated_on_its_first_characters()
    {
        await using var engine = new TestEngine();
        var checker = engine.Passwords;
        var weakStart = "password" + new string('x', 20_000) + "Zq9!vT#m2@Lr";
        var verdict = checker.Check(weakStart);
        Assert.Equal(checker.Check(weakStart[..PasswordChecker.ScoredLength]).Score, verdict.Score);
        Assert.False(verdict.Allowed);
    }

    [Fact]
    public void The_server_refuses_the_memory_store_outside_development()
    {
        var production = new WorkerOptionsValidator(HostKind.Server, development: false).Validate(null, new WorkerOptions { Store = "memory", Input = "", Output = "" });
        Assert.True(production.Failed);
        Assert.Contains(production.Failures!, f => f.Contains("--store memory is refused by the server outside the Development environment", StringComparison.Ordinal));
        Assert.False(new WorkerOptionsValidator(HostKind.Server, development: true).Validate(null, new WorkerOptions { Store = "memory", Input = "", Output = "" }).Failed);
        // The worker and the library keep it: a replay or benchmark in memory is no service in front of traffic.
        var input = Path.GetTempFileName();
        try
        {
            Assert.False(new WorkerOptionsValidator(HostKind.Worker).Validate(null, new WorkerOptions { Store = "memory", Input = input, Output = "-" }).Failed);
        }
        finally
        {
            File.Delete(input);
        }
    }

    [Fact]
    public void Server_settings_out_of_range_are_refused_naming_each()
    {
        var errors = new RiskEngine.Server.ServerOptions
        {
            MaxStreamsPerKey = 0,
            MaxStreamLines = 0,
            MaxStreamBytes = 0,
            StreamIdleTimeout = TimeSpan.Zero,
            MetricsUrls = "http://127.0.0.1",
        }.Validate();
        Assert.Contains(errors, e => e.Contains("MaxStreamsPerKey", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("MaxStreamLines", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("MaxStreamBytes", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("StreamIdleTimeout", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("MetricsUrls", StringComparison.Ordinal) && e.Contains("explicit port", StringComparison.Ordinal));
        Assert.Empty(new RiskEngine.Server.ServerOptions { MetricsUrls = "http://10.0.0.5:9464;http://*:9465" }.Validate());
    }

}

/// <summary>Webhook endpoints as the server prints and validates them: no token from a URL in a log line.</summary>
public sealed class WebhookEndpointSettingsTests
{
    [Fact]
    public void An_endpoint_prints_only_scheme_host_and_port_of_its_url_and_a_url_with_credentials_is_refused()
    {
        var endpoint = new RiskEngine.Server.Webhooks.WebhookEndpoint { Name = "chat", Url = "https://hooks.example.com/services/T000/B000/SeCrEtPaTh?token=abc", Secret = "0123456789abcdef" };
        var printed = endpoint.ToString();
        Assert.Equal("chat → https://hooks.example.com:443", printed);
        Assert.DoesNotContain("SeCrEt", printed, StringComparison.Ordinal);

        var options = new RiskEngine.Server.Webhooks.WebhookOptions
        {
            Endpoints = [new() { Name = "crm", Url = "https://user:pa55@crm.example.com/hook", Secret = "0123456789abcdef" }],
        };
        var result = new RiskEngine.Server.Webhooks.WebhookOptionsValidator().Validate(null, options);
        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.Contains("user name or password", StringComparison.Ordinal));
        Assert.DoesNotContain(result.Failures!, f => f.Contains("pa55", StringComparison.Ordinal));
    }
}

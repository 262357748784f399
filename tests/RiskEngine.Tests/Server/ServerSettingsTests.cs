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
}

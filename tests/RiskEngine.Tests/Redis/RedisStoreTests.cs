using Microsoft.Extensions.DependencyInjection;
using RiskEngine.Decisions;
using RiskEngine.Domain;
using RiskEngine.Events;
using RiskEngine.Redis;
using RiskEngine.State;
using RiskEngine.Tests.State;
using RiskEngine.Tests.Worker;
using StackExchange.Redis;

namespace RiskEngine.Tests.Redis;

/// <summary>The shared state-store contract, against Redis.</summary>
[Collection("redis")]
public sealed class RedisStoreContractTests(RedisFixture redis) : StateStoreContract
{
    protected override IRiskStateStore CreateStore() => new RedisRiskStateStore(redis.Connection, "t" + Guid.NewGuid().ToString("N")[..12]);
}

[Collection("redis")]
public sealed class RedisConcurrencyTests(RedisFixture redis)
{
    [Fact]
    public async Task Two_engines_with_1000_simultaneous_transactions_each_never_allow_more_than_the_daily_cap()
    {
        var prefix = "c" + Guid.NewGuid().ToString("N")[..12];
        // Two engines with their own connections: as two worker processes would be.
        await using var a = Engine(prefix);
        await using var b = Engine(prefix);
        var t0 = DateTimeOffset.UtcNow;
        var engines = new[] { a.GetRequiredService<IRiskEngine>(), b.GetRequiredService<IRiskEngine>() };
        // 19,000 already spent today: 1,000 left under the 20,000 cap, in 1-unit attempts.
        var seed = await engines[0].EvaluateAsync(Tx("seed-1", 9_500m, t0, totp: true));
        Assert.Equal(Outcome.Allow, seed.Decision!.Outcome);
        Assert.Equal(Outcome.Allow, (await engines[1].EvaluateAsync(Tx("seed-2", 9_500m, t0, totp: true))).Decision!.Outcome);

        var attempts = Enumerable.Range(0, 2_000).Select(i => Task.Run(async () =>
            await engines[i % 2].EvaluateAsync(Tx($"c-{i}", 0.75m, t0)))).ToArray();
        var results = await Task.WhenAll(attempts);
        var allowed = results.Where(r => r.Decision!.Outcome == Outcome.Allow).Sum(_ => 0.75m);
        Assert.True(19_000m + allowed <= 20_000m, $"allowed {allowed} on top of 19,000");
        Assert.Equal(1_333, results.Count(r => r.Decision!.Outcome == Outcome.Allow)); // floor(1000 / 0.75): every unit of headroom used, none exceeded
    }

    private static TransactionAttempt Tx(string id, decimal amount, DateTimeOffset at, bool totp = false) =>
        new(EventId.Create(id), at, AccountId.Create("hot-account"), Money.Create(amount, "USD"), CountryCode.Create("US"), DeviceId.Create("d")) { TotpVerified = totp };

    private ServiceProvider Engine(string prefix)
    {
        var policy = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "samples", "policy.example.json")))!;
        policy.AsObject().Remove("velocity"); // this test is about the cap alone
        return new ServiceCollection()
            .AddSingleton<IConnectionMultiplexer>(ConnectionMultiplexer.Connect(redis.Configuration))
            .AddRiskEngineRedis(redis.Configuration, prefix)
            .AddRiskEngine(o =>
            {
                o.PolicyJson = policy.ToJsonString();
                o.MaxCommitRetries = 100_000;
            })
            .BuildServiceProvider();
    }
}

public sealed class RedisUnavailableTests
{
    [Theory]
    [InlineData(null, Outcome.Deny)]
    [InlineData(Outcome.Challenge, Outcome.Challenge)]
    public async Task An_unreachable_Redis_fails_closed_and_records_nothing(Outcome? configured, Outcome expected)
    {
        // A port nothing listens on; the client must not wait long to say so.
        var services = new ServiceCollection()
            .AddSingleton<IConnectionMultiplexer>(ConnectionMultiplexer.Connect("127.0.0.1:1,abortConnect=false,connectTimeout=200,syncTimeout=200,asyncTimeout=200"))
            .AddRiskEngineRedis("unused")
            .AddRiskEngine(o =>
            {
                o.MaxFutureSkew = null;
                if (configured is { } c) o.WhenStoreUnavailable = c;
            });
        await using var provider = services.BuildServiceProvider();
        var engine = provider.GetRequiredService<IRiskEngine>();
        var tx = new TransactionAttempt(EventId.Create("u1"), DateTimeOffset.UtcNow, AccountId.Create("a"), Money.Create(1m, "USD"), CountryCode.Create("US"), DeviceId.Create("d"));
        var d = (await engine.EvaluateTransactionAsync(tx)).GetDecisionOrThrow();
        Assert.Equal(expected, d.Outcome);
        Assert.True(d.HasReason("engine.unavailable"));
        Assert.Empty(d.Events);
    }
}

[Collection("redis")]
[Trait("Category", "EndToEnd")]
public sealed class RedisSupportCommandTests(RedisFixture redis)
{
    [Fact]
    public async Task Account_commands_work_against_the_redis_store()
    {
        var account = "redis-acct-" + Guid.NewGuid().ToString("N")[..8];
        await using (var provider = new ServiceCollection().AddRiskEngineRedis(redis.Configuration).AddRiskEngine(o => o.MaxFutureSkew = null).BuildServiceProvider())
        {
            var engine = provider.GetRequiredService<IRiskEngine>();
            var t0 = DateTimeOffset.UtcNow;
            for (var i = 0; i < 6; i++)
                await engine.EvaluateAsync(new TransactionAttempt(EventId.Create($"{account}-{i}"), t0.AddSeconds(i), AccountId.Create(account), Money.Create(1m, "USD"), CountryCode.Create("US"), DeviceId.Create("d")));
        }

        var (code, output, err) = await WorkerProcess.RunCliAsync(null, "account", "status", account, "--redis", redis.Configuration);
        Assert.True(code == 0, err);
        Assert.Equal("velocity.count", (string)System.Text.Json.Nodes.JsonNode.Parse(output)!["reason"]!);
        (code, output, err) = await WorkerProcess.RunCliAsync(null, "account", "unfreeze", account, "--by", "agent-9", "--reason", "verified", "--redis", redis.Configuration);
        Assert.True(code == 0, err);
        Assert.Contains("\"type\":\"account.unfrozen\"", output, StringComparison.Ordinal);
        (code, output, _) = await WorkerProcess.RunCliAsync(null, "account", "history", account, "--redis", redis.Configuration);
        Assert.Equal(0, code);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(7, lines.Count(l => l.Contains("\"type\":\"decision\"", StringComparison.Ordinal)));
        Assert.Single(lines, l => l.Contains("\"type\":\"account.frozen\"", StringComparison.Ordinal)); // history shows what each decision caused
    }
}

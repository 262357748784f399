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

/// <summary>A commit writes the account, the decision, the per-IP failure window and the frozen index together or not at all.</summary>
[Collection("redis")]
public sealed class RedisCommitAtomicityTests(RedisFixture redis)
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 27, 10, 0, 0, TimeSpan.Zero);

    private ServiceProvider Engine(string prefix) =>
        new ServiceCollection().AddRiskEngineRedis(redis.Configuration, prefix).AddRiskEngine(o => o.MaxFutureSkew = null).BuildServiceProvider();

    [Fact]
    public async Task A_failed_sign_in_whose_ip_window_cannot_be_written_is_not_committed_either()
    {
        // A user that may read the per-IP windows but not write them: writing one fails (NOPERM), as a lost connection
        // would make a write after the commit fail.
        await using var server = await PrivateRedis.StartAsync();
        var prefix = "a" + Guid.NewGuid().ToString("N")[..12];
        await server.RunAsync("ACL", "SETUSER", "engine", "on", ">secret", "+@all", "&*", $"~{prefix}:{{*", $"~{prefix}:frozen:*", $"%R~{prefix}:ip:*", "%R~__Booksleeve*");
        await using var connection = await ConnectionMultiplexer.ConnectAsync(server.Configuration + ",user=engine,password=secret");
        await using var provider = new ServiceCollection().AddSingleton<IConnectionMultiplexer>(connection)
            .AddRiskEngineRedis(server.Configuration, prefix).AddRiskEngine(o => o.MaxFutureSkew = null).BuildServiceProvider();
        var engine = provider.GetRequiredService<IRiskEngine>();
        var store = provider.GetRequiredService<IRiskStateStore>();
        var account = AccountId.Create("ip-account");
        var login = new LoginAttempt(EventId.Create("l1"), T0, account, false, DeviceId.Create("d"), CountryCode.Create("US")) { Ip = System.Net.IPAddress.Parse("203.0.113.9") };

        await Assert.ThrowsAnyAsync<RedisException>(async () => await engine.EvaluateAsync(login));
        Assert.Null(await store.FindDecisionAsync(account, login.Id)); // nothing committed: the event is decided again on retry
        Assert.Equal(0, (await store.LoadAccountAsync(account)).Version);

        await server.RunAsync("ACL", "SETUSER", "engine", $"~{prefix}:ip:*");
        var d = (await engine.EvaluateAsync(login)).GetDecisionOrThrow();
        Assert.False(d.Duplicate);
        Assert.True(d.HasReason("login.failed"));
        Assert.Equal(1, await store.CountIpFailuresAsync("203.0.113.9", T0.AddHours(-1), T0));
        Assert.True((await engine.EvaluateAsync(login)).GetDecisionOrThrow().Duplicate);
        Assert.Equal(1, await store.CountIpFailuresAsync("203.0.113.9", T0.AddHours(-1), T0));
    }

    [Fact]
    public async Task The_store_refuses_a_redis_cluster_where_one_commit_could_not_span_its_keys()
    {
        var config = Path.Combine(Path.GetTempPath(), $"riskengine-cluster-{Guid.NewGuid():N}.conf");
        try
        {
            await using var server = await PrivateRedis.StartAsync("--cluster-enabled", "yes", "--cluster-config-file", config);
            var e = Assert.Throws<NotSupportedException>(() => new RedisRiskStateStore(server.Connection, "c"));
            Assert.Contains("standalone", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(config);
        }
    }

    [Fact]
    public async Task A_freeze_whose_cool_down_index_cannot_be_written_is_not_committed_either()
    {
        var prefix = "a" + Guid.NewGuid().ToString("N")[..12];
        await using var provider = Engine(prefix);
        var engine = provider.GetRequiredService<IRiskEngine>();
        var store = provider.GetRequiredService<IRiskStateStore>();
        var db = redis.Connection.GetDatabase();
        var keys = new RedisKeys(prefix);
        var account = AccountId.Create("burst-account");
        TransactionAttempt Tx(int i) => new(EventId.Create($"t{i}"), T0.AddSeconds(i), account, Money.Create(1m, "USD"), CountryCode.Create("US"), DeviceId.Create("d"));
        for (var i = 0; i < 5; i++) Assert.Equal(Outcome.Allow, (await engine.EvaluateAsync(Tx(i))).GetDecisionOrThrow().Outcome);

        await db.StringSetAsync(keys.Frozen("velocity.count"), "in the way");
        await Assert.ThrowsAnyAsync<RedisException>(async () => await engine.EvaluateAsync(Tx(5))); // the sixth in 60 s freezes
        Assert.Null(await store.FindDecisionAsync(account, Tx(5).Id));
        Assert.Null((await store.LoadAccountAsync(account)).State.Freeze);

        await db.KeyDeleteAsync(keys.Frozen("velocity.count"));
        Assert.Equal(Outcome.Freeze, (await engine.EvaluateAsync(Tx(5))).GetDecisionOrThrow().Outcome);
        Assert.Equal([account], await store.ListFrozenAsync("velocity.count", T0.AddMinutes(1), 10));
    }
}

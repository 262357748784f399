using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using RiskEngine.Benchmarks.Traffic;
using RiskEngine.Decisions;
using RiskEngine.Domain;
using RiskEngine.Events;
using RiskEngine.Redis;
using RiskEngine.Tests.Worker;
using StackExchange.Redis;

namespace RiskEngine.Tests.Redis;

/// <summary>Server errors a Redis answers while it fails over, loads or is short of memory: pause and retry, never stop.</summary>
public sealed class RedisFailoverTests
{
    private static string Sample(string name) => Path.Combine(AppContext.BaseDirectory, "samples", name);

    [Theory]
    [InlineData("READONLY You can't write against a read only replica.")]
    [InlineData("READONLY You can't write against a read only replica. script: eeebfb00e2a45baf84c80aab8811c526b3a60918, on @user_script:1.")]
    [InlineData("LOADING Redis is loading the dataset in memory")]
    [InlineData("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.")]
    [InlineData("TRYAGAIN Multiple keys request during rehashing of slot")]
    [InlineData("OOM command not allowed when used memory > 'maxmemory'.")]
    [InlineData("CLUSTERDOWN The cluster is down")]
    [InlineData("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.")]
    [InlineData("NOSCRIPT No matching script. Please use EVAL.")]
    [InlineData("NOREPLICAS Not enough good replicas to write.")]
    [InlineData("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk.")]
    [InlineData("ERR Error running script (call to f_0123): @user_script:1: @user_script: 1: -READONLY You can't write against a read only replica.")] // Redis 6
    public void Failover_loading_and_memory_errors_are_transient(string message)
    {
        Assert.True(RedisTransientErrors.IsTransient(new RedisServerException(message)));
    }

    [Theory]
    [InlineData("BUSYGROUP Consumer Group name already exists")]
    [InlineData("BUSYKEY Target key name already exists.")]
    [InlineData("WRONGTYPE Operation against a key holding the wrong kind of value")]
    [InlineData("NOPERM this user has no permissions to run the 'eval' command")]
    [InlineData("ERR unknown command 'XAUTOCLAIM'")]
    [InlineData("ERR Error running script (call to f_0123): @user_script:3: user_script:3: attempt to compare nil with number")]
    public void Other_server_errors_are_not(string message)
    {
        Assert.False(RedisTransientErrors.IsTransient(new RedisServerException(message)));
    }

    [Fact]
    public void Connection_errors_and_timeouts_are_transient_and_other_exceptions_are_not()
    {
        Assert.True(RedisTransientErrors.IsTransient(new RedisConnectionException(ConnectionFailureType.SocketFailure, "down")));
        Assert.True(RedisTransientErrors.IsTransient(new RedisTimeoutException("slow", CommandStatus.Sent)));
        Assert.False(RedisTransientErrors.IsTransient(new InvalidOperationException("READONLY")));
    }

    [Fact]
    [Trait("Category", "EndToEnd")]
    public async Task A_demoted_redis_fails_closed_like_an_unreachable_one_and_the_engine_recovers_when_it_is_promoted()
    {
        await using var redis = await PrivateRedis.StartAsync();
        await using var provider = new ServiceCollection()
            .AddSingleton<IConnectionMultiplexer>(redis.Connection)
            .AddRiskEngineRedis(redis.Configuration)
            .AddRiskEngine(o => o.MaxFutureSkew = null)
            .BuildServiceProvider();
        var engine = provider.GetRequiredService<IRiskEngine>();
        var n = 0;
        TransactionAttempt Tx() => new(EventId.Create($"f{++n}"), DateTimeOffset.UtcNow, AccountId.Create("failover"), Money.Create(1m, "USD"), CountryCode.Create("US"), DeviceId.Create("d"));
        Assert.Equal(Outcome.Allow, (await engine.EvaluateAsync(Tx())).GetDecisionOrThrow().Outcome);

        await redis.DemoteAsync();
        var d = (await engine.EvaluateAsync(Tx())).GetDecisionOrThrow(); // the commit is refused with READONLY
        Assert.Equal(Outcome.Deny, d.Outcome);
        Assert.True(d.HasReason("engine.unavailable"), string.Join(", ", d.Reasons.Select(r => r.Message)));

        await redis.PromoteAsync();
        var deadline = Stopwatch.StartNew();
        Decision? after = null;
        while (deadline.Elapsed < TimeSpan.FromMinutes(2))
        {
            after = (await engine.EvaluateAsync(Tx())).GetDecisionOrThrow();
            if (!after.HasReason("engine.unavailable")) break;
            await Task.Delay(50); // waiting for the client to see the master again, not for time to pass
        }
        Assert.Equal(Outcome.Allow, after!.Outcome);
    }

    [Fact]
    [Trait("Category", "EndToEnd")]
    public async Task A_stream_worker_pauses_while_its_redis_is_a_replica_and_resumes_without_losing_or_doubling_events()
    {
        await using var redis = await PrivateRedis.StartAsync();
        var db = redis.Connection.GetDatabase();
        // Small batches and enough events that the worker is still busy when the outage comes (batched, it is fast).
        var lines = new TrafficGenerator(200, 6_000, seed: 13).Generate(6_000).ToList();
        await StreamProducer.PublishAsync(db, "ev", 4, lines);

        using var worker = WorkerProcess.Start("--policy", Sample("policy.example.json"), "--store", "redis",
            "--redis", redis.Configuration, "--input", "redis-stream:ev", "--partitions", "4",
            "--output", "redis-stream:out", "--once", "--RiskEngine:LeaseTtl=00:00:03", "--RiskEngine:MaxDeliveries=1", "--batch-size", "4", "--data", Path.GetTempPath());
        Assert.True(await worker.WaitUntilAsync(() => db.StreamLength("out") > 300, TimeSpan.FromMinutes(2)), worker.Log);

        // Failover: the server becomes a replica (writes answer READONLY); the worker must pause, not stop.
        await redis.DemoteAsync();
        var paused = await worker.WaitForLogAsync("Redis unavailable", TimeSpan.FromSeconds(60));
        var stillRunning = !worker.HasExited;
        await redis.PromoteAsync();
        Assert.True(paused && stillRunning, worker.Log);

        Assert.True(await worker.WaitForExitAsync(TimeSpan.FromMinutes(3)) == 0, worker.Log);
        var records = (await db.StreamRangeAsync("out")).Select(e => JsonNode.Parse((string)e["record"]!)!).ToList();
        var decided = records.Where(r => (string)r["type"]! is "decision" or "rejected").Select(r => (string)r["event"]!).ToList();
        Assert.Equal(lines.Count, decided.Count);
        Assert.Equal(lines.Count, decided.Distinct().Count());
        Assert.DoesNotContain(records, r => r["duplicate"] is not null);
        Assert.DoesNotContain(await db.StreamRangeAsync("out:dead"), e => !e["error"].IsNull); // retries after a pause are not failed attempts
    }

    [Fact]
    [Trait("Category", "EndToEnd")]
    public async Task A_stream_worker_started_while_its_redis_is_a_replica_waits_for_a_master()
    {
        await using var redis = await PrivateRedis.StartAsync();
        var db = redis.Connection.GetDatabase();
        var lines = new TrafficGenerator(20, 1_000, seed: 14).Generate(100).ToList();
        foreach (var l in lines) await StreamPartitioner.PublishAsync(db, "ev", 2, (string)JsonNode.Parse(l)!["account"]!, l);
        await redis.DemoteAsync();

        using var worker = WorkerProcess.Start("--policy", Sample("policy.example.json"), "--store", "redis",
            "--redis", redis.Configuration, "--input", "redis-stream:ev", "--partitions", "2",
            "--output", "redis-stream:out", "--once", "--RiskEngine:LeaseTtl=00:00:03", "--RiskEngine:MaxDeliveries=1", "--data", Path.GetTempPath());
        var paused = await worker.WaitForLogAsync("Redis unavailable", TimeSpan.FromSeconds(60)); // creating the consumer groups is a write
        var stillRunning = !worker.HasExited;
        await redis.PromoteAsync();
        Assert.True(paused && stillRunning, worker.Log);

        Assert.True(await worker.WaitForExitAsync(TimeSpan.FromMinutes(3)) == 0, worker.Log);
        var decided = (await db.StreamRangeAsync("out")).Select(e => JsonNode.Parse((string)e["record"]!)!)
            .Where(r => (string)r["type"]! is "decision" or "rejected").Select(r => (string)r["event"]!).ToList();
        Assert.Equal(lines.Count, decided.Distinct().Count());
        Assert.Equal(lines.Count, decided.Count);
    }
}

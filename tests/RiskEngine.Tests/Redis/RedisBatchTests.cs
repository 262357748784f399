using System.Text;
using Microsoft.Extensions.DependencyInjection;
using RiskEngine.Benchmarks.Traffic;
using RiskEngine.Events;
using StackExchange.Redis;

namespace RiskEngine.Tests.Redis;

/// <summary>Batches on Redis, where a wave's reads and commits are in flight together, answer as one call per event.</summary>
[Collection("redis")]
public sealed class RedisBatchTests(RedisFixture redis)
{
    [Fact]
    public async Task A_batch_on_redis_answers_generated_traffic_exactly_as_one_call_per_event_in_memory()
    {
        var lines = new TrafficGenerator(accounts: 200, events: 6_000, seed: 99, span: TimeSpan.FromDays(1)).Generate(6_000).ToList();
        var events = lines.Select(l => EventParser.Parse(Encoding.UTF8.GetBytes(l)).Event!).ToList();
        events.AddRange(events.Take(200)); // re-deliveries

        await using var memory = new ServiceCollection().AddRiskEngine(o => o.MaxFutureSkew = null).BuildServiceProvider();
        await using var onRedis = new ServiceCollection()
            .AddSingleton<IConnectionMultiplexer>(redis.Connection)
            .AddRiskEngineRedis("unused", "b" + Guid.NewGuid().ToString("N")[..12])
            .AddRiskEngine(o => o.MaxFutureSkew = null)
            .BuildServiceProvider();
        var one = memory.GetRequiredService<IRiskEngine>();
        var many = onRedis.GetRequiredService<IRiskEngine>();

        static string Describe(Decisions.EvaluationResult r) => r.Decision is { } d
            ? $"{d.EventId} {d.Outcome} [{string.Join(",", d.Reasons.Select(h => h.Code))}] events:{string.Join(",", d.Events.Select(e => e.Type))} dup:{d.Duplicate}"
            : $"{r.Kind} {r.Rejection?.Field}: {r.Rejection?.Error}";
        var expected = new List<string>();
        foreach (var e in events) expected.Add(Describe(await one.EvaluateAsync(e)));
        var actual = new List<string>();
        foreach (var chunk in events.Chunk(256)) actual.AddRange((await many.EvaluateBatchAsync(chunk)).Select(Describe));

        for (var i = 0; i < expected.Count; i++) Assert.True(expected[i] == actual[i], $"event {i + 1}:\n  in memory, one by one: {expected[i]}\n  redis, batched:        {actual[i]}");
    }
}

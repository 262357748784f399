using System.Buffers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using RiskEngine.Benchmarks.Traffic;
using RiskEngine.Domain;
using RiskEngine.Pipeline;
using RiskEngine.Redis;
using RiskEngine.Tests.Contract;
using RiskEngine.Tests.Worker;
using StackExchange.Redis;

namespace RiskEngine.Tests.Redis;

/// <summary>
/// The stream worker reads, decides and publishes entries in batches: one attempt-count script, one batch decision,
/// one publish script per batch. A batch is published whole or not at all, keeps each account's order, and a
/// failing entry in it is dead-lettered alone.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class StreamBatchTests
{
    private static string Sample(string name) => Path.Combine(AppContext.BaseDirectory, "samples", name);

    private static string[] WorkerArgs(string configuration, params string[] more) =>
        ["--policy", Sample("policy.example.json"), "--store", "redis", "--redis", configuration, "--input", "redis-stream:ev", "--partitions", "1",
            "--output", "redis-stream:out", "--once", "--RiskEngine:LeaseTtl=00:00:02", "--data", Path.GetTempPath(), .. more];

    /// <summary>
    /// A Redis user for the worker that may write every key it needs except the "published" markers of the events
    /// <paramref name="refusedMarkers"/> matches, so a publish script naming one fails as a whole (NOPERM: not
    /// transient, the worker stops with exit code 1), after the batch's decisions were committed.
    /// </summary>
    private static async Task RestrictAsync(PrivateRedis redis, params string[] allowedMarkers) =>
        await redis.RunAsync("ACL", ["SETUSER", "worker", "reset", "on", ">pw", "+@all", "&*", "%R~__Booksleeve*", "~ev:*", "~out", "~out:dead",
            "~riskengine:{a:*}:state", "~riskengine:{a:*}:evt:*", .. allowedMarkers.Select(m => "~riskengine:{a:*}:pub:" + m), "~riskengine:{s:*",
            "~riskengine:lease:*", "~riskengine:workers:*", "~riskengine:ip:*", "~riskengine:frozen:*"]);

    private static async Task<List<JsonObject>> RecordsAsync(IDatabase db, string stream) =>
        (await db.StreamRangeAsync(stream)).Select(e => JsonNode.Parse((string)e["record"]!)!.AsObject()).ToList();

    [Fact]
    public async Task A_batch_whose_publish_is_refused_publishes_nothing_and_after_a_restart_every_record_exactly_once()
    {
        await using var redis = await PrivateRedis.StartAsync();
        var db = redis.Connection.GetDatabase();
        // The contract example on one partition: one batch of 34 entries (freezes, an unfreeze, a re-delivered event,
        // rejected lines). Publishing fails on the markers of events e20…e29, in the middle of the batch.
        foreach (var line in await File.ReadAllLinesAsync(Sample("events.example.jsonl")))
            await StreamPartitioner.PublishAsync(db, "ev", 1, "any", line);
        await RestrictAsync(redis, "[^e]*", "e[013-9]*");

        var (code, log) = await WorkerProcess.RunAsync(WorkerArgs(redis.Configuration + ",user=worker,password=pw", "--RiskEngine:MaxDeliveries=100"));
        Assert.True(code == 1, log);
        // Decided and committed, but nothing published and nothing acknowledged: not even the entries before e20.
        Assert.True(await db.KeyExistsAsync(new RedisKeys().Decision(AccountId.Create("acct-C"), EventId.Create("e13"))), log);
        Assert.Equal(0, await db.StreamLengthAsync("out"));
        Assert.Equal(0, await db.StreamLengthAsync("out:dead"));
        Assert.Equal(34, (await db.StreamPendingAsync("ev:0", "riskengine")).PendingMessageCount);

        await redis.RunAsync("ACL", "SETUSER", "worker", "~*");
        (code, log) = await WorkerProcess.RunAsync(WorkerArgs(redis.Configuration + ",user=worker,password=pw", "--RiskEngine:MaxDeliveries=100"));
        Assert.True(code == 0, log);
        // Each entry's records once, in input order: the original decisions with their account events, as one run gives.
        var expected = ContractExampleTests.Lines(await File.ReadAllTextAsync(Sample("expected.example.jsonl")));
        foreach (var r in expected) r.Remove("line"); // a stream entry has no line number
        ContractExampleTests.AssertMatches(expected, await RecordsAsync(db, "out"));
        Assert.Equal(3, await db.StreamLengthAsync("out:dead"));
        Assert.Equal(0, (await db.StreamPendingAsync("ev:0", "riskengine")).PendingMessageCount);
    }

    [Fact]
    public async Task A_poison_entry_in_a_batch_is_dead_lettered_alone_and_the_other_entries_of_its_batch_are_published_normally()
    {
        await using var redis = await PrivateRedis.StartAsync();
        var db = redis.Connection.GetDatabase();
        // 30 entries of six accounts (under the velocity limit) in one batch; "poison" (the 13th) can never be published. With MaxDeliveries 1,
        // its batch-mates, whose one attempt failed with it, must not be dead-lettered: they are retried alone first.
        var lines = Enumerable.Range(0, 30).Select(i => StreamProducer.Tx(i == 12 ? "poison" : $"e{i:00}", $"a{i % 6}", i)).ToList();
        foreach (var l in lines) await StreamPartitioner.PublishAsync(db, "ev", 1, "any", l);
        await RestrictAsync(redis, "[^p]*");

        const int maxDeliveries = 1;
        var failures = 0;
        var logs = "";
        for (var run = 0; run < 10; run++)
        {
            var (code, log) = await WorkerProcess.RunAsync(WorkerArgs(redis.Configuration + ",user=worker,password=pw", "--RiskEngine:MaxDeliveries=" + maxDeliveries));
            logs += log + "\n";
            if (code == 0) break;
            Assert.True(code == 1, logs);
            failures++;
        }
        // Once in the batch, then alone (MaxDeliveries attempts, at least one of them alone).
        Assert.True(failures == maxDeliveries + 1, $"{failures} failed runs\n{logs}");

        var records = await RecordsAsync(db, "out");
        Assert.Equal(lines.Select((l, i) => i == 12 ? "rejected poison" : $"decision e{i:00}"), records.Select(r => $"{r["type"]} {r["event"]}"));
        Assert.DoesNotContain(records, r => r["duplicate"] is not null);
        var dead = Assert.Single(await db.StreamRangeAsync("out:dead"));
        Assert.Equal("poison", (string)JsonNode.Parse((string)dead["event"]!)!["id"]!);
        Assert.Equal(0, (await db.StreamPendingAsync("ev:0", "riskengine")).PendingMessageCount);
    }

    [Fact]
    public async Task One_large_batch_keeps_each_accounts_order_and_publishes_what_one_call_per_event_gives()
    {
        await using var redis = await PrivateRedis.StartAsync();
        var db = redis.Connection.GetDatabase();
        // Few accounts, many events each (velocity freezes, sign-ins, support actions), and re-deliveries of earlier
        // events in the same batch: one batch of 4,200 entries, far past Lua's unpack limit of the records it publishes.
        var lines = new TrafficGenerator(accounts: 25, events: 4_000, seed: 21).Generate(4_000).ToList();
        lines.AddRange(lines.Take(200));
        await StreamProducer.PublishAsync(db, "ev", 1, lines);

        var (code, log) = await WorkerProcess.RunAsync(WorkerArgs(redis.Configuration, "--RiskEngine:BatchSize=5000"));
        Assert.True(code == 0, log);

        // The reference: one call per event, in input order, in memory.
        await using var provider = new ServiceCollection().AddRiskEngine(o =>
        {
            o.PolicyPath = Sample("policy.example.json");
            o.MaxFutureSkew = null;
        }).BuildServiceProvider();
        var processor = new EventStreamProcessor(provider.GetRequiredService<IRiskEngine>());
        var buffer = new ArrayBufferWriter<byte>();
        foreach (var line in lines)
        {
            var result = await processor.ProcessLineAsync(new JsonLine(0, Encoding.UTF8.GetBytes(line), 0));
            if (result.Decision is { } d) RecordWriter.WriteDecision(buffer, d with { Events = d.Duplicate ? [] : d.Events });
            else RecordWriter.WriteRejected(buffer, 0, result.Rejection!);
        }
        var expected = ContractExampleTests.Lines(Encoding.UTF8.GetString(buffer.WrittenSpan));
        var actual = await RecordsAsync(db, "out");
        Assert.Contains(expected, r => (string)r["type"]! == "account.frozen");
        Assert.Contains(expected, r => r["duplicate"] is not null);
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
            Assert.True(JsonNode.DeepEquals(expected[i], actual[i]), $"record {i + 1}:\n  one by one: {expected[i].ToJsonString()}\n  stream:     {actual[i].ToJsonString()}");
        Assert.Equal(0, (await db.StreamPendingAsync("ev:0", "riskengine")).PendingMessageCount);
    }
}

using System.Text.Json.Nodes;
using RiskEngine.Redis;
using RiskEngine.Tests.Worker;
using StackExchange.Redis;

namespace RiskEngine.Tests.Redis;

/// <summary>A stream entry that keeps failing is dead-lettered alone, after MaxDeliveries attempts, with a rejected record.</summary>
[Trait("Category", "EndToEnd")]
public sealed class StreamDeadLetterTests
{
    private static string Sample(string name) => Path.Combine(AppContext.BaseDirectory, "samples", name);

    private static string Tx(string id, string account, int second) => StreamProducer.Tx(id, account, second);

    [Fact]
    public async Task An_entry_that_fails_every_attempt_is_dead_lettered_alone_and_the_entries_after_it_are_decided()
    {
        await using var redis = await PrivateRedis.StartAsync();
        // The fault: the worker's Redis user may write every key it needs except the "published" marker of event ids
        // starting with "p", so publishing event "poison" fails (NOPERM, not transient) on every attempt and the worker
        // stops with exit code 1, as it would on any unexpected error; its supervisor starts it again.
        await redis.RunAsync("ACL", "SETUSER", "worker", "on", ">pw", "+@all", "&*", "%R~__Booksleeve*", "~ev:*", "~out", "~out:dead",
            "~riskengine:{a:*}:state", "~riskengine:{a:*}:evt:*", "~riskengine:{a:*}:pub:[^p]*", "~riskengine:{s:*",
            "~riskengine:lease:*", "~riskengine:workers:*", "~riskengine:ip:*", "~riskengine:frozen:*");
        var db = redis.Connection.GetDatabase();
        string[] lines = [Tx("e1", "a1", 1), Tx("e2", "a1", 2), Tx("poison", "a2", 3), Tx("e3", "a3", 4), Tx("e4", "a1", 5)];
        foreach (var l in lines) await StreamPartitioner.PublishAsync(db, "ev", 1, (string)JsonNode.Parse(l)!["account"]!, l);

        const int maxDeliveries = 3;
        var failures = 0;
        var logs = "";
        for (var run = 0; run < 10; run++)
        {
            var (code, log) = await WorkerProcess.RunAsync("--policy", Sample("policy.example.json"), "--store", "redis",
                "--redis", redis.Configuration + ",user=worker,password=pw", "--input", "redis-stream:ev", "--output", "redis-stream:out",
                "--once", "--RiskEngine:MaxDeliveries=" + maxDeliveries, "--RiskEngine:LeaseTtl=00:00:02", "--data", Path.GetTempPath());
            logs += log + "\n";
            if (code == 0) break;
            Assert.True(code == 1, logs);
            failures++;
        }
        Assert.True(failures == maxDeliveries, $"{failures} failed runs\n{logs}"); // "poison" was attempted exactly MaxDeliveries times

        var records = (await db.StreamRangeAsync("out")).Select(e => JsonNode.Parse((string)e["record"]!)!).ToList();
        Assert.Equal(["decision e1", "decision e2", "rejected poison", "decision e3", "decision e4"], records.Select(r => $"{r["type"]} {r["event"]}"));
        Assert.DoesNotContain(records, r => r["duplicate"] is not null);
        var dead = await db.StreamRangeAsync("out:dead");
        var only = Assert.Single(dead);
        Assert.Equal("poison", (string)JsonNode.Parse((string)only["event"]!)!["id"]!);
        Assert.Equal(0, (await db.StreamPendingAsync("ev:0", "riskengine")).PendingMessageCount);
    }
}

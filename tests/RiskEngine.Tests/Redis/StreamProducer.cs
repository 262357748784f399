using System.Text.Json.Nodes;
using System.Text.Json;
using RiskEngine.Redis;
using StackExchange.Redis;

namespace RiskEngine.Tests.Redis;

/// <summary>What the stream tests send: contract lines onto a partitioned stream, and small transactions to send.</summary>
internal static class StreamProducer
{
    /// <summary>Appends each line to its account's partition of <paramref name="name"/>, 500 per pipelined batch.</summary>
    public static async Task PublishAsync(IDatabase db, string name, int partitions, IEnumerable<string> lines)
    {
        foreach (var chunk in lines.Chunk(500))
        {
            var batch = db.CreateBatch();
            var adds = chunk.Select(l => StreamPartitioner.PublishAsync(batch, name, partitions, (string)JsonNode.Parse(l)!["account"]!, l)).ToList();
            batch.Execute();
            await Task.WhenAll(adds);
        }
    }

    /// <summary>A 10 USD transaction of <paramref name="account"/> at 10:00:<paramref name="second"/> on the samples' day.</summary>
    public static string Tx(string id, string account, int second) =>
        new JsonObject
        {
            ["type"] = "transaction", ["id"] = id, ["at"] = $"2026-11-27T10:00:{second:00}Z", ["account"] = account,
            ["amount"] = 10, ["currency"] = "USD", ["country"] = "US", ["device"] = "d",
        }.ToJsonString();
}

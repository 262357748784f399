using System.Text;
using StackExchange.Redis;

namespace RiskEngine.Redis;

/// <summary>
/// Where an event goes in a partitioned input stream: partition <c>FNV-1a-32(UTF-8 account id) mod P</c>, stream
/// <c>NAME:partition</c>, one field <c>event</c> holding the contract's JSON object. Producers in any language compute
/// the same: FNV-1a 32-bit (offset basis 2166136261, prime 16777619) over the account id's UTF-8 bytes.
/// Decisions for one account are made in stream order because one partition has one owner at a time.
/// </summary>
public static class StreamPartitioner
{
    /// <summary>FNV-1a, 32 bits, over the UTF-8 bytes of <paramref name="account"/>.</summary>
    public static uint Fnv1a32(string account)
    {
        ArgumentNullException.ThrowIfNull(account);
        var hash = 2166136261u;
        foreach (var b in Encoding.UTF8.GetBytes(account))
        {
            hash ^= b;
            hash *= 16777619u;
        }
        return hash;
    }

    /// <summary>The partition of <paramref name="account"/> among <paramref name="partitions"/>.</summary>
    public static int PartitionOf(string account, int partitions)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        return (int)(Fnv1a32(account) % (uint)partitions);
    }

    /// <summary>The stream key of a partition.</summary>
    public static string StreamKey(string name, int partition) => $"{name}:{partition}";

    /// <summary>Appends one contract event (JSON) to its account's partition; returns the entry id.</summary>
    public static async Task<RedisValue> PublishAsync(IDatabaseAsync db, string name, int partitions, string account, string eventJson)
    {
        ArgumentNullException.ThrowIfNull(db);
        return await db.StreamAddAsync(StreamKey(name, PartitionOf(account, partitions)), "event", eventJson);
    }
}

using StackExchange.Redis;

namespace RiskEngine.Redis;

/// <summary>
/// The one place that decides whether a Redis error is transient: the server cannot serve now but will (it is
/// unreachable, slow, failing over, loading, short of memory or busy), so the caller should pause and retry rather
/// than stop. The state store turns these into <see cref="State.StateStoreUnavailableException"/> (the engine then
/// fails closed); the stream worker pauses, backs off and resumes on them.
/// </summary>
public static class RedisTransientErrors
{
    /// <summary>
    /// Error codes (the first word of a Redis error reply) that a healthy deployment answers for a while and then stops:
    /// <c>READONLY</c> (a master demoted to replica in a failover), <c>MASTERDOWN</c> (a replica lost its master),
    /// <c>LOADING</c> (a restarted server reading its data), <c>TRYAGAIN</c> and <c>CLUSTERDOWN</c> (cluster resharding or
    /// failover), <c>BUSY</c> (a long script running), <c>OOM</c> (maxmemory reached), <c>NOREPLICAS</c>
    /// (<c>min-replicas-to-write</c> not met), <c>MISCONF</c> (writes refused until persistence works again) and
    /// <c>NOSCRIPT</c> (a script cache flushed, as after a failover; StackExchange.Redis normally re-sends the script itself).
    /// </summary>
    public static IReadOnlyCollection<string> Codes { get; } = ["READONLY", "MASTERDOWN", "LOADING", "TRYAGAIN", "CLUSTERDOWN", "BUSY", "OOM", "NOREPLICAS", "MISCONF", "NOSCRIPT"];

    private static readonly HashSet<string> CodeSet = new(Codes, StringComparer.Ordinal);

    /// <summary>True when <paramref name="e"/> is a Redis error that goes away by itself: pause and retry.</summary>
    public static bool IsTransient(Exception e) => e switch
    {
        RedisConnectionException or RedisTimeoutException => true,
        RedisServerException s => IsTransientReply(s.Message),
        _ => false,
    };

    /// <summary>True when a Redis error reply (<c>CODE message</c>) carries one of <see cref="Codes"/>.</summary>
    public static bool IsTransientReply(string? reply)
    {
        if (string.IsNullOrEmpty(reply)) return false;
        if (CodeSet.Contains(FirstWord(reply, 0))) return true;
        // Redis before 7 wraps an error raised inside a script: "ERR Error running script (...): ... -READONLY You can't ...".
        if (!reply.StartsWith("ERR Error running script", StringComparison.Ordinal)) return false;
        for (var i = reply.IndexOf(" -", StringComparison.Ordinal); i >= 0; i = reply.IndexOf(" -", i + 2, StringComparison.Ordinal))
        {
            if (CodeSet.Contains(FirstWord(reply, i + 2))) return true;
        }
        return false;
    }

    private static string FirstWord(string s, int start)
    {
        var end = s.IndexOf(' ', start);
        return end < 0 ? s[start..] : s[start..end];
    }
}

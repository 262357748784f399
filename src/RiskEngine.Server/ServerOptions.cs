namespace RiskEngine.Server;

/// <summary>The server's own settings, section <c>RiskEngine:Server</c> (the rest is the worker's <c>RiskEngine</c> section).</summary>
internal sealed class ServerOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "RiskEngine:Server";

    /// <summary>The API keys file (<c>--keys</c>): a JSON array of <c>{"name","roles","sha256"}</c>.</summary>
    public string? Keys { get; set; }

    /// <summary>Requests per second each key may make (a token bucket of this size, refilled every second).</summary>
    public int PermitsPerSecond { get; set; } = 1000;

    /// <summary>Seconds a client is told to wait (<c>Retry-After</c>) when the store cannot be reached.</summary>
    public int OutageRetryAfterSeconds { get; set; } = 5;
}

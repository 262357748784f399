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

    /// <summary>
    /// <c>/metrics</c> only for an admin key (Prometheus sends it as a bearer token). Off by default: metrics are scraped
    /// from inside the network and hold no account, key or personal data.
    /// </summary>
    public bool MetricsAdminOnly { get; set; }

    /// <summary>Traces even without <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (for a host that adds its own exporter).</summary>
    public bool Tracing { get; set; }
}

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

    /// <summary>NDJSON streams a key may have open at once (<c>POST /v1/events</c>); one more is 429.</summary>
    public int MaxStreamsPerKey { get; set; } = 4;

    /// <summary>Lines one NDJSON request may carry; the stream is answered up to them and ends with a <c>rejected</c> record saying so.</summary>
    public long MaxStreamLines { get; set; } = 1_000_000;

    /// <summary>Bytes one NDJSON request may carry (1 GiB); as <see cref="MaxStreamLines"/> past them.</summary>
    public long MaxStreamBytes { get; set; } = 1L << 30;

    /// <summary>
    /// How long an NDJSON stream may wait for its next line before the server ends it (answering what it read).
    /// Replaces Kestrel's minimum body data rate for streams, so a pipeline can keep one open for events as they happen.
    /// </summary>
    public TimeSpan StreamIdleTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Seconds a client is told to wait (<c>Retry-After</c>) when the store cannot be reached.</summary>
    public int OutageRetryAfterSeconds { get; set; } = 5;

    /// <summary>
    /// <c>/metrics</c> without a key. Off by default: outcome and reason counts are what someone probing thresholds
    /// wants to watch, so a scrape needs a key with the <c>metrics</c> role (Prometheus sends it as a bearer token).
    /// </summary>
    public bool MetricsAnonymous { get; set; }

    /// <summary>
    /// A separate management listener (<c>--metrics-urls</c>, <c>;</c>-separated URLs with explicit ports, e.g.
    /// <c>http://10.0.0.5:9464</c>): <c>/metrics</c> and <c>/health</c> are answered there, without a key, and nothing
    /// else; the main URLs then answer 404 for <c>/metrics</c>. Bind it to an interface only the scraper reaches.
    /// </summary>
    public string? MetricsUrls { get; set; }

    /// <summary>What is wrong with these settings, one sentence per setting (empty when nothing).</summary>
    public List<string> Validate()
    {
        var errors = new List<string>();
        if (PermitsPerSecond < 1) errors.Add($"{Section}:PermitsPerSecond must be at least 1");
        if (MaxStreamsPerKey < 1) errors.Add($"{Section}:MaxStreamsPerKey must be at least 1");
        if (MaxStreamLines < 1) errors.Add($"{Section}:MaxStreamLines must be at least 1");
        if (MaxStreamBytes < 1) errors.Add($"{Section}:MaxStreamBytes must be at least 1");
        if (StreamIdleTimeout <= TimeSpan.Zero) errors.Add($"{Section}:StreamIdleTimeout must be positive");
        if (OutageRetryAfterSeconds < 1) errors.Add($"{Section}:OutageRetryAfterSeconds must be at least 1");
        if (MetricsPorts(out var metrics) is null) errors.Add(metrics!);
        return errors;
    }

    /// <summary>The ports of <see cref="MetricsUrls"/> (empty when not set); null with an error when one is not a URL with an explicit port.</summary>
    public int[]? MetricsPorts(out string? error)
    {
        error = null;
        if (string.IsNullOrWhiteSpace(MetricsUrls)) return [];
        var ports = new List<int>();
        foreach (var url in MetricsUrls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            // Kestrel's own forms (http://*:9464, http://+:9464) are not URIs; the port is what a connection is told apart by.
            var colon = url.LastIndexOf(':');
            var slash = url.IndexOf('/', colon + 1);
            var port = colon > "https:".Length && int.TryParse(slash < 0 ? url[(colon + 1)..] : url[(colon + 1)..slash], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var p) ? p : 0;
            if (!url.StartsWith("http://", StringComparison.OrdinalIgnoreCase) && !url.StartsWith("https://", StringComparison.OrdinalIgnoreCase) || port is <= 0 or > 65535)
            {
                error = $"{Section}:MetricsUrls: '{url}' must be an http(s) URL with an explicit port (the management listener is told apart by its port)";
                return null;
            }
            ports.Add(port);
        }
        return [.. ports];
    }

    /// <summary>Traces even without <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (for a host that adds its own exporter).</summary>
    public bool Tracing { get; set; }
}

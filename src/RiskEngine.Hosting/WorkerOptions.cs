using Microsoft.Extensions.Options;

namespace RiskEngine.Hosting;

/// <summary>
/// The worker's settings, section <c>RiskEngine</c>: from <c>appsettings.json</c>, environment variables
/// (<c>RiskEngine__Store=memory</c>) or the command line (<c>--store memory</c> or <c>--RiskEngine:Store=memory</c>).
/// </summary>
public sealed class WorkerOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "RiskEngine";

    /// <summary>Policy file, watched and reloaded on change. Empty: the embedded default policy.</summary>
    public string? Policy { get; set; }

    /// <summary>JSON Lines input file, or <c>-</c> for standard input.</summary>
    public string Input { get; set; } = "-";

    /// <summary>Decisions and account events: a file, or <c>-</c> for standard output.</summary>
    public string Output { get; set; } = "-";

    /// <summary>Rejected lines with their reason (optional).</summary>
    public string? DeadLetter { get; set; }

    /// <summary>Folder for the SQLite database (<c>riskengine.db</c>).</summary>
    public string Data { get; set; } = "data";

    /// <summary>
    /// The Data Protection key ring that encrypts TOTP secrets (<c>--keys-dir</c>). Default:
    /// <c>$XDG_CONFIG_HOME/riskengine/keys</c> or <c>~/.config/riskengine/keys</c>, outside the data folder.
    /// </summary>
    public string? KeyRing { get; set; }

    /// <summary>A PKCS#12 (.pfx) certificate that encrypts the key ring's keys at rest (<c>--key-certificate</c>).</summary>
    public string? KeyCertificate { get; set; }

    /// <summary>The password of <see cref="KeyCertificate"/>: set it in the environment (<c>RiskEngine__KeyCertificatePassword</c>), not on a command line.</summary>
    public string? KeyCertificatePassword { get; set; }

    /// <summary>The key ring settings, resolved the way the CLI resolves its own.</summary>
    public RiskEngine.Security.KeyRingSettings KeyRingSettings() =>
        new() { Directory = KeyRing, Certificate = KeyCertificate, CertificatePassword = KeyCertificatePassword };

    /// <summary><c>sqlite</c> (durable, default), <c>memory</c>, or <c>redis</c> (only with a <c>redis-stream:</c> input).</summary>
    public string Store { get; set; } = "sqlite";

    /// <summary>Process what the input holds, then exit 0. Without it the worker follows the input until stopped.</summary>
    public bool Once { get; set; }

    /// <summary>
    /// Events further than this ahead of the worker's clock are rejected on <c>at</c>. <c>off</c> disables the check.
    /// Default: 5 minutes when following an input, <c>off</c> with <c>--once</c> (a batch over a recorded stream).
    /// </summary>
    public string? MaxFutureSkew { get; set; }

    /// <summary>Most events per transaction.</summary>
    public int BatchSize { get; set; } = 512;

    /// <summary>Lines read ahead of the decider at most (backpressure).</summary>
    public int ChannelCapacity { get; set; } = 8192;

    /// <summary>How often a followed input is checked for new lines.</summary>
    public TimeSpan FollowPollInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How often the policy file is checked for changes.</summary>
    public TimeSpan PolicyPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often a progress line is logged.</summary>
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How often expired cool-downs are lifted by a long-running host (the file worker in follow mode, the HTTP server
    /// without an input): the contract's <c>coolDownInterval</c>, an <c>account.unfrozen</c> is emitted at most this long
    /// after <c>freeze.at + coolDown</c>. 30 s here, not the contract's 1 s yet: each check lists the frozen accounts of
    /// every cool-down reason, which the one-pump work (issue 20) should make cheap before it runs every second.
    /// </summary>
    public TimeSpan CoolDownInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Redis for <c>--store redis</c> and <c>redis-stream:</c> inputs: any StackExchange.Redis configuration string.</summary>
    public string? Redis { get; set; }

    /// <summary>Number of partition streams (<c>NAME:0</c> … <c>NAME:P-1</c>) of a <c>redis-stream:NAME</c> input.</summary>
    public int Partitions { get; set; } = 1;

    /// <summary>Consumer group of a stream input.</summary>
    public string Group { get; set; } = "riskengine";

    /// <summary>This worker's consumer name in the group (default: host name and process id).</summary>
    public string? Consumer { get; set; }

    /// <summary>How long a partition lease lasts without renewal; a dead worker's partitions are taken over after it.</summary>
    public TimeSpan LeaseTtl { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A stream entry that fails this many deliveries is moved to the dead-letter stream.</summary>
    public int MaxDeliveries { get; set; } = 5;

    /// <summary>True when the input is a Redis stream (<c>redis-stream:NAME</c>).</summary>
    public bool StreamInput => Input.StartsWith("redis-stream:", StringComparison.Ordinal);

    /// <summary>The configured skew, resolved against <see cref="Once"/>; null means no check.</summary>
    public TimeSpan? ResolvedMaxFutureSkew() =>
        MaxFutureSkew switch
        {
            null or "" => Once ? null : TimeSpan.FromMinutes(5),
            "off" => null,
            var s => TimeSpan.Parse(s, System.Globalization.CultureInfo.InvariantCulture),
        };

    /// <summary>The SQLite database path.</summary>
    public string DatabasePath => System.IO.Path.Combine(Data, "riskengine.db");
}

/// <summary>Checks <see cref="WorkerOptions"/> on start, naming the setting and the fix.</summary>
/// <param name="kind">The host: the server's input and output are optional (requests come over HTTP), and it never runs <c>--once</c>.</param>
/// <param name="development">The host runs in the <c>Development</c> environment: only there may the server keep its state in memory.</param>
public sealed class WorkerOptionsValidator(HostKind kind = HostKind.Worker, bool development = false) : IValidateOptions<WorkerOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, WorkerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (kind == HostKind.Server)
        {
            if (options.Once) errors.Add("--once is a worker flag: the server runs until stopped");
            if (options.Input == "-") errors.Add("RiskEngine:Input (--input) of the server must be a file or redis-stream:NAME, not standard input");
            // The request pump commits a journal entry (its records, the outbox) with every batch; the Redis store keeps
            // no journal, so every API call would write its state and then fail. Refused until Redis has a journal.
            if (options.Store == "redis")
                errors.Add("--store redis is not supported by the server yet: its request pump commits the outbox with every batch and the Redis store has no journal; " +
                    "use --store sqlite (or memory), and Redis stream workers (riskengine-worker --store redis) for a shared Redis state");
            // A restart would lift every freeze and hold and forget every second factor: a server in front of traffic
            // must not run like that, whatever a settings file left behind says.
            if (options.Store == "memory" && !development)
                errors.Add("--store memory is refused by the server outside the Development environment: a restart would lift every freeze and hold and forget every " +
                    "second factor; use --store sqlite (the default)");
            if (string.IsNullOrEmpty(options.Input)) return ValidateCommon(options, errors, requireIo: false);
        }
        if (options.Store is not ("sqlite" or "memory" or "redis"))
            errors.Add($"RiskEngine:Store (--store) must be 'sqlite', 'memory' or 'redis', not '{options.Store}'");
        if (options.Store == "redis" && string.IsNullOrWhiteSpace(options.Redis))
            errors.Add("RiskEngine:Redis (--redis) is required with --store redis: a StackExchange.Redis configuration such as localhost:6379");
        if (options.Store == "redis" && !options.StreamInput && kind == HostKind.Worker)
            errors.Add("--store redis needs a redis-stream: input (--input redis-stream:NAME): with a file or standard input the worker's input position and output journal " +
                "would live only in memory, so a restart would cut the output file back to nothing and answer every event again as a duplicate without its account events. " +
                "Use --store sqlite for a file or standard input");
        if (options.StreamInput)
        {
            if (options.Store != "redis") errors.Add("a redis-stream: input needs --store redis (all workers on one stream share their state)");
            if (!options.Output.StartsWith("redis-stream:", StringComparison.Ordinal)) errors.Add("a redis-stream: input needs a redis-stream: output (--output redis-stream:NAME)");
            if (options.Partitions is < 1 or > 4096) errors.Add($"RiskEngine:Partitions (--partitions) must be 1–4096, not {options.Partitions}");
            if (options.LeaseTtl < TimeSpan.FromMilliseconds(500)) errors.Add($"RiskEngine:LeaseTtl must be at least 00:00:00.5, not {options.LeaseTtl}");
            if (options.MaxDeliveries < 1) errors.Add($"RiskEngine:MaxDeliveries must be at least 1, not {options.MaxDeliveries}");
        }
        if (string.IsNullOrWhiteSpace(options.Input))
            errors.Add("RiskEngine:Input (--input) is required: a JSON Lines file or - for standard input");
        else if (options.Input != "-" && !options.StreamInput && !File.Exists(options.Input)) // followed or not: a typo, not a file still to come
            errors.Add($"RiskEngine:Input (--input): file '{options.Input}' does not exist");
        return ValidateCommon(options, errors, requireIo: kind == HostKind.Worker);
    }

    private static ValidateOptionsResult ValidateCommon(WorkerOptions options, List<string> errors, bool requireIo)
    {
        if (requireIo && string.IsNullOrWhiteSpace(options.Output))
            errors.Add("RiskEngine:Output (--output) is required: a file or - for standard output");
        if (options.DeadLetter == "-")
            errors.Add("RiskEngine:DeadLetter (--dead-letter) must be a file");
        if (!string.IsNullOrEmpty(options.Policy) && !File.Exists(options.Policy))
            errors.Add($"RiskEngine:Policy (--policy): file '{options.Policy}' does not exist");
        if (options.MaxFutureSkew is { Length: > 0 } skew && skew != "off" &&
            (!TimeSpan.TryParse(skew, System.Globalization.CultureInfo.InvariantCulture, out var ts) || ts <= TimeSpan.Zero))
            errors.Add($"RiskEngine:MaxFutureSkew must be a positive time span such as 00:05:00, or 'off'; not '{skew}'");
        if (options.BatchSize is < 1 or > 100_000) errors.Add($"RiskEngine:BatchSize must be 1–100000, not {options.BatchSize}");
        if (options.ChannelCapacity is < 1 or > 10_000_000) errors.Add($"RiskEngine:ChannelCapacity must be 1–10000000, not {options.ChannelCapacity}");
        foreach (var (key, value) in new[] { ("FollowPollInterval", options.FollowPollInterval), ("PolicyPollInterval", options.PolicyPollInterval), ("ProgressInterval", options.ProgressInterval), ("CoolDownInterval", options.CoolDownInterval) })
        {
            if (value <= TimeSpan.Zero) errors.Add($"RiskEngine:{key} must be positive, not {value}");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

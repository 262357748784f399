using Microsoft.Extensions.Options;

namespace RiskEngine.Worker;

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

    /// <summary><c>sqlite</c> (durable, default) or <c>memory</c>.</summary>
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

    /// <summary>How often expired cool-downs are lifted (follow mode).</summary>
    public TimeSpan CoolDownInterval { get; set; } = TimeSpan.FromSeconds(30);

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
public sealed class WorkerOptionsValidator : IValidateOptions<WorkerOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, WorkerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.Store is not ("sqlite" or "memory"))
            errors.Add($"RiskEngine:Store (--store) must be 'sqlite' or 'memory', not '{options.Store}'");
        if (string.IsNullOrWhiteSpace(options.Input))
            errors.Add("RiskEngine:Input (--input) is required: a JSON Lines file or - for standard input");
        else if (options.Input != "-" && options.Once && !File.Exists(options.Input))
            errors.Add($"RiskEngine:Input (--input): file '{options.Input}' does not exist");
        if (string.IsNullOrWhiteSpace(options.Output))
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

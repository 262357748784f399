using Microsoft.Extensions.Options;

namespace RiskEngine.Server.Webhooks;

/// <summary>
/// Webhook endpoints, section <c>RiskEngine:Webhooks</c>: each receives every <c>account.frozen</c> /
/// <c>account.unfrozen</c> the server commits, signed with its own secret. Set secrets through the environment
/// (<c>RiskEngine__Webhooks__Endpoints__0__Secret</c>) or a secrets store, not a file in the repository.
/// </summary>
public sealed class WebhookOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "RiskEngine:Webhooks";

    /// <summary>Where to deliver.</summary>
    public List<WebhookEndpoint> Endpoints { get; set; } = [];

    /// <summary>First retry delay; doubles per failure.</summary>
    public TimeSpan RetryInitial { get; set; } = WebhookBackoff.Default.Initial;

    /// <summary>Longest retry delay.</summary>
    public TimeSpan RetryMax { get; set; } = WebhookBackoff.Default.Max;

    /// <summary>How long one delivery may take before it counts as failed.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often the outbox is checked for new account events when idle.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Attempts of one delivery before it goes to the dead letters (with the default back-off, about 8 hours).</summary>
    public int MaxAttempts { get; set; } = 100;

    /// <summary>How long after its first attempt a failing delivery goes to the dead letters.</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// Attempts refused with a 4xx other than 408 and 429 (a receiver that will not take it: bad signature, unknown
    /// route, validation) before the delivery goes to the dead letters, without waiting for <see cref="MaxAttempts"/>.
    /// </summary>
    public int PermanentFailureAttempts { get; set; } = 3;
}

/// <summary>One receiver.</summary>
public sealed class WebhookEndpoint
{
    /// <summary>A stable name: part of every delivery id, and the key of this endpoint's progress.</summary>
    public string Name { get; set; } = "";

    /// <summary>Absolute http(s) URL that receives the POSTs.</summary>
    public string Url { get; set; } = "";

    /// <summary>The signing key as Standard Webhooks has it: <c>whsec_</c> + base64 of at least 24 random bytes. Never logged.</summary>
    public string Secret { get; set; } = "";

    /// <summary>Account event types sent; empty: all of them.</summary>
    public List<string> Events { get; set; } = [];

    /// <summary>Hides the secret from anything that prints the options.</summary>
    /// <remarks>Only scheme, host and port of the URL: paths and queries often carry tokens (Slack-style secret paths, <c>?token=</c>).</remarks>
    public override string ToString() =>
        Uri.TryCreate(Url, UriKind.Absolute, out var u) ? $"{Name} → {u.Scheme}://{u.Host}:{u.Port}" : Name;
}

/// <summary>Refuses endpoints without a name, an absolute http(s) URL or a <c>whsec_</c> secret of at least 24 bytes, and duplicate names.</summary>
public sealed class WebhookOptionsValidator : IValidateOptions<WebhookOptions>
{
    private static readonly string[] Known = ["account.frozen", "account.unfrozen", "account.factor_enrolled", "account.factor_reset"];

    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, WebhookOptions options)
    {
        var errors = new List<string>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < options.Endpoints.Count; i++)
        {
            var e = options.Endpoints[i];
            var at = $"{WebhookOptions.Section}:Endpoints:{i}";
            if (string.IsNullOrWhiteSpace(e.Name)) errors.Add($"{at}:Name is required");
            else if (!names.Add(e.Name)) errors.Add($"{at}:Name '{e.Name}' is used twice");
            if (!Uri.TryCreate(e.Url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                errors.Add($"{at}:Url must be an absolute http or https URL");
            else if (uri.UserInfo.Length > 0)
                errors.Add($"{at}:Url must not carry a user name or password (the endpoint's Secret signs each delivery)");
            // Never quotes the secret: these messages reach the console and the logs.
            if (!WebhookSignature.TryDecodeSecret(e.Secret, out _))
                errors.Add($"{at}:Secret must be \"{WebhookSignature.SecretPrefix}\" followed by base64 of at least {WebhookSignature.MinKeyBytes} random bytes (e.g. \"{WebhookSignature.SecretPrefix}$(openssl rand -base64 32)\")");
            foreach (var type in e.Events)
                if (Array.IndexOf(Known, type) < 0) errors.Add($"{at}:Events: '{type}' is not an account event ({string.Join(", ", Known)})");
        }
        if (options.RetryInitial <= TimeSpan.Zero) errors.Add($"{WebhookOptions.Section}:RetryInitial must be positive");
        if (options.RetryMax < options.RetryInitial) errors.Add($"{WebhookOptions.Section}:RetryMax must be at least RetryInitial");
        if (options.Timeout <= TimeSpan.Zero) errors.Add($"{WebhookOptions.Section}:Timeout must be positive");
        if (options.PollInterval <= TimeSpan.Zero || options.PollInterval > TimeSpan.FromHours(1)) errors.Add($"{WebhookOptions.Section}:PollInterval must be positive and at most an hour");
        if (options.MaxAttempts < 1) errors.Add($"{WebhookOptions.Section}:MaxAttempts must be at least 1");
        if (options.MaxAge <= TimeSpan.Zero) errors.Add($"{WebhookOptions.Section}:MaxAge must be positive");
        if (options.PermanentFailureAttempts < 1) errors.Add($"{WebhookOptions.Section}:PermanentFailureAttempts must be at least 1");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

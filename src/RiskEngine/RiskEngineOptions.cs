using Microsoft.Extensions.Options;
using RiskEngine.Policies;

namespace RiskEngine;

/// <summary>Options of <c>AddRiskEngine</c>.</summary>
public sealed class RiskEngineOptions
{
    /// <summary>Path of the policy JSON file. When neither this nor <see cref="PolicyJson"/> is set, the embedded default policy is used.</summary>
    public string? PolicyPath { get; set; }

    /// <summary>Policy JSON given inline (tests, hosts that keep policies elsewhere).</summary>
    public string? PolicyJson { get; set; }

    /// <summary>
    /// Events stamped further than this in the future of the engine's clock are rejected on field <c>at</c>.
    /// Null turns the check off, for replaying recorded streams. Default 5 minutes.
    /// </summary>
    public TimeSpan? MaxFutureSkew { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often a decision is retried when another decision for the same account commits first. Default 100.</summary>
    public int MaxCommitRetries { get; set; } = 100;

    /// <summary>
    /// The answer for a caller who cannot wait while the state store cannot be reached
    /// (<see cref="Decisions.StoreOutage.FailClosed"/>): <see cref="Decisions.Outcome.Deny"/> by default, reason
    /// <c>engine.unavailable</c>; <c>Challenge</c> and <c>Freeze</c> are allowed, <c>Allow</c> is refused (fail
    /// closed: an outage never lets money move unchecked). Nothing is recorded for such an answer.
    /// </summary>
    public Decisions.Outcome WhenStoreUnavailable { get; set; } = Decisions.Outcome.Deny;

    /// <summary>Loads the configured policy (file, inline JSON or embedded default).</summary>
    public RiskPolicy LoadPolicy() =>
        PolicyJson is not null ? PolicyLoader.Load(System.Text.Encoding.UTF8.GetBytes(PolicyJson), "inline policy")
        : PolicyPath is not null ? PolicyLoader.LoadFile(PolicyPath)
        : PolicyLoader.LoadEmbeddedDefault();
}

/// <summary>Validates <see cref="RiskEngineOptions"/>, including that the policy loads, so a bad policy stops start-up with a clear message.</summary>
public sealed class RiskEngineOptionsValidator : IValidateOptions<RiskEngineOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, RiskEngineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.PolicyPath is not null && options.PolicyJson is not null)
            errors.Add("RiskEngine: set PolicyPath or PolicyJson, not both");
        if (options.MaxFutureSkew is { } skew && (skew <= TimeSpan.Zero || skew > TimeSpan.FromDays(1)))
            errors.Add($"RiskEngine: MaxFutureSkew must be positive and at most one day (or null to turn the check off), not {skew}");
        if (options.WhenStoreUnavailable == Decisions.Outcome.Allow)
            errors.Add("RiskEngine: WhenStoreUnavailable must not be Allow: during a store outage the engine fails closed (Deny, Challenge or Freeze)");
        if (options.MaxCommitRetries is < 1 or > 100_000)
            errors.Add($"RiskEngine: MaxCommitRetries must be between 1 and 100000, not {options.MaxCommitRetries}");
        if (errors.Count == 0)
        {
            try
            {
                options.LoadPolicy();
            }
            catch (PolicyValidationException e)
            {
                errors.AddRange(e.Errors.Select(x => "RiskEngine policy: " + x));
            }
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

namespace RiskEngine.Server.Webhooks;

/// <summary>
/// Exponential back-off for failed deliveries: <c>initial × 2^(attempt-1)</c>, capped at <c>max</c>, with up to 20 %
/// jitter taken off so that many endpoints failing together do not retry in step. The last attempt is the
/// dispatcher's call (<see cref="WebhookOptions.MaxAttempts"/>, <see cref="WebhookOptions.MaxAge"/>). Immutable, thread-safe.
/// </summary>
public sealed record WebhookBackoff(TimeSpan Initial, TimeSpan Max)
{
    /// <summary>1 s doubling up to 5 minutes.</summary>
    public static WebhookBackoff Default { get; } = new(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5));

    /// <summary>The wait before retry number <paramref name="attempt"/> (1 after the first failure).</summary>
    /// <param name="attempt">Failures so far, at least 1.</param>
    /// <param name="jitter">A number in [0, 1) (the caller's random source, so tests can fix it).</param>
    public TimeSpan Delay(int attempt, double jitter)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attempt, 1);
        var exponent = Math.Min(attempt - 1, 30);
        var raw = Initial.TotalMilliseconds * Math.Pow(2, exponent);
        var capped = Math.Min(raw, Max.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped * (1 - 0.2 * Math.Clamp(jitter, 0, 1)));
    }
}

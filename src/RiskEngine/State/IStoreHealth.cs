namespace RiskEngine.State;

/// <summary>
/// A store that can be degraded while it still commits: it says so here, and hosts report it (readiness, the
/// <c>riskengine.store.up</c> gauge). Implementations make <see cref="Problem"/> safe to read from any thread.
/// </summary>
public interface IStoreHealth
{
    /// <summary>What is wrong, in a sentence without secrets or paths of accounts; null while healthy.</summary>
    string? Problem { get; }

    /// <summary>
    /// Tries again what failed (a health check calls it, so a store taken out of traffic by its own readiness can come
    /// back without traffic) and returns <see cref="Problem"/> after it.
    /// </summary>
    ValueTask<string?> ProbeAsync(CancellationToken cancellationToken = default);
}

using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace RiskEngine.Hosting;

/// <summary>Reports the policy in force, the store's last error, and a refused policy file.</summary>
internal sealed class WorkerHealthCheck(IRiskEngine engine, WorkerStatus status) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>
        {
            ["policy"] = engine.Policy.Version,
            ["backlog"] = status.Backlog,
            ["running"] = status.Running,
        };
        if (status.Failure is not null) return HealthCheckResult.Unhealthy("worker stopped on an error", status.Failure, data);
        // A host out of traffic because of its readiness gets no commit that would clear a store error: ask the store.
        if (status.StoreProblem is not null && status.Store is { } probed && await probed.ProbeAsync(cancellationToken) is null) status.StoreError = null;
        if (status.StoreProblem is { } store) return HealthCheckResult.Unhealthy($"state store: {store}", null, data);
        if (status.PolicyError is { } policy) return HealthCheckResult.Degraded($"policy file refused, last good policy in force: {policy}", null, data);
        return HealthCheckResult.Healthy("deciding", data);
    }
}

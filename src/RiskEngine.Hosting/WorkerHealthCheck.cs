using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace RiskEngine.Hosting;

/// <summary>Reports the policy in force, the store's last error, and a refused policy file.</summary>
internal sealed class WorkerHealthCheck(IRiskEngine engine, WorkerStatus status) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>
        {
            ["policy"] = engine.Policy.Version,
            ["backlog"] = status.Backlog,
            ["running"] = status.Running,
        };
        if (status.Failure is not null) return Task.FromResult(HealthCheckResult.Unhealthy("worker stopped on an error", status.Failure, data));
        if (status.StoreProblem is { } store) return Task.FromResult(HealthCheckResult.Unhealthy($"state store: {store}", null, data));
        if (status.PolicyError is { } policy) return Task.FromResult(HealthCheckResult.Degraded($"policy file refused, last good policy in force: {policy}", null, data));
        return Task.FromResult(HealthCheckResult.Healthy("deciding", data));
    }
}

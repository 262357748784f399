using System.Security.Cryptography;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RiskEngine.Policies;

namespace RiskEngine.Worker;

/// <summary>
/// Watches the policy file. A changed, valid file is compiled here, off the decision path, then swapped in
/// atomically; a refused one is logged with file, JSON path and reason, and the last good policy stays in force.
/// </summary>
internal sealed partial class PolicyReloader(
    IPolicyProvider policies,
    IOptions<WorkerOptions> options,
    WorkerMetrics metrics,
    WorkerStatus status,
    TimeProvider time,
    ILogger<PolicyReloader> log) : BackgroundService
{
    private string? _refusedVersion;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var path = options.Value.Policy;
        if (string.IsNullOrEmpty(path)) return; // the embedded default never changes
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.Value.PolicyPollInterval, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            CheckOnce(path);
        }
    }

    /// <summary>Reloads the file if it changed; returns true when a new policy was put in force.</summary>
    internal bool CheckOnce(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogUnreadable(log, path, e.Message);
            return false; // mid-write or briefly missing: try again next tick
        }
        var version = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes))[..16];
        var current = policies.Current.Policy.Version;
        if (version == current || version == _refusedVersion) return false;

        var (policy, errors) = PolicyLoader.TryLoad(bytes, path);
        if (policy is null)
        {
            _refusedVersion = version;
            status.PolicyError = string.Join("; ", errors);
            metrics.Reload(false);
            foreach (var e in errors) LogRefused(log, e.File, e.Path, e.Message, current);
            return false;
        }
        policies.Swap(policy);
        _refusedVersion = null;
        status.PolicyError = null;
        metrics.Reload(true);
        LogReloaded(log, path, current, policy.Version);
        return true;
    }

    [LoggerMessage(LogLevel.Information, "policy {File} reloaded: {Old} -> {New}")]
    private static partial void LogReloaded(ILogger logger, string file, string old, string @new);

    [LoggerMessage(LogLevel.Error, "policy refused: {File}: {Path}: {Reason}; keeping {Version}")]
    private static partial void LogRefused(ILogger logger, string file, string path, string reason, string version);

    [LoggerMessage(LogLevel.Warning, "policy {File} unreadable ({Reason}); keeping the policy in force")]
    private static partial void LogUnreadable(ILogger logger, string file, string reason);
}

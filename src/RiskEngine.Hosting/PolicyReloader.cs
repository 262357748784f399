using System.Security.Cryptography;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RiskEngine.Policies;

namespace RiskEngine.Hosting;

/// <summary>
/// Watches the policy file. A changed, valid file is compiled here, off the decision path, then swapped in
/// atomically; a refused one is logged with file, JSON path and reason, and the last good policy stays in force.
/// Nothing a policy file holds can stop it: any failure while reloading is logged, reported as Degraded health,
/// and the last good policy stays in force.
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
            try
            {
                CheckOnce(path);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                status.PolicyError = $"{path}: reloading failed: {e.Message}";
                metrics.Reload(false);
                LogReloadFailed(log, path, policies.Current.Policy.Version, e);
            }
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
        if (version == current)
        {
            // The file is back to the policy in force (a bad edit was reverted): nothing is refused any more.
            if (_refusedVersion is not null || status.PolicyError is not null) LogRestored(log, path, current);
            _refusedVersion = null;
            status.PolicyError = null;
            return false;
        }
        if (version == _refusedVersion) return false;

        var (policy, errors) = PolicyLoader.TryLoad(bytes, path);
        if (policy is null)
        {
            _refusedVersion = version;
            status.PolicyError = string.Join("; ", errors);
            metrics.Reload(false);
            foreach (var e in errors) LogRefused(log, e.File, e.Path, e.Message, current);
            return false;
        }
        try
        {
            policies.Swap(policy); // compiles first; the policy in force changes only if that succeeds
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _refusedVersion = version;
            status.PolicyError = $"{path}: cannot be compiled: {e.Message}";
            metrics.Reload(false);
            LogReloadFailed(log, path, current, e);
            return false;
        }
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

    [LoggerMessage(LogLevel.Error, "policy {File} could not be put in force; keeping {Version}")]
    private static partial void LogReloadFailed(ILogger logger, string file, string version, Exception error);

    [LoggerMessage(LogLevel.Information, "policy {File} is back to the policy in force ({Version}); nothing is refused")]
    private static partial void LogRestored(ILogger logger, string file, string version);

    [LoggerMessage(LogLevel.Warning, "policy {File} unreadable ({Reason}); keeping the policy in force")]
    private static partial void LogUnreadable(ILogger logger, string file, string reason);
}

using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RiskEngine.Pipeline;
using RiskEngine.State;

namespace RiskEngine.Hosting;

/// <summary>
/// Lifts freezes whose cool-down has passed on time in a host whose events come through the <see cref="RequestPump"/>
/// (the HTTP server without <c>--input</c>): every <see cref="WorkerOptions.CoolDownInterval"/> by the host's clock it
/// commits <see cref="IDecisionBatch.ExpireCoolDownsAsync"/> as a pump action, so the <c>account.unfrozen</c> events
/// reach the output and the webhooks with the batch that lifts them (contract, third wave: not only at the account's
/// next event). The file worker runs the same check in its own loop. A store outage skips a tick (the next one lifts
/// what is due); the timer ends with the host.
/// </summary>
public sealed partial class CoolDownTimer(RequestPump pump, WorkerMetrics metrics, IOptions<WorkerOptions> options, TimeProvider time, ILogger<CoolDownTimer> log)
    : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.CoolDownInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await pump.SubmitAsync(LiftAsync, stoppingToken);
                }
                catch (Exception e) when (e is StateStoreUnavailableException or ChannelClosedException)
                {
                    // The store is down (the pump reports it) or the pump stopped with the host: nothing to do this tick.
                    LogSkipped(log, e.GetType().Name);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async ValueTask<object?> LiftAsync(IDecisionBatch batch, System.Buffers.IBufferWriter<byte> records, CancellationToken ct) =>
        await LiftDueAsync(batch, records, metrics, ct);

    /// <summary>
    /// Lifts, in <paramref name="batch"/>, the freezes whose cool-down has passed and writes the <c>account.unfrozen</c>
    /// records to <paramref name="records"/>: what every host that expires cool-downs does inside its unit of work.
    /// </summary>
    /// <returns>How many freezes were lifted.</returns>
    internal static async ValueTask<int> LiftDueAsync(IDecisionBatch batch, System.Buffers.IBufferWriter<byte> records, WorkerMetrics metrics, CancellationToken ct)
    {
        var lifted = await batch.ExpireCoolDownsAsync(cancellationToken: ct);
        foreach (var e in lifted)
        {
            metrics.AccountEvent(e);
            RecordWriter.WriteAccountEvent(records, e);
        }
        return lifted.Count;
    }

    [LoggerMessage(LogLevel.Debug, "cool-down check skipped this tick ({Reason})")]
    private static partial void LogSkipped(ILogger logger, string reason);
}

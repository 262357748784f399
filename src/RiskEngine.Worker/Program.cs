using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RiskEngine.Hosting;

namespace RiskEngine.Worker;

/// <summary>Entry point of the RiskEngine worker.</summary>
public static partial class Program
{
    /// <summary>Runs the worker; exit code 0 on a clean stop, 1 when it stopped on an error, 2 on bad settings.</summary>
    public static async Task<int> Main(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            ContentRootPath = AppContext.BaseDirectory, // appsettings.json sits beside the binary; paths given are relative to the working directory
        });
        builder.Configuration.AddCommandLine(RiskEngineHost.NormalizeFlags(args), RiskEngineHost.Switches.ToDictionary());
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });
        // Logs go to standard error so that decisions on standard output stay machine-readable.
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);

        using var setup = RiskEngineHost.Configure(builder, HostKind.Worker, "riskengine-worker");
        if (setup is null) return 2;
        using var host = builder.Build();
        var status = host.Services.GetRequiredService<WorkerStatus>();
        var log = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("RiskEngine.Worker");
        if (!await setup.VerifyKeyRingAsync(host.Services)) return 2;
        try
        {
            // Not RunAsync: it disposes the host, and the services are inspected below for how they ended.
            await host.StartAsync();
            await host.WaitForShutdownAsync();
        }
        catch (OptionsValidationException e)
        {
            foreach (var failure in e.Failures) await Console.Error.WriteLineAsync("riskengine-worker: " + failure);
            return 2;
        }
        catch (Exception e)
        {
            LogFatal(log, e);
            return 1;
        }
        // A worker stops only on purpose: any hosted service that ended on an exception makes the exit non-zero,
        // and says why, even one that is not the event loop.
        var failed = host.Services.GetServices<IHostedService>().OfType<BackgroundService>()
            .Where(s => s.ExecuteTask is { IsFaulted: true }).ToList();
        foreach (var service in failed)
        {
            if (ReferenceEquals(service.ExecuteTask!.Exception?.InnerException, status.Failure)) continue; // logged by the worker itself
            LogServiceFailed(log, service.GetType().Name, service.ExecuteTask.Exception!.InnerException!);
        }
        return status.Failure is null && failed.Count == 0 ? 0 : 1;
    }

    [LoggerMessage(LogLevel.Critical, "riskengine-worker stopped on an error")]
    private static partial void LogFatal(ILogger logger, Exception error);

    [LoggerMessage(LogLevel.Critical, "{Service} stopped on an error; the worker exits non-zero")]
    private static partial void LogServiceFailed(ILogger logger, string service, Exception error);
}

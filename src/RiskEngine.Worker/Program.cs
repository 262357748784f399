using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RiskEngine.Security;
using RiskEngine.State;

namespace RiskEngine.Worker;

/// <summary>Entry point of the RiskEngine worker.</summary>
public static partial class Program
{
    private static readonly Dictionary<string, string> Switches = new(StringComparer.Ordinal)
    {
        ["--policy"] = "RiskEngine:Policy",
        ["--input"] = "RiskEngine:Input",
        ["--output"] = "RiskEngine:Output",
        ["--dead-letter"] = "RiskEngine:DeadLetter",
        ["--data"] = "RiskEngine:Data",
        ["--store"] = "RiskEngine:Store",
        ["--once"] = "RiskEngine:Once",
        ["--max-future-skew"] = "RiskEngine:MaxFutureSkew",
        ["--batch-size"] = "RiskEngine:BatchSize",
        ["--redis"] = "RiskEngine:Redis",
        ["--partitions"] = "RiskEngine:Partitions",
        ["--group"] = "RiskEngine:Group",
        ["--consumer"] = "RiskEngine:Consumer",
        ["--keys-dir"] = KeyRingSettings.DirectoryKey,
        ["--key-certificate"] = KeyRingSettings.CertificateKey,
    };

    /// <summary>Runs the worker; exit code 0 on a clean stop, 1 when it stopped on an error, 2 on bad settings.</summary>
    public static async Task<int> Main(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            ContentRootPath = AppContext.BaseDirectory, // appsettings.json sits beside the binary; paths given are relative to the working directory
        });
        builder.Configuration.AddCommandLine(NormalizeFlags(args), Switches);
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });
        // Logs go to standard error so that decisions on standard output stay machine-readable.
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);

        var section = builder.Configuration.GetSection(WorkerOptions.Section);
        var settings = section.Get<WorkerOptions>() ?? new WorkerOptions();
        builder.Services.AddOptions<WorkerOptions>().Bind(section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<WorkerOptions>, WorkerOptionsValidator>();
        builder.Services.Configure<HostOptions>(o =>
        {
            o.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.StopHost;
            o.ShutdownTimeout = TimeSpan.FromSeconds(30);
        });

        if (settings.Store == "redis")
        {
            builder.Services.AddRiskEngineRedis(settings.Redis ?? "localhost:6379");
            // Stream positions live in the consumer group. The journal only lets the host be built: a file or standard
            // input with --store redis is refused on start (WorkerOptionsValidator).
            builder.Services.AddSingleton<IEventJournal, InMemoryEventJournal>();
        }
        else if (settings.Store == "memory")
        {
            builder.Services.AddSingleton<InMemoryRiskStateStore>();
            builder.Services.AddSingleton<IRiskStateStore>(sp => sp.GetRequiredService<InMemoryRiskStateStore>());
            builder.Services.AddSingleton<IEventJournal>(sp => sp.GetRequiredService<InMemoryRiskStateStore>());
        }
        else
        {
            builder.Services.AddRiskEngineSqlite(settings.DatabasePath);
        }
        builder.Services.AddRiskEngine(o =>
        {
            o.PolicyPath = string.IsNullOrEmpty(settings.Policy) ? null : settings.Policy;
            o.MaxFutureSkew = SafeSkew(settings);
        });
        builder.Services.AddMetrics();
        builder.Services.AddSingleton<WorkerMetrics>();
        builder.Services.AddSingleton<WorkerStatus>();
        builder.Services.AddHealthChecks().AddCheck<WorkerHealthCheck>("riskengine");
        if (settings.StreamInput) builder.Services.AddHostedService<StreamWorker>();
        else builder.Services.AddHostedService<EventWorker>();
        builder.Services.AddHostedService<PolicyReloader>();

        // Workers on a Redis stream share state in Redis and coordinate by leases; only a local folder is exclusive.
        RiskEngine.Sqlite.DataFolderLock? folderLock;
        try
        {
            folderLock = settings.StreamInput ? null : RiskEngine.Sqlite.DataFolderLock.TryAcquire(settings.Data);
        }
        catch (RiskEngine.Sqlite.DataFolderException e)
        {
            await Console.Error.WriteLineAsync("riskengine-worker: " + e.Message);
            return 2;
        }
        using var heldLock = folderLock;
        if (folderLock is null && !settings.StreamInput)
        {
            await Console.Error.WriteLineAsync($"riskengine-worker: another worker is running on the data folder '{settings.Data}' (it holds {Path.Combine(settings.Data, RiskEngine.Sqlite.DataFolderLock.FileName)})");
            return 2;
        }
        // The key ring lives outside the data folder (a copy of the folder alone must not decrypt its secrets).
        var keyRing = settings.KeyRingSettings();
        try
        {
            KeyRing.Prepare(keyRing, settings.Data, storeInDataFolder: settings.Store is not ("redis" or "memory"),
                notice: m => Console.Error.WriteLine("riskengine-worker: " + m));
            builder.Services.AddRiskEngineKeyRing(keyRing);
        }
        catch (KeyRingException e)
        {
            await Console.Error.WriteLineAsync("riskengine-worker: " + e.Message);
            return 2;
        }
        using var host = builder.Build();
        var status = host.Services.GetRequiredService<WorkerStatus>();
        var log = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("RiskEngine.Worker");
        if (host.Services.GetService<IKeyRingCheckStore>() is { } checkStore)
        {
            // Refuse a key ring that cannot decrypt the secrets already stored, before anything is written with it.
            try
            {
                await KeyRing.VerifyAsync(keyRing, checkStore);
            }
            catch (KeyRingException e)
            {
                await Console.Error.WriteLineAsync("riskengine-worker: " + e.Message);
                return 2;
            }
        }
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

    private static TimeSpan? SafeSkew(WorkerOptions settings)
    {
        try
        {
            return settings.ResolvedMaxFutureSkew();
        }
        catch (FormatException)
        {
            return null; // reported by WorkerOptionsValidator on start
        }
        catch (OverflowException)
        {
            return null;
        }
    }

    /// <summary>Lets boolean switches stand alone: <c>--once</c> means <c>--once true</c>.</summary>
    internal static string[] NormalizeFlags(string[] args)
    {
        var list = new List<string>(args.Length + 1);
        for (var i = 0; i < args.Length; i++)
        {
            list.Add(args[i]);
            if (args[i] == "--once" && (i + 1 == args.Length || args[i + 1].StartsWith('-') || args[i + 1] is not ("true" or "false")))
                list.Add("true");
        }
        return [.. list];
    }
}

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using RiskEngine.Security;
using RiskEngine.State;

namespace RiskEngine.Hosting;

/// <summary>Which host is being set up: what it may be asked to do differs, the pipeline does not.</summary>
public enum HostKind
{
    /// <summary>The worker: a file, standard input or a Redis stream in, records out.</summary>
    Worker,

    /// <summary>The HTTP decision service: requests in, through the request pump; optionally a file or stream pump beside it.</summary>
    Server,
}

/// <summary>
/// The one place every host is wired: settings (section <c>RiskEngine</c>) and their validation, the store, the
/// engine, the key ring and the data folder lock, the outbox, the pumps, the policy reloader, metrics and health.
/// A host calls <see cref="Configure"/> on its builder before building, then <see cref="VerifyKeyRingAsync"/> on the
/// built services before starting, and disposes the result (the folder lock) after stopping.
/// </summary>
public sealed class RiskEngineHost : IDisposable
{
    /// <summary>The command-line flags every host takes, and the setting each sets.</summary>
    public static readonly IReadOnlyDictionary<string, string> Switches = new Dictionary<string, string>(StringComparer.Ordinal)
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

    private readonly IDisposable? _folderLock;
    private readonly KeyRingSettings _keyRing;
    private readonly string _name;

    private RiskEngineHost(WorkerOptions settings, IDisposable? folderLock, KeyRingSettings keyRing, string name)
    {
        Settings = settings;
        _folderLock = folderLock;
        _keyRing = keyRing;
        _name = name;
    }

    /// <summary>The settings as read when the host was configured.</summary>
    public WorkerOptions Settings { get; }

    /// <summary>Lets boolean switches stand alone: <c>--once</c> means <c>--once true</c>.</summary>
    public static string[] NormalizeFlags(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var list = new List<string>(args.Length + 1);
        for (var i = 0; i < args.Length; i++)
        {
            list.Add(args[i]);
            if (args[i] == "--once" && (i + 1 == args.Length || args[i + 1].StartsWith('-') || args[i + 1] is not ("true" or "false")))
                list.Add("true");
        }
        return [.. list];
    }

    /// <summary>
    /// Registers everything a host needs on <paramref name="builder"/>, takes the data folder lock and prepares the
    /// key ring. Null (after writing why to standard error, prefixed with <paramref name="name"/>) when the host
    /// cannot start: exit 2.
    /// </summary>
    public static RiskEngineHost? Configure(IHostApplicationBuilder builder, HostKind kind, string name)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var section = builder.Configuration.GetSection(WorkerOptions.Section);
        var settings = section.Get<WorkerOptions>() ?? new WorkerOptions();
        services.AddOptions<WorkerOptions>().Bind(section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<WorkerOptions>>(new WorkerOptionsValidator(kind, builder.Environment.IsDevelopment()));
        services.Configure<HostOptions>(o =>
        {
            o.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.StopHost;
            o.ShutdownTimeout = TimeSpan.FromSeconds(30);
        });

        if (settings.Store == "redis")
        {
            services.AddRiskEngineRedis(settings.Redis ?? "localhost:6379");
            // Stream positions live in the consumer group. This journal keeps the request pump's outbox in memory:
            // a file or standard input with --store redis is refused on start (WorkerOptionsValidator).
            services.AddSingleton<IEventJournal, InMemoryEventJournal>();
        }
        else if (settings.Store == "memory")
        {
            services.AddSingleton<InMemoryRiskStateStore>();
            services.AddSingleton<IRiskStateStore>(sp => sp.GetRequiredService<InMemoryRiskStateStore>());
            services.AddSingleton<IEventJournal>(sp => sp.GetRequiredService<InMemoryRiskStateStore>());
        }
        else
        {
            services.AddRiskEngineSqlite(settings.DatabasePath);
        }
        services.AddRiskEngine(o =>
        {
            o.PolicyPath = string.IsNullOrEmpty(settings.Policy) ? null : settings.Policy;
            o.MaxFutureSkew = SafeSkew(settings);
        });
        services.AddMetrics();
        services.AddSingleton<WorkerMetrics>();
        services.AddSingleton(sp => new WorkerStatus { Store = sp.GetRequiredService<IRiskStateStore>() as IStoreHealth });
        services.AddSingleton<Outbox>();
        services.AddHealthChecks()
            .AddCheck<WorkerHealthCheck>("riskengine", tags: ["ready"])
            .AddCheck<StoreHealthCheck>("store", tags: ["ready"]);
        if (settings.StreamInput) services.AddHostedService<StreamWorker>();
        else if (kind == HostKind.Worker || !string.IsNullOrEmpty(settings.Input)) services.AddHostedService<EventWorker>();
        if (kind == HostKind.Server)
        {
            services.AddSingleton<RequestPump>();
            services.AddHostedService(sp => sp.GetRequiredService<RequestPump>());
            // Without an input pump beside it (which expires cool-downs in its own loop), the server lifts them on a timer.
            if (string.IsNullOrEmpty(settings.Input)) services.AddHostedService<CoolDownTimer>();
        }
        services.AddHostedService<PolicyReloader>();

        // Workers on a Redis stream share state in Redis and coordinate by leases; only a local folder is exclusive.
        var exclusive = !settings.StreamInput && settings.Store != "redis";
        Sqlite.DataFolderLock? folderLock;
        try
        {
            folderLock = exclusive ? Sqlite.DataFolderLock.TryAcquire(settings.Data) : null;
        }
        catch (Sqlite.DataFolderException e)
        {
            Console.Error.WriteLine($"{name}: " + e.Message);
            return null;
        }
        if (folderLock is null && exclusive)
        {
            Console.Error.WriteLine($"{name}: another worker is running on the data folder '{settings.Data}' (it holds {Path.Combine(settings.Data, Sqlite.DataFolderLock.FileName)})");
            return null;
        }
        // The key ring lives outside the data folder (a copy of the folder alone must not decrypt its secrets).
        var keyRing = settings.KeyRingSettings();
        try
        {
            KeyRing.Prepare(keyRing, settings.Data, storeInDataFolder: settings.Store is not ("redis" or "memory"),
                notice: m => Console.Error.WriteLine($"{name}: " + m));
            services.AddRiskEngineKeyRing(keyRing);
        }
        catch (KeyRingException e)
        {
            folderLock?.Dispose();
            Console.Error.WriteLine($"{name}: " + e.Message);
            return null;
        }
        return new RiskEngineHost(settings, folderLock, keyRing, name);
    }

    /// <summary>Refuses a key ring that cannot decrypt the secrets already stored, before anything is written with it. False: exit 2 (said on standard error).</summary>
    public async Task<bool> VerifyKeyRingAsync(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (services.GetService<IKeyRingCheckStore>() is not { } checkStore) return true;
        try
        {
            await KeyRing.VerifyAsync(_keyRing, checkStore);
            return true;
        }
        catch (KeyRingException e)
        {
            await Console.Error.WriteLineAsync($"{_name}: " + e.Message);
            return false;
        }
    }

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

    /// <summary>Releases the data folder lock.</summary>
    public void Dispose() => _folderLock?.Dispose();
}

/// <summary>Ready only when the store answers a read (a probe account that is never written).</summary>
internal sealed class StoreHealthCheck(IRiskStateStore store) : IHealthCheck
{
    private static readonly Domain.AccountId Probe = Domain.AccountId.Create("riskengine:health-probe");

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            await store.LoadAccountAsync(Probe, timeout.Token);
            return HealthCheckResult.Healthy("the store answers");
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy($"the store does not answer: {e.Message}");
        }
    }
}

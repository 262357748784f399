using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.Options;
using RiskEngine.Hosting;
using RiskEngine.Server.Accounts;
using RiskEngine.Server.Auth;
using RiskEngine.Server.Decisions;
using RiskEngine.Server.Health;
using RiskEngine.Server.Operations;
using RiskEngine.Server.Passwords;
using RiskEngine.Server.SupportConsole;
using RiskEngine.Server.TwoFactor;
using RiskEngine.Server.Webhooks;

namespace RiskEngine.Server;

/// <summary>Entry point of the RiskEngine HTTP decision service.</summary>
public sealed partial class Program
{
    private Program()
    {
    }

    /// <summary>The server's settings file, read from beside the binary (optional).</summary>
    public const string SettingsFile = "riskengine-server.json";

    /// <summary>What the server reads when nothing says otherwise: no input pump, no output file (requests come over HTTP).</summary>
    private static readonly Dictionary<string, string?> Defaults = new(StringComparer.Ordinal)
    {
        ["RiskEngine:Input"] = "",
        ["RiskEngine:Output"] = "",
    };

    /// <summary>Runs the server; exit code 0 on a clean stop, 1 when it stopped on an error, 2 on bad settings.</summary>
    public static async Task<int> Main(string[] args)
    {
        const string name = "riskengine-server";
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args });
        // Settings: the server's defaults, then riskengine-server.json beside the binary, then the environment and the
        // command line. Not the working directory's appsettings.json: a worker's (input: standard input) is no server's.
        var sources = builder.Configuration.Sources;
        for (var i = sources.Count - 1; i >= 0; i--)
        {
            if (sources[i] is JsonConfigurationSource { Path: { } path } && path.StartsWith("appsettings", StringComparison.Ordinal)) sources.RemoveAt(i);
        }
        sources.Insert(0, new MemoryConfigurationSource { InitialData = Defaults });
        sources.Insert(1, new JsonConfigurationSource
        {
            Path = SettingsFile,
            Optional = true,
            FileProvider = new Microsoft.Extensions.FileProviders.PhysicalFileProvider(AppContext.BaseDirectory),
        });
        var switches = RiskEngineHost.Switches.ToDictionary();
        switches["--keys"] = ServerOptions.Section + ":Keys";
        switches["--rate-limit"] = ServerOptions.Section + ":PermitsPerSecond";
        switches["--metrics-urls"] = ServerOptions.Section + ":MetricsUrls";
        builder.Configuration.AddCommandLine(RiskEngineHost.NormalizeFlags(args), switches);
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
        builder.Logging.AddFilter("RiskEngine.Server.Auth", LogLevel.Warning);
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);

        using var setup = RiskEngineHost.Configure(builder, HostKind.Server, name);
        if (setup is null) return 2;
        var server = builder.Configuration.GetSection(ServerOptions.Section).Get<ServerOptions>() ?? new ServerOptions();
        builder.Services.AddSingleton(Options.Create(server));
        if (server.Validate() is { Count: > 0 } invalid)
        {
            foreach (var error in invalid) await Console.Error.WriteLineAsync($"{name}: {error}");
            return 2;
        }
        var managementPorts = server.MetricsPorts(out _)!;
        if (managementPorts.Length > 0)
        {
            // The management listener beside the main URLs (--urls / ASPNETCORE_URLS, else Kestrel's default).
            var main = builder.Configuration[WebHostDefaults.ServerUrlsKey] is { Length: > 0 } urls ? urls : DefaultUrls(builder.Configuration);
            builder.WebHost.UseUrls(main + ";" + server.MetricsUrls);
        }
        var keys = ApiKeyStore.Load(server.Keys, setup.Settings.Data, builder.Environment.IsDevelopment(), name);
        if (keys is null) return 2;
        builder.Services.AddProblemDetails();
        // Small JSON bodies only (413 problem beyond); the NDJSON stream of POST /v1/events lifts the limit per request.
        builder.WebHost.ConfigureKestrel(o => o.Limits.MaxRequestBodySize = ServerResults.MaxBodyBytes);
        builder.Services.AddApiKeyAuthentication(keys, server);
        builder.Services.AddRiskEngineWebhooks(builder.Configuration);
        builder.Services.AddServerOpenApi();
        builder.AddServerTelemetry(server);

        var app = builder.Build();
        if (!await setup.VerifyKeyRingAsync(app.Services)) return 2;
        app.Use(ServerResults.TooLargeAsProblemAsync);
        app.UseManagementListener(managementPorts);
        app.UseAuthentication();
        app.UseRateLimiter();
        app.UseAuthorization();
        app.MapHealthEndpoints();
        app.MapMetrics(server, managementPorts);
        app.MapServerOpenApi();
        app.MapDecisionEndpoints();
        app.MapAccountEndpoints();
        app.MapTwoFactorEndpoints();
        app.MapPasswordEndpoints();
        app.MapDeadDeliveryRoutes();
        app.MapSupportConsole();

        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("RiskEngine.Server");
        var status = app.Services.GetRequiredService<WorkerStatus>();
        try
        {
            await app.StartAsync();
            foreach (var address in app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [])
            {
                LogListening(log, address);
                LogConsole(log, address.TrimEnd('/') + ConsoleEndpoints.Path);
            }
            await app.WaitForShutdownAsync();
        }
        catch (OptionsValidationException e)
        {
            foreach (var failure in e.Failures) await Console.Error.WriteLineAsync($"{name}: " + failure);
            return 2;
        }
        catch (Exception e)
        {
            LogFatal(log, e);
            return 1;
        }
        finally
        {
            await app.DisposeAsync();
        }
        return status.Failure is null ? 0 : 1;
    }

    /// <summary>
    /// Where Kestrel listens when <c>--urls</c> is not given: <c>ASPNETCORE_HTTP_PORTS</c> / <c>HTTPS_PORTS</c> (what
    /// .NET's container images set), else its own default. Adding the management listener must not move the API.
    /// </summary>
    private static string DefaultUrls(ConfigurationManager configuration)
    {
        var urls = new List<string>();
        foreach (var (key, scheme) in new[] { (WebHostDefaults.HttpPortsKey, "http"), (WebHostDefaults.HttpsPortsKey, "https") })
        {
            foreach (var port in (configuration[key] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                urls.Add($"{scheme}://*:{port}");
        }
        return urls.Count > 0 ? string.Join(';', urls) : "http://localhost:5000";
    }

    [LoggerMessage(LogLevel.Information, "riskengine-server listening on {Address}")]
    private static partial void LogListening(ILogger logger, string address);

    [LoggerMessage(LogLevel.Information, "riskengine-server support console at {Url}")]
    private static partial void LogConsole(ILogger logger, string url);

    [LoggerMessage(LogLevel.Critical, "riskengine-server stopped on an error")]
    private static partial void LogFatal(ILogger logger, Exception error);
}

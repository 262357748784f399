using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using RiskEngine.Hosting;
using RiskEngine.Server.Auth;

namespace RiskEngine.Server.Operations;

/// <summary>
/// OpenTelemetry for the server. Metrics: the <c>RiskEngine</c> meter (<see cref="WorkerMetrics"/>), ASP.NET Core's
/// and the runtime's, exported as Prometheus text at <c>/metrics</c> (see <see cref="MapMetrics"/>). Traces:
/// the <c>RiskEngine</c> activity source and ASP.NET Core's requests (not health or metrics scrapes), on only when
/// there is somewhere to send them: <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (or <c>OTEL_EXPORTER_OTLP_TRACES_ENDPOINT</c>)
/// set, exported over OTLP, or <c>RiskEngine:Server:Tracing</c> true (exporters added by whoever hosts it).
/// </summary>
internal static class Telemetry
{
    public const string MetricsPath = "/metrics";

    public static void AddServerTelemetry(this WebApplicationBuilder builder, ServerOptions server)
    {
        var config = builder.Configuration;
        var otlp = !string.IsNullOrWhiteSpace(config["OTEL_EXPORTER_OTLP_ENDPOINT"]) || !string.IsNullOrWhiteSpace(config["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]);
        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r =>
            {
                if (string.IsNullOrWhiteSpace(config["OTEL_SERVICE_NAME"])) r.AddService("riskengine-server");
            })
            .WithMetrics(m => m
                .AddMeter(WorkerMetrics.MeterName)
                .AddAspNetCoreInstrumentation()
                .AddRuntimeInstrumentation()
                .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0)); // a scrape sees the state of now, not of 300 ms ago
        if (otlp || server.Tracing)
        {
            otel.WithTracing(t =>
            {
                t.AddSource(RiskEngineTracing.SourceName)
                    .AddAspNetCoreInstrumentation(o =>
                    {
                        o.Filter = context => !IsOperational(context.Request.Path);
                        // The path names the account (/v1/accounts/{id}/...): traces get the route template instead.
                        o.EnrichWithHttpResponse = (activity, response) =>
                            activity.SetTag("url.path", (response.HttpContext.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(unmatched)");
                    });
                if (otlp) t.AddOtlpExporter();
            });
        }
    }

    /// <summary>
    /// Maps <c>/metrics</c>: a <c>metrics</c> key, or anonymous when <see cref="ServerOptions.MetricsAnonymous"/> or
    /// when it has its own listener (<paramref name="managementPorts"/>, then the only place it is answered).
    /// </summary>
    public static IEndpointRouteBuilder MapMetrics(this IEndpointRouteBuilder app, ServerOptions server, int[] managementPorts)
    {
        var metrics = app.MapPrometheusScrapingEndpoint(MetricsPath);
        if (server.MetricsAnonymous || managementPorts.Length > 0) metrics.AllowAnonymous();
        else metrics.RequireAuthorization(Roles.Metrics);
        return app;
    }

    /// <summary>
    /// Middleware for a management listener: a connection to one of <paramref name="managementPorts"/> may reach only
    /// <c>/metrics</c> and <c>/health</c>; any other connection never reaches <c>/metrics</c> (404 both ways).
    /// </summary>
    public static IApplicationBuilder UseManagementListener(this IApplicationBuilder app, int[] managementPorts)
    {
        if (managementPorts.Length == 0) return app;
        return app.Use((context, next) =>
        {
            var management = Array.IndexOf(managementPorts, context.Connection.LocalPort) >= 0;
            var path = context.Request.Path;
            var allowed = management
                ? IsOperational(path)
                : !path.StartsWithSegments(MetricsPath, StringComparison.OrdinalIgnoreCase);
            if (allowed) return next(context);
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        });
    }

    private static bool IsOperational(PathString path) =>
        path.StartsWithSegments(MetricsPath, StringComparison.OrdinalIgnoreCase) || path.StartsWithSegments("/health", StringComparison.OrdinalIgnoreCase);
}

using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using RiskEngine.Hosting;
using RiskEngine.State;

namespace RiskEngine.Server.Webhooks;

/// <summary>Registers webhook delivery of account events.</summary>
public static class WebhookServiceCollectionExtensions
{
    private const string HttpClientKey = "riskengine-webhooks";

    /// <summary>
    /// Binds <see cref="WebhookOptions"/> to <c>RiskEngine:Webhooks</c> (validated on start: a bad endpoint stops the
    /// server with exit code 2), makes the outbox journal a copy of each account event for webhooks when any endpoint
    /// is configured, and adds the <see cref="WebhookDispatcher"/> (which, with no endpoints, only drops copies left
    /// from an earlier configuration). Needs the host's services (<see cref="RiskEngineHost.Configure"/>).
    /// </summary>
    public static IServiceCollection AddRiskEngineWebhooks(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<WebhookOptions>().Bind(configuration.GetSection(WebhookOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WebhookOptions>, WebhookOptionsValidator>());
        services.AddOptions<OutboxOptions>().Configure<IOptions<WebhookOptions>>((o, webhooks) => o.CopyAccountEventsToWebhook = webhooks.Value.Endpoints.Count > 0);
        // Its own client (disposed with the container): no handler logs request URLs or headers, and no redirect is
        // followed (a redirect counts as a failure). WebhookSender applies the configured timeout per attempt.
        services.TryAddKeyedSingleton(HttpClientKey, (_, _) =>
            new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(2) }) { Timeout = Timeout.InfiniteTimeSpan });
        services.TryAddSingleton(sp => new WebhookSender(sp.GetRequiredKeyedService<HttpClient>(HttpClientKey), sp.GetRequiredService<TimeProvider>()));
        // Dead letters: durable where the store keeps them (SQLite), in memory otherwise (memory, Redis).
        services.TryAddSingleton<IDeadDeliveryStore>(sp => sp.GetRequiredService<IRiskStateStore>() as IDeadDeliveryStore
            ?? sp.GetRequiredService<IEventJournal>() as IDeadDeliveryStore ?? new InMemoryDeadDeliveryStore());
        services.AddSingleton<WebhookDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<WebhookDispatcher>());
        return services;
    }
}

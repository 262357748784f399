using Microsoft.Extensions.DependencyInjection.Extensions;
using RiskEngine.Redis;
using RiskEngine.State;
using StackExchange.Redis;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registration of the Redis store.</summary>
public static class RedisServiceCollectionExtensions
{
    /// <summary>
    /// Uses Redis as RiskEngine's state store. <paramref name="configuration"/> is any StackExchange.Redis
    /// configuration string (<c>localhost:6379</c>, <c>redis1:6379,redis2:6379,password=...,ssl=true</c>).
    /// </summary>
    public static IServiceCollection AddRiskEngineRedis(this IServiceCollection services, string configuration, string prefix = RedisKeys.DefaultPrefix)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrEmpty(configuration);
        services.TryAddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(configuration));
        services.RemoveAll<RedisKeys>();
        services.AddSingleton(new RedisKeys(prefix));
        services.RemoveAll<IRiskStateStore>();
        services.AddSingleton<IRiskStateStore>(sp => new RedisRiskStateStore(sp.GetRequiredService<IConnectionMultiplexer>(), sp.GetRequiredService<RedisKeys>(), sp.GetService<TimeProvider>()));
        return services;
    }
}

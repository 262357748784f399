using Microsoft.Extensions.DependencyInjection.Extensions;
using RiskEngine.Sqlite;
using RiskEngine.State;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registration of the SQLite store.</summary>
public static class SqliteServiceCollectionExtensions
{
    /// <summary>
    /// Uses a SQLite file as RiskEngine's state store and worker journal. Call before <c>AddRiskEngine</c> (or
    /// instead of its in-memory default, which it only adds when no store is registered). The store also keeps the
    /// key ring check value (see <c>KeyRing.VerifyAsync</c>).
    /// </summary>
    public static IServiceCollection AddRiskEngineSqlite(this IServiceCollection services, string databasePath)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrEmpty(databasePath);
        services.RemoveAll<IRiskStateStore>();
        services.RemoveAll<IEventJournal>();
        services.AddSingleton(_ => new SqliteRiskStateStore(databasePath));
        services.AddSingleton<IRiskStateStore>(sp => sp.GetRequiredService<SqliteRiskStateStore>());
        services.AddSingleton<IEventJournal>(sp => sp.GetRequiredService<SqliteRiskStateStore>());
        services.RemoveAll<RiskEngine.Security.IKeyRingCheckStore>();
        services.AddSingleton<RiskEngine.Security.IKeyRingCheckStore>(sp => sp.GetRequiredService<SqliteRiskStateStore>());
        return services;
    }
}

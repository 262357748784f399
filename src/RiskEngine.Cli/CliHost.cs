using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RiskEngine.Policies;
using RiskEngine.Security;
using RiskEngine.Sqlite;
using RiskEngine.State;
using RiskEngine.TwoFactor;

namespace RiskEngine.Cli;

/// <summary>
/// The services a support or operator command needs, on the worker's data folder: its SQLite store (or the Redis
/// store) and, for TOTP commands, the Data Protection key ring found the way the worker finds it (so secrets enrolled
/// here are readable by the worker, and the other way round).
/// </summary>
internal sealed class CliHost : IAsyncDisposable
{
    private readonly ServiceProvider _provider;
    private readonly DataFolderLock? _lock;

    private CliHost(ServiceProvider provider, DataFolderLock? folderLock)
    {
        _provider = provider;
        _lock = folderLock;
        Engine = provider.GetRequiredService<IRiskEngine>();
        TwoFactor = provider.GetRequiredService<ITwoFactorService>();
        Store = provider.GetService<SqliteRiskStateStore>();
        StateStore = provider.GetRequiredService<IRiskStateStore>();
        Redis = StateStore as RiskEngine.Redis.RedisRiskStateStore;
    }

    /// <summary>The state store the commands work on.</summary>
    public IRiskStateStore StateStore { get; }

    /// <summary>The store, named for messages: the SQLite file or "the Redis store".</summary>
    public string StoreName => Store is not null ? Store.Path : "the Redis store";

    /// <summary>The SQLite store, when the worker's store is SQLite.</summary>
    public SqliteRiskStateStore? Store { get; }

    /// <summary>The Redis store, when the worker's store is Redis.</summary>
    public RiskEngine.Redis.RedisRiskStateStore? Redis { get; }

    /// <summary>Decisions for support's history view, from whichever store the worker uses.</summary>
    public async Task<IReadOnlyList<Decisions.Decision>> HistoryAsync(Domain.AccountId account, int limit) =>
        Store is not null ? await Store.HistoryAsync(account, limit) : await Redis!.HistoryAsync(account, limit);

    public IRiskEngine Engine { get; }

    public ITwoFactorService TwoFactor { get; }

    /// <summary>
    /// Opens the data folder; a command that writes takes the folder lock and fails when a worker holds it. A command
    /// that reads or writes TOTP secrets passes <paramref name="keyRing"/>: the key ring is set up as the worker sets up
    /// its own, and refused (exit 2) when it cannot decrypt the secrets already stored.
    /// </summary>
    public static async Task<CliHost> OpenAsync(string data, string? policy, bool write, string? redis = null, KeyRingSettings? keyRing = null, CancellationToken ct = default)
    {
        var host = Open(data, policy, write, redis, keyRing);
        if (keyRing is null || host._provider.GetService<IKeyRingCheckStore>() is not { } checkStore) return host;
        try
        {
            await KeyRing.VerifyAsync(keyRing, checkStore, ct);
            return host;
        }
        catch (KeyRingException e)
        {
            await host.DisposeAsync();
            throw new CliException(e.Message, Program.ExitEnvironment);
        }
    }

    private static CliHost Open(string data, string? policy, bool write, string? redis, KeyRingSettings? keyRing)
    {
        DataFolderLock? folderLock = null;
        // Redis workers keep no cached state, so only a SQLite data folder needs the worker's lock.
        try
        {
            if (redis is null && write && (folderLock = DataFolderLock.TryAcquire(data)) is null)
                throw new CliException($"a worker is running on '{data}'; changing accounts under it would be overwritten by its cache. Stop it, or send the change through its input as an event.", Program.ExitEnvironment);
        }
        catch (DataFolderException e)
        {
            throw new CliException(e.Message, Program.ExitEnvironment);
        }
        var services = new ServiceCollection();
        if (redis is null) services.AddRiskEngineSqlite(Path.Combine(data, "riskengine.db"));
        else services.AddRiskEngineRedis(redis);
        if (keyRing is not null)
        {
            try
            {
                KeyRing.Prepare(keyRing, data, storeInDataFolder: redis is null, notice: m => Console.Error.WriteLine("riskengine: " + m));
                services.AddRiskEngineKeyRing(keyRing);
            }
            catch (KeyRingException e)
            {
                folderLock?.Dispose();
                throw new CliException(e.Message, Program.ExitEnvironment);
            }
        }
        services.AddRiskEngine(o =>
        {
            o.PolicyPath = policy;
            o.MaxFutureSkew = null;
        });
        var provider = services.BuildServiceProvider();
        try
        {
            return new CliHost(provider, folderLock);
        }
        catch (OptionsValidationException e)
        {
            provider.Dispose();
            folderLock?.Dispose();
            throw new CliException(string.Join(Environment.NewLine, e.Failures), 1);
        }
        catch (PolicyValidationException e)
        {
            provider.Dispose();
            folderLock?.Dispose();
            throw new CliException(e.Message, 1);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _provider.DisposeAsync();
        _lock?.Dispose();
    }
}

/// <summary>A command failed in a way the user can fix; the message is shown without a stack trace.</summary>
internal sealed class CliException(string message, int exitCode) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

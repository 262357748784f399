using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace RiskEngine.Tests.Redis;

/// <summary>
/// A Redis for the tests: the one named by <c>RISKENGINE_REDIS</c> (what <c>.ci/run</c> starts), or a private
/// <c>redis-server</c> started here on a free loopback port. No Redis is a failure, never a skip.
/// </summary>
public sealed class RedisFixture : IAsyncLifetime
{
    private Process? _server;

    public string Configuration { get; private set; } = "";

    public ConnectionMultiplexer Connection { get; private set; } = null!;

    /// <summary>Starts a private redis-server on a free loopback port (for tests that stop or pause their server).</summary>
    public static (Process Server, string Configuration) StartPrivateServer(params string[] arguments)
    {
        var binary = new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("Redis tests need redis-server: run .ci/run, or apt-get install redis-server, or set RISKENGINE_REDIS=host:port");
        var port = FreePort();
        var info = new ProcessStartInfo(binary) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no" })
            info.ArgumentList.Add(a);
        foreach (var a in arguments) info.ArgumentList.Add(a);
        var server = Process.Start(info)!;
        server.BeginOutputReadLine();
        server.BeginErrorReadLine();
        return (server, $"127.0.0.1:{port}");
    }

    public async Task InitializeAsync()
    {
        Configuration = Environment.GetEnvironmentVariable("RISKENGINE_REDIS") ?? "";
        if (Configuration.Length == 0) (_server, Configuration) = StartPrivateServer();
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                Connection = await ConnectionMultiplexer.ConnectAsync(Configuration + ",abortConnect=true,connectTimeout=2000,syncTimeout=30000,asyncTimeout=30000"); // CI machines are busy: slow is not broken
                return;
            }
            catch (RedisConnectionException) when (deadline.Elapsed < TimeSpan.FromSeconds(20))
            {
                await Task.Delay(50); // waiting for the server to listen, not for time to pass
            }
        }
    }

    public async Task DisposeAsync()
    {
        if (Connection is not null) await Connection.DisposeAsync();
        if (_server is { HasExited: false })
        {
            _server.Kill();
            await _server.WaitForExitAsync();
        }
        _server?.Dispose();
    }

    /// <summary>A loopback port nothing listens on (as of now).</summary>
    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}

/// <summary>A private redis-server with a connection (and an admin connection for REPLICAOF, CONFIG and the like), stopped on dispose.</summary>
public sealed class PrivateRedis : IAsyncDisposable
{
    private PrivateRedis(Process server, string configuration, ConnectionMultiplexer connection, ConnectionMultiplexer admin)
    {
        Server = server;
        Configuration = configuration;
        Connection = connection;
        Admin = admin;
    }

    public Process Server { get; }

    public string Configuration { get; }

    public ConnectionMultiplexer Connection { get; }

    public ConnectionMultiplexer Admin { get; }

    public static async Task<PrivateRedis> StartAsync(params string[] arguments)
    {
        var (server, configuration) = RedisFixture.StartPrivateServer(arguments);
        for (var i = 0; ; i++)
        {
            try
            {
                var connection = await ConnectionMultiplexer.ConnectAsync(configuration + ",abortConnect=true,connectTimeout=2000,syncTimeout=30000,asyncTimeout=30000");
                var admin = await ConnectionMultiplexer.ConnectAsync(configuration + ",abortConnect=true,connectTimeout=2000,allowAdmin=true");
                return new PrivateRedis(server, configuration, connection, admin);
            }
            catch (RedisConnectionException) when (i < 400)
            {
                await Task.Delay(25); // the server is still starting
            }
        }
    }

    /// <summary>Runs a server command (REPLICAOF, CONFIG SET, ...) on the admin connection.</summary>
    public Task<RedisResult> RunAsync(string command, params object[] args) => Admin.GetDatabase().ExecuteAsync(command, args);

    /// <summary>
    /// Makes the server a replica of a master that does not exist: it keeps its data and serves reads, and every write
    /// is refused with READONLY, as a demoted master is during a failover.
    /// </summary>
    public async Task DemoteAsync()
    {
        await RunAsync("CONFIG", "SET", "replica-serve-stale-data", "yes");
        await RunAsync("REPLICAOF", "127.0.0.1", RedisFixture.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>Makes the server a master again, with the data it held.</summary>
    public Task PromoteAsync() => RunAsync("REPLICAOF", "NO", "ONE");

    public async ValueTask DisposeAsync()
    {
        await Connection.DisposeAsync();
        await Admin.DisposeAsync();
        using (var cont = Process.Start("kill", ["-CONT", Server.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) await cont.WaitForExitAsync();
        if (!Server.HasExited) Server.Kill();
        await Server.WaitForExitAsync();
        Server.Dispose();
    }
}

[CollectionDefinition("redis")]
public sealed class RedisTestGroup : ICollectionFixture<RedisFixture>;

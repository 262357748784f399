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
    public static (Process Server, string Configuration) StartPrivateServer()
    {
        var binary = new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("Redis tests need redis-server: run .ci/run, or apt-get install redis-server, or set RISKENGINE_REDIS=host:port");
        var port = FreePort();
        var info = new ProcessStartInfo(binary) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no" })
            info.ArgumentList.Add(a);
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

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}

[CollectionDefinition("redis")]
public sealed class RedisTestGroup : ICollectionFixture<RedisFixture>;

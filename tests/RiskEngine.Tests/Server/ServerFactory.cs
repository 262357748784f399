using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace RiskEngine.Tests.Server;

/// <summary>
/// The server in process (<see cref="WebApplicationFactory{TEntryPoint}"/>) on a temporary data folder: SQLite store
/// unless told otherwise, a keys file with one key per role, its own key ring, and any setting or service a test gives.
/// </summary>
internal sealed class ServerFactory(string folder, IReadOnlyDictionary<string, string> settings, Action<IServiceCollection>? services = null)
    : WebApplicationFactory<RiskEngine.Server.Program>
{
    public const string DecideKey = "test-decide-key";
    public const string SupportKey = "test-support-key";
    public const string AdminKey = "test-admin-key";
    public const string MetricsKey = "test-metrics-key";

    public string Data => Path.Combine(folder, "data");

    public string Output => Path.Combine(folder, "out.jsonl");

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        var keys = Path.Combine(folder, "keys.json");
        if (!File.Exists(keys))
        {
            File.WriteAllText(keys, JsonSerializer.Serialize(new object[]
            {
                new { name = "platform", roles = new[] { "decide" }, sha256 = RiskEngine.Server.Auth.ApiKeyStore.Hash(DecideKey) },
                new { name = "support-desk", roles = new[] { "support" }, sha256 = RiskEngine.Server.Auth.ApiKeyStore.Hash(SupportKey) },
                new { name = "ops", roles = new[] { "admin" }, sha256 = RiskEngine.Server.Auth.ApiKeyStore.Hash(AdminKey) },
                new { name = "prometheus", roles = new[] { "metrics" }, sha256 = RiskEngine.Server.Auth.ApiKeyStore.Hash(MetricsKey) },
            }));
        }
        var all = new Dictionary<string, string>
        {
            ["RiskEngine:Policy"] = Path.Combine(AppContext.BaseDirectory, "samples", "policy.example.json"),
            ["RiskEngine:Data"] = Data,
            ["RiskEngine:Output"] = Output,
            ["RiskEngine:KeyRing"] = Path.Combine(folder, "key-ring"),
            ["RiskEngine:Server:Keys"] = keys,
            // Tests replay streams of past times against the host's clock: the cool-down timer would lift their freezes
            // at once. Tests of the timer set their own interval (and a fake clock).
            ["RiskEngine:CoolDownInterval"] = "1.00:00:00",
        };
        foreach (var (k, v) in settings) all[k] = v;
        foreach (var (k, v) in all) builder.UseSetting(k, v);
        if (services is not null) builder.ConfigureTestServices(services);
    }

    /// <summary>A client sending <paramref name="key"/> as its bearer key (none when null).</summary>
    /// <summary>
    /// Waits (polling, with a deadline) until the entry point of a stopped test host let go of the data folder lock:
    /// it does so on its own thread after the host stopped, so a restart on the same folder must wait for it.
    /// </summary>
    public static async Task WaitUntilFolderFreeAsync(string data)
    {
        var released = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        RiskEngine.Sqlite.DataFolderLock? folderLock;
        while ((folderLock = RiskEngine.Sqlite.DataFolderLock.TryAcquire(data)) is null && DateTime.UtcNow < released) await Task.Delay(20);
        Assert.NotNull(folderLock);
        folderLock.Dispose();
    }

    public HttpClient Client(string? key)
    {
        var client = CreateClient();
        if (key is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }
}

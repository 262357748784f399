using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using RiskEngine.Tests.Contract;
using RiskEngine.Tests.Worker;

namespace RiskEngine.Tests.Server;

/// <summary>The server as an operator runs it (the quick start): its own process on a loopback port, a generated development key.</summary>
[Trait("Category", "EndToEnd")]
public sealed partial class ServerProcessTests() : ScratchFolder("riskengine-server-process-")
{
    [GeneratedRegex(@"listening on (http://127\.0\.0\.1:\d+)")]
    private static partial Regex Listening();

    [GeneratedRegex(@"^rk_[A-Za-z0-9_-]{43}$", RegexOptions.Multiline)]
    private static partial Regex GeneratedKey();

    [Fact]
    public async Task The_server_process_decides_the_contract_example_over_http_with_its_generated_development_key()
    {
        using var server = WorkerProcess.StartServer("--environment", "Development", "--urls", "http://127.0.0.1:0", "--data", P("data"),
            "--policy", Sample("policy.example.json"), "--output", P("out.jsonl"));
        Assert.True(await server.WaitUntilAsync(() => Listening().IsMatch(server.Log), TimeSpan.FromSeconds(60)), server.Log);
        var address = Listening().Match(server.Log).Groups[1].Value;
        var key = GeneratedKey().Match(server.Log).Value;
        Assert.False(string.IsNullOrEmpty(key), server.Log);
        Assert.DoesNotContain(key, await File.ReadAllTextAsync(P("data/keys.json")), StringComparison.Ordinal); // only its hash is kept
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(P("data/keys.json")));

        using var client = new HttpClient { BaseAddress = new Uri(address) };
        Assert.Equal("Healthy", await client.GetStringAsync("/health/ready"));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/events") { Content = new ByteArrayContent(await File.ReadAllBytesAsync(Sample("events.example.jsonl"))) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var expected = ContractExampleTests.Lines(await File.ReadAllTextAsync(Sample("expected.example.jsonl")));
        ContractExampleTests.AssertMatches(expected, ContractExampleTests.Lines(await response.Content.ReadAsStringAsync()));
        // The same records went to --output through the outbox after each commit.
        ContractExampleTests.AssertMatches(expected, ContractExampleTests.Lines(await File.ReadAllTextAsync(P("out.jsonl"))));

        server.Terminate();
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.DoesNotContain(key, server.Log.Replace(key + "\n", "", StringComparison.Ordinal), StringComparison.Ordinal); // printed once, never logged again
    }
}

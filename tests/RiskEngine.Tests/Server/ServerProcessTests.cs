using System.Net;
using System.Net.Http.Headers;
using System.Text;
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

    [Fact]
    public async Task With_metrics_urls_metrics_are_answered_only_on_the_management_listener_without_a_key()
    {
        int port;
        using (var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        using var server = WorkerProcess.StartServer("--environment", "Development", "--urls", "http://127.0.0.1:0", "--data", P("data"),
            "--policy", Sample("policy.example.json"), "--metrics-urls", $"http://127.0.0.1:{port}");
        Assert.True(await server.WaitUntilAsync(() => GeneratedKey().IsMatch(server.Log) && Listening().Count(server.Log) >= 2, TimeSpan.FromSeconds(60)), server.Log);
        var key = GeneratedKey().Match(server.Log).Value;
        var main = Listening().Matches(server.Log).Select(m => m.Groups[1].Value).Single(a => !a.EndsWith($":{port}", StringComparison.Ordinal));
        using var management = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        using var api = new HttpClient { BaseAddress = new Uri(main) };
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key); // an admin key

        using (var scrape = await management.GetAsync("/metrics"))
        {
            Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
            Assert.Contains("# TYPE", await scrape.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        Assert.Equal("Healthy", await management.GetStringAsync("/health/ready"));
        using (var onMain = await api.GetAsync("/metrics"))
            Assert.Equal(HttpStatusCode.NotFound, onMain.StatusCode); // not even for an admin key
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/v1/accounts/acct-A"))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            using var apiOnManagement = await management.SendAsync(request);
            Assert.Equal(HttpStatusCode.NotFound, apiOnManagement.StatusCode); // the management listener serves nothing else
        }
        server.Terminate();
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task An_ndjson_body_is_answered_line_by_line_while_it_is_still_being_sent()
    {
        using var server = WorkerProcess.StartServer("--environment", "Development", "--urls", "http://127.0.0.1:0", "--data", P("data"),
            "--policy", Sample("policy.example.json"));
        Assert.True(await server.WaitUntilAsync(() => Listening().IsMatch(server.Log), TimeSpan.FromSeconds(60)), server.Log);
        var address = new Uri(Listening().Match(server.Log).Groups[1].Value);
        var key = GeneratedKey().Match(server.Log).Value;

        // A raw connection, so that the body is provably still open when the first answer is read.
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(address.Host, address.Port);
        var stream = tcp.GetStream();
        async Task SendAsync(string text) => await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(text));
        const string line = """{"type":"transaction","id":"s1","at":"2026-11-27T10:00:00Z","account":"acct-S","amount":1,"currency":"USD","country":"US","device":"d1"}""" + "\n";
        await SendAsync($"POST /v1/events HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {key}\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n");
        await SendAsync($"{line.Length:x}\r\n{line}\r\n");
        var received = new StringBuilder();
        var buffer = new byte[4096];
        using (var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            while (!received.ToString().Contains("\"event\":\"s1\"", StringComparison.Ordinal))
            {
                var n = await stream.ReadAsync(buffer, deadline.Token); // throws when nothing came: the answer waited for the end of the body
                Assert.True(n > 0, received.ToString());
                received.Append(System.Text.Encoding.UTF8.GetString(buffer, 0, n));
            }
        }
        Assert.StartsWith("HTTP/1.1 200", received.ToString(), StringComparison.Ordinal);
        Assert.Contains("Content-Type: application/x-ndjson", received.ToString(), StringComparison.OrdinalIgnoreCase);
        await SendAsync("0\r\n\r\n"); // only now does the body end
    }
}

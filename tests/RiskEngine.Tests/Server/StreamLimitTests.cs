using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace RiskEngine.Tests.Server;

/// <summary>
/// NDJSON streams under the key's budget: one rate-limit token per line (waiting, not failing), a cap on open streams
/// per key, caps on a request's lines and bytes, and an idle timeout instead of a minimum data rate. Time is a fake
/// clock: the tests move it, they never wait for it.
/// </summary>
public sealed class StreamLimitTests() : ScratchFolder("riskengine-streams-")
{
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);

    private readonly FakeTimeProvider _clock = new(Now);
    private ServerFactory? _factory;

    /// <summary>The server on Kestrel (a loopback port), not the in-memory test server: its request bodies stream as a socket's do.</summary>
    private ServerFactory Start(Dictionary<string, string> settings)
    {
        _factory = new ServerFactory(P(""), settings, s => s.AddSingleton<TimeProvider>(_clock));
        _factory.UseKestrel(0);
        return _factory;
    }

    protected override void Cleanup() => _factory?.Dispose();

    /// <summary>Payment <c>s{i}</c>, ten minutes after the one before (no velocity rule fires on these).</summary>
    private static string Tx(int i, string account = "acct-S") =>
        $$"""{"type":"transaction","id":"s{{i}}","at":"{{Now.AddHours(-2).AddMinutes(10 * i):yyyy-MM-ddTHH:mm:ssZ}}","account":"{{account}}","amount":1,"currency":"USD","country":"US","device":"d1"}""";

    /// <summary>
    /// An NDJSON request on a raw socket (chunked), so its body is provably still open while answers are read: a live
    /// pipeline's stream. <see cref="SendAsync"/> sends lines, <see cref="EndAsync"/> ends the body.
    /// </summary>
    private sealed class LiveStream : IDisposable
    {
        private readonly System.Net.Sockets.TcpClient _tcp = new();
        private System.Net.Sockets.NetworkStream _net = null!;

        public StreamReader Answers { get; private set; } = null!;

        public int Status { get; private set; }

        public static async Task<LiveStream> OpenAsync(ServerFactory factory, string key, params string[] lines)
        {
            var address = new Uri(factory.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
                .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First());
            var live = new LiveStream();
            await live._tcp.ConnectAsync(IPAddress.Loopback, address.Port);
            live._net = live._tcp.GetStream();
            await live.WriteAsync($"POST /v1/events HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {key}\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n");
            foreach (var line in lines) await live.SendAsync(line);
            live.Answers = new StreamReader(live._net, Encoding.UTF8);
            // The status line and headers; the body is chunked: chunk sizes and records on alternate lines.
            var status = await live.Answers.ReadLineAsync();
            live.Status = int.Parse(status!.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
            while (!string.IsNullOrEmpty(await live.Answers.ReadLineAsync()))
            {
            }
            return live;
        }

        public Task SendAsync(string line) => WriteAsync($"{Encoding.UTF8.GetByteCount(line + "\n"):x}\r\n{line}\n\r\n");

        public Task EndAsync() => WriteAsync("0\r\n\r\n");

        private readonly StringBuilder _body = new();
        private bool _ended;

        /// <summary>The next record of the answer, or null when the answer ended (the records here are ASCII: a chunk's byte count is its length).</summary>
        public async Task<JsonObject?> NextAsync()
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (true)
            {
                var text = _body.ToString();
                var newline = text.IndexOf('\n', StringComparison.Ordinal);
                if (newline >= 0)
                {
                    _body.Remove(0, newline + 1);
                    return JsonNode.Parse(text[..newline])!.AsObject();
                }
                if (_ended) return null;
                var size = Convert.ToInt32(await Answers.ReadLineAsync(deadline.Token), 16);
                if (size == 0)
                {
                    _ended = true;
                    continue;
                }
                var chunk = new char[size];
                var read = 0;
                while (read < size) read += await Answers.ReadBlockAsync(chunk.AsMemory(read), deadline.Token);
                _body.Append(chunk);
                await Answers.ReadLineAsync(deadline.Token); // the chunk's CRLF
            }
        }

        private async Task WriteAsync(string text)
        {
            await _net.WriteAsync(Encoding.UTF8.GetBytes(text));
            await _net.FlushAsync();
        }

        public void Dispose() => _tcp.Dispose();
    }

    private static async Task<HttpResponseMessage> OpenStreamAsync(HttpClient client, HttpContent body)
    {
        body.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
        return await client.PostAsync("/v1/events", body);
    }

    private static async Task<int> DecidedAsync(HttpClient support, string account)
    {
        using var response = await support.GetAsync($"/v1/accounts/{account}/history?limit=100");
        return response.StatusCode == HttpStatusCode.NotFound ? 0 : JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsArray().Count;
    }

    [Fact]
    public async Task Every_line_of_a_stream_spends_a_token_and_the_stream_waits_for_the_budget()
    {
        var factory = Start(new() { ["RiskEngine:Server:PermitsPerSecond"] = "5" });
        using var decide = factory.Client(ServerFactory.DecideKey);
        using var support = factory.Client(ServerFactory.SupportKey);
        using var live = await LiveStream.OpenAsync(factory, ServerFactory.DecideKey, [.. Enumerable.Range(1, 12).Select(i => Tx(i))]);
        Assert.Equal(200, live.Status);

        // A bucket of 5: the request's own token pays for line 1, four more for lines 2–5; line 6 waits for the clock.
        for (var i = 1; i <= 5; i++) Assert.Equal($"s{i}", (string)(await live.NextAsync())!["event"]!);
        Assert.Equal(5, await DecidedAsync(support, "acct-S"));
        _clock.Advance(TimeSpan.FromSeconds(1));
        for (var i = 6; i <= 10; i++) Assert.Equal($"s{i}", (string)(await live.NextAsync())!["event"]!);
        Assert.Equal(10, await DecidedAsync(support, "acct-S"));
        _clock.Advance(TimeSpan.FromSeconds(1));
        for (var i = 11; i <= 12; i++) Assert.Equal($"s{i}", (string)(await live.NextAsync())!["event"]!);
        await live.EndAsync();
        Assert.Null(await live.NextAsync());
    }

    [Fact]
    public async Task A_key_may_have_only_so_many_streams_open()
    {
        var factory = Start(new() { ["RiskEngine:Server:MaxStreamsPerKey"] = "1" });
        using var decide = factory.Client(ServerFactory.DecideKey);
        var open = await LiveStream.OpenAsync(factory, ServerFactory.DecideKey, Tx(1));
        Assert.Equal("s1", (string)(await open.NextAsync())!["event"]!);

        using (var second = await OpenStreamAsync(decide, new StringContent(Tx(2) + "\n")))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
            Assert.NotNull(second.Headers.RetryAfter);
        }
        using (var admin = factory.Client(ServerFactory.AdminKey)) // another key: its own streams
        using (var other = await OpenStreamAsync(admin, new StringContent(Tx(3, "acct-O") + "\n")))
            Assert.Equal(HttpStatusCode.OK, other.StatusCode);

        await open.EndAsync();
        Assert.Null(await open.NextAsync());
        open.Dispose();
        using var again = await OpenStreamAsync(decide, new StringContent(Tx(4) + "\n")); // the slot is free again
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }

    [Fact]
    public async Task A_stream_past_its_line_cap_is_answered_up_to_it_and_ends_with_a_record_naming_the_first_line_not_read()
    {
        var factory = Start(new() { ["RiskEngine:Server:MaxStreamLines"] = "3" });
        using var decide = factory.Client(ServerFactory.DecideKey);
        using var support = factory.Client(ServerFactory.SupportKey);
        using var response = await OpenStreamAsync(decide, new StringContent(string.Join('\n', Enumerable.Range(1, 5).Select(i => Tx(i))) + "\n"));
        var records = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Equal(["decision", "decision", "decision", "rejected"], records.Select(r => (string)r["type"]!));
        Assert.Equal(4, (long)records[3]["line"]!);
        Assert.Contains("3 lines", (string)records[3]["error"]!, StringComparison.Ordinal);
        Assert.Equal(3, await DecidedAsync(support, "acct-S"));
        Assert.DoesNotContain("\"line\":4", await File.ReadAllTextAsync(factory.Output), StringComparison.Ordinal); // no input line: not journaled
    }

    [Fact]
    public async Task A_stream_past_its_byte_cap_is_cut_at_the_line_that_crosses_it()
    {
        var factory = Start(new() { ["RiskEngine:Server:MaxStreamBytes"] = (Tx(1).Length * 2 + 2).ToString(System.Globalization.CultureInfo.InvariantCulture) });
        using var decide = factory.Client(ServerFactory.DecideKey);
        using var response = await OpenStreamAsync(decide, new StringContent(string.Join('\n', Enumerable.Range(1, 4).Select(i => Tx(i))) + "\n"));
        var records = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Equal(["decision", "decision", "rejected"], records.Select(r => (string)r["type"]!));
        Assert.Equal(3, (long)records[2]["line"]!);
        Assert.Contains("bytes", (string)records[2]["error"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_quiet_stream_stays_open_until_its_idle_timeout_and_then_ends_cleanly()
    {
        var factory = Start(new() { ["RiskEngine:Server:StreamIdleTimeout"] = "00:00:30" });
        using var live = await LiveStream.OpenAsync(factory, ServerFactory.DecideKey, Tx(1));
        Assert.Equal("s1", (string)(await live.NextAsync())!["event"]!);

        _clock.Advance(TimeSpan.FromSeconds(31));
        var end = (await live.NextAsync())!;
        Assert.Equal("rejected", (string)end["type"]!);
        Assert.Equal(2, (long)end["line"]!);
        Assert.Contains("30 s", (string)end["error"]!, StringComparison.Ordinal);
        Assert.Null(await live.NextAsync());
    }

    /// <summary>Records, after each request, the minimum body data rate Kestrel holds it to (null: none).</summary>
    private sealed class DataRateProbe : Microsoft.AspNetCore.Hosting.IStartupFilter
    {
        public List<(string? ContentType, Microsoft.AspNetCore.Server.Kestrel.Core.MinDataRate? Rate)> Seen { get; } = [];

        public Action<Microsoft.AspNetCore.Builder.IApplicationBuilder> Configure(Action<Microsoft.AspNetCore.Builder.IApplicationBuilder> next) => app =>
        {
            app.Use(async (context, nextMiddleware) =>
            {
                await nextMiddleware(context);
                var feature = context.Features.Get<Microsoft.AspNetCore.Server.Kestrel.Core.Features.IHttpMinRequestBodyDataRateFeature>();
                lock (Seen) Seen.Add((context.Request.ContentType, feature?.MinDataRate));
            });
            next(app);
        };
    }

    [Fact]
    public async Task A_stream_is_not_held_to_kestrels_minimum_data_rate_but_a_json_body_still_is()
    {
        // Kestrel cuts a body slower than 240 B/s after 5 s: a live stream quieter than that would lose its answers.
        var probe = new DataRateProbe();
        _factory = new ServerFactory(P(""), new Dictionary<string, string>(), s =>
        {
            s.AddSingleton<TimeProvider>(_clock);
            s.AddSingleton<Microsoft.AspNetCore.Hosting.IStartupFilter>(probe);
        });
        _factory.UseKestrel(0);
        using var decide = _factory.Client(ServerFactory.DecideKey);
        using (var json = await decide.PostAsync("/v1/events", new StringContent(Tx(1), Encoding.UTF8, "application/json")))
            Assert.Equal(HttpStatusCode.OK, json.StatusCode);
        using (var live = await LiveStream.OpenAsync(_factory, ServerFactory.DecideKey, Tx(2)))
        {
            Assert.Equal("s2", (string)(await live.NextAsync())!["event"]!);
            await live.EndAsync();
            Assert.Null(await live.NextAsync());
        }
        List<(string? ContentType, Microsoft.AspNetCore.Server.Kestrel.Core.MinDataRate? Rate)> seen;
        lock (probe.Seen) seen = [.. probe.Seen];
        Assert.NotNull(seen.Single(r => r.ContentType?.StartsWith("application/json", StringComparison.Ordinal) == true).Rate);
        Assert.Null(seen.Single(r => r.ContentType == "application/x-ndjson").Rate);
    }
}

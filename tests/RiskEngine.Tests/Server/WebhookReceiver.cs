using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace RiskEngine.Tests.Server;

/// <summary>
/// A webhook receiver for tests: a real Kestrel app on a loopback port that records every POST it gets (the Standard
/// Webhooks headers, all headers as received, body, the status it answered, when it arrived by its clock) and answers
/// <see cref="RefuseWith"/> (503 unless told), with <see cref="RetryAfter"/> when set, while <see cref="Up"/> is false.
/// </summary>
internal sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    public sealed record Hit(string? Id, string? Timestamp, string? Signature, IHeaderDictionary Headers, byte[] Body, int Status, DateTimeOffset At)
    {
        /// <summary>The account event's type, from the body.</summary>
        public string Event => (string)System.Text.Json.Nodes.JsonNode.Parse(Body)!["type"]!;
    }

    private readonly TimeProvider _clock;

    private WebhookReceiver(WebApplication app, TimeProvider clock) => (_app, _clock) = (app, clock);

    /// <summary>False: every POST is answered <see cref="RefuseWith"/> (and still recorded).</summary>
    public volatile bool Up;

    /// <summary>The status of a refused POST.</summary>
    public volatile int RefuseWith = 503;

    /// <summary>The <c>Retry-After</c> value a refused POST carries (none when null): seconds, or an HTTP date.</summary>
    public volatile string? RetryAfter;

    public ConcurrentQueue<Hit> Hits { get; } = new();

    public string Url { get; private set; } = "";

    public IEnumerable<Hit> Accepted => Hits.Where(h => h.Status == 200);

    /// <summary>Starts a receiver on a loopback port; <paramref name="clock"/> (the system's unless given) times each hit.</summary>
    public static async Task<WebhookReceiver> StartAsync(bool up, TimeProvider? clock = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new WebhookReceiver(app, clock ?? TimeProvider.System) { Up = up };
        app.MapPost("/hook", async (HttpContext c) =>
        {
            using var body = new MemoryStream();
            await c.Request.Body.CopyToAsync(body);
            var up = receiver.Up;
            var status = up ? 200 : receiver.RefuseWith;
            var headers = new HeaderDictionary();
            foreach (var (name, value) in c.Request.Headers) headers[name] = value;
            receiver.Hits.Enqueue(new Hit(c.Request.Headers["webhook-id"], c.Request.Headers["webhook-timestamp"],
                c.Request.Headers["webhook-signature"], headers, body.ToArray(), status, receiver._clock.GetUtcNow()));
            c.Response.StatusCode = status;
            if (!up && receiver.RetryAfter is { } retryAfter) c.Response.Headers.RetryAfter = retryAfter;
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        receiver.Url = address + "/hook";
        return receiver;
    }

    /// <summary>A loopback URL where nothing listens (a port taken and let go).</summary>
    public static string NobodyListening()
    {
        using var socket = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        var port = ((IPEndPoint)socket.LocalEndpoint).Port;
        socket.Stop();
        return $"http://127.0.0.1:{port}/hook";
    }

    /// <summary>Waits (polling, with a deadline) until <paramref name="done"/> holds.</summary>
    public static async Task<bool> WaitAsync(Func<bool> done, TimeSpan deadline)
    {
        var until = DateTime.UtcNow + deadline;
        while (!done())
        {
            if (DateTime.UtcNow > until) return false;
            await Task.Delay(20);
        }
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>Keeps every log line written (message, state values and exception) so a test can search it.</summary>
internal sealed class LogCapture : ILoggerProvider
{
    public ConcurrentQueue<string> Lines { get; } = new();

    public string Text => string.Join("\n", Lines);

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(LogCapture capture, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(" ", pairs.Select(p => $"{p.Key}={p.Value}")) : "";
            capture.Lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} [{values}] {exception}");
        }
    }
}

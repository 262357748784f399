using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RiskEngine.Sqlite;

namespace RiskEngine.Tests.Server;

/// <summary>
/// The server over a SQLite store that fails under it, the failures injected into the real database with triggers
/// (as a full disk fails a statement): a failing write-back after a committed batch loses nothing from the output, and
/// a failing journal write is a 503 with Retry-After, flips readiness and the store gauge, and is logged once.
/// </summary>
public sealed class StoreFaultTests() : ScratchFolder("riskengine-store-faults-")
{
    private ServerFactory? _factory;
    private readonly LogLines _log = new();

    private string Database => Path.Combine(P("data"), "riskengine.db");

    /// <summary>The server on a store that writes back after every batch and retries a failed write-back at once.</summary>
    private ServerFactory Start()
    {
        _factory = new ServerFactory(P(""), new Dictionary<string, string>(), s =>
        {
            s.AddSingleton(_ => new SqliteRiskStateStore(Database, new SqliteStoreOptions { WriteBackBatches = 1, WriteBackRetryInterval = TimeSpan.Zero }));
            s.AddSingleton<ILoggerProvider>(_log);
        });
        return _factory;
    }

    protected override void Cleanup() => _factory?.Dispose();

    private static StringContent Tx(int i) => new(
        $$"""{"type":"transaction","id":"f{{i}}","at":"2026-11-27T10:{{i:D2}}:00Z","account":"acct-F{{i % 3}}","amount":5,"currency":"USD","country":"US","device":"d1"}""",
        Encoding.UTF8, "application/json");

    /// <summary>Runs SQL on the server's database through a connection of its own.</summary>
    private void Sql(string sql)
    {
        using var db = new SqliteConnection($"Data Source={Database};Pooling=False");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "PRAGMA busy_timeout = 10000; " + sql;
        cmd.ExecuteNonQuery();
    }

    private const string FailWriteBack = """
        CREATE TRIGGER fail_insert BEFORE INSERT ON accounts BEGIN SELECT RAISE(ABORT, 'injected: database or disk is full'); END;
        CREATE TRIGGER fail_update BEFORE UPDATE ON accounts BEGIN SELECT RAISE(ABORT, 'injected: database or disk is full'); END;
        """;

    private static async Task<string> ReadyAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/health/ready");
        return await response.Content.ReadAsStringAsync();
    }

    private List<string> OutputEvents() =>
        [.. File.ReadAllLines(_factory!.Output).Select(l => JsonNode.Parse(l)!.AsObject()).Where(r => (string)r["type"]! == "decision").Select(r => (string)r["event"]!)];

    [Fact]
    public async Task A_failing_write_back_after_a_commit_answers_the_decision_and_publishes_it_and_readiness_says_degraded()
    {
        var factory = Start();
        using var client = factory.Client(ServerFactory.DecideKey);
        using (var first = await client.PostAsync("/v1/events", Tx(1)))
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Sql(FailWriteBack);

        for (var i = 2; i <= 5; i++)
        {
            using var response = await client.PostAsync("/v1/events", Tx(i));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode); // committed in the journal: the answer stands
            Assert.Equal($"f{i}", (string)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["decision"]!["event"]!);
        }
        Assert.Equal(["f1", "f2", "f3", "f4", "f5"], OutputEvents());
        Assert.Equal("Unhealthy", await ReadyAsync(client));

        Sql("DROP TRIGGER fail_insert; DROP TRIGGER fail_update;");
        // Readiness asks the store to try again: a host its readiness took out of traffic comes back without traffic.
        Assert.Equal("Healthy", await ReadyAsync(client));
        using (var after = await client.PostAsync("/v1/events", Tx(6)))
            Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.Equal("Healthy", await ReadyAsync(client));
        Assert.Equal(["f1", "f2", "f3", "f4", "f5", "f6"], OutputEvents());

        // A restart finds every batch (the journal rows the failed write-backs left), publishes nothing twice.
        _factory!.Dispose();
        await ServerFactory.WaitUntilFolderFreeAsync(P("data"));
        using var restarted = Start().Client(ServerFactory.DecideKey);
        using (var retry = await restarted.PostAsync("/v1/events", Tx(3)))
            Assert.True((bool)JsonNode.Parse(await retry.Content.ReadAsStringAsync())!["decision"]!["duplicate"]!);
        Assert.Equal(["f1", "f2", "f3", "f4", "f5", "f6", "f3"], OutputEvents());
    }

    [Fact]
    public async Task A_failing_journal_write_is_a_503_with_retry_after_flips_readiness_and_the_gauge_and_is_logged_once()
    {
        var factory = Start();
        using var client = factory.Client(ServerFactory.DecideKey);
        using var scraper = factory.Client(ServerFactory.MetricsKey);
        using (var first = await client.PostAsync("/v1/events", Tx(1)))
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Sql("CREATE TRIGGER fail_journal BEFORE INSERT ON journal BEGIN SELECT RAISE(ABORT, 'injected: database or disk is full'); END;");

        for (var i = 2; i <= 6; i++)
        {
            using var response = await client.PostAsync("/v1/events", Tx(i));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
            Assert.NotNull(response.Headers.RetryAfter);
            Assert.Equal("urn:riskengine:problem:unavailable", (string)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["type"]!);
        }
        Assert.Equal("Unhealthy", await ReadyAsync(client));
        Assert.Equal(0, PrometheusText.Parse(await scraper.GetStringAsync("/metrics"))["riskengine_store_up"].Single().Value);
        Assert.Single(_log.Lines, l => l.Contains("cannot take batches", StringComparison.Ordinal));
        Assert.DoesNotContain(_log.Lines, l => l.Contains("a batch of", StringComparison.Ordinal)); // not logged as a failure of ours, with a stack, per request

        Sql("DROP TRIGGER fail_journal;");
        Assert.Equal("Healthy", await ReadyAsync(client)); // the store's probe write went through: no request needed
        using (var back = await client.PostAsync("/v1/events", Tx(2)))
            Assert.Equal(HttpStatusCode.OK, back.StatusCode); // nothing of the refused attempts was decided: not a duplicate
        Assert.Equal("Healthy", await ReadyAsync(client));
        Assert.Equal(1, PrometheusText.Parse(await scraper.GetStringAsync("/metrics"))["riskengine_store_up"].Single().Value);
        Assert.Contains(_log.Lines, l => l.Contains("takes batches again", StringComparison.Ordinal));
        Assert.Equal(["f1", "f2"], OutputEvents());
    }

    /// <summary>Every log line of the server, as formatted text.</summary>
    private sealed class LogLines : ILoggerProvider, ILogger
    {
        private readonly List<string> _lines = [];

        public IReadOnlyList<string> Lines
        {
            get
            {
                lock (_lines) return [.. _lines];
            }
        }

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_lines) _lines.Add(formatter(state, exception));
        }

        public void Dispose()
        {
        }
    }
}

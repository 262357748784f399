using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using RiskEngine.Hosting;
using RiskEngine.Server.Webhooks;
using RiskEngine.State;
using static RiskEngine.Tests.Server.WebhookTests;

namespace RiskEngine.Tests.Server;

/// <summary>
/// The webhook lanes' limits: a receiver refusing for good is given up on (dead letters, listed and replayed through
/// the API, durable in SQLite) without holding up its lane or another endpoint; the pending gauge follows commits
/// while a lane waits out its back-off; a large backlog is read a page at a time, each record once. Back-off waits
/// run on a <see cref="FakeTimeProvider"/>: nothing here sleeps for the time it measures.
/// </summary>
public sealed class WebhookLaneTests() : ScratchFolder("riskengine-lanes-")
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);

    private ServerFactory? _factory;

    protected override void Cleanup()
    {
        _factory?.Dispose();
        SqliteConnection.ClearAllPools();
    }

    private ServerFactory Start(Dictionary<string, string> settings, Action<IServiceCollection>? services = null)
    {
        _factory = new ServerFactory(P(""), settings, services);
        return _factory;
    }

    /// <summary>The webhook instruments of the RiskEngine meter, by endpoint (names unique to each test: servers of other tests run beside).</summary>
    private sealed class Instruments : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentDictionary<string, long> _pending = new();
        private readonly ConcurrentDictionary<string, long> _dead = new();

        public Instruments()
        {
            _listener.InstrumentPublished = (i, l) =>
            {
                if (i.Meter.Name == WorkerMetrics.MeterName && i.Name.StartsWith("riskengine.webhook.", StringComparison.Ordinal)) l.EnableMeasurementEvents(i);
            };
            _listener.SetMeasurementEventCallback<long>((i, v, tags, _) =>
            {
                var endpoint = "";
                foreach (var t in tags) if (t.Key == "endpoint") endpoint = (string)t.Value!;
                if (i.Name == "riskengine.webhook.pending") _pending[endpoint] = v;
                else if (i.Name == "riskengine.webhook.dead") _dead.AddOrUpdate(endpoint, v, (_, old) => old + v);
            });
            _listener.Start();
        }

        public long Pending(string endpoint)
        {
            _listener.RecordObservableInstruments();
            return _pending.GetValueOrDefault(endpoint, -1);
        }

        public long Dead(string endpoint) => _dead.GetValueOrDefault(endpoint);

        public void Dispose() => _listener.Dispose();
    }

    /// <summary>Moves the fake clock on in steps of the tests' RetryMax until <paramref name="done"/> holds (a back-off wait registered late just takes one more step).</summary>
    private static async Task AdvanceUntilAsync(FakeTimeProvider clock, Func<bool> done)
    {
        for (var i = 0; i < 400 && !done(); i++)
        {
            clock.Advance(TimeSpan.FromMilliseconds(200));
            await Task.Delay(25);
        }
        Assert.True(done());
    }

    private static string Text(WebhookReceiver.Hit hit) => Encoding.UTF8.GetString(hit.Body);

    [Fact]
    public async Task A_delivery_refused_with_400_is_dead_lettered_after_three_tries_the_next_goes_through_and_the_other_endpoint_never_waits()
    {
        var clock = new FakeTimeProvider(T0);
        await using var bad = await WebhookReceiver.StartAsync(up: false, clock);
        bad.RefuseWith = 400;
        await using var good = await WebhookReceiver.StartAsync(up: true, clock);
        using var instruments = new Instruments();
        var factory = Start(Hooks(("dl-bad", bad.Url, Secret), ("dl-good", good.Url, OtherSecret)), s => s.AddSingleton<TimeProvider>(clock));
        using var support = factory.Client(ServerFactory.SupportKey);
        await HoldAsync(support, "acct-D1");

        // The healthy endpoint has it at once, the clock standing still: it never waits for the refusing one.
        Assert.True(await WebhookReceiver.WaitAsync(() => good.Accepted.Count() == 1 && bad.Hits.Count == 1, TimeSpan.FromSeconds(10)));
        // Refused twice more through the back-off, then given up on: a 400 is permanent after PermanentFailureAttempts (3).
        await AdvanceUntilAsync(clock, () => instruments.Dead("dl-bad") == 1);
        Assert.Equal(3, bad.Hits.Count);
        Assert.All(bad.Hits, h => Assert.Equal(400, h.Status));
        Assert.Single(bad.Hits.Select(h => h.Id).Distinct());
        var entry = Assert.Single(await factory.Services.GetRequiredService<IDeadDeliveryStore>().ListAsync(0, 10));
        Assert.Equal(("dl-bad", bad.Hits.First().Id, "account.frozen", 3, 400, "HTTP 400", DeadDeliveryState.Dead),
            (entry.Endpoint, entry.DeliveryId, entry.Type, entry.Attempts, entry.LastStatus, entry.LastError, entry.State));
        Assert.True(entry.LastAttempt > entry.FirstAttempt);

        // The lane moved on: the next delivery goes through at once.
        bad.Up = true;
        await HoldAsync(support, "acct-D2");
        Assert.True(await WebhookReceiver.WaitAsync(() => bad.Accepted.Count() == 1 && good.Accepted.Count() == 2, TimeSpan.FromSeconds(10)));
        Assert.Contains("acct-D2", Text(bad.Accepted.Single()), StringComparison.Ordinal);
        Assert.Equal(AccountEvents(factory), good.Accepted.Select(Text));
        var journal = factory.Services.GetRequiredService<IEventJournal>();
        Assert.True(await WebhookReceiver.WaitAsync(() => journal.CountAsync(OutputChannel.Webhook, 0).AsTask().Result == 0, TimeSpan.FromSeconds(5)));
        Assert.Equal(1, instruments.Dead("dl-bad"));
        Assert.Equal(0, instruments.Dead("dl-good"));
    }

    /// <summary>A receiver answering 503 (never a permanent refusal) is given up on at <c>MaxAttempts</c>, or once <c>MaxAge</c> has passed since the first attempt.</summary>
    [Theory]
    [InlineData("MaxAttempts", "2")]
    [InlineData("MaxAge", "00:00:01")]
    public async Task A_delivery_failing_past_max_attempts_or_max_age_is_given_up_on(string limit, string value)
    {
        var clock = new FakeTimeProvider(T0);
        await using var receiver = await WebhookReceiver.StartAsync(up: false, clock);
        using var instruments = new Instruments();
        var endpoint = "limit-" + limit;
        var settings = Hooks((endpoint, receiver.Url, Secret));
        settings["RiskEngine:Webhooks:" + limit] = value;
        var factory = Start(settings, s => s.AddSingleton<TimeProvider>(clock));
        using var support = factory.Client(ServerFactory.SupportKey);
        await HoldAsync(support, "acct-M1");
        await AdvanceUntilAsync(clock, () => instruments.Dead(endpoint) == 1);
        var entry = Assert.Single(await factory.Services.GetRequiredService<IDeadDeliveryStore>().ListAsync(0, 10));
        Assert.Equal((endpoint, 503, "HTTP 503"), (entry.Endpoint, entry.LastStatus, entry.LastError));
        Assert.Equal(entry.Attempts, receiver.Hits.Count);
        if (limit == "MaxAttempts") Assert.Equal(2, entry.Attempts);
        else Assert.True(entry.LastAttempt - entry.FirstAttempt >= TimeSpan.FromSeconds(1) && entry.Attempts is > 2 and < 100, $"{entry.Attempts} attempts");
    }

    [Fact]
    public async Task Dead_letters_are_listed_for_support_without_url_or_secret_survive_a_restart_and_a_replay_sends_one_once()
    {
        await using var receiver = await WebhookReceiver.StartAsync(up: false);
        receiver.RefuseWith = 410;
        var settings = Hooks(("dl-api", receiver.Url + "?token=s3cr3t-path", Secret));
        settings["RiskEngine:Webhooks:PermanentFailureAttempts"] = "1";
        var factory = Start(settings);
        using (var support = factory.Client(ServerFactory.SupportKey))
        {
            await HoldAsync(support, "acct-L1");
            Assert.True(await WebhookReceiver.WaitAsync(() => support.GetStringAsync("/v1/webhooks/dead").Result != "[]", TimeSpan.FromSeconds(10)));
            using var decide = factory.Client(ServerFactory.DecideKey);
            Assert.Equal(HttpStatusCode.Forbidden, (await decide.GetAsync("/v1/webhooks/dead")).StatusCode);
        }
        await factory.DisposeAsync();
        await ServerFactory.WaitUntilFolderFreeAsync(factory.Data);

        // Restarted: the dead letter is still there (SQLite), listed with what support needs and nothing of the URL or secret.
        receiver.Up = true;
        factory = Start(settings);
        using var client = factory.Client(ServerFactory.SupportKey);
        var text = await client.GetStringAsync("/v1/webhooks/dead");
        var entry = Assert.Single(JsonNode.Parse(text)!.AsArray())!;
        Assert.Equal("dl-api", (string)entry["endpoint"]!);
        Assert.Equal(receiver.Hits.Single().Id, (string)entry["deliveryId"]!);
        Assert.Equal("account.frozen", (string)entry["type"]!);
        Assert.Equal(1, (int)entry["attempts"]!);
        Assert.Equal(410, (int)entry["lastStatus"]!);
        Assert.Equal("HTTP 410", (string)entry["lastError"]!);
        Assert.Equal("dead", (string)entry["state"]!);
        Assert.NotNull(entry["firstAttempt"]);
        Assert.NotNull(entry["lastAttempt"]);
        foreach (var leak in new[] { "/hook", "token", "s3cr3t", Secret, Secret[6..], "body" }) Assert.DoesNotContain(leak, text, StringComparison.Ordinal);
        var id = (long)entry["id"]!;
        Assert.Equal("[]", await client.GetStringAsync($"/v1/webhooks/dead?after={id}"));

        // Replay: queued, then sent with its original id and taken; asking again sends nothing more.
        using (var replay = await client.PostAsync($"/v1/webhooks/dead/{id}/replay", null))
        {
            Assert.Equal(HttpStatusCode.Accepted, replay.StatusCode);
            Assert.Equal("queued", (string)JsonNode.Parse(await replay.Content.ReadAsStringAsync())!["state"]!);
        }
        Assert.True(await WebhookReceiver.WaitAsync(() => client.GetStringAsync("/v1/webhooks/dead").Result.Contains("\"delivered\"", StringComparison.Ordinal), TimeSpan.FromSeconds(10)));
        var taken = Assert.Single(receiver.Accepted);
        Assert.Equal(receiver.Hits.First().Id, taken.Id);
        Assert.Contains("acct-L1", Text(taken), StringComparison.Ordinal);
        Assert.True(Signed(taken, Secret, taken.At));
        using (var again = await client.PostAsync($"/v1/webhooks/dead/{id}/replay", null))
        {
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
            var after = JsonNode.Parse(await again.Content.ReadAsStringAsync())!;
            Assert.Equal("delivered", (string)after["state"]!);
            Assert.Equal(2, (int)after["attempts"]!);
        }
        await Task.Delay(300);
        Assert.Equal(2, receiver.Hits.Count);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsync($"/v1/webhooks/dead/{id + 1}/replay", null)).StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await client.PostAsync("/v1/webhooks/dead/x/replay", null)).StatusCode);
    }

    [Fact]
    public async Task The_pending_gauge_counts_events_committed_while_the_endpoint_waits_out_its_back_off()
    {
        var clock = new FakeTimeProvider(T0);
        await using var receiver = await WebhookReceiver.StartAsync(up: false, clock);
        using var instruments = new Instruments();
        var factory = Start(Hooks(("gauge-down", receiver.Url, Secret)), s => s.AddSingleton<TimeProvider>(clock));
        using var support = factory.Client(ServerFactory.SupportKey);
        await HoldAsync(support, "acct-G1");
        Assert.True(await WebhookReceiver.WaitAsync(() => receiver.Hits.Count == 1 && instruments.Pending("gauge-down") == 1, TimeSpan.FromSeconds(10)));

        // The clock stands still: the lane waits out its back-off, and the gauge still counts what is committed meanwhile.
        await HoldAsync(support, "acct-G2");
        await HoldAsync(support, "acct-G3");
        Assert.True(await WebhookReceiver.WaitAsync(() => instruments.Pending("gauge-down") == 3, TimeSpan.FromSeconds(10)), $"pending {instruments.Pending("gauge-down")}");
        Assert.Single(receiver.Hits);

        receiver.Up = true;
        await AdvanceUntilAsync(clock, () => receiver.Accepted.Count() == 3);
        Assert.True(await WebhookReceiver.WaitAsync(() => instruments.Pending("gauge-down") == 0, TimeSpan.FromSeconds(10)));
    }

    /// <summary>Counts what the dispatcher reads from the journal (every call is passed on).</summary>
    private sealed class CountingJournal(IEventJournal inner) : IEventJournal
    {
        public long RecordsRead;
        public int LargestRead;
        public int WebhookScans;
        public int WebhookCounts;

        public ValueTask<JournalPosition?> LoadPositionAsync(string source, CancellationToken cancellationToken = default) => inner.LoadPositionAsync(source, cancellationToken);

        public ValueTask<long> LastSequenceAsync(CancellationToken cancellationToken = default) => inner.LastSequenceAsync(cancellationToken);

        public ValueTask<(long Sequence, long Length)> PublishedAsync(OutputChannel channel, CancellationToken cancellationToken = default) => inner.PublishedAsync(channel, cancellationToken);

        public ValueTask<IReadOnlyList<JournalRecord>> UnpublishedAsync(OutputChannel channel, CancellationToken cancellationToken = default)
        {
            if (channel == OutputChannel.Webhook) Interlocked.Increment(ref WebhookScans);
            return inner.UnpublishedAsync(channel, cancellationToken);
        }

        public async ValueTask<IReadOnlyList<JournalRecord>> ReadAsync(OutputChannel channel, long afterSequence, int limit, CancellationToken cancellationToken = default)
        {
            var page = await inner.ReadAsync(channel, afterSequence, limit, cancellationToken);
            Interlocked.Add(ref RecordsRead, page.Count);
            lock (this) LargestRead = Math.Max(LargestRead, page.Count);
            return page;
        }

        public ValueTask<long> CountAsync(OutputChannel channel, long afterSequence, CancellationToken cancellationToken = default)
        {
            if (channel == OutputChannel.Webhook) Interlocked.Increment(ref WebhookCounts);
            return inner.CountAsync(channel, afterSequence, cancellationToken);
        }

        public ValueTask MarkPublishedAsync(OutputChannel channel, long sequence, long length, CancellationToken cancellationToken = default) =>
            inner.MarkPublishedAsync(channel, sequence, length, cancellationToken);
    }

    /// <summary>A receiver that takes everything at once, in process (the backlog test is about reads, not sockets).</summary>
    private sealed class TakeAll : HttpMessageHandler
    {
        public ConcurrentDictionary<string, int> Ids { get; } = new();

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Ids.AddOrUpdate(request.Headers.GetValues(WebhookSignature.IdHeader).Single(), 1, (_, n) => n + 1);
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.NoContent));
        }
    }

    [Fact]
    public async Task A_backlog_of_20000_drains_with_each_record_read_once_a_page_at_a_time()
    {
        const int Backlog = 20_000;
        var receiver = new TakeAll();
        CountingJournal? counting = null;
        var settings = Hooks(("bulk", "http://127.0.0.1:9/hook", Secret));
        settings["RiskEngine:Store"] = "memory";
        var factory = Start(settings, s =>
        {
            s.AddSingleton<IEventJournal>(sp => counting = new CountingJournal(sp.GetRequiredService<InMemoryRiskStateStore>()));
            s.AddSingleton(_ => new WebhookSender(new HttpClient(receiver), TimeProvider.System));
        });
        var store = factory.Services.GetRequiredService<InMemoryRiskStateStore>();
        var first = await store.LastSequenceAsync() + 1;
        var records = Enumerable.Range(0, Backlog)
            .Select(i => new JournalRecord(first + i, OutputChannel.Webhook, Encoding.UTF8.GetBytes($$"""{"type":"account.frozen","event":"b{{i}}","account":"acct-{{i}}"}""")))
            .ToList();
        await using (var batch = await store.BeginBatchAsync())
            await batch.CommitAsync(new JournalEntry(records, new JournalPosition("test-backlog", 0, Backlog)));

        Assert.True(await WebhookReceiver.WaitAsync(() => receiver.Ids.Count == Backlog && store.CountAsync(OutputChannel.Webhook, 0).AsTask().Result == 0, TimeSpan.FromSeconds(120)),
            $"{receiver.Ids.Count} of {Backlog} delivered");
        Assert.All(receiver.Ids.Values, n => Assert.Equal(1, n));
        // Read by cursor, a page at a time, each record once: never the whole backlog per delivery.
        Assert.Equal(0, counting!.WebhookScans);
        Assert.InRange(counting.LargestRead, 1, WebhookDispatcher.PageSize);
        Assert.InRange(counting.RecordsRead, Backlog, Backlog + WebhookDispatcher.PageSize);
        // The pending gauge is counted from the journal once, at start, then kept by arithmetic: no count of the
        // backlog under the store's lock per page (it was one per full page: ~80 here).
        Assert.InRange(counting.WebhookCounts, 1, 2);
    }
}

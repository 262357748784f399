using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RiskEngine.Server.Webhooks;
using RiskEngine.Sqlite;
using RiskEngine.State;
using RiskEngine.Tests.Worker;

namespace RiskEngine.Tests.Server;

/// <summary>
/// Webhooks for account events: signatures, back-off, delivery ids, the journal's webhook channel, and the server
/// delivering to real receivers (Kestrel on loopback) that are down for a while, one of two down, across a restart.
/// </summary>
public sealed class WebhookTests() : ScratchFolder("riskengine-webhooks-")
{
    // Standard Webhooks secrets: whsec_ + base64 of the key (32 bytes here).
    internal static readonly string Secret = "whsec_" + Convert.ToBase64String("riskengine-webhook-test-key-0001"u8);
    internal static readonly string OtherSecret = "whsec_" + Convert.ToBase64String("riskengine-webhook-other-key-002"u8);
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

    /// <summary>Settings with fast retries and the given endpoints (name, url, secret).</summary>
    internal static Dictionary<string, string> Hooks(params (string Name, string Url, string Secret)[] endpoints)
    {
        var s = new Dictionary<string, string>
        {
            ["RiskEngine:Webhooks:RetryInitial"] = "00:00:00.050",
            ["RiskEngine:Webhooks:RetryMax"] = "00:00:00.200",
            ["RiskEngine:Webhooks:PollInterval"] = "00:00:00.100",
            ["RiskEngine:Webhooks:Timeout"] = "00:00:05",
        };
        for (var i = 0; i < endpoints.Length; i++)
        {
            s[$"RiskEngine:Webhooks:Endpoints:{i}:Name"] = endpoints[i].Name;
            s[$"RiskEngine:Webhooks:Endpoints:{i}:Url"] = endpoints[i].Url;
            s[$"RiskEngine:Webhooks:Endpoints:{i}:Secret"] = endpoints[i].Secret;
        }
        return s;
    }

    internal static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    internal static async Task HoldAsync(HttpClient support, string account)
    {
        using var r = await support.PostAsync($"/v1/accounts/{account}/freeze", Json("""{"by":"agent-1","reason":"user reports a stolen phone"}"""));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
    }

    private static async Task UnfreezeAsync(HttpClient support, string account)
    {
        using var r = await support.PostAsync($"/v1/accounts/{account}/unfreeze", Json("""{"by":"agent-1","reason":"identity checked"}"""));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
    }

    /// <summary>The account events the server published to its output file, in order: what every endpoint must get.</summary>
    internal static List<string> AccountEvents(ServerFactory factory) =>
        File.ReadAllLines(factory.Output).Where(l => l.StartsWith("{\"type\":\"account.", StringComparison.Ordinal)).ToList();

    // ---- the parts ----

    /// <summary>True when <paramref name="hit"/> carries a valid signature with <paramref name="secret"/> at <paramref name="now"/> (our verifier).</summary>
    internal static bool Signed(WebhookReceiver.Hit hit, string secret, DateTimeOffset now)
    {
        Assert.True(WebhookSignature.TryDecodeSecret(secret, out var key));
        return WebhookSignature.Verify(key, hit.Id, hit.Timestamp, hit.Signature, hit.Body, now);
    }

    [Fact]
    public void A_signature_is_the_standard_webhooks_one_and_a_tampered_body_id_or_timestamp_an_old_timestamp_or_a_wrong_secret_is_refused()
    {
        Assert.True(WebhookSignature.TryDecodeSecret(Secret, out var key));
        Assert.True(WebhookSignature.TryDecodeSecret(OtherSecret, out var other));
        var body = """{"type":"account.frozen","event":"e1","account":"acct-A"}"""u8.ToArray();
        const string id = "wh_0123456789abcdef0123456789abcdef";
        var t = WebhookSignature.Seconds(T0);
        var header = WebhookSignature.Sign(key, id, T0, body);
        Assert.Matches("^v1,[A-Za-z0-9+/]{43}=$", header);
        Assert.Equal(T0.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), t);
        // The same bytes as the NuGet StandardWebhooks library signs (its Sign: "{id}.{timestamp}.{body}").
        Assert.Equal(new StandardWebhooks.StandardWebhook(Secret).Sign(id, T0, Encoding.UTF8.GetString(body)), header);

        Assert.True(WebhookSignature.Verify(key, id, t, header, body, T0 + TimeSpan.FromMinutes(4)));
        var tampered = (byte[])body.Clone();
        tampered[^3] ^= 1;
        Assert.False(WebhookSignature.Verify(key, id, t, header, tampered, T0));
        Assert.False(WebhookSignature.Verify(key, "wh_another", t, header, body, T0)); // a capture replayed under a new id
        Assert.False(WebhookSignature.Verify(key, id, WebhookSignature.Seconds(T0.AddSeconds(1)), header, body, T0)); // timestamp changed without re-signing
        Assert.False(WebhookSignature.Verify(key, id, t, header, body, T0 + TimeSpan.FromMinutes(6)));
        Assert.True(WebhookSignature.Verify(key, id, t, header, body, T0 + TimeSpan.FromMinutes(6), TimeSpan.FromMinutes(10)));
        Assert.False(WebhookSignature.Verify(other, id, t, header, body, T0));
        // Any one of several space-separated signatures (a receiver mid-rotation); missing or malformed headers.
        Assert.True(WebhookSignature.Verify(key, id, t, "v1,AAAA " + header, body, T0));
        Assert.False(WebhookSignature.Verify(key, id, t, null, body, T0));
        Assert.False(WebhookSignature.Verify(key, null, t, header, body, T0));
        Assert.False(WebhookSignature.Verify(key, id, null, header, body, T0));
        Assert.False(WebhookSignature.Verify(key, id, t, "v2," + header[3..], body, T0));
        Assert.False(WebhookSignature.Verify(key, id, t, "v1,zz", body, T0));
    }

    [Fact]
    public void Secrets_are_whsec_base64_of_at_least_24_bytes_and_the_validator_never_quotes_one()
    {
        var fresh = WebhookSignature.NewSecret();
        Assert.StartsWith("whsec_", fresh, StringComparison.Ordinal);
        Assert.True(WebhookSignature.TryDecodeSecret(fresh, out var key));
        Assert.Equal(32, key.Length);
        Assert.NotEqual(fresh, WebhookSignature.NewSecret());
        var short23 = "whsec_" + Convert.ToBase64String(new byte[23]);
        var bad = new[] { "0123456789abcdef0123456789abcdef", "whsec_not*base64*at*all*0123456789abcdef", short23, "WHSEC_" + fresh[6..] };
        Assert.True(WebhookSignature.TryDecodeSecret("whsec_" + Convert.ToBase64String(new byte[24]), out _));
        foreach (var secret in bad) Assert.False(WebhookSignature.TryDecodeSecret(secret, out _), secret);

        var options = new WebhookOptions { Endpoints = [.. bad.Select((s, i) => new WebhookEndpoint { Name = $"e{i}", Url = "https://crm.example.com/hook", Secret = s })] };
        var result = new WebhookOptionsValidator().Validate(null, options);
        Assert.Equal(bad.Length, result.Failures!.Count(f => f.Contains(":Secret must be \"whsec_\"", StringComparison.Ordinal)));
        foreach (var secret in bad) Assert.DoesNotContain(result.Failures!, f => f.Contains(secret, StringComparison.Ordinal) || f.Contains(secret[6..], StringComparison.Ordinal));
        Assert.True(new WebhookOptionsValidator().Validate(null, new WebhookOptions { Endpoints = [new() { Name = "crm", Url = "https://crm.example.com/hook", Secret = fresh }] }).Succeeded);
        var limits = new WebhookOptionsValidator().Validate(null, new WebhookOptions { MaxAttempts = 0, MaxAge = TimeSpan.Zero, PermanentFailureAttempts = 0 });
        Assert.Equal(3, limits.Failures!.Count(f => f.Contains("MaxAttempts", StringComparison.Ordinal) || f.Contains("MaxAge", StringComparison.Ordinal) || f.Contains("PermanentFailureAttempts", StringComparison.Ordinal)));
    }

    [Fact]
    public void Back_off_doubles_from_the_initial_delay_and_stops_at_the_cap_with_jitter_only_shortening()
    {
        var backoff = new WebhookBackoff(TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(1));
        var delays = Enumerable.Range(1, 8).Select(a => backoff.Delay(a, jitter: 0).TotalMilliseconds).ToArray();
        Assert.Equal([50, 100, 200, 400, 800, 1000, 1000, 1000], delays);
        Assert.Equal(TimeSpan.FromSeconds(1), backoff.Delay(10_000, 0)); // no overflow far out
        Assert.Equal(40, backoff.Delay(1, jitter: 0.999999).TotalMilliseconds, precision: 3); // at most 20 % off
        Assert.Throws<ArgumentOutOfRangeException>(() => backoff.Delay(0, 0));
    }

    [Fact]
    public void A_delivery_id_is_stable_and_differs_by_endpoint_sequence_and_body()
    {
        var body = """{"type":"account.frozen","event":"e1"}"""u8.ToArray();
        var id = WebhookDelivery.IdFor("crm", 7, body);
        Assert.Matches("^wh_[0-9a-f]{32}$", id);
        Assert.Equal(id, WebhookDelivery.IdFor("crm", 7, (byte[])body.Clone()));
        Assert.NotEqual(id, WebhookDelivery.IdFor("pager", 7, body));
        Assert.NotEqual(id, WebhookDelivery.IdFor("crm", 8, body));
        Assert.NotEqual(id, WebhookDelivery.IdFor("crm", 7, """{"type":"account.frozen","event":"e2"}"""u8));
    }

    [Theory]
    [InlineData("memory", false)]
    [InlineData("sqlite", false)]
    [InlineData("sqlite", true)]
    public async Task Both_journals_keep_webhook_records_unpublished_until_marked_and_positions_by_name(string kind, bool writeBackEachBatch)
    {
        var path = P("journal.db");
        IRiskStateStore Open() => kind == "memory" ? new InMemoryRiskStateStore() : new SqliteRiskStateStore(path, new SqliteStoreOptions { WriteBackBatches = writeBackEachBatch ? 1 : 4096 });
        var store = Open();
        var journal = (IEventJournal)store;
        byte[] Line(int i) => Encoding.UTF8.GetBytes($$"""{"type":"account.frozen","event":"e{{i}}"}""");
        await using (var batch = await store.BeginBatchAsync())
        {
            await batch.CommitAsync(new JournalEntry(
                [new JournalRecord(1, OutputChannel.Output, Line(1)), new JournalRecord(2, OutputChannel.Webhook, Line(1)),
                 new JournalRecord(3, OutputChannel.Output, Line(2)), new JournalRecord(4, OutputChannel.Webhook, Line(2))],
                new JournalPosition("api", 0, 2)));
        }
        Assert.Equal([2L, 4L], (await journal.UnpublishedAsync(OutputChannel.Webhook)).Select(r => r.Sequence));
        Assert.Equal([1L, 3L], (await journal.UnpublishedAsync(OutputChannel.Output)).Select(r => r.Sequence));
        await journal.MarkPublishedAsync(OutputChannel.Output, 3, 0);
        await journal.MarkPublishedAsync(OutputChannel.Webhook, 2, 0);
        await using (var batch = await store.BeginBatchAsync())
            await batch.CommitAsync(new JournalEntry([], new JournalPosition(WebhookDispatcher.Source("crm"), 0, 2)));
        Assert.Equal(4L, (await journal.UnpublishedAsync(OutputChannel.Webhook)).Single().Sequence);
        Assert.Empty(await journal.UnpublishedAsync(OutputChannel.Output));
        Assert.Equal(2, (await journal.LoadPositionAsync(WebhookDispatcher.Source("crm")))!.Line);
        if (kind == "memory") return;

        ((IDisposable)store).Dispose();
        SqliteConnection.ClearAllPools();
        store = Open();
        journal = (IEventJournal)store;
        var left = await journal.UnpublishedAsync(OutputChannel.Webhook);
        Assert.Equal(4L, left.Single().Sequence);
        Assert.Equal(Line(2), left.Single().Bytes);
        Assert.Equal(OutputChannel.Webhook, left.Single().Channel);
        Assert.Equal((2L, 0L), await journal.PublishedAsync(OutputChannel.Webhook));
        Assert.Equal(2, (await journal.LoadPositionAsync(WebhookDispatcher.Source("crm")))!.Line);
        Assert.Equal(4, await journal.LastSequenceAsync());
        ((IDisposable)store).Dispose();
    }

    // ---- the server ----

    [Fact]
    public async Task Bad_webhook_settings_from_the_environment_stop_the_server_process_on_start_with_exit_code_2_without_showing_the_secret()
    {
        using var server = WorkerProcess.StartServerWithEnvironment(new Dictionary<string, string?>
        {
            ["RiskEngine__Webhooks__Endpoints__0__Name"] = "crm",
            ["RiskEngine__Webhooks__Endpoints__0__Url"] = "ftp://example.test/hook",
            ["RiskEngine__Webhooks__Endpoints__0__Secret"] = "short-secret",
            ["RiskEngine__Webhooks__Endpoints__0__Events__0"] = "account.deleted",
        }, "--environment", "Development", "--urls", "http://127.0.0.1:0", "--data", P("data"), "--policy", Sample("policy.example.json"));
        Assert.Equal(2, await server.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("RiskEngine:Webhooks:Endpoints:0:Url must be an absolute http or https URL", server.Log, StringComparison.Ordinal);
        Assert.Contains("RiskEngine:Webhooks:Endpoints:0:Secret must be \"whsec_\" followed by base64", server.Log, StringComparison.Ordinal);
        Assert.Contains("'account.deleted' is not an account event", server.Log, StringComparison.Ordinal);
        Assert.DoesNotContain("short-secret", server.Log + string.Join('\n', server.StdOut), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_endpoints_no_webhook_copies_are_journaled()
    {
        var factory = Start(new Dictionary<string, string>());
        using var support = factory.Client(ServerFactory.SupportKey);
        await HoldAsync(support, "acct-N");
        Assert.Single(AccountEvents(factory));
        Assert.Empty(await factory.Services.GetRequiredService<IEventJournal>().UnpublishedAsync(OutputChannel.Webhook));
    }

    [Fact]
    public async Task A_receiver_down_for_a_while_then_up_gets_every_account_event_once_by_delivery_id_in_order_with_valid_signatures_and_no_secret_is_logged()
    {
        await using var receiver = await WebhookReceiver.StartAsync(up: false);
        var capture = new LogCapture();
        var settings = Hooks(("crm", receiver.Url, Secret));
        // The file pump beside the API: its account events go out too.
        settings["RiskEngine:Input"] = Sample("events.example.jsonl");
        settings["RiskEngine:MaxFutureSkew"] = "off";
        settings["RiskEngine:FollowPollInterval"] = "00:00:00.020";
        var factory = Start(settings, s =>
        {
            s.AddSingleton<ILoggerProvider>(capture);
            s.Configure<LoggerFilterOptions>(o => o.Rules.Add(new LoggerFilterRule(null, "RiskEngine", LogLevel.Trace, null)));
        });
        using var support = factory.Client(ServerFactory.SupportKey);
        Assert.Equal("Healthy", await support.GetStringAsync("/health/ready"));
        Assert.True(await WebhookReceiver.WaitAsync(() => File.Exists(factory.Output) && File.ReadAllLines(factory.Output).Length >= 37, TimeSpan.FromSeconds(60)));
        await HoldAsync(support, "acct-W1");
        await UnfreezeAsync(support, "acct-W1");
        await HoldAsync(support, "acct-W2");
        var expected = AccountEvents(factory);
        Assert.Equal(6, expected.Count); // 3 from the file, 3 from the API

        // Down: the first delivery is tried again and again (each attempt refused), nothing else is sent ahead of it.
        Assert.True(await WebhookReceiver.WaitAsync(() => receiver.Hits.Count >= 4, TimeSpan.FromSeconds(30)));
        receiver.Up = true;
        Assert.True(await WebhookReceiver.WaitAsync(() => receiver.Accepted.Select(h => h.Id).Distinct().Count() >= expected.Count, TimeSpan.FromSeconds(30)),
            $"{receiver.Accepted.Count()} of {expected.Count} delivered");
        await Task.Delay(500); // anything more would be a duplicate: there is nothing more
        var accepted = receiver.Accepted.ToList();
        Assert.Equal(expected.Count, accepted.Count);
        Assert.Equal(expected, accepted.Select(h => Encoding.UTF8.GetString(h.Body)));
        Assert.Equal(expected.Count, accepted.Select(h => h.Id).Distinct().Count());
        foreach (var hit in receiver.Hits)
        {
            Assert.Matches("^wh_[0-9a-f]{32}$", hit.Id);
            Assert.True(Signed(hit, Secret, hit.At), $"signature of {hit.Id}");
        }
        // Refused attempts carried the same id as the delivery that was finally taken: receivers can de-duplicate.
        var refused = receiver.Hits.Where(h => h.Status != 200).ToList();
        Assert.True(refused.Count >= 4);
        Assert.All(refused, h => Assert.Equal(accepted[0].Id, h.Id));

        var journal = factory.Services.GetRequiredService<IEventJournal>();
        Assert.True(await WebhookReceiver.WaitAsync(() => journal.UnpublishedAsync(OutputChannel.Webhook).AsTask().Result.Count == 0, TimeSpan.FromSeconds(5)));
        var log = capture.Text;
        Assert.Contains("attempt", log, StringComparison.Ordinal); // the failures were logged ...
        Assert.Contains("crm", log, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, log, StringComparison.Ordinal); // ... and the secret never
        Assert.DoesNotContain(ServerFactory.SupportKey, log, StringComparison.Ordinal);
    }

    /// <summary>
    /// A receiver verifies a delivery with an off-the-shelf Standard Webhooks library (NuGet <c>StandardWebhooks</c>,
    /// fed the request's headers as received), and a captured delivery replayed under a new <c>webhook-id</c> (to get
    /// past a receiver's de-duplication) no longer verifies.
    /// </summary>
    [Fact]
    public async Task A_delivery_verifies_with_the_standard_webhooks_library_and_its_capture_replayed_under_a_new_id_does_not()
    {
        await using var receiver = await WebhookReceiver.StartAsync(up: true);
        var factory = Start(Hooks(("crm", receiver.Url, Secret)));
        using var support = factory.Client(ServerFactory.SupportKey);
        await HoldAsync(support, "acct-SW");
        Assert.True(await WebhookReceiver.WaitAsync(() => receiver.Accepted.Any(), TimeSpan.FromSeconds(10)));
        var hit = Assert.Single(receiver.Accepted);
        var payload = Encoding.UTF8.GetString(hit.Body);
        Assert.Equal(AccountEvents(factory), [payload]);
        Assert.Equal("application/json; charset=utf-8", hit.Headers.ContentType);
        Assert.DoesNotContain(hit.Headers.Keys, k => k.StartsWith("RiskEngine-", StringComparison.OrdinalIgnoreCase));

        var library = new StandardWebhooks.StandardWebhook(Secret);
        library.Verify(payload, hit.Headers); // throws WebhookVerificationException unless it verifies

        var replayed = new HeaderDictionary(hit.Headers.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase))
        {
            [WebhookSignature.IdHeader] = "wh_" + new string('0', 32),
        };
        Assert.Throws<StandardWebhooks.Diagnostics.WebhookVerificationException>(() => library.Verify(payload, replayed));
        Assert.Throws<StandardWebhooks.Diagnostics.WebhookVerificationException>(() => new StandardWebhooks.StandardWebhook(OtherSecret).Verify(payload, hit.Headers));
        Assert.Throws<StandardWebhooks.Diagnostics.WebhookVerificationException>(() => library.Verify(payload.Replace("acct-SW", "acct-SX", StringComparison.Ordinal), hit.Headers));
    }

    [Fact]
    public async Task With_two_endpoints_one_down_the_other_receives_promptly_and_the_lag_shows_per_endpoint()
    {
        await using var up = await WebhookReceiver.StartAsync(up: true);
        var down = WebhookReceiver.NobodyListening();
        var factory = Start(Hooks(("down-2", down, OtherSecret), ("up-2", up.Url, Secret)));
        using var support = factory.Client(ServerFactory.SupportKey);
        await HoldAsync(support, "acct-P1");
        await HoldAsync(support, "acct-P2");
        await UnfreezeAsync(support, "acct-P1");
        var expected = AccountEvents(factory);
        Assert.Equal(3, expected.Count);
        Assert.True(await WebhookReceiver.WaitAsync(() => up.Accepted.Count() >= 3, TimeSpan.FromSeconds(5)), "the working endpoint waited for the broken one");
        Assert.Equal(expected, up.Accepted.Select(h => Encoding.UTF8.GetString(h.Body)));
        Assert.All(up.Accepted, h => Assert.True(Signed(h, Secret, h.At)));
        await Task.Delay(300);

        // Outbox lag on the RiskEngine meter: three waiting for the broken endpoint, none for the other.
        var pending = new Dictionary<string, long>();
        var age = new Dictionary<string, double>();
        var attempts = new Dictionary<string, long>();
        using (var listener = new MeterListener())
        {
            listener.InstrumentPublished = (i, l) =>
            {
                if (i.Meter.Name == RiskEngine.Hosting.WorkerMetrics.MeterName && i.Name.StartsWith("riskengine.webhook.", StringComparison.Ordinal)) l.EnableMeasurementEvents(i);
            };
            string Endpoint(ReadOnlySpan<KeyValuePair<string, object?>> tags)
            {
                foreach (var t in tags) if (t.Key == "endpoint") return (string)t.Value!;
                return "";
            }
            listener.SetMeasurementEventCallback<long>((i, v, tags, _) =>
            {
                var e = Endpoint(tags);
                if (i.Name == "riskengine.webhook.pending") pending[e] = v;
                else if (i.Name == "riskengine.webhook.attempts") attempts[e] = attempts.GetValueOrDefault(e) + v;
            });
            listener.SetMeasurementEventCallback<double>((i, v, tags, _) => age[Endpoint(tags)] = v);
            listener.Start();
            await HoldAsync(support, "acct-P3"); // counted while listening
            Assert.True(await WebhookReceiver.WaitAsync(() => up.Accepted.Count() >= 4, TimeSpan.FromSeconds(5)));
            await Task.Delay(300);
            listener.RecordObservableInstruments();
        }
        Assert.Equal(4, pending["down-2"]);
        Assert.Equal(0, pending["up-2"]);
        Assert.True(age["down-2"] > 0.2, $"oldest age {age["down-2"]}");
        Assert.Equal(0, age["up-2"]);
        Assert.True(attempts.GetValueOrDefault("up-2") >= 1);
        Assert.True(attempts.GetValueOrDefault("down-2") >= 1);
        // Nothing is dropped from the journal while one endpoint still needs it.
        Assert.Equal(4, (await factory.Services.GetRequiredService<IEventJournal>().UnpublishedAsync(OutputChannel.Webhook)).Count);
    }

    /// <summary>
    /// A receiver answering 429 or 503 with <c>Retry-After</c> (seconds or an HTTP date) is not asked again sooner,
    /// and a <c>Retry-After</c> beyond <c>RetryMax</c> waits <c>RetryMax</c>. The dispatcher waits on the host's
    /// <see cref="TimeProvider"/>, so on a fake clock nothing here sleeps for the seconds it measures: the gap is read
    /// from the receiver's arrival times on that clock.
    /// </summary>
    [Theory]
    [InlineData(429, "30", 60, 30)]
    [InlineData(503, "30", 60, 30)]
    [InlineData(503, "date:30", 60, 30)]
    [InlineData(429, "120", 10, 10)] // capped
    public async Task A_refusal_with_retry_after_is_retried_no_sooner_than_asked_and_no_later_than_retry_max(int status, string retryAfter, int retryMaxSeconds, int expectedSeconds)
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(T0);
        await using var receiver = await WebhookReceiver.StartAsync(up: false, clock);
        receiver.RefuseWith = status;
        receiver.RetryAfter = retryAfter.StartsWith("date:", StringComparison.Ordinal)
            ? (T0 + TimeSpan.FromSeconds(int.Parse(retryAfter[5..], System.Globalization.CultureInfo.InvariantCulture))).ToString("R", System.Globalization.CultureInfo.InvariantCulture)
            : retryAfter;
        var capture = new LogCapture();
        var settings = Hooks(("crm", receiver.Url, Secret));
        settings["RiskEngine:Webhooks:RetryMax"] = TimeSpan.FromSeconds(retryMaxSeconds).ToString("c", System.Globalization.CultureInfo.InvariantCulture);
        var factory = Start(settings, s =>
        {
            s.AddSingleton<TimeProvider>(clock);
            s.AddSingleton<ILoggerProvider>(capture);
            s.Configure<LoggerFilterOptions>(o => o.Rules.Add(new LoggerFilterRule(null, "RiskEngine", LogLevel.Trace, null)));
        });
        using var support = factory.Client(ServerFactory.SupportKey);
        await HoldAsync(support, "acct-RA");

        // The first attempt is refused; the failure is logged with the wait just before the dispatcher waits on the clock.
        Assert.True(await WebhookReceiver.WaitAsync(() => capture.Text.Contains("retrying in", StringComparison.Ordinal), TimeSpan.FromSeconds(10)), capture.Text);
        Assert.Contains($"attempt 1 failed (HTTP {status}); retrying in {expectedSeconds * 1000} ms", capture.Text, StringComparison.Ordinal);
        await Task.Delay(100);
        var first = Assert.Single(receiver.Hits);
        Assert.Equal(status, first.Status);
        receiver.Up = true;

        clock.Advance(TimeSpan.FromSeconds(expectedSeconds) - TimeSpan.FromMilliseconds(1));
        await Task.Delay(300);
        Assert.Single(receiver.Hits); // not a moment sooner
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(await WebhookReceiver.WaitAsync(() => receiver.Hits.Count >= 2, TimeSpan.FromSeconds(10)), "not retried once the wait was over");
        var second = receiver.Hits.Last();
        Assert.Equal(200, second.Status);
        Assert.Equal(first.Id, second.Id);
        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), second.At - first.At);
        await Task.Delay(200);
        Assert.Equal(2, receiver.Hits.Count);
    }

    [Fact]
    public async Task Account_events_undelivered_when_the_server_stops_are_delivered_after_a_restart_and_delivered_ones_are_not_sent_again()
    {
        var nobody = WebhookReceiver.NobodyListening();
        var factory = Start(Hooks(("crm", nobody, Secret)));
        List<string> expected;
        using (var support = factory.Client(ServerFactory.SupportKey))
        {
            await HoldAsync(support, "acct-R1");
            await HoldAsync(support, "acct-R2");
            await UnfreezeAsync(support, "acct-R1");
            expected = AccountEvents(factory);
            Assert.Equal(3, expected.Count);
            await Task.Delay(300); // a few refused attempts
        }
        await factory.DisposeAsync();
        await ServerFactory.WaitUntilFolderFreeAsync(factory.Data);

        await using var receiver = await WebhookReceiver.StartAsync(up: true);
        factory = Start(Hooks(("crm", receiver.Url, Secret)));
        Assert.NotNull(factory.Services); // starts the host
        Assert.True(await WebhookReceiver.WaitAsync(() => receiver.Accepted.Count() >= 3, TimeSpan.FromSeconds(10)), "nothing delivered after the restart");
        Assert.Equal(expected, receiver.Accepted.Select(h => Encoding.UTF8.GetString(h.Body)));
        var ids = receiver.Accepted.Select(h => h.Id).ToList();
        Assert.Equal(3, ids.Distinct().Count());
        var journal = factory.Services.GetRequiredService<IEventJournal>();
        Assert.True(await WebhookReceiver.WaitAsync(() => journal.UnpublishedAsync(OutputChannel.Webhook).AsTask().Result.Count == 0, TimeSpan.FromSeconds(5)));
        await factory.DisposeAsync();
        await ServerFactory.WaitUntilFolderFreeAsync(factory.Data);

        // Restarted once more: the endpoint's progress was kept, nothing is sent again; a new event goes out.
        factory = Start(Hooks(("crm", receiver.Url, Secret)));
        using (var support = factory.Client(ServerFactory.SupportKey))
        {
            await HoldAsync(support, "acct-R3");
            Assert.True(await WebhookReceiver.WaitAsync(() => receiver.Accepted.Count() >= 4, TimeSpan.FromSeconds(10)));
            await Task.Delay(300);
        }
        Assert.Equal(4, receiver.Hits.Count);
        Assert.Equal(ids, receiver.Accepted.Take(3).Select(h => h.Id));
        Assert.Contains("acct-R3", Encoding.UTF8.GetString(receiver.Accepted.Last().Body), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_totp_freeze_after_wrong_codes_commits_with_its_records_in_the_pumps_batch_and_reaches_the_webhook()
    {
        await using var receiver = await WebhookReceiver.StartAsync(up: true);
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(T0);
        var factory = Start(Hooks(("crm", receiver.Url, Secret)), s => s.AddSingleton<TimeProvider>(clock));
        using var client = factory.Client(ServerFactory.DecideKey);
        var enrollment = JsonNode.Parse(await (await client.PostAsync("/v1/accounts/acct-Z/totp/enroll", null)).Content.ReadAsStringAsync())!;
        var totp = new OtpNet.Totp(OtpNet.Base32Encoding.ToBytes((string)enrollment["secret"]!), step: 30, totpSize: 6);
        string Code() => totp.ComputeTotp(clock.GetUtcNow().UtcDateTime);
        string Wrong() => $"{(int.Parse(Code(), System.Globalization.CultureInfo.InvariantCulture) + 1) % 1_000_000:D6}";
        Assert.True((bool)JsonNode.Parse(await (await client.PostAsync("/v1/accounts/acct-Z/totp/confirm", Json($$"""{"code":"{{Code()}}"}"""))).Content.ReadAsStringAsync())!["accepted"]!);
        var before = await factory.Services.GetRequiredService<IEventJournal>().LastSequenceAsync();
        var checks = (await factory.Services.GetRequiredService<IEventJournal>().LoadPositionAsync(RiskEngine.Hosting.RequestPump.Source))!.Line;

        JsonNode? last = null;
        for (var i = 0; i < 5; i++) // the sample policy's totp.maxFailures
            last = JsonNode.Parse(await (await client.PostAsync("/v1/accounts/acct-Z/totp/verify", Json($$"""{"code":"{{Wrong()}}"}"""))).Content.ReadAsStringAsync());
        Assert.False((bool)last!["accepted"]!);
        var frozen = Assert.Single(last["events"]!.AsArray())!;
        Assert.Equal("account.frozen", (string)frozen["type"]!);
        Assert.Equal("totp.failed_attempts", (string)frozen["reason"]!);

        // The freeze is in the store, and its output record and webhook copy were journaled by the same pump batch
        // (the request pump's position counts the five checks: the TOTP check no longer commits on its own).
        using var support = factory.Client(ServerFactory.SupportKey);
        var status = JsonNode.Parse(await support.GetStringAsync("/v1/accounts/acct-Z"))!;
        Assert.True((bool)status["frozen"]!);
        Assert.Equal("totp.failed_attempts", (string)status["reason"]!);
        var journal = factory.Services.GetRequiredService<IEventJournal>();
        Assert.Equal(before + 2, await journal.LastSequenceAsync()); // one output record, one webhook copy
        Assert.Equal(checks + 5, (await journal.LoadPositionAsync(RiskEngine.Hosting.RequestPump.Source))!.Line);
        // The confirmation's account.factor_enrolled first, then the freeze.
        Assert.True(await WebhookReceiver.WaitAsync(() => receiver.Accepted.Count() >= 2, TimeSpan.FromSeconds(10)));
        var hits = receiver.Accepted.ToList();
        Assert.Equal(["account.factor_enrolled", "account.frozen"], hits.Select(h => h.Event));
        var hit = hits[1];
        Assert.Equal(frozen.ToJsonString(), JsonNode.Parse(hit.Body)!.ToJsonString());
        Assert.True(Signed(hit, Secret, clock.GetUtcNow()));
        Assert.Equal(AccountEvents(factory), hits.Select(h => Encoding.UTF8.GetString(h.Body)));
    }

    /// <summary>
    /// A valid TOTP code on an account frozen for a <c>freeze.selfService</c> reason (the example policy's
    /// <c>velocity.count</c>), with a factor confirmed before the freeze, lifts it through the server: the unfreeze,
    /// the accepted step and the <c>account.unfrozen</c> records (output and webhook copy) commit in the request
    /// pump's batch, and the event reaches the output and the endpoint after the freeze it lifts.
    /// </summary>
    [Fact]
    public async Task A_totp_self_service_unfreeze_commits_with_its_records_and_reaches_the_output_and_the_webhook()
    {
        await using var receiver = await WebhookReceiver.StartAsync(up: true);
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(T0);
        var factory = Start(Hooks(("crm", receiver.Url, Secret)), s => s.AddSingleton<TimeProvider>(clock));
        using var client = factory.Client(ServerFactory.DecideKey);
        using var support = factory.Client(ServerFactory.SupportKey);
        var enrollment = JsonNode.Parse(await (await client.PostAsync("/v1/accounts/acct-S/totp/enroll", null)).Content.ReadAsStringAsync())!;
        var totp = new OtpNet.Totp(OtpNet.Base32Encoding.ToBytes((string)enrollment["secret"]!), step: 30, totpSize: 6);
        string Code() => totp.ComputeTotp(clock.GetUtcNow().UtcDateTime);
        Assert.True((bool)JsonNode.Parse(await (await client.PostAsync("/v1/accounts/acct-S/totp/confirm", Json($$"""{"code":"{{Code()}}"}"""))).Content.ReadAsStringAsync())!["accepted"]!);

        // Later, six transactions within a minute: the burst rule freezes the account (velocity.count, self-service).
        clock.Advance(TimeSpan.FromMinutes(2));
        var burst = new StringContent(string.Join('\n', ConsoleBrowserTests.VelocityBurst("acct-S", clock.GetUtcNow())) + "\n");
        burst.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-ndjson");
        (await client.PostAsync("/v1/events", burst)).EnsureSuccessStatusCode();
        var status = JsonNode.Parse(await support.GetStringAsync("/v1/accounts/acct-S"))!;
        Assert.True((bool)status["frozen"]!);
        Assert.Equal("velocity.count", (string)status["reason"]!);
        Assert.True((bool)status["selfService"]!);

        var journal = factory.Services.GetRequiredService<IEventJournal>();
        var before = await journal.LastSequenceAsync();
        var checks = (await journal.LoadPositionAsync(RiskEngine.Hosting.RequestPump.Source))!.Line;
        clock.Advance(TimeSpan.FromSeconds(30)); // a later step than the confirming code's
        var verified = JsonNode.Parse(await (await client.PostAsync("/v1/accounts/acct-S/totp/verify", Json($$"""{"code":"{{Code()}}"}"""))).Content.ReadAsStringAsync())!;
        Assert.True((bool)verified["accepted"]!, verified.ToJsonString());
        var unfrozen = Assert.Single(verified["events"]!.AsArray())!;
        Assert.Equal("account.unfrozen", (string)unfrozen["type"]!);
        Assert.Equal("acct-S", (string)unfrozen["account"]!);
        Assert.Equal("totp", (string)unfrozen["by"]!);
        Assert.Equal("velocity.count", (string)unfrozen["reason"]!);

        // The unfreeze is in the store, committed with one output record and one webhook copy by the pump's batch.
        Assert.False((bool)JsonNode.Parse(await support.GetStringAsync("/v1/accounts/acct-S"))!["frozen"]!);
        Assert.Equal(before + 2, await journal.LastSequenceAsync());
        Assert.Equal(checks + 1, (await journal.LoadPositionAsync(RiskEngine.Hosting.RequestPump.Source))!.Line);

        // The output has the factor's enrolment, the freeze, then the unfreeze; the endpoint gets them, in that order, signed.
        Assert.True(await WebhookReceiver.WaitAsync(() => AccountEvents(factory).Count >= 3 && receiver.Accepted.Count() >= 3, TimeSpan.FromSeconds(10)),
            $"{AccountEvents(factory).Count} account events on the output, {receiver.Accepted.Count()} delivered");
        var output = AccountEvents(factory);
        Assert.Equal(3, output.Count);
        Assert.Equal("account.factor_enrolled", (string)JsonNode.Parse(output[0])!["type"]!);
        Assert.Equal("account.frozen", (string)JsonNode.Parse(output[1])!["type"]!);
        Assert.Equal(unfrozen.ToJsonString(), JsonNode.Parse(output[2])!.ToJsonString());
        var hits = receiver.Accepted.ToList();
        Assert.Equal(output, hits.Select(h => Encoding.UTF8.GetString(h.Body)));
        Assert.Equal(["account.factor_enrolled", "account.frozen", "account.unfrozen"], hits.Select(h => h.Event));
        Assert.All(hits, h => Assert.True(Signed(h, Secret, clock.GetUtcNow())));
        Assert.True(await WebhookReceiver.WaitAsync(() => journal.UnpublishedAsync(OutputChannel.Webhook).AsTask().Result.Count == 0, TimeSpan.FromSeconds(5)));
    }
}

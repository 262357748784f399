using System.Text;
using Microsoft.Data.Sqlite;
using RiskEngine.Decisions;
using RiskEngine.Domain;
using RiskEngine.Sqlite;
using RiskEngine.State;

namespace RiskEngine.Tests.State;

/// <summary>
/// The SQLite write path: a batch appends one journal row (and one row of idempotency records); accounts reach their
/// table only at a write-back. A crash image taken between the two (the database and its WAL copied while the store
/// is open, as a SIGKILL leaves them) reopens with everything committed; appends stay small; expired records go.
/// </summary>
public sealed class SqliteJournalTests() : ScratchFolder("riskengine-journal-")
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 27, 10, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan IpWindow = TimeSpan.FromMinutes(10);

    protected override void Cleanup() => SqliteConnection.ClearAllPools();

    private static string Fingerprint(int i)
    {
        var bytes = new byte[16];
        BitConverter.TryWriteBytes(bytes, i * 2654435761L);
        return Convert.ToBase64String(bytes);
    }

    private static byte[] Record(int i) =>
        Encoding.UTF8.GetBytes($$"""{"type":"decision","event":"e{{i}}","account":"a{{i % 97}}","at":"2026-11-27T10:00:00Z","outcome":"allow","reasons":[],"policy":"sha256:08b0a40c6b85cb99"}""");

    /// <summary>
    /// Commits events <c>first .. first+size-1</c> as one batch with its records and position: event i is account
    /// <c>account(i)</c>'s next change, decided at T0 + i seconds, every seventh a deny with a reason, every tenth a
    /// failed sign-in from one of three IPs; <paramref name="freeze"/> freezes the account of the batch's last event.
    /// </summary>
    private static async Task CommitBatchAsync(SqliteRiskStateStore store, int first, int size, Func<int, string> account, TimeSpan remember, bool freeze = false)
    {
        await using var batch = await store.BeginBatchAsync();
        var records = new List<JournalRecord>();
        for (var i = first; i < first + size; i++)
        {
            var id = AccountId.Create(account(i));
            var clock = T0 + TimeSpan.FromSeconds(i);
            var snapshot = await batch.LoadAccountAsync(id);
            var state = snapshot.State;
            state.HasLoggedIn = true;
            state.Allowed.Add(new AmountEntry(clock, "USD", i + 0.25m));
            if (state.Allowed.Count > 5) state.Allowed.RemoveAt(0);
            if (freeze && i == first + size - 1) state.Freeze = new FreezeState("velocity.count", clock, $"e{i}");
            var deny = i % 7 == 0;
            var decision = new Decision(EventId.Create($"e{i}"), id, clock, deny ? Outcome.Deny : Outcome.Allow,
                deny ? [new RuleHit("VelocityRule/burst", "velocity.count", "too many payments", Outcome.Deny)] : [], "sha256:08b0a40c6b85cb99", []);
            var commit = new AccountCommit(id, snapshot.Version, state, Fingerprint(i), decision, clock + remember)
            {
                Clock = clock,
                IpFailure = i % 10 == 0 ? new IpFailure($"198.51.100.{i % 3}", clock, IpWindow, clock + IpWindow) : null,
            };
            Assert.Equal(CommitStatus.Committed, await batch.StageAsync(commit));
            records.Add(new JournalRecord(i + 1, i % 50 == 0 ? OutputChannel.DeadLetter : OutputChannel.Output, Record(i)));
        }
        await batch.CommitAsync(new JournalEntry(records, new JournalPosition("in.jsonl", (first + size) * 200L, first + size)));
    }

    /// <summary>What a SIGKILL leaves: the database and its WAL as they are on disk now (the -shm index is rebuilt from the WAL).</summary>
    private string CrashImage(string path, string name)
    {
        var copy = P(name);
        File.Copy(path, copy);
        if (File.Exists(path + "-wal")) File.Copy(path + "-wal", copy + "-wal");
        return copy;
    }

    /// <summary>One value of a query on a database file, through a connection of its own.</summary>
    internal static long Scalar(string path, string sql)
    {
        using var db = new SqliteConnection($"Data Source={path};Pooling=false");
        db.Open();
        using var cmd = db.CreateCommand();
#pragma warning disable CA2100 // test constants
        cmd.CommandText = sql;
#pragma warning restore CA2100
        return Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task AssertSameAsync(SqliteRiskStateStore expected, SqliteRiskStateStore actual, int events, Func<int, string> account)
    {
        foreach (var a in Enumerable.Range(0, events).Select(account).Distinct())
        {
            var (want, got) = (await expected.LoadAccountAsync(AccountId.Create(a)), await actual.LoadAccountAsync(AccountId.Create(a)));
            Assert.Equal(want.Version, got.Version);
            Assert.Equal(AccountStateCodec.Encode(want.State), AccountStateCodec.Encode(got.State));
        }
        for (var i = 0; i < events; i++)
        {
            var id = AccountId.Create(account(i));
            var (want, got) = (await expected.FindDecisionAsync(id, EventId.Create($"e{i}")), await actual.FindDecisionAsync(id, EventId.Create($"e{i}")));
            Assert.NotNull(got);
            Assert.Equal(want!.Fingerprint, got.Fingerprint);
            Assert.Equal(StateJson.SerializeDecision(want.Decision), StateJson.SerializeDecision(got.Decision));
        }
        for (var ip = 0; ip < 3; ip++)
        {
            var end = T0 + TimeSpan.FromSeconds(events);
            Assert.Equal(await expected.CountIpFailuresAsync($"198.51.100.{ip}", end - IpWindow, end), await actual.CountIpFailuresAsync($"198.51.100.{ip}", end - IpWindow, end));
        }
        Assert.Equal(await expected.LoadPositionAsync("in.jsonl"), await actual.LoadPositionAsync("in.jsonl"));
        Assert.Equal(await expected.LastSequenceAsync(), await actual.LastSequenceAsync());
        foreach (var channel in new[] { OutputChannel.Output, OutputChannel.DeadLetter })
        {
            Assert.Equal(await expected.PublishedAsync(channel), await actual.PublishedAsync(channel));
            var (want, got) = (await expected.UnpublishedAsync(channel), await actual.UnpublishedAsync(channel));
            Assert.Equal(want.Select(r => (r.Sequence, Encoding.UTF8.GetString(r.Bytes))), got.Select(r => (r.Sequence, Encoding.UTF8.GetString(r.Bytes))));
        }
    }

    [Fact]
    public async Task History_reads_the_accounts_own_index_newest_first_capped_pruned_at_expiry_and_cancellable()
    {
        var path = P("history.db");
        using (var store = new SqliteRiskStateStore(path, new SqliteStoreOptions { WriteBackBatches = 1 }))
        {
            // One busy account among many: 1,200 of its decisions (past the cap) and one for each of 1,200 others.
            for (var b = 0; b < 10; b++)
                await CommitBatchAsync(store, b * 240, 240, i => i % 2 == 0 ? "busy" : $"other-{i}", TimeSpan.FromHours(1));
            var busy = await store.HistoryAsync(AccountId.Create("busy"), 3);
            Assert.Equal(["e2398", "e2396", "e2394"], busy.Select(d => d.EventId.Value));
            Assert.Equal(SqliteRiskStateStore.MaxHistory, (await store.HistoryAsync(AccountId.Create("busy"), 5000)).Count);
            Assert.Equal("e7", Assert.Single(await store.HistoryAsync(AccountId.Create("other-7"), 10)).EventId.Value);
            Assert.Empty(await store.HistoryAsync(AccountId.Create("nobody"), 10));
            using var cancelled = new CancellationTokenSource();
            await cancelled.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await store.HistoryAsync(AccountId.Create("busy"), 3, cancelled.Token));

            // A batch two hours later moves the store's clock past every record's idempotency window: all forgotten.
            await CommitBatchAsync(store, 7200 + 3600, 1, _ => "late", TimeSpan.FromHours(1));
            Assert.Empty(await store.HistoryAsync(AccountId.Create("busy"), 10));
            Assert.Single(await store.HistoryAsync(AccountId.Create("late"), 10));
        }
        using var reopened = new SqliteRiskStateStore(path); // the index is rebuilt from the decisions rows on open
        Assert.Equal("e10800", Assert.Single(await reopened.HistoryAsync(AccountId.Create("late"), 10)).EventId.Value);
        Assert.Empty(await reopened.HistoryAsync(AccountId.Create("busy"), 10));
    }

    [Fact]
    public async Task A_store_reopened_after_a_crash_between_journal_append_and_write_back_has_every_committed_state_record_and_output()
    {
        static string Account(int i) => $"a{i % 16}";
        var path = P("live.db");
        using var store = new SqliteRiskStateStore(path);
        for (var b = 0; b < 6; b++)
        {
            await CommitBatchAsync(store, b * 64, 64, Account, TimeSpan.FromDays(7), freeze: b == 5);
            if (b == 2) await store.MarkPublishedAsync(OutputChannel.Output, 150, 12_345); // carried by the next batch's row
        }
        var image = CrashImage(path, "crashed.db");
        Assert.Equal(0, Scalar(image, "SELECT COUNT(*) FROM accounts")); // nothing written back: all of it is in the journal
        Assert.Equal(6, Scalar(image, "SELECT COUNT(*) FROM journal"));

        using (var reopened = new SqliteRiskStateStore(image))
        {
            await AssertSameAsync(store, reopened, 6 * 64, Account);
            Assert.Equal((150L, 12_345L), await reopened.PublishedAsync(OutputChannel.Output));
            Assert.Equal(Enumerable.Range(151, 6 * 64 - 150).Where(s => (s - 1) % 50 != 0), (await reopened.UnpublishedAsync(OutputChannel.Output)).Select(r => (int)r.Sequence));
            Assert.Equal(AccountId.Create(Account(6 * 64 - 1)), Assert.Single(await reopened.ListFrozenAsync("velocity.count", T0.AddDays(1), 10)));
            var history = await reopened.HistoryAsync(AccountId.Create("a3"), 5);
            Assert.Equal([371, 355, 339, 323, 307], history.Select(d => int.Parse(d.EventId.Value[1..], System.Globalization.CultureInfo.InvariantCulture)));
            Assert.Equal(16, reopened.AccountCount());

            // It goes on from there: the next batch, then a clean close that writes everything back.
            await CommitBatchAsync(reopened, 6 * 64, 64, Account, TimeSpan.FromDays(7));
        }
        Assert.Equal(16, Scalar(image, "SELECT COUNT(*) FROM accounts"));
        Assert.Equal(0, Scalar(image, "SELECT COUNT(*) FROM journal"));
        await CommitBatchAsync(store, 6 * 64, 64, Account, TimeSpan.FromDays(7));
        using var again = new SqliteRiskStateStore(image);
        await AssertSameAsync(store, again, 7 * 64, Account);
    }

    [Fact]
    public async Task A_crash_after_write_backs_replays_only_the_journal_rows_after_the_last_one()
    {
        static string Account(int i) => $"b{(i * 7) % 40}";
        var path = P("wb.db");
        using var store = new SqliteRiskStateStore(path, new SqliteStoreOptions { WriteBackBatches = 3 });
        for (var b = 0; b < 7; b++)
        {
            await CommitBatchAsync(store, b * 50, 50, Account, TimeSpan.FromDays(7));
            Assert.InRange(Scalar(path, "SELECT COUNT(*) FROM journal"), 0, 2);
        }
        var image = CrashImage(path, "wb-crashed.db");
        Assert.Equal(1, Scalar(image, "SELECT COUNT(*) FROM journal")); // written back after batches 3 and 6
        Assert.Equal(40, Scalar(image, "SELECT COUNT(*) FROM accounts"));
        using var reopened = new SqliteRiskStateStore(image);
        await AssertSameAsync(store, reopened, 7 * 50, Account);
        Assert.Equal(40, reopened.AccountCount());
    }

    [Fact]
    public async Task A_batch_appends_a_few_hundred_bytes_per_event_to_the_wal_not_rewritten_pages()
    {
        // 20,000 accounts touched in a scattered order, 512 events a batch: the pattern that cost ~6 KB per event of
        // random page rewrites when each batch upserted account rows and indexed decision rows.
        static string Account(int i) => $"user-{(i * 7919L) % 20_000}";
        var path = P("bytes.db");
        using var store = new SqliteRiskStateStore(path, new SqliteStoreOptions { CheckpointBytes = long.MaxValue, WriteBackBatches = int.MaxValue });
        await CommitBatchAsync(store, 0, 512, Account, TimeSpan.FromDays(7));
        var before = new FileInfo(path + "-wal").Length;
        const int Batches = 40;
        for (var b = 1; b <= Batches; b++) await CommitBatchAsync(store, b * 512, 512, Account, TimeSpan.FromDays(7));
        var perEvent = (new FileInfo(path + "-wal").Length - before) / (double)(Batches * 512);
        // No checkpoint ran (none is due), so the WAL only grew: every byte a commit wrote is in it. A checkpoint
        // later writes each page once more; with the output file's own line that stays under 1 KB per event.
        Assert.InRange(perEvent, 1, 400);
        Assert.Equal(Batches + 1, Scalar(path, "SELECT COUNT(*) FROM journal"));
    }

    [Fact]
    public async Task Expired_idempotency_records_and_ip_failures_go_away_at_write_back_and_stay_gone_after_reopening()
    {
        static string Account(int i) => $"c{i % 8}";
        var path = P("expiry.db");
        var remember = TimeSpan.FromSeconds(60);
        const int Size = 64, Batches = 50;
        using (var store = new SqliteRiskStateStore(path, new SqliteStoreOptions { WriteBackBatches = 4 }))
        {
            for (var b = 0; b < Batches; b++)
            {
                await CommitBatchAsync(store, b * Size, Size, Account, remember);
                Assert.InRange(Scalar(path, "SELECT COUNT(*) FROM decisions"), 1, 5); // a row per batch, dropped once all of it expired
                Assert.InRange(Scalar(path, "SELECT COUNT(*) FROM ip_failures"), 0, 1); // the live windows, one row
            }
            Assert.InRange(store.DecisionCount, 1, 60);
            Assert.Null(await store.FindDecisionAsync(AccountId.Create(Account(0)), EventId.Create("e0")));
            var last = Batches * Size - 1;
            Assert.NotNull(await store.FindDecisionAsync(AccountId.Create(Account(last)), EventId.Create($"e{last}")));
            Assert.Equal(0, await store.CountIpFailuresAsync("198.51.100.0", T0, T0 + TimeSpan.FromSeconds(100)));
        }
        using var reopened = new SqliteRiskStateStore(path);
        Assert.InRange(reopened.DecisionCount, 1, 60);
        Assert.Null(await reopened.FindDecisionAsync(AccountId.Create(Account(0)), EventId.Create("e0")));
        Assert.Equal(0, await reopened.CountIpFailuresAsync("198.51.100.0", T0, T0 + TimeSpan.FromSeconds(100)));
        var end = T0 + TimeSpan.FromSeconds(Batches * Size);
        Assert.InRange(await reopened.CountIpFailuresAsync("198.51.100.0", end - IpWindow, end), 1, 30);
    }

    [Fact]
    public async Task A_reader_opened_beside_the_writer_sees_its_journal_and_writes_nothing_back()
    {
        static string Account(int i) => $"d{i % 4}";
        var path = P("reader.db");
        using var writer = new SqliteRiskStateStore(path);
        await CommitBatchAsync(writer, 0, 20, Account, TimeSpan.FromDays(7));
        using (var reader = new SqliteRiskStateStore(path))
        {
            await AssertSameAsync(writer, reader, 20, Account);
        }
        Assert.Equal(1, Scalar(path, "SELECT COUNT(*) FROM journal"));
        Assert.Equal(0, Scalar(path, "SELECT COUNT(*) FROM accounts"));
    }

    [Fact]
    public async Task A_file_of_the_earlier_schema_is_migrated_on_open_and_keeps_every_record()
    {
        var path = P("v1.db");
        var old = new Decision(EventId.Create("e-old"), AccountId.Create("old"), T0, Outcome.Freeze,
            [new RuleHit("VelocityRule/burst", "velocity.count", "too many", Outcome.Freeze)], "sha256:old", []);
        using (var db = new SqliteConnection($"Data Source={path};Pooling=false"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = """
                PRAGMA journal_mode=WAL;
                CREATE TABLE accounts (account TEXT PRIMARY KEY, version INTEGER NOT NULL, state BLOB NOT NULL, frozen_reason TEXT, frozen_at INTEGER);
                CREATE INDEX accounts_frozen ON accounts(frozen_reason, frozen_at) WHERE frozen_reason IS NOT NULL;
                CREATE TABLE decisions (event TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, decision BLOB NOT NULL, until INTEGER NOT NULL, account TEXT NOT NULL, at INTEGER NOT NULL);
                CREATE INDEX decisions_account ON decisions(account, at);
                CREATE INDEX decisions_until ON decisions(until);
                CREATE TABLE ip_failures (ip TEXT NOT NULL, at INTEGER NOT NULL, expires INTEGER NOT NULL DEFAULT 0);
                CREATE INDEX ip_failures_ip_at ON ip_failures(ip, at);
                CREATE INDEX ip_failures_expires ON ip_failures(expires);
                CREATE TABLE outbox (last_seq INTEGER NOT NULL, channel INTEGER NOT NULL, records BLOB NOT NULL, PRIMARY KEY (channel, last_seq));
                CREATE TABLE published (channel INTEGER PRIMARY KEY, seq INTEGER NOT NULL, length INTEGER NOT NULL);
                CREATE TABLE positions (source TEXT PRIMARY KEY, offset INTEGER NOT NULL, line INTEGER NOT NULL, completed INTEGER NOT NULL DEFAULT 0);
                CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
                CREATE TABLE key_check (id INTEGER PRIMARY KEY CHECK (id = 1), envelope TEXT NOT NULL);
                INSERT INTO accounts VALUES ('old', 3, $state, 'velocity.count', $t0);
                INSERT INTO decisions VALUES ('e-old', 'fp-old', $decision, $far, 'old', $t0);
                INSERT INTO ip_failures VALUES ('203.0.113.9', $t0, $far), ('203.0.113.9', $t1, $far);
                INSERT INTO outbox VALUES (6, 0, $outbox);
                INSERT INTO published VALUES (0, 4, 100);
                INSERT INTO positions VALUES ('in.jsonl', 500, 10, 0);
                INSERT INTO meta VALUES ('last_seq', 6);
                """;
            cmd.Parameters.AddWithValue("$state", StateJson.SerializeState(new AccountState { HasLoggedIn = true, Freeze = new FreezeState("velocity.count", T0, "e-old") }));
            cmd.Parameters.AddWithValue("$t0", T0.UtcTicks);
            cmd.Parameters.AddWithValue("$t1", (T0 + TimeSpan.FromMinutes(1)).UtcTicks);
            cmd.Parameters.AddWithValue("$far", T0.AddDays(7).UtcTicks);
            cmd.Parameters.AddWithValue("$decision", StateJson.SerializeDecision(old));
            var outbox = new byte[2 * 12 + 4];
            for (var k = 0; k < 2; k++)
            {
                BitConverter.TryWriteBytes(outbox.AsSpan(k * 14), 5L + k);
                BitConverter.TryWriteBytes(outbox.AsSpan(k * 14 + 8), 2);
                "{}"u8.CopyTo(outbox.AsSpan(k * 14 + 12));
            }
            cmd.Parameters.AddWithValue("$outbox", outbox);
            cmd.ExecuteNonQuery();
        }

        async Task AssertOldRecordsAsync(SqliteRiskStateStore s)
        {
            Assert.Equal(3, (await s.LoadAccountAsync(AccountId.Create("old"))).Version);
            var stored = await s.FindDecisionAsync(AccountId.Create("old"), EventId.Create("e-old"));
            Assert.Equal("fp-old", stored!.Fingerprint);
            Assert.Equal(StateJson.SerializeDecision(old), StateJson.SerializeDecision(stored.Decision));
            Assert.Equal(2, await s.CountIpFailuresAsync("203.0.113.9", T0 - TimeSpan.FromMinutes(5), T0 + TimeSpan.FromMinutes(5)));
            Assert.Equal("old", Assert.Single(await s.ListFrozenAsync("velocity.count", T0, 10)).Value);
            Assert.Equal("e-old", Assert.Single(await s.HistoryAsync(AccountId.Create("old"), 10)).EventId.Value);
        }

        using (var store = new SqliteRiskStateStore(path))
        {
            await AssertOldRecordsAsync(store);
            Assert.Equal([5L, 6L], (await store.UnpublishedAsync(OutputChannel.Output)).Select(r => r.Sequence));
            // The outbox blob became a row per record.
            Assert.Equal(2, Scalar(path, "SELECT COUNT(*) FROM outbox WHERE channel = 0 AND length(record) = 2"));
            Assert.Equal(0, Scalar(path, "SELECT COUNT(*) FROM pragma_table_info('outbox') WHERE name = 'records'"));
            Assert.Equal([6L], (await store.ReadAsync(OutputChannel.Output, 5, 10)).Select(r => r.Sequence));
            Assert.Equal((4L, 100L), await store.PublishedAsync(OutputChannel.Output));
            Assert.Equal(new JournalPosition("in.jsonl", 500, 10), await store.LoadPositionAsync("in.jsonl"));
            Assert.Equal(6, await store.LastSequenceAsync());
            Assert.Equal(0, Scalar(path, "SELECT COUNT(*) FROM pragma_table_info('decisions') WHERE name = 'fingerprint'"));
            Assert.Equal(0, Scalar(path, "SELECT COUNT(*) FROM sqlite_schema WHERE name IN ('decisions_account', 'decisions_until', 'ip_failures_ip_at', 'ip_failures_expires')"));
            await CommitBatchAsync(store, 0, 10, i => $"n{i % 3}", TimeSpan.FromDays(7));
        }
        using var reopened = new SqliteRiskStateStore(path);
        await AssertOldRecordsAsync(reopened);
        Assert.NotNull(await reopened.FindDecisionAsync(AccountId.Create("n0"), EventId.Create("e9")));
        Assert.Equal(10, await reopened.LastSequenceAsync());
    }
}

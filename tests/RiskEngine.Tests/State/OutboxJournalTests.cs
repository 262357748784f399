using System.Text;
using Microsoft.Data.Sqlite;
using RiskEngine.Sqlite;
using RiskEngine.State;

namespace RiskEngine.Tests.State;

/// <summary>
/// The journal's outbox read by cursor (<see cref="IEventJournal.ReadAsync"/>, <see cref="IEventJournal.CountAsync"/>)
/// in both journals, and the SQLite outbox as a row per record: a write-back adds the new rows and drops the published
/// ones, never rewriting what waits, and a restart reads the same records.
/// </summary>
public sealed class OutboxJournalTests() : ScratchFolder("riskengine-outbox-")
{
    protected override void Cleanup() => SqliteConnection.ClearAllPools();

    private static byte[] Line(long i) => Encoding.UTF8.GetBytes($$"""{"type":"account.frozen","event":"e{{i}}","account":"a{{i}}"}""");

    /// <summary>Commits <paramref name="count"/> webhook records, each after an output record (odd sequences output, even webhook), from sequence <paramref name="first"/>.</summary>
    private static async Task CommitAsync(IRiskStateStore store, long first, int count)
    {
        var records = new List<JournalRecord>();
        for (var i = 0; i < count; i++)
        {
            var s = first + 2 * i;
            records.Add(new JournalRecord(s, OutputChannel.Output, Line(s)));
            records.Add(new JournalRecord(s + 1, OutputChannel.Webhook, Line(s)));
        }
        await using var batch = await store.BeginBatchAsync();
        await batch.CommitAsync(new JournalEntry(records, new JournalPosition("api", 0, first + 2 * count)));
    }

    [Theory]
    [InlineData("memory", 4096)]
    [InlineData("sqlite", 4096)] // the records in memory since the last write-back
    [InlineData("sqlite", 1)] // every batch written back: the records are rows
    public async Task A_cursor_read_pages_through_a_channel_and_counts_what_follows_it(string kind, int writeBackBatches)
    {
        var path = P("outbox.db");
        IRiskStateStore Open() => kind == "memory" ? new InMemoryRiskStateStore() : new SqliteRiskStateStore(path, new SqliteStoreOptions { WriteBackBatches = writeBackBatches });
        var store = Open();
        var journal = (IEventJournal)store;
        await CommitAsync(store, 1, 150); // webhook 2, 4, ..., 300
        await CommitAsync(store, 301, 100); // webhook 302, ..., 500

        var first = await journal.ReadAsync(OutputChannel.Webhook, 0, 100);
        Assert.Equal(Enumerable.Range(1, 100).Select(i => 2L * i), first.Select(r => r.Sequence));
        Assert.All(first, r => Assert.Equal(OutputChannel.Webhook, r.Channel));
        Assert.Equal(Line(1), first[0].Bytes);
        var next = await journal.ReadAsync(OutputChannel.Webhook, first[^1].Sequence, 100);
        Assert.Equal(Enumerable.Range(101, 100).Select(i => 2L * i), next.Select(r => r.Sequence)); // across the two batches
        Assert.Equal(Enumerable.Range(201, 50).Select(i => 2L * i), (await journal.ReadAsync(OutputChannel.Webhook, 401, 100)).Select(r => r.Sequence));
        Assert.Empty(await journal.ReadAsync(OutputChannel.Webhook, 500, 100));
        Assert.Equal(250, await journal.CountAsync(OutputChannel.Webhook, 0));
        Assert.Equal(50, await journal.CountAsync(OutputChannel.Webhook, 400));
        Assert.Equal(2, (await journal.ReadAsync(OutputChannel.Output, 0, 2)).Count);

        // Published records are gone from reads and counts, whatever the cursor.
        await journal.MarkPublishedAsync(OutputChannel.Webhook, 200, 0);
        await journal.MarkPublishedAsync(OutputChannel.Output, 499, 0);
        Assert.Equal(202, (await journal.ReadAsync(OutputChannel.Webhook, 0, 1)).Single().Sequence);
        Assert.Equal(150, await journal.CountAsync(OutputChannel.Webhook, 0));
        Assert.Equal(150, (await journal.UnpublishedAsync(OutputChannel.Webhook)).Count);
        Assert.Equal(0, await journal.CountAsync(OutputChannel.Output, 0));
        if (kind == "memory") return;

        await CommitAsync(store, 501, 1); // carries the marks
        ((IDisposable)store).Dispose();
        SqliteConnection.ClearAllPools();
        store = Open();
        journal = (IEventJournal)store;
        Assert.Equal(Enumerable.Range(101, 3).Select(i => 2L * i), (await journal.ReadAsync(OutputChannel.Webhook, 0, 3)).Select(r => r.Sequence));
        Assert.Equal(151, await journal.CountAsync(OutputChannel.Webhook, 0));
        Assert.Equal(502, (await journal.ReadAsync(OutputChannel.Webhook, 500, 10)).Single().Sequence);
        Assert.Equal(Line(501), (await journal.ReadAsync(OutputChannel.Webhook, 500, 10)).Single().Bytes);
        ((IDisposable)store).Dispose();
    }

    [Fact]
    public async Task The_sqlite_outbox_is_a_row_per_record_that_a_write_back_adds_to_without_rewriting_the_backlog_and_a_restart_reads_back()
    {
        var path = P("rows.db");
        var options = new SqliteStoreOptions { WriteBackBatches = 1 };
        using (var store = new SqliteRiskStateStore(path, options))
        {
            await CommitAsync(store, 1, 500); // written back: 500 webhook rows (output too: nothing publishes it here)
            Assert.Equal(500, SqliteJournalTests.Scalar(path, "SELECT COUNT(*) FROM outbox WHERE channel = 2"));
            Assert.Equal(Line(999).Length, SqliteJournalTests.Scalar(path, "SELECT MAX(length(record)) FROM outbox WHERE channel = 2")); // one record each, no blob
            var backlog = SqliteJournalTests.Scalar(path, "SELECT SUM(rowid) FROM outbox WHERE channel = 2");

            // The next write-back adds the new rows and leaves the waiting ones as they are (same rows, not rewritten).
            await CommitAsync(store, 1001, 10);
            Assert.Equal(510, SqliteJournalTests.Scalar(path, "SELECT COUNT(*) FROM outbox WHERE channel = 2"));
            Assert.Equal(backlog, SqliteJournalTests.Scalar(path, "SELECT SUM(rowid) FROM outbox WHERE channel = 2 AND seq <= 1000"));

            // Published rows go at the next write-back.
            await store.MarkPublishedAsync(OutputChannel.Webhook, 200, 0);
            await CommitAsync(store, 1021, 1);
            Assert.Equal(411, SqliteJournalTests.Scalar(path, "SELECT COUNT(*) FROM outbox WHERE channel = 2"));
            Assert.Equal(0, SqliteJournalTests.Scalar(path, "SELECT COUNT(*) FROM outbox WHERE channel = 2 AND seq <= 200"));
        }
        Assert.Equal(0, SqliteJournalTests.Scalar(path, "SELECT COUNT(*) FROM journal"));
        Assert.Equal(3, SqliteJournalTests.Scalar(path, "SELECT value FROM meta WHERE key = 'schema'"));

        using var reopened = new SqliteRiskStateStore(path, options);
        Assert.Equal(411, await reopened.CountAsync(OutputChannel.Webhook, 0));
        var page = await reopened.ReadAsync(OutputChannel.Webhook, 0, 2);
        Assert.Equal([202L, 204L], page.Select(r => r.Sequence));
        Assert.Equal(Line(201), page[0].Bytes);
        Assert.Equal(1022, (await reopened.ReadAsync(OutputChannel.Webhook, 1020, 5)).Single().Sequence);
    }
}

using Microsoft.Data.Sqlite;
using RiskEngine.Decisions;
using RiskEngine.Domain;
using RiskEngine.Sqlite;
using RiskEngine.State;

namespace RiskEngine.Tests.State;

/// <summary>
/// A store holds what its windows hold, not what ever passed through it: 300,000 failed sign-ins from distinct IPs,
/// one a second against a one-minute window, leave about a minute's worth of IP entries and decision records.
/// </summary>
public sealed class BoundedGrowthTests : IDisposable
{
    private const int Events = 300_000;
    private static readonly DateTimeOffset T0 = new(2026, 11, 27, 10, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private readonly string _dir = Directory.CreateTempSubdirectory("riskengine-growth-").FullName;

    /// <summary>The i-th failed sign-in: its own IP, one second after the previous one, remembered for a minute.</summary>
    private static AccountCommit Commit(int i)
    {
        var clock = T0 + TimeSpan.FromSeconds(i);
        var id = EventId.Create($"e{i}");
        var account = AccountId.Create("a");
        var decision = new Decision(id, account, clock, Outcome.Deny, [new RuleHit("R", "login.failed", "m", Outcome.Deny)], "v", []);
        var ip = $"10.{(i >> 16) & 0xFF}.{(i >> 8) & 0xFF}.{i & 0xFF}";
        return new AccountCommit(account, i, new AccountState(), "fp", decision, clock + Window)
        {
            IpFailure = new IpFailure(ip, clock, Window, clock + Window),
            Clock = clock,
        };
    }

    [Fact]
    public async Task The_in_memory_store_forgets_expired_ips_and_decisions()
    {
        var store = new InMemoryRiskStateStore();
        for (var i = 0; i < Events; i++) Assert.Equal(CommitStatus.Committed, await store.CommitAsync(Commit(i)));
        Assert.InRange(store.IpCount, 1, 2 * 61);
        Assert.InRange(store.DecisionCount, 1, 2 * 61);
    }

    [Fact]
    public async Task The_sqlite_store_deletes_expired_ip_rows_and_decision_rows()
    {
        var path = Path.Combine(_dir, "growth.db");
        using (var store = new SqliteRiskStateStore(path))
        {
            for (var start = 0; start < Events; start += 1000)
            {
                await using var batch = await store.BeginBatchAsync();
                for (var i = start; i < start + 1000; i++) Assert.Equal(CommitStatus.Committed, await batch.StageAsync(Commit(i)));
                await batch.CommitAsync(new JournalEntry([], new JournalPosition("in", start, start)));
            }
        }
        using var db = new SqliteConnection($"Data Source={path};Pooling=false");
        db.Open();
        long Count(string table)
        {
            using var cmd = db.CreateCommand();
            cmd.CommandText = $"SELECT COUNT(*) FROM {table}";
            return (long)cmd.ExecuteScalar()!;
        }
        Assert.InRange(Count("ip_failures"), 1, 2 * 61);
        Assert.InRange(Count("decisions"), 1, 2 * 61);
    }

    [Fact]
    public async Task One_record_that_expires_late_does_not_hold_up_the_others()
    {
        var store = new InMemoryRiskStateStore();
        var far = Commit(0) with { RememberUntil = new DateTimeOffset(2099, 1, 1, 0, 0, 0, TimeSpan.Zero) }; // a far-future event in a replay
        await store.CommitAsync(far);
        for (var i = 1; i < 10_000; i++) await store.CommitAsync(Commit(i));
        Assert.InRange(store.DecisionCount, 1, 2 * 61 + 1);
    }

    [Fact]
    public async Task An_ip_with_a_recent_failure_is_kept_while_older_ones_go()
    {
        var store = new InMemoryRiskStateStore();
        var account = AccountId.Create("a");
        for (var i = 0; i < 20; i++)
        {
            var clock = T0 + TimeSpan.FromSeconds(10 * i);
            await store.CommitAsync(new AccountCommit(account, i, new AccountState(), null, null, default)
            {
                IpFailure = new IpFailure("192.0.2.1", clock, Window, clock + Window),
                Clock = clock,
            });
        }
        Assert.Equal(6, await store.CountIpFailuresAsync("192.0.2.1", T0 + TimeSpan.FromSeconds(130), T0 + TimeSpan.FromSeconds(190)));
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }
}

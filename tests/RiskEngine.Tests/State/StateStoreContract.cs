using RiskEngine.Decisions;
using RiskEngine.Domain;
using RiskEngine.Sqlite;
using RiskEngine.State;

namespace RiskEngine.Tests.State;

/// <summary>The behaviour every <see cref="IRiskStateStore"/> must have. Each store runs the same tests.</summary>
public abstract class StateStoreContract : IDisposable
{
    protected static readonly DateTimeOffset T0 = new(2026, 11, 27, 10, 0, 0, TimeSpan.Zero);
    private readonly List<IDisposable> _owned = [];

    protected abstract IRiskStateStore CreateStore();

    protected IRiskStateStore NewStore()
    {
        var s = CreateStore();
        if (s is IDisposable d) _owned.Add(d);
        return s;
    }

    public void Dispose()
    {
        foreach (var d in _owned) d.Dispose();
        DisposeResources();
        GC.SuppressFinalize(this);
    }

    protected virtual void DisposeResources()
    {
    }

    private static Decision DecisionFor(string id, string account, Outcome outcome = Outcome.Allow) =>
        new(EventId.Create(id), AccountId.Create(account), T0, outcome, [new RuleHit("R", "c.code", "msg", outcome)], "sha256:x", []);

    private static AccountCommit Commit(string account, long version, AccountState state, string? eventId = null) =>
        new(AccountId.Create(account), version, state, eventId is null ? null : "fp-" + eventId,
            eventId is null ? null : DecisionFor(eventId, account), T0 + TimeSpan.FromDays(7));

    [Fact]
    public async Task An_unknown_account_is_empty_at_version_zero()
    {
        var store = NewStore();
        var s = await store.LoadAccountAsync(AccountId.Create("nobody"));
        Assert.Equal(0, s.Version);
        Assert.Null(s.State.Freeze);
        Assert.Empty(s.State.Allowed);
    }

    [Fact]
    public async Task A_commit_stores_state_and_the_decision_and_bumps_the_version()
    {
        var store = NewStore();
        var state = new AccountState { HasLoggedIn = true };
        state.Allowed.Add(new AmountEntry(T0, "USD", 12.5m));
        state.Freeze = new FreezeState("velocity.count", T0, "e1");
        Assert.Equal(CommitStatus.Committed, await store.CommitAsync(Commit("a", 0, state, "e1")));

        var loaded = await store.LoadAccountAsync(AccountId.Create("a"));
        Assert.Equal(1, loaded.Version);
        Assert.True(loaded.State.HasLoggedIn);
        Assert.Equal(12.5m, Assert.Single(loaded.State.Allowed).Amount);
        Assert.Equal("velocity.count", loaded.State.Freeze!.Reason);
        var stored = (await store.FindDecisionAsync(AccountId.Create("a"), EventId.Create("e1")))!;
        Assert.Equal("fp-e1", stored.Fingerprint);
        Assert.Equal("c.code", Assert.Single(stored.Decision.Reasons).Code);
        Assert.Equal(T0, stored.Decision.At);
    }

    [Fact]
    public async Task A_stale_version_conflicts_and_changes_nothing()
    {
        var store = NewStore();
        Assert.Equal(CommitStatus.Committed, await store.CommitAsync(Commit("a", 0, new AccountState { HasLoggedIn = true }, "e1")));
        Assert.Equal(CommitStatus.Conflict, await store.CommitAsync(Commit("a", 0, new AccountState(), "e2")));
        Assert.Null(await store.FindDecisionAsync(AccountId.Create("a"), EventId.Create("e2")));
        Assert.True((await store.LoadAccountAsync(AccountId.Create("a"))).State.HasLoggedIn);
    }

    [Fact]
    public async Task An_event_id_is_recorded_once()
    {
        var store = NewStore();
        Assert.Equal(CommitStatus.Committed, await store.CommitAsync(Commit("a", 0, new AccountState(), "e1")));
        // Decided meanwhile by another worker: the version matches but the id is taken.
        Assert.Equal(CommitStatus.DuplicateEvent, await store.CommitAsync(Commit("a", 1, new AccountState { HasLoggedIn = true }, "e1")));
        Assert.False((await store.LoadAccountAsync(AccountId.Create("a"))).State.HasLoggedIn);
        Assert.Equal(1, (await store.LoadAccountAsync(AccountId.Create("a"))).Version);
    }

    [Fact]
    public async Task A_loaded_state_is_a_copy()
    {
        var store = NewStore();
        await store.CommitAsync(Commit("a", 0, new AccountState()));
        var s = await store.LoadAccountAsync(AccountId.Create("a"));
        s.State.KnownDevices.Add("changed-but-not-committed");
        Assert.Empty((await store.LoadAccountAsync(AccountId.Create("a"))).State.KnownDevices);
    }

    [Fact]
    public async Task Ip_failures_are_counted_in_a_half_open_window()
    {
        var store = NewStore();
        var window = TimeSpan.FromHours(1);
        for (var i = 0; i < 3; i++)
        {
            await store.CommitAsync(Commit($"a{i}", 0, new AccountState(), $"e{i}") with { IpFailure = new IpFailure("203.0.113.9", T0 + TimeSpan.FromMinutes(10 * i), window, T0 + TimeSpan.FromMinutes(10 * i) + window) });
        }
        Assert.Equal(3, await store.CountIpFailuresAsync("203.0.113.9", T0 - window, T0 + TimeSpan.FromMinutes(20)));
        Assert.Equal(2, await store.CountIpFailuresAsync("203.0.113.9", T0, T0 + TimeSpan.FromMinutes(20)));
        Assert.Equal(0, await store.CountIpFailuresAsync("198.51.100.1", T0 - window, T0 + window));
    }

    [Fact]
    public async Task Frozen_accounts_are_listed_by_reason_and_time()
    {
        var store = NewStore();
        await store.CommitAsync(Commit("old", 0, new AccountState { Freeze = new FreezeState("velocity.count", T0, "e") }));
        await store.CommitAsync(Commit("new", 0, new AccountState { Freeze = new FreezeState("velocity.count", T0 + TimeSpan.FromHours(2), "e") }));
        await store.CommitAsync(Commit("other", 0, new AccountState { Freeze = new FreezeState("login.impossible_travel", T0, "e") }));
        var due = await store.ListFrozenAsync("velocity.count", T0 + TimeSpan.FromHours(1), 10);
        Assert.Equal("old", Assert.Single(due).Value);
    }

    [Fact]
    public async Task A_batch_sees_what_it_staged_and_checks_versions_and_ids_as_a_commit_does()
    {
        var store = NewStore();
        var window = TimeSpan.FromHours(1);
        await using (var batch = await store.BeginBatchAsync())
        {
            Assert.Equal(CommitStatus.Committed, await batch.StageAsync(Commit("a", 0, new AccountState { HasLoggedIn = true }, "e1")
                with { IpFailure = new IpFailure("203.0.113.9", T0, window, T0 + window) }));
            var (stored, _) = await batch.LoadForDecisionAsync(AccountId.Create("a"), EventId.Create("e1"));
            Assert.Equal("fp-e1", stored!.Fingerprint);
            var (none, snapshot) = await batch.LoadForDecisionAsync(AccountId.Create("a"), EventId.Create("e2"));
            Assert.Null(none);
            Assert.Equal(1, snapshot.Version);
            Assert.True(snapshot.State.HasLoggedIn);
            Assert.Equal(1, await batch.CountIpFailuresAsync("203.0.113.9", T0 - window, T0));
            Assert.Equal(CommitStatus.Conflict, await batch.StageAsync(Commit("a", 0, new AccountState(), "e2")));
            Assert.Equal(CommitStatus.DuplicateEvent, await batch.StageAsync(Commit("a", 1, new AccountState(), "e1")));
            Assert.Equal(CommitStatus.Committed, await batch.StageAsync(Commit("a", 1, new AccountState(), "e2")));
            await batch.CommitAsync();
        }
        Assert.Equal(2, (await store.LoadAccountAsync(AccountId.Create("a"))).Version);
        Assert.NotNull(await store.FindDecisionAsync(AccountId.Create("a"), EventId.Create("e2")));
        Assert.Equal(1, await store.CountIpFailuresAsync("203.0.113.9", T0 - window, T0));
    }

    [Fact]
    public async Task A_batch_commits_a_journal_entry_with_its_state_or_refuses_one_if_the_store_keeps_no_journal()
    {
        var store = NewStore();
        await using var batch = await store.BeginBatchAsync();
        await batch.StageAsync(Commit("a", 0, new AccountState { HasLoggedIn = true }));
        var entry = new JournalEntry([new JournalRecord(7, OutputChannel.Output, "{}"u8.ToArray())], new JournalPosition("in", 10, 1));
        if (store is not IEventJournal journal)
        {
            await Assert.ThrowsAsync<NotSupportedException>(async () => await batch.CommitAsync(entry));
            return;
        }
        await batch.CommitAsync(entry);
        Assert.Equal(new JournalPosition("in", 10, 1), await journal.LoadPositionAsync("in"));
        Assert.Equal(7, await journal.LastSequenceAsync());
        Assert.Equal(7, Assert.Single(await journal.UnpublishedAsync(OutputChannel.Output)).Sequence);
        Assert.True((await store.LoadAccountAsync(AccountId.Create("a"))).State.HasLoggedIn);
    }

    [Fact]
    public async Task Many_parallel_engine_decisions_lose_no_update()
    {
        // Two engines on one store, as two services would be: their commits race in the store itself.
        var store = NewStore();
        await using var t = new TestEngine(p => p.Remove("velocity"), store);
        await using var u = new TestEngine(p => p.Remove("velocity"), store);
        var attempts = Enumerable.Range(0, 60).Select(i => (Engine: i % 2 == 0 ? t.Engine : u.Engine, Tx: t.Tx("hot", 1000m))).ToArray();
        var results = await Task.WhenAll(attempts.Select(a => Task.Run(async () => await a.Engine.EvaluateAsync(a.Tx))));
        Assert.Equal(20, results.Count(r => r.Decision!.Outcome == Outcome.Allow));
        Assert.Equal(60, (await store.LoadAccountAsync(AccountId.Create("hot"))).Version);
    }
}

public sealed class InMemoryStoreContractTests : StateStoreContract
{
    protected override IRiskStateStore CreateStore() => new InMemoryRiskStateStore();
}

public sealed class SqliteStoreContractTests : StateStoreContract
{
    private readonly string _dir = Directory.CreateTempSubdirectory("riskengine-sqlite-").FullName;

    protected override IRiskStateStore CreateStore() => new SqliteRiskStateStore(Path.Combine(_dir, $"{Guid.NewGuid():N}.db"));

    protected override void DisposeResources()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task State_and_decisions_survive_reopening_the_file()
    {
        var path = Path.Combine(_dir, "reopen.db");
        using (var store = new SqliteRiskStateStore(path))
        {
            await store.CommitAsync(new AccountCommit(AccountId.Create("a"), 0, new AccountState { HasLoggedIn = true }, "fp",
                new Decision(EventId.Create("e1"), AccountId.Create("a"), T0, Outcome.Deny, [], "v", []), T0.AddDays(7)));
        }
        using var reopened = new SqliteRiskStateStore(path);
        Assert.True((await reopened.LoadAccountAsync(AccountId.Create("a"))).State.HasLoggedIn);
        Assert.Equal(Outcome.Deny, (await reopened.FindDecisionAsync(AccountId.Create("a"), EventId.Create("e1")))!.Decision.Outcome);
    }

    [Fact]
    public async Task State_stored_as_json_by_an_earlier_version_is_read_and_a_factor_in_any_row_is_found_for_the_key_check()
    {
        var path = Path.Combine(_dir, "legacy.db");
        using (var store = new SqliteRiskStateStore(path))
        {
            var legacy = new AccountState { HasLoggedIn = true, Totp = new TotpState("envelope-json", true, 5, []) };
            using var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=false");
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "INSERT INTO accounts (account, version, state) VALUES ('old', 3, $s)";
            cmd.Parameters.AddWithValue("$s", StateJson.SerializeState(legacy));
            cmd.ExecuteNonQuery();
        }
        using (var store = new SqliteRiskStateStore(path))
        {
            var old = await store.LoadAccountAsync(AccountId.Create("old"));
            Assert.Equal(3, old.Version);
            Assert.Equal("envelope-json", old.State.Totp!.ProtectedSecret);
            Assert.Equal("envelope-json", await ((RiskEngine.Security.IKeyRingCheckStore)store).FindProtectedSecretAsync());
            Assert.Equal(CommitStatus.Committed, await store.CommitAsync(new AccountCommit(AccountId.Create("old"), 3, new AccountState(), null, null, default)));
            Assert.Equal(CommitStatus.Committed, await store.CommitAsync(new AccountCommit(AccountId.Create("new"), 0,
                new AccountState { Totp = new TotpState("envelope-binary", true, 5, []) }, null, null, default)));
            Assert.Equal("envelope-binary", await ((RiskEngine.Security.IKeyRingCheckStore)store).FindProtectedSecretAsync());
        }
    }

    [Fact]
    public async Task A_batch_is_visible_inside_it_and_durable_only_when_committed_with_its_records_and_position()
    {
        var path = Path.Combine(_dir, "batch.db");
        using (var store = new SqliteRiskStateStore(path))
        {
            await using (var dropped = await store.BeginBatchAsync())
            {
                await dropped.StageAsync(new AccountCommit(AccountId.Create("a"), 0, new AccountState { HasLoggedIn = true }, null, null, default));
                Assert.Equal(1, (await dropped.LoadAccountAsync(AccountId.Create("a"))).Version);
                Assert.Equal(0, (await store.LoadAccountAsync(AccountId.Create("a"))).Version); // staged, not committed
            }
            Assert.Equal(0, (await store.LoadAccountAsync(AccountId.Create("a"))).Version);

            await using (var batch = await store.BeginBatchAsync())
            {
                await batch.StageAsync(new AccountCommit(AccountId.Create("b"), 0, new AccountState { HasLoggedIn = true }, null, null, default));
                await batch.CommitAsync(new JournalEntry([new JournalRecord(1, OutputChannel.Output, "{\"x\":1}"u8.ToArray()), new JournalRecord(2, OutputChannel.DeadLetter, "{}"u8.ToArray())],
                    new JournalPosition("in.jsonl", 123, 4)));
            }
            await store.MarkPublishedAsync(OutputChannel.DeadLetter, 2, 3);
        }
        using var reopened = new SqliteRiskStateStore(path);
        Assert.Equal(1, (await reopened.LoadAccountAsync(AccountId.Create("b"))).Version);
        Assert.Equal(new JournalPosition("in.jsonl", 123, 4), await reopened.LoadPositionAsync("in.jsonl"));
        Assert.Equal(2, await reopened.LastSequenceAsync());
        Assert.Equal(1, Assert.Single(await reopened.UnpublishedAsync(OutputChannel.Output)).Sequence);
        Assert.Empty(await reopened.UnpublishedAsync(OutputChannel.DeadLetter));
        Assert.Equal((2L, 3L), await reopened.PublishedAsync(OutputChannel.DeadLetter));
    }
}

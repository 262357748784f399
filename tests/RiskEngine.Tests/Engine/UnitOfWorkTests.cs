using RiskEngine.Decisions;
using RiskEngine.Domain;
using RiskEngine.Events;
using RiskEngine.Sqlite;
using RiskEngine.State;
using RiskEngine.TwoFactor;

namespace RiskEngine.Tests.Engine;

/// <summary>
/// The host owns the unit of work: decisions staged in a batch are durable only when it commits, the sinks hear of
/// account events only after that, and nothing else joins a batch it did not begin.
/// </summary>
public sealed class UnitOfWorkTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("riskengine-unit-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private SqliteRiskStateStore NewStore() => new(Path.Combine(_dir, $"{Guid.NewGuid():N}.db"));

    /// <summary>Six payments in six seconds: the sixth freezes the account on velocity.count.</summary>
    private static List<RiskEvent> Burst(TestEngine t) => Enumerable.Range(0, 6).Select(i => (RiskEvent)t.Tx("a", 10, after: TimeSpan.FromSeconds(i))).ToList();

    [Fact]
    public async Task The_sinks_hear_of_a_freeze_only_after_the_batch_is_durable()
    {
        using var store = NewStore();
        await using var t = new TestEngine(store: store);
        await using (var batch = await t.Engine.BeginBatchAsync())
        {
            var results = await batch.EvaluateAsync(Burst(t));
            DecisionAssert.Is(results[^1].Decision!, Outcome.Freeze, "velocity.count");
            Assert.Empty(t.Sink.Events); // decided, not yet durable
            Assert.False((await store.LoadAccountAsync(AccountId.Create("a"))).State.Freeze is not null);
            await batch.CommitAsync();
            Assert.IsType<AccountFrozen>(Assert.Single(t.Sink.Events));
        }
        using var reopened = new SqliteRiskStateStore(store.Path);
        Assert.NotNull((await reopened.LoadAccountAsync(AccountId.Create("a"))).State.Freeze);
    }

    [Fact]
    public async Task A_batch_dropped_before_its_commit_leaves_the_store_as_it_was_and_tells_no_sink()
    {
        using var store = NewStore();
        await using var t = new TestEngine(store: store);
        var burst = Burst(t);
        await using (var batch = await t.Engine.BeginBatchAsync())
        {
            Assert.Equal(Outcome.Freeze, (await batch.EvaluateAsync(burst))[^1].Decision!.Outcome);
        }
        Assert.Empty(t.Sink.Events);
        Assert.Equal(0, (await store.LoadAccountAsync(AccountId.Create("a"))).Version);
        // Decided again (as a worker does after a crash): the same answers, none a duplicate.
        var again = await t.Engine.EvaluateBatchAsync(burst);
        Assert.All(again, r => Assert.False(r.Decision!.Duplicate));
        Assert.Equal(Outcome.Freeze, again[^1].Decision!.Outcome);
        Assert.Single(t.Sink.Events);
    }

    [Fact]
    public async Task A_totp_enrolment_during_an_open_batch_waits_for_it_and_is_not_lost_when_the_batch_is_dropped()
    {
        using var store = NewStore();
        await using var t = new TestEngine(store: store);
        var batch = await t.Engine.BeginBatchAsync();
        await batch.EvaluateAsync([t.Tx("b", 10)]);
        var enrol = t.TwoFactor.EnrollAsync(AccountId.Create("a")).AsTask();
        Assert.False(enrol.IsCompleted); // it does not join a batch it did not begin
        await batch.DisposeAsync(); // the host drops its batch
        Assert.Equal(TotpStatus.Accepted, (await enrol).Status);
        Assert.NotNull((await store.LoadAccountAsync(AccountId.Create("a"))).State.Totp);
        Assert.Equal(0, (await store.LoadAccountAsync(AccountId.Create("b"))).Version);
    }

    [Fact]
    public async Task When_the_batch_cannot_be_committed_every_answer_of_it_is_withdrawn_as_unavailable()
    {
        using var inner = NewStore();
        await using var t = new TestEngine(store: new UncommittableStore(inner));
        var results = await t.Engine.EvaluateBatchAsync(Burst(t));
        Assert.All(results, r => Assert.Equal(ResultKind.Unavailable, r.Kind));
        Assert.Empty(t.Sink.Events);
        Assert.Equal(0, (await inner.LoadAccountAsync(AccountId.Create("a"))).Version);
    }

    /// <summary>A store whose batches stage normally but cannot be written at the end (the disk is full).</summary>
    private sealed class UncommittableStore(SqliteRiskStateStore inner) : IRiskStateStore
    {
        public ValueTask<StoredDecision?> FindDecisionAsync(AccountId account, EventId eventId, CancellationToken cancellationToken = default) => inner.FindDecisionAsync(account, eventId, cancellationToken);

        public ValueTask<AccountSnapshot> LoadAccountAsync(AccountId account, CancellationToken cancellationToken = default) => inner.LoadAccountAsync(account, cancellationToken);

        public ValueTask<int> CountIpFailuresAsync(string ip, DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken = default) => inner.CountIpFailuresAsync(ip, since, until, cancellationToken);

        public ValueTask<IReadOnlyList<AccountId>> ListFrozenAsync(string reason, DateTimeOffset frozenAtOrBefore, int max, CancellationToken cancellationToken = default) => inner.ListFrozenAsync(reason, frozenAtOrBefore, max, cancellationToken);

        public ValueTask<CommitStatus> CommitAsync(AccountCommit commit, CancellationToken cancellationToken = default) => throw new StateStoreUnavailableException("disk full");

        public async ValueTask<IStateBatch> BeginBatchAsync(CancellationToken cancellationToken = default) => new Batch(await inner.BeginBatchAsync(cancellationToken));

        private sealed class Batch(IStateBatch inner) : IStateBatch
        {
            public ValueTask<(StoredDecision? Stored, AccountSnapshot Snapshot)> LoadForDecisionAsync(AccountId account, EventId eventId, CancellationToken cancellationToken = default) => inner.LoadForDecisionAsync(account, eventId, cancellationToken);

            public ValueTask<AccountSnapshot> LoadAccountAsync(AccountId account, CancellationToken cancellationToken = default) => inner.LoadAccountAsync(account, cancellationToken);

            public ValueTask<int> CountIpFailuresAsync(string ip, DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken = default) => inner.CountIpFailuresAsync(ip, since, until, cancellationToken);

            public ValueTask<CommitStatus> StageAsync(AccountCommit commit, CancellationToken cancellationToken = default) => inner.StageAsync(commit, cancellationToken);

            public ValueTask CommitAsync(JournalEntry? journal = null, CancellationToken cancellationToken = default) => throw new StateStoreUnavailableException("disk full");

            public ValueTask DisposeAsync() => inner.DisposeAsync();
        }
    }
}

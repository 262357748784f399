using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RiskEngine.Decisions;
using RiskEngine.Pipeline;
using RiskEngine.State;

namespace RiskEngine.Tests.Engine;

/// <summary>A store outage is its own result: callers get a fail-closed answer, queued events are never answered with it.</summary>
public sealed class StoreOutageTests
{
    [Fact]
    public void Allow_during_an_outage_is_refused_by_options_validation()
    {
        using var provider = new ServiceCollection().AddRiskEngine(o => o.WhenStoreUnavailable = Outcome.Allow).BuildServiceProvider();
        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<RiskEngineOptions>>().Value);
        Assert.Contains("WhenStoreUnavailable", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_outage_is_unavailable_not_a_decision_and_the_stream_processor_does_not_publish_an_answer_for_it()
    {
        await using var t = new TestEngine(store: new DownStore());
        var result = await t.Engine.EvaluateAsync(t.Tx("a", 10));
        Assert.Equal(ResultKind.Unavailable, result.Kind);
        Assert.Null(result.Decision);
        Assert.Equal(Outcome.Deny, result.GetDecisionOrThrow().Outcome);
        Assert.True(result.Outage!.FailClosed.HasReason("engine.unavailable"));

        var line = """{"type":"transaction","id":"q1","at":"2026-11-27T10:00:00Z","account":"a","amount":1,"currency":"USD","country":"US","device":"d"}""";
        var output = new MemoryStream();
        await Assert.ThrowsAsync<StateStoreUnavailableException>(() =>
            new EventStreamProcessor(t.Engine).RunAsync(new MemoryStream(Encoding.UTF8.GetBytes(line + "\n")), output));
        Assert.Equal(0, output.Length);
    }

    private sealed class DownStore : IRiskStateStore
    {
        private static StateStoreUnavailableException Down() => new("down for this test");

        public ValueTask<StoredDecision?> FindDecisionAsync(Domain.AccountId account, Domain.EventId eventId, CancellationToken cancellationToken = default) => throw Down();

        public ValueTask<AccountSnapshot> LoadAccountAsync(Domain.AccountId account, CancellationToken cancellationToken = default) => throw Down();

        public ValueTask<int> CountIpFailuresAsync(string ip, DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken = default) => throw Down();

        public ValueTask<IReadOnlyList<Domain.AccountId>> ListFrozenAsync(string reason, DateTimeOffset frozenAtOrBefore, int max, CancellationToken cancellationToken = default) => throw Down();

        public ValueTask<CommitStatus> CommitAsync(AccountCommit commit, CancellationToken cancellationToken = default) => throw Down();
    }
}

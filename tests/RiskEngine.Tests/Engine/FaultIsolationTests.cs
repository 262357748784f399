using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RiskEngine.Decisions;
using RiskEngine.Domain;
using RiskEngine.Events;
using RiskEngine.Pipeline;
using EventId = RiskEngine.Domain.EventId;

namespace RiskEngine.Tests.Engine;

/// <summary>An exception while deciding one event rejects that event only; the events around it are decided as usual.</summary>
public sealed class FaultIsolationTests
{
    /// <summary>An event type the decision logic does not know: deciding it throws, as a bug would.</summary>
    private sealed record PoisonEvent(EventId Id, DateTimeOffset At, AccountId Account) : RiskEvent(Id, At, Account)
    {
        public override string Canonical() => "poison:" + Id.Value;
    }

    [Fact]
    public async Task An_exception_while_deciding_rejects_that_event_logs_it_and_changes_nothing()
    {
        var log = new CapturingLogger<DefaultRiskEngine>();
        await using var t = new TestEngine(services: s => s.AddSingleton<ILogger<DefaultRiskEngine>>(log));
        DecisionAssert.Is(await t.Decide(t.Tx("a", 100)), Outcome.Allow);

        var poison = new PoisonEvent(EventId.Create("bad-1"), TestEngine.T0, AccountId.Create("a"));
        var result = await t.Engine.EvaluateAsync(poison);

        Assert.Null(result.Decision);
        Assert.Null(result.Rejection!.Field);
        Assert.Equal("bad-1", result.Rejection.EventId!.Value.Value);
        Assert.Contains("bad-1", result.Rejection.Error, StringComparison.Ordinal);
        Assert.Contains("logged", result.Rejection.Error, StringComparison.Ordinal);
        var entry = Assert.Single(log.Entries, e => e.Level == LogLevel.Error);
        Assert.Contains("bad-1", entry.Message, StringComparison.Ordinal);
        Assert.NotNull(entry.Exception);

        // Nothing was recorded for the poison id, and the account decides on as before.
        Assert.Null(await t.Store.FindDecisionAsync(AccountId.Create("a"), EventId.Create("bad-1")));
        DecisionAssert.Is(await t.Decide(t.Tx("a", 100, after: TimeSpan.FromMinutes(1))), Outcome.Allow);
        Assert.Equal(2, (await t.Store.LoadAccountAsync(AccountId.Create("a"))).State.Allowed.Count);
    }

    [Fact]
    public async Task A_stream_of_poison_lines_between_valid_ones_gives_one_record_per_line_and_dead_letters_the_bad_ones()
    {
        await using var t = new TestEngine(services: s => s.Configure<RiskEngineOptions>(o => o.MaxFutureSkew = null));
        var input = new MemoryStream(Encoding.UTF8.GetBytes(string.Join('\n', PoisonEvents.Lines) + "\n"));
        var output = new MemoryStream();
        var dead = new MemoryStream();
        await new EventStreamProcessor(t.Engine).RunAsync(input, output, dead);
        PoisonEvents.AssertHandled(Contract.ContractExampleTests.Lines(Encoding.UTF8.GetString(output.ToArray())),
            Contract.ContractExampleTests.Lines(Encoding.UTF8.GetString(dead.ToArray())));
    }

    [Fact]
    public async Task A_parser_or_engine_that_throws_on_one_line_rejects_that_line_only()
    {
        await using var t = new TestEngine();
        var engine = new ThrowingEngine(t.Engine, "boom");
        string Tx(string id, int minute) =>
            $$"""{"type":"transaction","id":"{{id}}","at":"2026-11-27T10:0{{minute}}:00Z","account":"acct","amount":10,"currency":"USD","country":"US","device":"d"}""";
        var input = new MemoryStream(Encoding.UTF8.GetBytes($"{Tx("a", 1)}\n{Tx("boom", 2)}\n{Tx("c", 3)}\n"));
        var output = new MemoryStream();
        var dead = new MemoryStream();
        var summary = await new EventStreamProcessor(engine).RunAsync(input, output, dead);

        var records = Encoding.UTF8.GetString(output.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, records.Length);
        Assert.Contains("\"event\":\"a\"", records[0], StringComparison.Ordinal);
        Assert.Contains("\"type\":\"rejected\"", records[1], StringComparison.Ordinal);
        Assert.Contains("\"event\":\"boom\"", records[1], StringComparison.Ordinal);
        Assert.Contains("\"event\":\"c\"", records[2], StringComparison.Ordinal);
        Assert.Equal((2, 1), (summary.Decisions, summary.Rejected));
        Assert.Contains("boom", Encoding.UTF8.GetString(dead.ToArray()), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_sink_that_throws_is_logged_and_neither_undoes_the_freeze_nor_starves_the_other_sinks()
    {
        var log = new CapturingLogger<DefaultRiskEngine>();
        await using var t = new TestEngine(services: s => s.AddSingleton<IRiskEventSink>(new ThrowingSink()).AddSingleton<ILogger<DefaultRiskEngine>>(log));
        Decision last = null!;
        for (var i = 0; i < 6; i++) last = await t.Decide(t.Tx("a", 10, after: TimeSpan.FromSeconds(i)));
        DecisionAssert.Is(last, Outcome.Freeze, "velocity.count");
        Assert.Single(last.Events);
        Assert.Single(t.Sink.Events); // the recording sink still got it
        Assert.True((await t.Engine.GetAccountStatusAsync(AccountId.Create("a"))).Frozen);
        Assert.Contains(log.Entries, e => e.Level == LogLevel.Error && e.Message.Contains("ThrowingSink", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_sink_that_throws_does_not_turn_a_committed_totp_freeze_into_an_error()
    {
        await using var t = new TestEngine(services: s => s.AddSingleton<IRiskEventSink>(new ThrowingSink()));
        var enrolment = await t.TwoFactor.EnrollAsync(AccountId.Create("a"));
        var key = OtpNet.Base32Encoding.ToBytes(enrolment.Enrollment!.Secret);
        var step = TwoFactor.Rfc6238.Step(t.Time.GetUtcNow());
        Assert.Equal(RiskEngine.TwoFactor.TotpStatus.Accepted, (await t.TwoFactor.ConfirmEnrollmentAsync(AccountId.Create("a"), TwoFactor.Rfc6238.Code(key, step))).Status);
        var wrong = TwoFactor.Rfc6238.Code(key, step + 5);
        RiskEngine.TwoFactor.TotpVerification last = null!;
        for (var i = 0; i < 5; i++) last = await t.TwoFactor.VerifyAsync(AccountId.Create("a"), wrong);
        Assert.IsType<AccountFrozen>(Assert.Single(last.Events));
        Assert.True((await t.Engine.GetAccountStatusAsync(AccountId.Create("a"))).Frozen);
    }

    private sealed class ThrowingSink : IRiskEventSink
    {
        public ValueTask PublishAsync(AccountEvent accountEvent, CancellationToken cancellationToken) => throw new InvalidOperationException("the notification service is down");
    }

    /// <summary>An engine with a bug for one event id (the processor must not trust any engine never to throw).</summary>
    private sealed class ThrowingEngine(IRiskEngine inner, string poisonId) : IRiskEngine
    {
        public RiskEngine.Policies.RiskPolicy Policy => inner.Policy;

        public ValueTask<EvaluationResult> EvaluateAsync(RiskEvent riskEvent, CancellationToken cancellationToken = default) =>
            riskEvent.Id.Value == poisonId ? throw new InvalidOperationException("a bug") : inner.EvaluateAsync(riskEvent, cancellationToken);

        public ValueTask<EvaluationResult> EvaluateTransactionAsync(TransactionAttempt attempt, CancellationToken cancellationToken = default) => EvaluateAsync(attempt, cancellationToken);

        public ValueTask<EvaluationResult> EvaluateLoginAsync(LoginAttempt attempt, CancellationToken cancellationToken = default) => EvaluateAsync(attempt, cancellationToken);

        public ValueTask<EvaluationResult> ArrangeLimitAsync(LimitArrangement arrangement, CancellationToken cancellationToken = default) => EvaluateAsync(arrangement, cancellationToken);

        public ValueTask<EvaluationResult> UnfreezeAsync(SupportUnfreeze unfreeze, CancellationToken cancellationToken = default) => EvaluateAsync(unfreeze, cancellationToken);

        public ValueTask<IReadOnlyList<AccountUnfrozen>> ExpireCoolDownsAsync(int max = 1000, CancellationToken cancellationToken = default) => inner.ExpireCoolDownsAsync(max, cancellationToken);

        public ValueTask<AccountStatus> GetAccountStatusAsync(AccountId account, CancellationToken cancellationToken = default) => inner.GetAccountStatusAsync(account, cancellationToken);
    }
}

/// <summary>Keeps what was logged, for tests that check a failure is reported (and that no secret is).</summary>
internal sealed class CapturingLogger<T> : ILogger<T>
{
    public List<(LogLevel Level, string Message, Exception? Exception)> Entries { get; } = [];

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (Entries) Entries.Add((logLevel, formatter(state, exception), exception));
    }
}

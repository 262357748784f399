using System.Buffers;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using RiskEngine.Decisions;
using RiskEngine.Domain;
using RiskEngine.Events;
using RiskEngine.Pipeline;
using RiskEngine.Policies;
using Outcome = RiskEngine.Decisions.Outcome;

namespace RiskEngine.Tests.Contract;

/// <summary>
/// <see cref="RecordWriter"/> reuses one JSON writer per thread; its records must stay byte for byte what the writer
/// it replaced (<see cref="ReferenceRecordWriter"/>) wrote, whatever the buffer, the thread or an earlier failure.
/// </summary>
public sealed class RecordWriterTests
{
    private static readonly SupportContacts Support = new("+1 555 0100", "https://example.com/chat", "help@example.com", ["@example"], ["your id", "the last payment"]);

    private static Gen<string> Text =>
        Gen.OneOf(
            ArbMap.Default.GeneratorFor<string>().Select(s => s ?? ""),
            Gen.Elements("", "冻结 / frozen", "\ud800x", "😀", "a\"b\\c\n\t\u0001", "<script>&'+", new string('m', 300)));

    private static Gen<DateTimeOffset> Time =>
        from seconds in Gen.Choose(0, int.MaxValue)
        from fraction in Gen.Frequency((3, Gen.Constant(0)), (1, Gen.Choose(1, 9_999_999)), (1, Gen.Elements(1, 10, 1_000_000, 5_000_000)))
        from offset in Gen.Frequency((3, Gen.Constant(0)), (1, Gen.Choose(-14 * 60, 14 * 60)))
        select new DateTimeOffset(new DateTime(2000, 1, 1).AddSeconds(seconds).AddTicks(fraction + TimeSpan.TicksPerDay), TimeSpan.FromMinutes(offset));

    private static Gen<RuleHit> Hit =>
        from rule in Text from code in Text from message in Text from outcome in Gen.Elements(Enum.GetValues<Outcome>())
        select new RuleHit(rule, code, message, outcome);

    private static Gen<AccountEvent> AccountEvent =>
        from id in Gen.Choose(0, 1000)
        from account in Text
        from at in Time
        from reason in Text
        from agent in Text
        from frozen in Gen.Elements(true, false)
        from selfService in Gen.Elements(true, false)
        from message in Text
        let messages = new Dictionary<string, string> { ["en"] = message, ["zh-CN"] = "账户已冻结" }
        select frozen
            ? (AccountEvent)new AccountFrozen(EventId.Create($"e{id}"), Account(account), at, reason, selfService, Support, messages)
            : new AccountUnfrozen(EventId.Create($"e{id}"), Account(account), at, agent, reason, Support, messages);

    private static Gen<Decision> Decision =>
        from id in Gen.Choose(0, 1000)
        from account in Text
        from at in Time
        from outcome in Gen.Elements(Enum.GetValues<Outcome>())
        from reasons in Gen.Choose(0, 3).SelectMany(n => Gen.ArrayOf(Hit, n))
        from shadow in Gen.Frequency((3, Gen.Constant(Array.Empty<RuleHit>())), (1, Gen.Choose(1, 2).SelectMany(n => Gen.ArrayOf(Hit, n))))
        from policy in Text
        from duplicate in Gen.Elements(false, false, true)
        from events in Gen.Frequency((3, Gen.Constant(Array.Empty<AccountEvent>())), (1, Gen.Choose(1, 2).SelectMany(n => Gen.ArrayOf(AccountEvent, n))))
        select new Decision(EventId.Create($"e{id}"), Account(account), at, outcome, reasons, policy, events) { Shadow = shadow, Duplicate = duplicate };

    private static Gen<(long Line, Rejection Rejection)> Rejected =>
        from line in Gen.Choose(0, int.MaxValue)
        from id in Gen.Frequency((1, Gen.Constant<EventId?>(null)), (3, Gen.Choose(0, 1000).Select(i => (EventId?)EventId.Create($"e{i}"))))
        from name in Gen.Frequency((1, Gen.Constant<string?>(null)), (3, Text.Select(t => (string?)t)))
        from error in Text
        select ((long)line * 3, new Rejection(id, name, error));

    private static AccountId Account(string text) => AccountId.TryCreate(text, out var id, out _) ? id : AccountId.Create("acct-A");

    [Fact]
    public void Records_are_byte_for_byte_those_of_the_writer_it_replaced()
    {
        // One buffer throughout, as the worker has: the writer is pointed at it again for every record.
        var actual = new ArrayBufferWriter<byte>();
        var expected = new ArrayBufferWriter<byte>();
        var record = Gen.OneOf(Decision.Select(d => (object)d), AccountEvent.Select(e => (object)e), Rejected.Select(r => (object)r));
        Prop.ForAll(record.ToArbitrary(), r =>
        {
            if (actual.WrittenCount > 1 << 20)
            {
                actual.ResetWrittenCount();
                expected.ResetWrittenCount();
            }
            var from = actual.WrittenCount;
            Write(r, actual, current: true);
            Write(r, expected, current: false);
            Assert.Equal(Encoding.UTF8.GetString(expected.WrittenSpan[from..]), Encoding.UTF8.GetString(actual.WrittenSpan[from..]));
            Assert.True(expected.WrittenSpan.SequenceEqual(actual.WrittenSpan));
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(10_000).WithQuietOnSuccess(true));
    }

    [Fact]
    public void A_record_that_fails_half_way_leaves_the_next_one_whole()
    {
        var decision = new Decision(EventId.Create("e1"), AccountId.Create("acct-A"), DateTimeOffset.UnixEpoch, Outcome.Deny,
            [new RuleHit("r", "cap.per_transaction", new string('x', 4000), Outcome.Deny)], "v1", []);
        var failing = new FailingBufferWriter(after: 100);
        Assert.Throws<IOException>(() => RecordWriter.WriteDecision(failing, decision));
        var referenceFailing = new FailingBufferWriter(after: 100);
        Assert.Throws<IOException>(() => ReferenceRecordWriter.WriteDecision(referenceFailing, decision));
        Assert.Equal(referenceFailing.Written, failing.Written); // what was committed before the failure, as before

        var actual = new ArrayBufferWriter<byte>();
        var expected = new ArrayBufferWriter<byte>();
        RecordWriter.WriteRejected(actual, 7, new Rejection(null, "amount", "amount is required"));
        ReferenceRecordWriter.WriteRejected(expected, 7, new Rejection(null, "amount", "amount is required"));
        Assert.Equal(Encoding.UTF8.GetString(expected.WrittenSpan), Encoding.UTF8.GetString(actual.WrittenSpan));
    }

    [Fact]
    public void Threads_writing_at_once_each_get_whole_records()
    {
        var decisions = Decision.Sample(200, 2_000);
        var expected = decisions.Select(d =>
        {
            var buffer = new ArrayBufferWriter<byte>();
            ReferenceRecordWriter.WriteDecision(buffer, d);
            return buffer.WrittenSpan.ToArray();
        }).ToArray();
        Parallel.For(0, decisions.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            var buffer = new ArrayBufferWriter<byte>();
            RecordWriter.WriteDecision(buffer, decisions[i]);
            Assert.Equal(expected[i], buffer.WrittenSpan.ToArray());
        });
    }

    private static void Write(object record, IBufferWriter<byte> output, bool current)
    {
        switch (record)
        {
            case Decision d when current: RecordWriter.WriteDecision(output, d); break;
            case Decision d: ReferenceRecordWriter.WriteDecision(output, d); break;
            case AccountEvent e when current: RecordWriter.WriteAccountEvent(output, e); break;
            case AccountEvent e: ReferenceRecordWriter.WriteAccountEvent(output, e); break;
            case ValueTuple<long, Rejection> r when current: RecordWriter.WriteRejected(output, r.Item1, r.Item2); break;
            case ValueTuple<long, Rejection> r: ReferenceRecordWriter.WriteRejected(output, r.Item1, r.Item2); break;
        }
    }

    /// <summary>A buffer whose storage fails once <c>after</c> bytes are committed, like a full disk.</summary>
    private sealed class FailingBufferWriter(int after) : IBufferWriter<byte>
    {
        private readonly ArrayBufferWriter<byte> _inner = new();

        public string Written => Encoding.UTF8.GetString(_inner.WrittenSpan);

        public void Advance(int count) => _inner.Advance(count);

        public Memory<byte> GetMemory(int sizeHint = 0) =>
            _inner.WrittenCount >= after ? throw new IOException("full") : _inner.GetMemory(sizeHint);

        public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;
    }
}

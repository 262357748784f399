using System.Buffers;
using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.Extensions.DependencyInjection;
using RiskEngine.Pipeline;

namespace RiskEngine.Tests.Properties;

/// <summary>
/// Property: whatever a line holds — arbitrary bytes, or a contract-shaped event with arbitrary times, amounts and
/// strings — the pipeline answers it with exactly one <c>decision</c> or <c>rejected</c> record and never throws.
/// One engine decides every case, so state built by earlier cases (caps, freezes, duplicates) meets later ones.
/// </summary>
public sealed class ArbitraryInputProperties
{
    private const int Cases = 100_000;

    private static Gen<byte[]> AnyLine =>
        Gen.Frequency(
            (8, EventLines.EventLine),
            (1, Gen.Constant(Array.Empty<byte>())), // stands for "the previous line again": a re-delivery
            (1, ArbMap.Default.GeneratorFor<byte[]>()),
            (1, ArbMap.Default.GeneratorFor<string>().Select(s => Encoding.UTF8.GetBytes(s ?? ""))));

    [Fact]
    public async Task Every_line_gets_exactly_one_decision_or_rejected_record_and_nothing_throws()
    {
        await using var t = new TestEngine(services: s => s.Configure<RiskEngineOptions>(o => o.MaxFutureSkew = null));
        var processor = new EventStreamProcessor(t.Engine);
        var buffer = new ArrayBufferWriter<byte>();
        long line = 0, decided = 0, rejected = 0;
        var previous = Array.Empty<byte>();

        Prop.ForAll(AnyLine.ToArbitrary(), bytes =>
        {
            if (bytes.Length == 0) bytes = previous;
            previous = bytes;
            buffer.ResetWrittenCount();
            var result = processor.ProcessLineAsync(new JsonLine(++line, bytes, 0)).AsTask().GetAwaiter().GetResult();
            if ((result.Decision is null) == (result.Rejection is null)) return false;
            if (result.Decision is { } d)
            {
                decided++;
                RecordWriter.WriteDecision(buffer, d);
            }
            else
            {
                rejected++;
                RecordWriter.WriteRejected(buffer, line, result.Rejection!);
            }
            var records = RecordWriter.Lines(buffer.WrittenSpan);
            using var first = JsonDocument.Parse(records[0]);
            var kind = first.RootElement.GetProperty("type").GetString();
            var accountEvents = records.Skip(1).Select(r => JsonDocument.Parse(r).RootElement.GetProperty("type").GetString()).ToList();
            return (kind == "decision" && accountEvents.All(k => k is "account.frozen" or "account.unfrozen") && accountEvents.Count == (result.Decision?.Events.Count ?? 0))
                || (kind == "rejected" && records.Count == 1);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(Cases).WithQuietOnSuccess(true));

        // The generator must reach the decision path, not only the parser's refusals.
        Assert.True(decided > Cases / 5, $"{decided} decided, {rejected} rejected");
        Assert.True(rejected > Cases / 20, $"{decided} decided, {rejected} rejected");
    }
}

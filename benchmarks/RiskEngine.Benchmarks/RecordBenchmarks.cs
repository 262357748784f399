using System.Buffers;
using BenchmarkDotNet.Attributes;
using RiskEngine.Decisions;
using RiskEngine.Domain;
using RiskEngine.Events;
using RiskEngine.Pipeline;

namespace RiskEngine.Benchmarks;

/// <summary>
/// The file worker's per-line edges without the engine: reading one event line, and writing one decision record
/// (into a reused buffer, as the worker does).
/// </summary>
[MemoryDiagnoser]
public class RecordBenchmarks
{
    private static readonly byte[] Transaction =
        """{"type":"transaction","id":"e01","at":"2026-11-27T10:00:00Z","account":"acct-A","amount":100,"currency":"USD","country":"US","device":"dev-A1"}"""u8.ToArray();

    private static readonly byte[] Login =
        """{"type":"login","id":"e17","at":"2026-11-27T12:00:00.250Z","account":"acct-D","success":true,"device":"dev-D1","country":"US","ip":"203.0.113.7","lat":40.71,"lon":-74.01}"""u8.ToArray();

    private readonly ArrayBufferWriter<byte> _output = new(4096);
    private Decision _allow = null!;
    private Decision _challenge = null!;

    [GlobalSetup]
    public void Setup()
    {
        var at = new DateTimeOffset(2026, 11, 27, 10, 0, 0, 250, TimeSpan.Zero);
        _allow = new Decision(EventId.Create("e01"), AccountId.Create("acct-A"), at, Outcome.Allow, [], "default@9f86d081884c", []);
        _challenge = _allow with
        {
            Outcome = Outcome.Challenge,
            Reasons =
            [
                new RuleHit("CapRule/USD", "cap.step_up", "this payment of 6000 USD is above the 5000 USD step-up threshold; confirm it with your authenticator app", Outcome.Challenge),
                new RuleHit("NewDeviceRule", "device.new", "first payment from this device", Outcome.Challenge),
            ],
        };
    }

    [Benchmark(Description = "parse a transaction line")]
    public RiskEvent? ParseTransaction() => EventParser.Parse(Transaction).Event;

    [Benchmark(Description = "parse a login line")]
    public RiskEvent? ParseLogin() => EventParser.Parse(Login).Event;

    [Benchmark(Description = "write a decision, no reasons")]
    public int WriteDecision()
    {
        _output.ResetWrittenCount();
        RecordWriter.WriteDecision(_output, _allow);
        return _output.WrittenCount;
    }

    [Benchmark(Description = "write a decision, two reasons")]
    public int WriteDecisionWithReasons()
    {
        _output.ResetWrittenCount();
        RecordWriter.WriteDecision(_output, _challenge);
        return _output.WrittenCount;
    }
}

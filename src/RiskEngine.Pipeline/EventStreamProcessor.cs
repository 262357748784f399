using System.Buffers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RiskEngine.Decisions;
using RiskEngine.Events;

namespace RiskEngine.Pipeline;

/// <summary>Counts of one run over a stream.</summary>
public sealed record StreamSummary(long Lines, long Decisions, long Rejected, long Duplicates, long AccountEvents);

/// <summary>
/// The contract in one place: reads JSON Lines events, decides each through <see cref="IRiskEngine"/>, and writes one
/// <c>decision</c> or <c>rejected</c> record per input line, in input order, followed by the account events it caused.
/// Rejected lines also go to the dead-letter stream, with the reason. The CLI's replay and the worker both use it.
/// A line whose parsing or deciding throws is rejected and logged; the lines around it are processed as usual.
/// </summary>
public sealed partial class EventStreamProcessor(IRiskEngine engine, ILogger? logger = null)
{
    private readonly ILogger _log = logger ?? NullLogger.Instance;

    /// <summary>Lines decided together by <see cref="RunAsync"/>.</summary>
    public const int BatchSize = 512;

    /// <summary>Processes <paramref name="input"/> to its end, <see cref="BatchSize"/> lines at a time.</summary>
    public async Task<StreamSummary> RunAsync(Stream input, Stream output, Stream? deadLetter = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        var reader = new JsonLinesReader(input, EventParser.MaxEventBytes);
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        var dead = new ArrayBufferWriter<byte>(4 * 1024);
        long lines = 0, decisions = 0, rejected = 0, duplicates = 0, accountEvents = 0;
        var batch = new List<JsonLine>(BatchSize);
        while (true)
        {
            batch.Clear();
            while (batch.Count < BatchSize && await reader.ReadLineAsync(cancellationToken) is { } next)
                batch.Add(next with { Bytes = next.Bytes.ToArray() }); // the reader reuses its buffer
            if (batch.Count == 0) break;
            var results = await ProcessLinesAsync(batch, cancellationToken);
            for (var i = 0; i < batch.Count; i++)
            {
                lines++;
                if (results[i].Decision is { } d)
                {
                    decisions++;
                    if (d.Duplicate) duplicates++;
                    accountEvents += d.Events.Count;
                    RecordWriter.WriteDecision(buffer, d);
                }
                else
                {
                    rejected++;
                    RecordWriter.WriteRejected(buffer, batch[i].Number, results[i].Rejection!);
                    if (deadLetter is not null) RecordWriter.WriteRejected(dead, batch[i].Number, results[i].Rejection!);
                }
            }
            if (buffer.WrittenCount > 48 * 1024) await FlushAsync(buffer, output, cancellationToken);
            if (deadLetter is not null && dead.WrittenCount > 0) await FlushAsync(dead, deadLetter, cancellationToken);
        }
        await FlushAsync(buffer, output, cancellationToken);
        await output.FlushAsync(cancellationToken);
        if (deadLetter is not null) await deadLetter.FlushAsync(cancellationToken);
        return new StreamSummary(lines, decisions, rejected, duplicates, accountEvents);
    }

    /// <summary>
    /// Parses and decides one line: a decision or a rejection. Never throws for a bad line, only when cancelled or
    /// when the store cannot be reached (<see cref="State.StateStoreUnavailableException"/>): a queued event is
    /// never answered with the fail-closed outage answer, its host pauses and decides it later.
    /// </summary>
    public async ValueTask<EvaluationResult> ProcessLineAsync(JsonLine line, CancellationToken cancellationToken = default)
    {
        var parsed = Read(line);
        if (parsed.Rejection is { } r) return EvaluationResult.Rejected(r);
        return await DecideAsync(parsed.Event!, line.Number, cancellationToken);
    }

    /// <summary>Decides one event read from line <paramref name="number"/>, as <see cref="ProcessLineAsync"/> does.</summary>
    private async ValueTask<EvaluationResult> DecideAsync(RiskEvent riskEvent, long number, CancellationToken cancellationToken)
    {
        try
        {
            var result = await engine.EvaluateAsync(riskEvent, cancellationToken);
            if (result.Kind == ResultKind.Unavailable) throw new State.StateStoreUnavailableException(result.Outage!.Reason);
            return result;
        }
        catch (Exception e) when (e is not (OperationCanceledException or State.StateStoreUnavailableException))
        {
            // The default engine isolates its own faults; this guards any other IRiskEngine. A failing store is not
            // one event's fault: it propagates, so the host pauses instead of rejecting every event.
            LogFailed(_log, number, riskEvent.Id.Value, e);
            return EvaluationResult.Rejected(new Rejection(riskEvent.Id, null,
                $"event '{riskEvent.Id}' could not be decided because of an internal error ({e.GetType().Name}); it was logged and sent to the dead-letter output"));
        }
    }

    /// <summary>
    /// Parses and decides many lines through <see cref="IRiskEngine.EvaluateBatchAsync"/>: one result per line, in
    /// order, each what <see cref="ProcessLineAsync"/> would give. Throws only when cancelled or when the store cannot
    /// be reached.
    /// </summary>
    public ValueTask<EvaluationResult[]> ProcessLinesAsync(IReadOnlyList<JsonLine> lines, CancellationToken cancellationToken = default) =>
        ProcessLinesAsync(null, lines, cancellationToken);

    /// <summary>
    /// As <see cref="ProcessLinesAsync(IReadOnlyList{JsonLine}, CancellationToken)"/>, deciding through the host's unit
    /// of work <paramref name="batch"/> (null: the engine commits the lines as a batch of its own): the answers stand
    /// once the host commits it.
    /// </summary>
    public ValueTask<EvaluationResult[]> ProcessLinesAsync(IDecisionBatch? batch, IReadOnlyList<JsonLine> lines, CancellationToken cancellationToken = default) =>
        ProcessLinesAsync(batch, lines, null, cancellationToken);

    /// <summary>
    /// As <see cref="ProcessLinesAsync(IDecisionBatch?, IReadOnlyList{JsonLine}, CancellationToken)"/>, with some lines
    /// already read by their source: a non-null <c>read[i]</c> is used instead of reading <c>lines[i]</c> — an event the
    /// source amended with what the wire cannot carry (<see cref="RiskEvent.Key"/>), or a rejection it made (a type
    /// the source may not carry, <see cref="EventAuthority"/>); the line is still what the records and logs name.
    /// </summary>
    public async ValueTask<EvaluationResult[]> ProcessLinesAsync(IDecisionBatch? batch, IReadOnlyList<JsonLine> lines, IReadOnlyList<ParsedEvent?>? read, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lines);
        if (read is not null && read.Count != lines.Count) throw new ArgumentException("read must have one entry per line", nameof(read));
        var results = new EvaluationResult[lines.Count];
        var events = new List<RiskEvent>(lines.Count);
        var at = new List<int>(lines.Count);
        for (var i = 0; i < lines.Count; i++)
        {
            var parsed = read?[i] ?? Read(lines[i]);
            if (parsed.Rejection is { } r) results[i] = EvaluationResult.Rejected(r);
            else
            {
                events.Add(parsed.Event!);
                at.Add(i);
            }
        }
        if (events.Count == 0) return results;
        IReadOnlyList<EvaluationResult> decided;
        try
        {
            decided = batch is null ? await engine.EvaluateBatchAsync(events, cancellationToken) : await batch.EvaluateAsync(events, cancellationToken);
        }
        catch (Exception e) when (e is not (OperationCanceledException or State.StateStoreUnavailableException))
        {
            // Not the default engine (it isolates its own faults): one line at a time, so only the failing one is rejected.
            LogBatchFailed(_log, e);
            for (var k = 0; k < at.Count; k++) results[at[k]] = await DecideAsync(events[k], lines[at[k]].Number, cancellationToken);
            return results;
        }
        for (var k = 0; k < at.Count; k++)
        {
            if (decided[k].Kind == ResultKind.Unavailable) throw new State.StateStoreUnavailableException(decided[k].Outage!.Reason);
            results[at[k]] = decided[k];
        }
        return results;
    }

    [LoggerMessage(LogLevel.Error, "a batch failed; deciding its lines one at a time")]
    private static partial void LogBatchFailed(ILogger logger, Exception error);

    /// <summary>Reads one line into an event or a rejection (oversized, empty, malformed). Never throws.</summary>
    public ParsedEvent Read(JsonLine line)
    {
        if (line.IsOversized)
            return new ParsedEvent(null, new Rejection(null, null, $"the line is {line.OversizedLength} bytes; the limit is {EventParser.MaxEventBytes}"));
        if (line.Bytes.Span.Trim(" \t"u8).IsEmpty)
            return new ParsedEvent(null, new Rejection(null, null, "the line is empty"));
        try
        {
            return EventParser.Parse(line.Bytes.Span);
        }
        catch (Exception e)
        {
            LogFailed(_log, line.Number, "(unread)", e);
            return new ParsedEvent(null, new Rejection(null, null, $"line {line.Number} could not be read because of an internal error ({e.GetType().Name}); it was logged and sent to the dead-letter output"));
        }
    }

    [LoggerMessage(LogLevel.Error, "line {Line} (event {EventId}) failed; it is rejected and the stream goes on")]
    private static partial void LogFailed(ILogger logger, long line, string eventId, Exception error);

    private static async ValueTask FlushAsync(ArrayBufferWriter<byte> buffer, Stream stream, CancellationToken ct)
    {
        if (buffer.WrittenCount == 0) return;
        await stream.WriteAsync(buffer.WrittenMemory, ct);
        buffer.ResetWrittenCount();
    }
}

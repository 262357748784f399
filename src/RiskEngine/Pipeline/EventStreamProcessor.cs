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

    /// <summary>Processes <paramref name="input"/> to its end.</summary>
    public async Task<StreamSummary> RunAsync(Stream input, Stream output, Stream? deadLetter = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        var reader = new JsonLinesReader(input, EventParser.MaxEventBytes);
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        var dead = new ArrayBufferWriter<byte>(4 * 1024);
        long lines = 0, decisions = 0, rejected = 0, duplicates = 0, accountEvents = 0;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            lines++;
            var result = await ProcessLineAsync(line, cancellationToken);
            if (result.Decision is { } d)
            {
                decisions++;
                if (d.Duplicate) duplicates++;
                accountEvents += d.Events.Count;
                RecordWriter.WriteDecision(buffer, d);
            }
            else
            {
                rejected++;
                RecordWriter.WriteRejected(buffer, line.Number, result.Rejection!);
                if (deadLetter is not null) RecordWriter.WriteRejected(dead, line.Number, result.Rejection!);
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
        var riskEvent = parsed.Event!;
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
            LogFailed(_log, line.Number, riskEvent.Id.Value, e);
            return EvaluationResult.Rejected(new Rejection(riskEvent.Id, null,
                $"event '{riskEvent.Id}' could not be decided because of an internal error ({e.GetType().Name}); it was logged and sent to the dead-letter output"));
        }
    }

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

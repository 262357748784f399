using System.Threading.Channels;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.Options;
using RiskEngine.Events;
using RiskEngine.Hosting;
using RiskEngine.Pipeline;
using RiskEngine.Server.Auth;
using RiskEngine.Server.Operations;
using RiskEngine.State;

namespace RiskEngine.Server.Decisions;

/// <summary>
/// <c>POST /v1/events</c> (role <c>decide</c> or <c>support</c>, per event type: <see cref="HttpEventSource"/>): one contract event → <c>{"decision", "events"}</c>, or a 422 problem
/// naming the rejected <c>field</c>; with <c>Content-Type: application/x-ndjson</c> a stream of events → exactly the
/// lines <c>riskengine replay</c> writes, streamed as they are decided. Every event goes through the request pump, and
/// an answer is sent only after its batch committed.
/// </summary>
internal static class DecisionEndpoints
{
    public const string NdJson = "application/x-ndjson";

    /// <summary>Lines of one NDJSON request queued ahead of the answers written (the pump groups them into batches).</summary>
    private const int Window = 1024;

    public static IEndpointRouteBuilder MapDecisionEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/events", HandleAsync)
            .RequireRole(Roles.Events)
            .Describe("PostEvent", "Decisions", "Decide one contract event, or a stream of them as NDJSON",
                "One contract event (`application/json`) → 200 with the decision record and the account events it caused, once its batch " +
                "committed; a retried event id returns the stored decision with `duplicate: true`. An event the contract rejects → 422 " +
                "problem naming the offending `field`. With `Content-Type: application/x-ndjson` the body is a stream of events and the " +
                "answer (`application/x-ndjson`) the same records, in order, that `riskengine replay` writes for it, streamed as they commit. " +
                "The key must hold the role the event type needs: `decide` for transaction, login, limit, reversal and a user's own report; " +
                "`support` for unfreeze and a report made by an agent. Otherwise 403 (problem naming the type; nothing decided), and in a " +
                "stream that line is answered `rejected` on `type`.")
            .AcceptsBody<ContractEvent>()
            .Produces<DecisionResponse>(StatusCodes.Status200OK, "application/json")
            .ProducesFieldProblem()
            .ProducesOutage()
            .WithMetadata(NdJsonAlternative.Instance);
        return app;
    }

    private static async Task<IResult> HandleAsync(HttpContext context, RequestPump pump)
    {
        if (context.Request.ContentType is { } type && type.StartsWith(NdJson, StringComparison.OrdinalIgnoreCase))
        {
            await StreamAsync(context, pump);
            return Results.Empty;
        }
        var line = await ReadOneAsync(context.Request);
        // Read here, at the source: a type this key may not send is refused undecided, and every event carries the key's name.
        var read = HttpEventSource.Read(pump, line, context.User, out var forbidden);
        if (forbidden) return HttpEventSource.Forbidden(read.Rejection!);
        // One activity around the decision (a child of the request's); the pump's batch activity links to it.
        using var activity = RiskEngineTracing.Source.StartActivity("riskengine.decide");
        PumpAnswer answer;
        try
        {
            answer = await pump.SubmitAsync(line, read, context.RequestAborted);
        }
        catch (Exception e) when (ServerResults.IsUnavailable(e, context))
        {
            activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, e is StateStoreUnavailableException ? "the state store cannot be reached" : "the server is stopping");
            return ServerResults.Unavailable(context, e);
        }
        var result = answer.Result!.Value;
        if (activity is { IsAllDataRequested: true })
        {
            var eventType = RiskEngineTracing.EventType(line.Bytes.Span);
            if (result.Decision is { } d) RiskEngineTracing.TagDecision(activity, eventType, d);
            else RiskEngineTracing.TagRejection(activity, eventType, result.Rejection!);
        }
        return result.Decision is not null ? ServerResults.Decision(answer) : ServerResults.Rejected(result.Rejection!);
    }

    /// <summary>The body as line 1 (an oversized body is read no further and rejected as the contract rejects an oversized line).</summary>
    private static async Task<JsonLine> ReadOneAsync(HttpRequest request)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        long total = 0;
        int read;
        while ((read = await request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted)) > 0)
        {
            total += read;
            if (total <= EventParser.MaxEventBytes) buffer.Write(chunk, 0, read);
        }
        if (total > EventParser.MaxEventBytes) return new JsonLine(1, ReadOnlyMemory<byte>.Empty, total);
        var bytes = buffer.ToArray().AsMemory();
        // One event, not a stream: a trailing line break is not part of it.
        while (bytes.Length > 0 && bytes.Span[^1] is (byte)'\n' or (byte)'\r') bytes = bytes[..^1];
        return new JsonLine(1, bytes, 0);
    }

    /// <summary>
    /// Reads lines as they arrive and queues them to the pump while writing the answers, in order, as their batches
    /// commit: a long body is answered as it goes, not buffered to the end. Each line after the first spends a token of
    /// the key's rate limit and waits for one (backpressure); a key may have <see cref="ServerOptions.MaxStreamsPerKey"/>
    /// streams open. A stream past <see cref="ServerOptions.MaxStreamLines"/> or <see cref="ServerOptions.MaxStreamBytes"/>,
    /// or silent for <see cref="ServerOptions.StreamIdleTimeout"/>, is read no further: what was read is answered, then
    /// one <c>rejected</c> record (not journaled: it is no input line) names the first line not read and why.
    /// </summary>
    private static async Task StreamAsync(HttpContext context, RequestPump pump)
    {
        var server = context.RequestServices.GetRequiredService<IOptions<ServerOptions>>().Value;
        var limits = context.RequestServices.GetRequiredService<KeyRateLimits>();
        var time = context.RequestServices.GetRequiredService<TimeProvider>();
        var keyName = ApiKeyAuthentication.KeyName(context.User) ?? "";
        using var slot = limits.OpenStream(keyName);
        if (slot is null)
        {
            context.Response.Headers.RetryAfter = "1";
            await Results.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many streams",
                detail: $"this key has {server.MaxStreamsPerKey} NDJSON streams open; end one or send the lines in an open one",
                type: "urn:riskengine:problem:streams").ExecuteAsync(context);
            return;
        }
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = null;
        // A pipeline may keep a stream open for events as they happen: the idle timeout below replaces Kestrel's
        // minimum data rate (240 B/s after 5 s), which would cut a quiet stream mid-answer.
        if (context.Features.Get<IHttpMinRequestBodyDataRateFeature>() is { } rate) rate.MinDataRate = null;
        var bucket = limits.For(keyName);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        var ct = stop.Token;
        // Armed only while the stream waits for its client's next line: a wait for tokens or the pump is not the client's silence.
        using var idle = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        using var readStop = CancellationTokenSource.CreateLinkedTokenSource(ct, idle.Token);
        var readCt = readStop.Token;
        var stream = new PumpSequence(); // a failed line abandons the stream: its later lines are not decided ahead of it
        var pending = Channel.CreateBounded<Task<PumpAnswer>>(new BoundedChannelOptions(Window) { SingleReader = true, SingleWriter = true });
        RiskEngine.Decisions.Rejection? cut = null; // why the stream was read no further, for the record after the last answer
        long cutLine = 0;
        var reading = Task.Run(async () =>
        {
            var reader = new JsonLinesReader(context.Request.Body, EventParser.MaxEventBytes);
            try
            {
                while (true)
                {
                    idle.CancelAfter(server.StreamIdleTimeout);
                    var read = await reader.ReadLineAsync(readCt);
                    idle.CancelAfter(Timeout.InfiniteTimeSpan);
                    if (read is not { } line) break;
                    if (line.Number > server.MaxStreamLines || line.EndOffset > server.MaxStreamBytes)
                    {
                        cutLine = line.Number;
                        cut = new RiskEngine.Decisions.Rejection(null, null, line.Number > server.MaxStreamLines
                            ? $"a stream may carry {server.MaxStreamLines} lines; this line and those after it were not read: send them in a new request"
                            : $"a stream may carry {server.MaxStreamBytes} bytes; this line and those after it were not read: send them in a new request");
                        break;
                    }
                    if (line.Number > 1) await bucket.WaitAsync(ct); // the request's own token paid for the first line
                    var copy = line with { Bytes = line.Bytes.ToArray() }; // the reader reuses its buffer
                    var answer = await pump.EnqueueAsync(copy, HttpEventSource.Read(pump, copy, context.User, out _), stream, ct);
                    await pending.Writer.WriteAsync(answer, ct);
                }
                pending.Writer.TryComplete();
            }
            catch (OperationCanceledException) when (idle.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                cutLine = reader.LineNumber + 1;
                cut = new RiskEngine.Decisions.Rejection(null, null,
                    $"no line arrived for {server.StreamIdleTimeout.TotalSeconds:0} s, so the stream was ended; send this line and those after it in a new request");
                pending.Writer.TryComplete();
            }
            catch (Exception e)
            {
                pending.Writer.TryComplete(e);
            }
        }, CancellationToken.None);

        var response = context.Response;
        var written = false;
        try
        {
            while (true)
            {
                try
                {
                    if (!await pending.Reader.WaitToReadAsync(ct)) break;
                }
                catch (Exception e) when (ServerResults.IsUnavailable(e, context) && !(e is OperationCanceledException && ct.IsCancellationRequested))
                {
                    // The pump closed its queue (the server is stopping) while lines were being read.
                    if (!written) await ServerResults.Unavailable(context, e).ExecuteAsync(context);
                    else context.Abort();
                    return;
                }
                while (pending.Reader.TryRead(out var next))
                {
                    PumpAnswer answer;
                    try
                    {
                        answer = await next;
                    }
                    catch (Exception e) when (ServerResults.IsUnavailable(e, context))
                    {
                        if (!written)
                        {
                            await ServerResults.Unavailable(context, e).ExecuteAsync(context);
                        }
                        else
                        {
                            context.Abort(); // lines answered so far are committed; the client retries the rest (duplicates are answered as such)
                        }
                        return;
                    }
                    if (!written)
                    {
                        response.StatusCode = StatusCodes.Status200OK;
                        response.ContentType = NdJson;
                        written = true;
                    }
                    foreach (var record in answer.Records)
                    {
                        await response.Body.WriteAsync(record, ct);
                        await response.Body.WriteAsync("\n"u8.ToArray(), ct);
                    }
                    if (!pending.Reader.TryPeek(out var after) || !after.IsCompleted) await response.Body.FlushAsync(ct);
                }
            }
            if (!written)
            {
                response.StatusCode = StatusCodes.Status200OK;
                response.ContentType = NdJson;
            }
            await reading; // completed: the channel is
            if (cut is not null)
            {
                var record = new System.Buffers.ArrayBufferWriter<byte>(256);
                RecordWriter.WriteRejected(record, cutLine, cut);
                await response.Body.WriteAsync(record.WrittenMemory, ct);
            }
        }
        finally
        {
            await stop.CancelAsync(); // the reader may wait on a full window after an early return
            await reading;
        }
    }
}

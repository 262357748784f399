using System.Text.Json;
using Microsoft.Extensions.Options;
using RiskEngine.Decisions;
using RiskEngine.Hosting;
using RiskEngine.State;

namespace RiskEngine.Server;

/// <summary>The answers every endpoint shares: a decision with its account events, a rejection, a store outage.</summary>
internal static class ServerResults
{
    /// <summary>
    /// <c>{"decision": …, "events": […]}</c> from the records the pump rendered: the decision record exactly as
    /// <c>riskengine replay</c> writes it, then the account events it caused.
    /// </summary>
    public static IResult Decision(PumpAnswer answer) => Results.Stream(async body =>
    {
        await body.WriteAsync("{\"decision\":"u8.ToArray());
        await body.WriteAsync(answer.Records[0]);
        await body.WriteAsync(",\"events\":["u8.ToArray());
        for (var i = 1; i < answer.Records.Count; i++)
        {
            if (i > 1) await body.WriteAsync(","u8.ToArray());
            await body.WriteAsync(answer.Records[i]);
        }
        await body.WriteAsync("]}"u8.ToArray());
    }, "application/json");

    /// <summary>422 problem for an event the contract rejects, with the offending top-level <c>field</c> (null when the body is not JSON).</summary>
    public static IResult Rejected(Rejection rejection) => Results.Problem(
        statusCode: StatusCodes.Status422UnprocessableEntity,
        title: "The event was rejected",
        detail: rejection.Error,
        type: "urn:riskengine:problem:rejected",
        extensions: new Dictionary<string, object?> { ["field"] = rejection.Field, ["event"] = rejection.EventId?.Value });

    /// <summary>422 problem for a request body field.</summary>
    public static IResult Invalid(string field, string detail) => Results.Problem(
        statusCode: StatusCodes.Status422UnprocessableEntity,
        title: "The request was not valid",
        detail: detail,
        type: "urn:riskengine:problem:invalid",
        extensions: new Dictionary<string, object?> { ["field"] = field });

    /// <summary>
    /// 503 with Retry-After: the store cannot be reached, or the request pump stopped (the server is shutting down or
    /// failed) before the request was decided; nothing was decided (never the fail-closed answer).
    /// </summary>
    public static IResult Unavailable(HttpContext context, Exception e)
    {
        var seconds = context.RequestServices.GetRequiredService<IOptions<ServerOptions>>().Value.OutageRetryAfterSeconds;
        context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return e is StateStoreUnavailableException
            ? Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "The state store cannot be reached",
                detail: $"nothing was decided or changed ({e.Message}); retry the same request", type: "urn:riskengine:problem:unavailable")
            : Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "The server is stopping",
                detail: "nothing was decided or changed; retry the same request", type: "urn:riskengine:problem:unavailable");
    }

    /// <summary>
    /// A 503 answer (<see cref="Unavailable"/>): a store outage, or a request the pump never took (its queue was
    /// closed or cancelled as it stopped), not the caller going away.
    /// </summary>
    public static bool IsUnavailable(Exception e, HttpContext context) =>
        e is StateStoreUnavailableException or System.Threading.Channels.ChannelClosedException
        || (e is OperationCanceledException && !context.RequestAborted.IsCancellationRequested);

    /// <summary>Runs a handler, answering a store outage or a stopped pump with <see cref="Unavailable"/>.</summary>
    public static async Task<IResult> GuardAsync(HttpContext context, Func<Task<IResult>> handler)
    {
        try
        {
            return await handler();
        }
        catch (Exception e) when (IsUnavailable(e, context))
        {
            return Unavailable(context, e);
        }
    }

    /// <summary>
    /// The largest request body Kestrel reads (1 MiB): a single event is at most <see cref="RiskEngine.Events.EventParser.MaxEventBytes"/>
    /// and the other JSON bodies are smaller still. The NDJSON stream of <c>POST /v1/events</c> lifts it per request.
    /// </summary>
    public const long MaxBodyBytes = 1 << 20;

    /// <summary>
    /// Middleware: a body over the request's limit (Kestrel throws when it is read) is a 413 problem, not a 500 or an
    /// empty answer.
    /// </summary>
    public static async Task TooLargeAsProblemAsync(HttpContext context, RequestDelegate next)
    {
        try
        {
            await next(context);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge && !context.Response.HasStarted)
        {
            context.Response.Clear();
            context.Response.Headers.Connection = "close"; // the rest of the body is not read
            await Results.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "The request body is too large",
                detail: $"a JSON body may be at most {MaxBodyBytes} bytes; send streams of events as application/x-ndjson",
                type: "urn:riskengine:problem:toolarge").ExecuteAsync(context);
        }
    }

    /// <summary>Reads a small JSON object body; a 422 naming the field when it is not one.</summary>
    public static async Task<(JsonElement Body, IResult? Problem)> ReadObjectAsync(HttpRequest request, bool optional = false)
    {
        try
        {
            if (optional && request.ContentLength is 0) return (default, null);
            using var doc = await JsonDocument.ParseAsync(request.Body, cancellationToken: request.HttpContext.RequestAborted);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) return (default, Invalid("body", "the body must be a JSON object"));
            return (doc.RootElement.Clone(), null);
        }
        catch (JsonException e)
        {
            if (optional && request.ContentLength is null) return (default, null);
            return (default, Invalid("body", $"the body is not JSON: {e.Message}"));
        }
    }

    /// <summary>A required non-empty string member, or a 422 naming it.</summary>
    public static string? RequiredString(JsonElement body, string name, out IResult? problem)
    {
        if (body.ValueKind == JsonValueKind.Object && body.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && v.GetString() is { } s && !string.IsNullOrWhiteSpace(s))
        {
            if (s.Any(c => char.IsControl(c) || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format))
            {
                problem = Invalid(name, $"'{name}' must not contain control or format characters");
                return null;
            }
            problem = null;
            return s;
        }
        problem = Invalid(name, $"'{name}' is required: a non-empty string");
        return null;
    }

    /// <summary>An optional string member.</summary>
    public static string? OptionalString(JsonElement body, string name) =>
        body.ValueKind == JsonValueKind.Object && body.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}

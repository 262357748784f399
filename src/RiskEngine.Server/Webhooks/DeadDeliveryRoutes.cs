using System.ComponentModel;
using Microsoft.Extensions.Options;
using RiskEngine.Server.Auth;
using RiskEngine.Server.Operations;
using RiskEngine.State;

namespace RiskEngine.Server.Webhooks;

/// <summary>One dead webhook delivery as the API shows it: the endpoint's name, never its URL, secret or the body.</summary>
internal sealed record DeadDeliveryResponse(
    long Id,
    [property: Description("The endpoint's configured name")] string Endpoint,
    [property: Description("The delivery's webhook-id (the same when replayed: receivers de-duplicate by it)")] string DeliveryId,
    [property: Description("account.frozen or account.unfrozen")] string Type,
    [property: Description("The outbox record's sequence number")] long Sequence,
    int Attempts,
    [property: Description("HTTP status of the last attempt (null: no answer)")] int? LastStatus,
    [property: Description("What the last attempt came to: HTTP 400, a timeout, a socket error")] string? LastError,
    DateTimeOffset FirstAttempt,
    DateTimeOffset LastAttempt,
    [property: Description("dead, queued (replay asked for) or delivered (by a replay)")] string State)
{
    public static DeadDeliveryResponse From(DeadDelivery d) => new(d.Id, d.Endpoint, d.DeliveryId, d.Type, d.Sequence, d.Attempts, d.LastStatus, d.LastError,
        d.FirstAttempt, d.LastAttempt, d.State switch { DeadDeliveryState.Queued => "queued", DeadDeliveryState.Delivered => "delivered", _ => "dead" });
}

/// <summary>Support's view of the webhook dead letters (role <c>support</c>): list them, replay one.</summary>
internal static class DeadDeliveryRoutes
{
    public static IEndpointRouteBuilder MapDeadDeliveryRoutes(this IEndpointRouteBuilder app)
    {
        const string tag = "Webhooks";
        app.MapGet("/v1/webhooks/dead", ListAsync)
            .RequireRole(Roles.Support)
            .Describe("ListDeadWebhooks", tag, "Webhook deliveries given up on",
                "Oldest first: deliveries that failed `MaxAttempts` times, were still failing `MaxAge` after their first attempt, or were refused " +
                "with a 4xx (not 408/429) `PermanentFailureAttempts` times; with replays asked for and done. Page with `after` (the last id seen) " +
                "and `limit` 1–1000, default 100. Shows the endpoint's name, never its URL or secret.")
            .Produces<DeadDeliveryResponse[]>(StatusCodes.Status200OK, "application/json")
            .ProducesFieldProblem()
            .ProducesOutage();
        app.MapPost("/v1/webhooks/dead/{id}/replay", ReplayAsync)
            .RequireRole(Roles.Support)
            .Describe("ReplayDeadWebhook", tag, "Send a dead webhook delivery again",
                "Queues the delivery for its endpoint, with its original `webhook-id`, ahead of the endpoint's next outbox record; " +
                "202 with the entry (`queued`). Idempotent: an entry already queued or delivered is left as it is (202 `queued`, 200 `delivered`). " +
                "404 for an unknown id; 409 when its endpoint is no longer configured.")
            .Produces<DeadDeliveryResponse>(StatusCodes.Status202Accepted, "application/json")
            .Produces<DeadDeliveryResponse>(StatusCodes.Status200OK, "application/json")
            .ProducesProblem(StatusCodes.Status404NotFound, EndpointDocs.ProblemJson)
            .ProducesProblem(StatusCodes.Status409Conflict, EndpointDocs.ProblemJson)
            .ProducesFieldProblem()
            .ProducesOutage();
        return app;
    }

    private static Task<IResult> ListAsync(HttpContext context, long? after, int? limit, IDeadDeliveryStore dead, CancellationToken ct) =>
        ServerResults.GuardAsync(context, async () =>
        {
            var max = limit ?? 100;
            if (max is < 1 or > 1000) return ServerResults.Invalid("limit", $"limit must be 1–1000, not {max}");
            var entries = await dead.ListAsync(after ?? 0, max, ct);
            return Results.Json(entries.Select(DeadDeliveryResponse.From).ToArray());
        });

    private static Task<IResult> ReplayAsync(HttpContext context, string id, IDeadDeliveryStore dead, WebhookDispatcher dispatcher, IOptions<WebhookOptions> options, CancellationToken ct) =>
        ServerResults.GuardAsync(context, async () =>
        {
            if (!long.TryParse(id, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) || n < 1)
                return ServerResults.Invalid("id", "id must be a dead delivery's id (a positive number)");
            var entry = (await dead.ListAsync(n - 1, 1, ct)) is [var found] && found.Id == n ? found : null;
            if (entry is null) return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown dead delivery", detail: $"no dead webhook delivery {n}");
            if (!options.Value.Endpoints.Any(e => e.Name == entry.Endpoint))
                return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Endpoint not configured", detail: $"webhook endpoint {entry.Endpoint} is no longer configured");
            entry = await dispatcher.ReplayAsync(n, ct) ?? entry;
            var body = DeadDeliveryResponse.From(entry);
            return entry.State == DeadDeliveryState.Delivered ? Results.Json(body) : Results.Json(body, statusCode: StatusCodes.Status202Accepted);
        });
}

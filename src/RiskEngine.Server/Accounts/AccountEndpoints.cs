using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using RiskEngine.Events;
using RiskEngine.Hosting;
using RiskEngine.Pipeline;
using RiskEngine.Policies;
using RiskEngine.Server.Auth;
using RiskEngine.Server.Decisions;
using RiskEngine.Server.Operations;
using RiskEngine.State;

namespace RiskEngine.Server.Accounts;

/// <summary>
/// The support API (role <c>support</c>): an account's status, its history, and lifting a freeze through the request
/// pump as a contract <c>unfreeze</c> event (journaled, <c>account.unfrozen</c> in the output as the engine emits it).
/// </summary>
internal static class AccountEndpoints
{
    public static IEndpointRouteBuilder MapAccountEndpoints(this IEndpointRouteBuilder app)
    {
        const string tag = "Accounts";
        var accounts = app.MapGroup("/v1/accounts/{id}");
        accounts.MapGet("", StatusAsync)
            .RequireRole(Roles.Support)
            .Describe("GetAccount", tag, "An account's status",
                "Frozen or not, the freeze reason and its case (what happened, amount, when, which rule), self-service and cool-down, " +
                "a login lockout, whether a TOTP factor is enrolled, the arranged limits in force and the support log (each entry's `by` as " +
                "sent and `key`, the name of the API key that made the request). 404 when the " +
                "account has no state and no decisions.")
            .Produces<AccountStatusResponse>(StatusCodes.Status200OK, "application/json")
            .ProducesProblem(StatusCodes.Status404NotFound, EndpointDocs.ProblemJson)
            .ProducesFieldProblem()
            .ProducesOutage();
        accounts.MapGet("/history", HistoryAsync)
            .RequireRole(Roles.Support)
            .Describe("GetAccountHistory", tag, "An account's recent decisions",
                "Newest first, each as `riskengine account history` prints it (the decision record with the account events it caused); " +
                "`limit` 1–1000, default 50.")
            .Produces<HistoryLine[]>(StatusCodes.Status200OK, "application/json")
            .ProducesFieldProblem()
            .ProducesOutage();
        accounts.MapPost("/unfreeze", UnfreezeAsync)
            .RequireRole(Roles.Support)
            .Describe("UnfreezeAccount", tag, "Lift a freeze (support)",
                "Submits a contract `unfreeze` event by `by` for `reason` through the request pump: journaled, recorded in the support " +
                "log with this API key's name, and `account.unfrozen` reaches the output and webhooks. The answer is the decision and its account events.")
            .AcceptsBody<SupportActionRequest>()
            .Produces<DecisionResponse>(StatusCodes.Status200OK, "application/json")
            .ProducesFieldProblem()
            .ProducesOutage();
        accounts.MapPost("/freeze", FreezeAsync)
            .RequireRole(Roles.Support)
            .Describe("FreezeAccount", tag, "Place a support hold",
                "Freezes the account with reason `support.hold` (support-only: no self-service unfreeze, no cool-down); the freeze, its " +
                "support log entry (with this API key's name) and `account.frozen` commit together. 409 when the account is already frozen.")
            .AcceptsBody<SupportActionRequest>()
            .Produces<FreezeResponse>(StatusCodes.Status200OK, "application/json")
            .ProducesProblem(StatusCodes.Status409Conflict, EndpointDocs.ProblemJson)
            .ProducesFieldProblem()
            .ProducesOutage();
        return app;
    }

    private static Task<IResult> StatusAsync(string id, HttpContext context, IRiskEngine engine, IRiskStateStore store, TimeProvider time, CancellationToken ct) =>
        ServerResults.GuardAsync(context, () => StatusCoreAsync(id, context, engine, store, time, ct));

    private static async Task<IResult> StatusCoreAsync(string id, HttpContext context, IRiskEngine engine, IRiskStateStore store, TimeProvider time, CancellationToken ct)
    {
        if (!AccountRoute.TryGet(context, id, out var account, out var problem)) return problem;
        var snapshot = await store.LoadAccountAsync(account, ct);
        if (snapshot.Version == 0) return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown account", detail: $"account {account} has no state and no decisions");
        var s = await engine.GetAccountStatusAsync(account, ct);
        var now = time.GetUtcNow();
        var freeze = snapshot.State.Freeze;
        // The rule that froze the account: the hit with the freeze's reason in the causing event's decision, while the
        // store still keeps it (its idempotency window); none for a support hold.
        string? rule = null;
        if (freeze is not null && Domain.EventId.TryCreate(freeze.Event, out var cause, out _)
            && await store.FindDecisionAsync(account, cause, ct) is { } stored)
        {
            rule = stored.Decision.Reasons.FirstOrDefault(r => r.Code == freeze.Reason)?.Rule;
        }
        return Results.Json(new
        {
            account = s.Account.Value,
            frozen = s.Frozen,
            reason = s.FreezeReason,
            reasonText = s.FreezeReason is { } code ? ReasonText(engine.Policy.Messages, code) : null,
            frozenAt = Time(s.FrozenAt),
            selfService = s.SelfService,
            unfreezesAt = Time(s.UnfreezesAt),
            @case = freeze is null ? null : new
            {
                @event = freeze.Event,
                type = freeze.EventType,
                amount = freeze.Amount,
                currency = freeze.Currency,
                country = freeze.Country,
                at = Time(freeze.At),
                reason = freeze.Reason,
                rule,
            },
            lockedUntil = Time(s.LockedUntil),
            totpEnrolled = s.TotpEnrolled,
            limits = snapshot.State.Limits.Where(l => l.Value.Until > now).OrderBy(l => l.Key, StringComparer.Ordinal)
                .Select(l => new { currency = l.Key, amount = l.Value.Amount, from = Time(l.Value.From), until = Time(l.Value.Until) }),
            supportLog = s.SupportLog.Select(a => new { at = Time(a.At), by = a.By, action = a.Action, reason = a.Reason, key = a.Key }),
        });
    }

    /// <summary>
    /// A reason code in words, per language (the policy's languages and the engine's own): the policy's message for the
    /// code, else the engine's wording, else the policy's default language, else the code itself — as the
    /// <c>{reason}</c> of an <c>account.frozen</c> message is worded.
    /// </summary>
    internal static Dictionary<string, string> ReasonText(MessageCatalog messages, string code)
    {
        var text = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var language in messages.Languages.Concat(BuiltInWording.Languages))
        {
            text.TryAdd(language, messages.Find(language, code) ?? BuiltInWording.Find(language, code)
                ?? messages.Find(messages.DefaultLanguage, code) ?? BuiltInWording.Find("en", code) ?? code);
        }
        return text;
    }

    private static string? Time(DateTimeOffset? t) => t is { } v ? RecordWriter.FormatTime(v) : null;

    /// <summary>Recent decisions, newest first, each as <c>riskengine account history</c> prints it: a JSON array of those lines.</summary>
    private static Task<IResult> HistoryAsync(string id, HttpContext context, int? limit, IRiskStateStore store, CancellationToken ct) =>
        ServerResults.GuardAsync(context, () => HistoryCoreAsync(id, context, limit, store, ct));

    private static async Task<IResult> HistoryCoreAsync(string id, HttpContext context, int? limit, IRiskStateStore store, CancellationToken ct)
    {
        if (!AccountRoute.TryGet(context, id, out var account, out var problem)) return problem;
        var max = limit ?? 50;
        if (max is < 1 or > 1000) return ServerResults.Invalid("limit", $"limit must be 1–1000, not {max}");
        IReadOnlyList<RiskEngine.Decisions.Decision> decisions = store switch
        {
            Sqlite.SqliteRiskStateStore sqlite => await sqlite.HistoryAsync(account, max, ct),
            Redis.RedisRiskStateStore redis => await redis.HistoryAsync(account, max),
            _ => [],
        };
        var buffer = new ArrayBufferWriter<byte>();
        buffer.Write("["u8);
        for (var i = 0; i < decisions.Count; i++)
        {
            if (i > 0) buffer.Write(","u8);
            var line = new ArrayBufferWriter<byte>();
            RecordWriter.WriteHistoryLine(line, decisions[i]);
            buffer.Write(line.WrittenSpan[..^1]); // without its line break
        }
        buffer.Write("]"u8);
        return Results.Bytes(buffer.WrittenMemory.ToArray(), "application/json");
    }

    private static async Task<IResult> UnfreezeAsync(string id, HttpContext context, RequestPump pump, TimeProvider time)
    {
        if (!AccountRoute.TryGet(context, id, out var account, out var problem)) return problem;
        var (body, bad) = await ServerResults.ReadObjectAsync(context.Request);
        if (bad is not null) return bad;
        var by = ServerResults.RequiredString(body, "by", out bad);
        if (bad is not null) return bad;
        var reason = ServerResults.RequiredString(body, "reason", out bad);
        if (bad is not null) return bad;
        var now = time.GetUtcNow();
        var json = JsonSerializer.Serialize(new
        {
            type = "unfreeze",
            id = SupportEventId(now),
            at = RecordWriter.FormatTime(now),
            account = account.Value,
            by,
            reason,
        });
        var bytes = Encoding.UTF8.GetBytes(json);
        var line = new JsonLine(1, bytes, 0);
        try
        {
            // Read at the source, as POST /v1/events does: the event carries the authenticated key's name into the support log.
            var answer = await pump.SubmitAsync(line, HttpEventSource.Read(pump, line, context.User, out _), context.RequestAborted);
            var result = answer.Result!.Value;
            return result.Decision is not null ? ServerResults.Decision(answer) : ServerResults.Rejected(result.Rejection!);
        }
        catch (Exception e) when (ServerResults.IsUnavailable(e, context))
        {
            return ServerResults.Unavailable(context, e);
        }
    }

    /// <summary>
    /// A support hold (<see cref="IRiskEngine.HoldAsync"/>) through the request pump: the freeze, its support log entry
    /// and the <c>account.frozen</c> event commit together and the event reaches the output. 409 when already frozen.
    /// </summary>
    private static async Task<IResult> FreezeAsync(string id, HttpContext context, RequestPump pump)
    {
        if (!AccountRoute.TryGet(context, id, out var account, out var problem)) return problem;
        var (body, bad) = await ServerResults.ReadObjectAsync(context.Request);
        if (bad is not null) return bad;
        var by = ServerResults.RequiredString(body, "by", out bad);
        if (bad is not null) return bad;
        if (by!.Length > 128) return ServerResults.Invalid("by", "'by' must be at most 128 characters");
        var reason = ServerResults.RequiredString(body, "reason", out bad);
        if (bad is not null) return bad;
        if (reason!.Length > 512) return ServerResults.Invalid("reason", "'reason' must be at most 512 characters");
        var key = ApiKeyAuthentication.KeyName(context.User);
        PumpAnswer answer;
        try
        {
            answer = await pump.SubmitAsync(async (batch, records, ct) =>
            {
                var frozen = await batch.HoldAsync(new SupportHold(account, by, reason) { Key = key }, ct);
                if (frozen is not null) RecordWriter.WriteAccountEvent(records, frozen);
                return frozen;
            }, context.RequestAborted);
        }
        catch (Exception e) when (ServerResults.IsUnavailable(e, context))
        {
            return ServerResults.Unavailable(context, e);
        }
        if (answer.Value is null)
            return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Already frozen",
                detail: $"account {account} is already frozen; nothing was changed", type: "urn:riskengine:problem:account.frozen");
        return Results.Json(new { frozen = true, events = answer.Records.Select(r => JsonDocument.Parse(r).RootElement) });
    }

    /// <summary>An event id for a support action, as the CLI makes them: <c>support:MILLIS:RANDOM</c>.</summary>
    public static string SupportEventId(DateTimeOffset now) =>
        "support:" + now.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture) + ":" + Guid.NewGuid().ToString("N")[..8];
}

using System.Buffers;
using System.Security.Cryptography;
using QRCoder;
using RiskEngine.Domain;
using RiskEngine.Hosting;
using RiskEngine.Pipeline;
using RiskEngine.Server.Accounts;
using RiskEngine.Server.Auth;
using RiskEngine.Server.Operations;
using RiskEngine.State;
using RiskEngine.TwoFactor;

namespace RiskEngine.Server.TwoFactor;

/// <summary>
/// TOTP (RFC 6238) for the payment platform on the user's behalf (role <c>decide</c>): enrol (otpauth URI, QR code as
/// SVG, recovery codes: shown once), confirm, verify (a TOTP or recovery code; with <c>totp.stepUp: "verified"</c> an
/// accepted code is what a later <c>authenticated: "totp"</c> attempt needs); and support's reset of a lost factor
/// (role <c>support</c>). Account events a check or reset causes (the factor's enrolment on confirmation, its reset, a
/// freeze after too many wrong codes, a self-service unfreeze) are journaled and published through the request pump.
/// Codes and secrets are never logged.
/// </summary>
internal static class TwoFactorEndpoints
{
    public static IEndpointRouteBuilder MapTwoFactorEndpoints(this IEndpointRouteBuilder app)
    {
        const string tag = "Two-factor";
        var totp = app.MapGroup("/v1/accounts/{id}/totp");
        totp.MapPost("/enroll", EnrollAsync)
            .RequireRole(Roles.Decide)
            .Describe("EnrollTotp", tag, "Enrol a TOTP factor",
                "Starts an enrolment: the otpauth URI, the secret, the URI as an SVG QR code and the recovery codes, shown this once " +
                "(`Cache-Control: no-store`). The factor counts once confirmed. 409 when a confirmed factor exists (support resets it).")
            .AcceptsBody<TotpEnrollRequest>(optional: true)
            .Produces<TotpEnrollmentResponse>(StatusCodes.Status200OK, "application/json")
            .ProducesProblem(StatusCodes.Status409Conflict, EndpointDocs.ProblemJson)
            .ProducesFieldProblem()
            .ProducesOutage();
        totp.MapPost("/confirm", (string id, HttpContext c, ITwoFactorService s, RequestPump p) => CheckAsync(id, c, s, p, confirming: true))
            .RequireRole(Roles.Decide)
            .Describe("ConfirmTotp", tag, "Confirm an enrolment with a first code",
                "`accepted` with a reason code; account events the check caused (`account.factor_enrolled` when accepted, a freeze after too many " +
                "wrong codes) are journaled and published.")
            .AcceptsBody<TotpCodeRequest>()
            .Produces<TotpCheckResponse>(StatusCodes.Status200OK, "application/json")
            .ProducesFieldProblem()
            .ProducesOutage();
        totp.MapPost("/verify", (string id, HttpContext c, ITwoFactorService s, RequestPump p) => CheckAsync(id, c, s, p, confirming: false))
            .RequireRole(Roles.Decide)
            .Describe("VerifyTotp", tag, "Verify a TOTP or recovery code",
                "With the policy's `totp.stepUp: \"verified\"` an accepted code is what a later `authenticated: \"totp\"` attempt needs. " +
                "Account events the check caused (a self-service unfreeze, a freeze after too many wrong codes) are journaled and published.")
            .AcceptsBody<TotpCodeRequest>()
            .Produces<TotpCheckResponse>(StatusCodes.Status200OK, "application/json")
            .ProducesFieldProblem()
            .ProducesOutage();
        totp.MapPost("/reset", ResetAsync)
            .RequireRole(Roles.Support)
            .Describe("ResetTotp", tag, "Reset a lost factor (support)",
                "Removes the account's TOTP factor, recorded with `by`, `reason` and this API key's name in the support log; the " +
                "`account.factor_reset` event it causes is journaled and published (output, webhooks) and returned. 404 when it has none.")
            .AcceptsBody<SupportActionRequest>()
            .Produces<TotpResetResponse>(StatusCodes.Status200OK, "application/json")
            .ProducesProblem(StatusCodes.Status404NotFound, EndpointDocs.ProblemJson)
            .ProducesFieldProblem()
            .ProducesOutage();
        return app;
    }

    /// <summary>The longest <c>issuer</c> an enrolment takes.</summary>
    private const int MaxIssuerLength = 64;

    private static async Task<IResult> EnrollAsync(string id, HttpContext context, ITwoFactorService service)
    {
        if (!AccountRoute.TryGet(context, id, out var account, out var problem)) return problem;
        var (body, bad) = await ServerResults.ReadObjectAsync(context.Request, optional: true);
        if (bad is not null) return bad;
        var issuer = ServerResults.OptionalString(body, "issuer");
        // Checked before anything is stored: the issuer is the otpauth label's prefix (no ':') and must fit a QR code.
        if (issuer is { Length: > 0 })
        {
            if (string.IsNullOrWhiteSpace(issuer)) return ServerResults.Invalid("issuer", "'issuer' must not be blank");
            if (issuer.Length > MaxIssuerLength) return ServerResults.Invalid("issuer", $"'issuer' must be at most {MaxIssuerLength} characters");
            if (issuer.Contains(':', StringComparison.Ordinal)) return ServerResults.Invalid("issuer", "'issuer' must not contain ':'");
            if (issuer.Any(c => char.IsControl(c) || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format))
                return ServerResults.Invalid("issuer", "'issuer' must not contain control or format characters");
        }
        return await Guard(context, async () =>
        {
            var result = issuer is { Length: > 0 }
                ? await service.EnrollAsync(account, issuer, context.RequestAborted)
                : await service.EnrollAsync(account, context.RequestAborted);
            if (result.Enrollment is not { } enrollment)
                return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Already enrolled",
                    detail: $"account {account} already has a confirmed factor; support must reset it first", type: "urn:riskengine:problem:totp.alreadyenrolled");
            using var generator = new QRCodeGenerator();
            using var qr = generator.CreateQrCode(enrollment.Uri, QRCodeGenerator.ECCLevel.M);
            var svg = new SvgQRCode(qr).GetGraphic(8);
            context.Response.Headers.CacheControl = "no-store"; // the secret and recovery codes are shown once
            return Results.Json(new
            {
                account = account.Value,
                uri = enrollment.Uri,
                secret = enrollment.Secret,
                qrSvg = svg,
                recoveryCodes = enrollment.RecoveryCodes,
            });
        });
    }

    /// <summary>Confirm or verify: <c>{"code"}</c> → <c>{"accepted", "reason", "events"}</c>; the events also reach the output.</summary>
    private static async Task<IResult> CheckAsync(string id, HttpContext context, ITwoFactorService service, RequestPump pump, bool confirming)
    {
        if (!AccountRoute.TryGet(context, id, out var account, out var problem)) return problem;
        var (body, bad) = await ServerResults.ReadObjectAsync(context.Request);
        if (bad is not null) return bad;
        var code = ServerResults.RequiredString(body, "code", out bad);
        if (bad is not null) return bad;
        return await Guard(context, async () =>
        {
            // The check runs inside the request pump's batch: the accepted step or failure, the freeze or unfreeze it
            // causes and the account event records (output, webhooks) commit in one transaction.
            var answer = await pump.SubmitAsync(async (batch, buffer, ct) =>
            {
                var verification = await batch.CheckTotpAsync(service, account, code!, confirming, ct);
                foreach (var e in verification.Events) RecordWriter.WriteAccountEvent(buffer, e);
                return verification;
            }, CancellationToken.None);
            var result = (TotpVerification)answer.Value!;
            return Results.Json(new
            {
                accepted = result.Succeeded,
                reason = result.ReasonCode,
                events = answer.Records.Select(r => System.Text.Json.JsonDocument.Parse(r).RootElement),
            });
        });
    }

    private static async Task<IResult> ResetAsync(string id, HttpContext context, ITwoFactorService service, RequestPump pump)
    {
        if (!AccountRoute.TryGet(context, id, out var account, out var problem)) return problem;
        var (body, bad) = await ServerResults.ReadObjectAsync(context.Request);
        if (bad is not null) return bad;
        var by = ServerResults.RequiredString(body, "by", out bad);
        if (bad is not null) return bad;
        var reason = ServerResults.RequiredString(body, "reason", out bad);
        if (bad is not null) return bad;
        var key = ApiKeyAuthentication.KeyName(context.User);
        return await Guard(context, async () =>
        {
            // Through the request pump, like a check: the reset, its support log entry and the account.factor_reset
            // records (output, webhooks) commit in one transaction.
            PumpAnswer answer;
            try
            {
                answer = await pump.SubmitAsync(async (batch, buffer, ct) =>
                {
                    var reset = await batch.ResetTotpAsync(service, account, by!, reason!, key, ct);
                    foreach (var e in reset.Events) RecordWriter.WriteAccountEvent(buffer, e);
                    return reset;
                }, CancellationToken.None);
            }
            catch (ArgumentException e) when (e.ParamName is "by" or "reason")
            {
                // The service's own limits (an identifier of at most 128 for by, at most 512 for reason): the caller's field, not a server fault.
                return ServerResults.Invalid(e.ParamName, e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal));
            }
            return ((TotpResetResult)answer.Value!).Status == TotpStatus.NotEnrolled
                ? Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No factor", detail: $"account {account} has no TOTP factor to reset")
                : Results.Json(new
                {
                    account = account.Value,
                    reset = true,
                    events = answer.Records.Select(r => System.Text.Json.JsonDocument.Parse(r).RootElement),
                });
        });
    }

    /// <summary>A store outage is 503 with Retry-After; a secret the key ring cannot decrypt is a server fault (500), logged without the secret.</summary>
    private static async Task<IResult> Guard(HttpContext context, Func<Task<IResult>> action)
    {
        try
        {
            return await action();
        }
        catch (Exception e) when (ServerResults.IsUnavailable(e, context))
        {
            return ServerResults.Unavailable(context, e);
        }
        catch (CryptographicException)
        {
            return Results.Problem(statusCode: StatusCodes.Status500InternalServerError, title: "The key ring cannot decrypt this account's TOTP secret",
                detail: "the server runs with another key ring than the one the secret was encrypted with (--keys-dir)");
        }
    }
}

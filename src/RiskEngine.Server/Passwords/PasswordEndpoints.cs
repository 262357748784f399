using System.Globalization;
using RiskEngine.Passwords;
using RiskEngine.Server.Accounts;
using RiskEngine.Server.Auth;
using RiskEngine.Server.Operations;

namespace RiskEngine.Server.Passwords;

/// <summary>
/// <c>POST /v1/accounts/{id}/password-check</c> (role <c>decide</c>): <c>{"password", "email"?, "name"?, "birthDate"?}</c> →
/// the policy's verdict. The candidate is never logged, stored or echoed.
/// </summary>
internal static class PasswordEndpoints
{
    /// <summary>Longest candidate, e-mail or name accepted: a password manager's longest passphrases fit; a body meant to burn CPU does not.</summary>
    internal const int MaxLength = 256;

    public static IEndpointRouteBuilder MapPasswordEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/accounts/{id}/password-check", CheckAsync)
            .RequireRole(Roles.Decide)
            .Describe("CheckPassword", "Passwords", "Check a candidate password against the policy",
                "The policy's verdict: allowed, a strength score 0–4, the findings with advice, and the advisory rotation age. The " +
                "candidate is never logged, stored or echoed.")
            .AcceptsBody<PasswordCheckRequest>()
            .Produces<PasswordVerdictResponse>(StatusCodes.Status200OK, "application/json")
            .ProducesFieldProblem();
        return app;
    }

    private static async Task<IResult> CheckAsync(string id, HttpContext context, IPasswordChecker checker)
    {
        if (!AccountRoute.TryGet(context, id, out var account, out var problem)) return problem;
        var (body, bad) = await ServerResults.ReadObjectAsync(context.Request);
        if (bad is not null) return bad;
        var candidate = body.TryGetProperty("password", out var p) && p.ValueKind == System.Text.Json.JsonValueKind.String ? p.GetString() : null;
        if (string.IsNullOrEmpty(candidate)) return ServerResults.Invalid("password", "'password' is required: the candidate password");
        if (candidate.Length > MaxLength) return ServerResults.Invalid("password", $"'password' is longer than {MaxLength} characters");
        foreach (var field in new[] { "email", "name" })
        {
            if (ServerResults.OptionalString(body, field) is { Length: > MaxLength })
                return ServerResults.Invalid(field, $"'{field}' is longer than {MaxLength} characters");
        }
        DateOnly? birth = null;
        if (ServerResults.OptionalString(body, "birthDate") is { } b)
        {
            if (!DateOnly.TryParseExact(b, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d))
                return ServerResults.Invalid("birthDate", "'birthDate' must be a date as YYYY-MM-DD");
            birth = d;
        }
        var verdict = checker.Check(candidate, new PasswordContext
        {
            Account = account,
            Email = ServerResults.OptionalString(body, "email"),
            Name = ServerResults.OptionalString(body, "name"),
            BirthDate = birth,
        });
        return Results.Json(new
        {
            allowed = verdict.Allowed,
            score = verdict.Score,
            reasons = verdict.Findings.Select(f => new { code = f.Code, advice = f.Advice }),
            rotateAfterDays = verdict.RotateAfter?.TotalDays,
        });
    }
}

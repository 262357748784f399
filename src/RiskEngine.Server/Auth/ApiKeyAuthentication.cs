using System.Security.Claims;
using System.Text.Encodings.Web;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace RiskEngine.Server.Auth;

/// <summary>
/// <c>Authorization: Bearer KEY</c> against <see cref="ApiKeyStore"/>: a missing or unknown key is 401 with
/// <c>WWW-Authenticate: Bearer</c>, a key without the endpoint's role 403. Each key is rate limited by its name (a
/// token bucket of <see cref="ServerOptions.PermitsPerSecond"/>, <see cref="KeyRateLimits"/>): 429 with
/// <c>Retry-After</c>; an NDJSON stream spends one token per line and waits for them. Keys and the
/// Authorization header are never logged.
/// </summary>
internal static class ApiKeyAuthentication
{
    public const string Scheme = "Bearer";

    /// <summary>
    /// The configured name of the API key that authenticated <paramref name="user"/> (its <see cref="ClaimTypes.Name"/>),
    /// what support actions record beside the agent the caller claims; null when not authenticated. Never the key.
    /// </summary>
    public static string? KeyName(ClaimsPrincipal user) => user.Identity is { IsAuthenticated: true, Name: { Length: > 0 } name } ? name : null;

    public static IServiceCollection AddApiKeyAuthentication(this IServiceCollection services, ApiKeyStore keys, ServerOptions options)
    {
        services.AddSingleton(keys);
        services.AddAuthentication(Scheme).AddScheme<AuthenticationSchemeOptions, ApiKeyHandler>(Scheme, null);
        var authorization = services.AddAuthorizationBuilder();
        foreach (var role in Roles.All) authorization.AddPolicy(role, p => p.AddAuthenticationSchemes(Scheme).RequireRole(role));
        authorization.AddPolicy(Roles.Events, p => p.AddAuthenticationSchemes(Scheme).RequireRole(Roles.Decide, Roles.Support));
        services.AddSingleton(sp => new KeyRateLimits(options, sp.GetRequiredService<TimeProvider>()));
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<KeyRateLimits>((o, limits) =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
                context.User.Identity is { IsAuthenticated: true, Name: { } name }
                    ? RateLimitPartition.Get(name, limits.For)
                    : RateLimitPartition.GetNoLimiter("")); // unauthenticated requests get 401 from authorization
            o.OnRejected = async (context, ct) =>
            {
                var seconds = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retry) ? Math.Max(1, (int)Math.Ceiling(retry.TotalSeconds)) : 1;
                context.HttpContext.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                await Results.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many requests",
                    detail: $"this key may make {limits.PermitsPerSecond} requests (or stream {limits.PermitsPerSecond} lines) per second; retry after {seconds} s").ExecuteAsync(context.HttpContext);
            };
        });
        return services;
    }
}

/// <summary>Authenticates a bearer API key; the principal is named after the key and holds its roles (admin: all of them).</summary>
internal sealed class ApiKeyHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeyStore keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header)) return Task.FromResult(AuthenticateResult.NoResult());
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return Task.FromResult(AuthenticateResult.Fail("not a bearer key"));
        var key = keys.Find(header["Bearer ".Length..].Trim());
        if (key is null) return Task.FromResult(AuthenticateResult.Fail("unknown API key")); // never the key itself
        var roles = key.Roles.Contains(Roles.Admin) ? Roles.All : key.Roles;
        var claims = new List<Claim> { new(ClaimTypes.Name, key.Name) };
        claims.AddRange(roles.Select(r => new Claim(ClaimTypes.Role, r)));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, Scheme.Name));
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name)));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = Request.Headers.Authorization.Count > 0 ? "Bearer error=\"invalid_token\"" : "Bearer";
        await Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized",
            detail: "send an API key: Authorization: Bearer KEY").ExecuteAsync(Context);
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        await Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden",
            detail: "this API key does not hold the role this endpoint needs").ExecuteAsync(Context);
}

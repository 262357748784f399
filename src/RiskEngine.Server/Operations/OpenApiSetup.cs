using Microsoft.AspNetCore.Authorization;
using Microsoft.OpenApi;
using RiskEngine.Server.Auth;
using RiskEngine.Server.Decisions;
using Scalar.AspNetCore;

namespace RiskEngine.Server.Operations;

/// <summary>
/// Documents a JSON request body that the handler reads itself. Not <c>Accepts</c>: that metadata also makes routing
/// refuse other content types with 415, and these endpoints take a JSON body whatever the client labels it.
/// </summary>
internal sealed record RequestBodyDoc(Type Type, bool Optional);

/// <summary>Marks an endpoint that also takes and answers <c>application/x-ndjson</c> (documented as an alternative content type).</summary>
internal sealed class NdJsonAlternative
{
    public static readonly NdJsonAlternative Instance = new();
}

/// <summary>
/// The OpenAPI document at <c>/openapi/v1.json</c> (Microsoft.AspNetCore.OpenApi) and its browsable reference at
/// <c>/docs</c> (Scalar), both anonymous. A document transformer declares the <c>Bearer</c> API-key scheme; an
/// operation transformer marks every endpoint that needs a role with it (and names the role), and adds the NDJSON
/// alternative of <c>POST /v1/events</c>.
/// </summary>
internal static class OpenApiSetup
{
    public const string DocumentPath = "/openapi/{documentName}.json";
    public const string ReferencePath = "/docs";
    public const string SecurityScheme = "Bearer";

    public static IServiceCollection AddServerOpenApi(this IServiceCollection services) => services.AddOpenApi("v1", o =>
    {
        o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info = new OpenApiInfo
            {
                Title = "RiskEngine decision service",
                Version = "v1",
                Description = "Account-security and limits decisions over HTTP: contract events in, decisions and account events out; " +
                    "support's account API; TOTP self-service; password checks. Every call but health, metrics and this document needs " +
                    "an API key (`Authorization: Bearer KEY`) holding the role the operation names (admin holds all). " +
                    "Errors are RFC 9457 problem details (`application/problem+json`).",
            };
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[SecurityScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                BearerFormat = "API key",
                Description = "An API key from the server's keys file (--keys), sent as `Authorization: Bearer KEY`. Roles: decide, support, admin.",
            };
            return Task.CompletedTask;
        });
        o.AddOperationTransformer(async (operation, context, cancellationToken) =>
        {
            var metadata = context.Description.ActionDescriptor.EndpointMetadata;
            if (metadata.OfType<RequestBodyDoc>().FirstOrDefault() is { } body)
            {
                var schema = await context.GetOrCreateSchemaAsync(body.Type, null, cancellationToken);
                operation.RequestBody = new OpenApiRequestBody
                {
                    Required = !body.Optional,
                    Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = schema } },
                };
            }
            var roles = metadata.OfType<IAuthorizeData>().Select(a => a.Policy).OfType<string>().Distinct().ToList();
            if (roles.Count > 0 && !metadata.OfType<IAllowAnonymous>().Any())
            {
                operation.Security ??= [];
                operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(SecurityScheme, context.Document)] = [] });
                var needs = $"Role: `{string.Join("` or `", roles)}` (or `admin`).";
                operation.Description = string.IsNullOrEmpty(operation.Description) ? needs : operation.Description + "\n\n" + needs;
            }
            if (metadata.OfType<NdJsonAlternative>().Any())
            {
                var lines = new OpenApiSchema
                {
                    Type = JsonSchemaType.String,
                    Description = "NDJSON: one JSON object per line. The request holds contract events; the answer holds, in order, " +
                        "exactly the records `riskengine replay` writes for them (decision, account events, rejected), streamed as they commit.",
                };
                if (operation.RequestBody?.Content is { } request) request[DecisionEndpoints.NdJson] = new OpenApiMediaType { Schema = lines };
                if (operation.Responses?.TryGetValue("200", out var ok) == true && ok.Content is { } answer) answer[DecisionEndpoints.NdJson] = new OpenApiMediaType { Schema = lines };
            }
        });
    });

    /// <summary>Maps the document and the reference page, anonymous.</summary>
    public static IEndpointRouteBuilder MapServerOpenApi(this IEndpointRouteBuilder app)
    {
        app.MapOpenApi(DocumentPath).AllowAnonymous();
        app.MapScalarApiReference(ReferencePath, o => o
                .WithTitle("RiskEngine decision service")
                .WithOpenApiRoutePattern(DocumentPath)
                .AddPreferredSecuritySchemes(SecurityScheme))
            .AllowAnonymous();
        return app;
    }
}

/// <summary>OpenAPI metadata every endpoint shares.</summary>
internal static class EndpointDocs
{
    public const string ProblemJson = "application/problem+json";

    /// <summary>Requires <paramref name="role"/> and documents what that can answer: 401 (no or unknown key), 403 (wrong role), 429 (rate limit).</summary>
    public static RouteHandlerBuilder RequireRole(this RouteHandlerBuilder builder, string role) => builder
        .RequireAuthorization(role)
        .ProducesProblem(StatusCodes.Status401Unauthorized, ProblemJson)
        .ProducesProblem(StatusCodes.Status403Forbidden, ProblemJson)
        .ProducesProblem(StatusCodes.Status429TooManyRequests, ProblemJson);

    /// <summary>Documents the JSON body (<typeparamref name="T"/>) the handler reads.</summary>
    public static RouteHandlerBuilder AcceptsBody<T>(this RouteHandlerBuilder builder, bool optional = false) =>
        builder.WithMetadata(new RequestBodyDoc(typeof(T), optional));

    /// <summary>422 with the offending <c>field</c>.</summary>
    public static RouteHandlerBuilder ProducesFieldProblem(this RouteHandlerBuilder builder) =>
        builder.Produces<FieldProblem>(StatusCodes.Status422UnprocessableEntity, ProblemJson);

    /// <summary>503 with Retry-After: the store cannot be reached, nothing was decided or changed.</summary>
    public static RouteHandlerBuilder ProducesOutage(this RouteHandlerBuilder builder) =>
        builder.ProducesProblem(StatusCodes.Status503ServiceUnavailable, ProblemJson);

    /// <summary>Name, summary, description and tag.</summary>
    public static RouteHandlerBuilder Describe(this RouteHandlerBuilder builder, string name, string tag, string summary, string description) => builder
        .WithName(name)
        .WithTags(tag)
        .WithSummary(summary)
        .WithDescription(description);
}

// Not RiskEngine.Server.Console: that namespace would hide System.Console from the server's other namespaces.
namespace RiskEngine.Server.SupportConsole;

/// <summary>
/// Serves the support console (<c>/console</c>): one HTML page, its script and style sheet, embedded in the assembly
/// so that the server, the .NET tool and the tests serve the same bytes with no build toolchain. The page calls the
/// ordinary API with the agent's key; it has no privileges of its own. A strict Content-Security-Policy allows only
/// these files and fetches to this origin.
/// </summary>
public static class ConsoleEndpoints
{
    /// <summary>Where the console's page is served.</summary>
    public const string Path = "/console";

    /// <summary>The policy every console file is served with: its own script, style sheet and API calls, nothing else.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    private static readonly (string Path, string Resource, string ContentType)[] Files =
    [
        (Path, "console.html", "text/html; charset=utf-8"),
        ("/console/console.js", "console.js", "text/javascript; charset=utf-8"),
        ("/console/console.css", "console.css", "text/css; charset=utf-8"),
    ];

    /// <summary>Maps the console's files (anonymous: the page is public, the API it calls is not).</summary>
    public static IEndpointRouteBuilder MapSupportConsole(this IEndpointRouteBuilder app)
    {
        foreach (var (path, resource, contentType) in Files)
        {
            var bytes = Load(resource);
            app.MapGet(path, (HttpContext context) =>
            {
                var h = context.Response.Headers;
                h.ContentSecurityPolicy = ContentSecurityPolicy;
                h.XContentTypeOptions = "nosniff";
                h["Referrer-Policy"] = "no-referrer";
                h.CacheControl = "no-cache";
                return Results.Bytes(bytes, contentType);
            }).ExcludeFromDescription().AllowAnonymous();
        }
        return app;
    }

    private static byte[] Load(string name)
    {
        using var stream = typeof(ConsoleEndpoints).Assembly.GetManifestResourceStream("RiskEngine.Server.Console." + name)
            ?? throw new InvalidOperationException($"the console file {name} is not embedded in {typeof(ConsoleEndpoints).Assembly.GetName().Name}");
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return memory.ToArray();
    }
}

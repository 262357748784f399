using System.CommandLine;
using System.CommandLine.Parsing;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace RiskEngine.Cli;

/// <summary>
/// The HTTP client every account and TOTP command uses with <c>--server URL</c>: it sends the command to a running
/// <c>riskengine-server</c> (which owns the data folder, so the account events the command causes reach the server's
/// output and webhooks) instead of opening the data folder. The API key travels only in the Authorization header: it
/// is never printed, logged or put into a message. HTTP errors become the CLI's exit codes: 401/403/429/503/5xx and an
/// unreachable server are environment problems (2), 422 a refusal naming the field (1), a problem 404 an unknown
/// account (3) unless the command says otherwise.
/// </summary>
internal sealed class ServerClient : IDisposable
{
    /// <summary>The environment variable the API key is read from (preferred to <c>--key</c>, which <c>ps</c> shows).</summary>
    public const string KeyVariable = "RISKENGINE_KEY";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private readonly HttpClient _http;
    private readonly string _command;
    private readonly string _role;

    private ServerClient(Uri server, string key, string command, string role)
    {
        Server = server;
        _command = command;
        _role = role;
        _http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, ConnectTimeout = TimeSpan.FromSeconds(10) })
        {
            BaseAddress = server,
            Timeout = System.Threading.Timeout.InfiniteTimeSpan, // the per-request timeout below tells a slow server from a cancelled command
        };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        _http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("riskengine-cli", typeof(ServerClient).Assembly.GetName().Version?.ToString() ?? "0"));
    }

    /// <summary>The server's base address, as given to <c>--server</c> (shown in messages; it never holds the key).</summary>
    public Uri Server { get; }

    /// <summary>The server's address for messages: the scheme, host, port and path, never any user information.</summary>
    public string Display => Server.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.Unescaped).TrimEnd('/');

    /// <summary>The account's path on the server: <c>v1/accounts/{id}</c> plus <paramref name="tail"/>.</summary>
    public static string AccountPath(Domain.AccountId account, string tail = "") => "v1/accounts/" + Uri.EscapeDataString(account.Value) + tail;

    /// <summary>
    /// Sends one request. A 2xx answer, or one whose status is in <paramref name="expected"/>, is returned (its JSON body
    /// parsed); any other status becomes a <see cref="CliException"/> with the CLI's exit code.
    /// </summary>
    public async Task<ServerAnswer> SendAsync(HttpMethod method, string path, object? body, CancellationToken ct, params HttpStatusCode[] expected)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(Timeout);
        HttpResponseMessage response;
        string text;
        try
        {
            response = await _http.SendAsync(request, timeout.Token);
            text = await response.Content.ReadAsStringAsync(timeout.Token);
        }
        catch (HttpRequestException e)
        {
            throw new CliException($"cannot reach the server at {Display}: {Describe(e)}", Program.ExitEnvironment);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new CliException($"the server at {Display} did not answer within {Timeout.TotalSeconds:0} s; the command may or may not have been carried out", Program.ExitEnvironment);
        }
        using (response)
        {
            var answer = ServerAnswer.From(response, text);
            if (response.IsSuccessStatusCode || expected.Contains(response.StatusCode))
            {
                if (response.IsSuccessStatusCode && answer.Body.ValueKind == JsonValueKind.Undefined)
                    throw new CliException($"the server at {Display} answered {(int)response.StatusCode} without JSON; is it a riskengine-server?", Program.ExitEnvironment);
                return answer;
            }
            throw Fail(response, answer);
        }
    }

    private static string Describe(HttpRequestException e) => e.InnerException switch
    {
        SocketException s => s.Message,
        System.Security.Authentication.AuthenticationException a => "TLS: " + a.Message,
        _ => e.Message,
    };

    /// <summary>The CLI's message and exit code for an HTTP error (never with the key: the server does not echo it, nor do we).</summary>
    private CliException Fail(HttpResponseMessage response, ServerAnswer answer)
    {
        var status = (int)response.StatusCode;
        var detail = answer.Detail ?? answer.Title ?? response.ReasonPhrase ?? "";
        switch (response.StatusCode)
        {
            case HttpStatusCode.Unauthorized:
                return new CliException(
                    $"the server at {Display} refused the API key (401: missing or unknown key); '{_command}' needs a key with the '{_role}' role (or admin), " +
                    $"from the {KeyVariable} environment variable or --key", Program.ExitEnvironment);
            case HttpStatusCode.Forbidden:
                return new CliException(
                    $"the API key is not allowed to run '{_command}' on the server at {Display} (403): it needs the '{_role}' role (or admin), " +
                    "and the key's entry in the server's keys file does not give it", Program.ExitEnvironment);
            case HttpStatusCode.TooManyRequests:
                var retry = response.Headers.RetryAfter?.Delta is { } d ? $"; retry after {d.TotalSeconds:0} s" : "";
                return new CliException($"the server at {Display} is rate limiting this API key (429){retry}; nothing was changed", Program.ExitEnvironment);
            case HttpStatusCode.ServiceUnavailable:
                return new CliException($"the server's state store cannot be reached (503: {detail})", Program.ExitEnvironment);
            case HttpStatusCode.UnprocessableEntity:
                return new CliException(answer.Field is { } field ? $"{detail} (field '{field}')" : detail, Program.ExitRefused);
            case HttpStatusCode.NotFound when answer.IsProblem:
                return new CliException(detail, Program.ExitUnknownAccount);
            case HttpStatusCode.NotFound:
                return new CliException($"the server at {Display} has no {response.RequestMessage?.RequestUri?.AbsolutePath} (404); is it a riskengine-server of this version?", Program.ExitEnvironment);
        }
        if (status >= 500) return new CliException($"the server at {Display} failed ({status} {answer.Title ?? response.ReasonPhrase}){(answer.Detail is { } x ? ": " + x : "")}", Program.ExitEnvironment);
        if (status is >= 300 and < 400)
            return new CliException($"the server at {Display} redirects ({status}) to {response.Headers.Location}; give that address to --server", Program.ExitEnvironment);
        return new CliException($"the server at {Display} refused the request ({status}): {detail}", Program.ExitRefused);
    }

    public void Dispose() => _http.Dispose();

    /// <summary>
    /// <c>--server</c> and <c>--key</c>, added to a command that can run against a server; <see cref="Open"/> gives the
    /// client when <c>--server</c> was given, null for the local mode.
    /// </summary>
    public sealed class Options
    {
        private readonly Option<string?> _server;
        private readonly Option<string?> _key;
        private readonly Option[] _localOnly;
        private readonly string _command;
        private readonly string _role;

        /// <param name="command">The command's name for messages (e.g. <c>account unfreeze</c>).</param>
        /// <param name="role">The role the server's endpoint needs (named when the key lacks it).</param>
        /// <param name="localOnly">Options that only make sense on the data folder: refused together with <c>--server</c>.</param>
        public Options(string command, string role, params Option[] localOnly)
        {
            _command = command;
            _role = role;
            _localOnly = localOnly;
            _server = new Option<string?>("--server")
            {
                Description = $"Send the command to a running riskengine-server at this URL (e.g. http://127.0.0.1:5080) instead of opening the data folder; " +
                    $"the account events it causes then reach the server's output. Needs an API key with the '{role}' role (or admin).",
                HelpName = "URL",
            };
            _key = new Option<string?>("--key")
            {
                Description = $"The API key for --server. Prefer the {KeyVariable} environment variable: a key on the command line is visible to other users in ps " +
                    "and kept in shell history.",
                HelpName = "KEY",
            };
        }

        /// <summary>Adds both options to <paramref name="command"/>.</summary>
        public void AddTo(Command command)
        {
            command.Options.Add(_server);
            command.Options.Add(_key);
        }

        /// <summary>The client for <c>--server</c>, or null without it (local mode); a usage or key problem is a <see cref="CliException"/>.</summary>
        public ServerClient? Open(ParseResult parse)
        {
            var server = parse.GetValue(_server);
            if (server is null)
            {
                if (parse.GetResult(_key) is { Implicit: false }) throw new CliException("--key needs --server: without it the command works on the data folder", Program.ExitRefused);
                return null;
            }
            foreach (var option in _localOnly)
            {
                if (parse.GetResult(option) is { Implicit: false })
                    throw new CliException($"{option.Name} cannot be used with --server: the server owns its data folder, store, policy and key ring", Program.ExitRefused);
            }
            if (!Uri.TryCreate(server, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || !string.IsNullOrEmpty(uri.UserInfo))
                throw new CliException($"--server must be an http:// or https:// URL without user information (e.g. http://127.0.0.1:5080), not '{server}'", Program.ExitRefused);
            if (!uri.AbsolutePath.EndsWith('/')) uri = new Uri(uri.GetLeftPart(UriPartial.Path) + "/");
            var key = parse.GetValue(_key) ?? Environment.GetEnvironmentVariable(KeyVariable);
            if (string.IsNullOrWhiteSpace(key))
                throw new CliException($"--server needs an API key with the '{_role}' role: set the {KeyVariable} environment variable (or --key, which ps shows)", Program.ExitEnvironment);
            key = key.Trim();
            // Checked here, so that HttpClient's own header validation (whose message could quote the value) never sees a bad key.
            if (key.Any(c => c is <= ' ' or > '~'))
                throw new CliException($"the API key (from --key or {KeyVariable}) is not a valid key: it must be printable ASCII without spaces", Program.ExitEnvironment);
            return new ServerClient(uri, key, _command, _role);
        }
    }
}

/// <summary>A server's answer: its status and JSON body, and for a problem (RFC 9457) its title, detail and <c>field</c>.</summary>
internal sealed record ServerAnswer(HttpStatusCode Status, JsonElement Body, bool IsProblem)
{
    public string? Title => Member("title");

    public string? Detail => Member("detail");

    public string? Field => Member("field");

    private string? Member(string name) =>
        Body.ValueKind == JsonValueKind.Object && Body.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public static ServerAnswer From(HttpResponseMessage response, string text)
    {
        var media = response.Content.Headers.ContentType?.MediaType ?? "";
        var body = default(JsonElement);
        if (media.Contains("json", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                using var doc = JsonDocument.Parse(text);
                body = doc.RootElement.Clone();
            }
            catch (JsonException)
            {
                // an answer that says JSON but is not: treated as no body
            }
        }
        return new ServerAnswer(response.StatusCode, body, media.Equals("application/problem+json", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>A member of the body, or a <see cref="CliException"/> when the server's answer lacks it.</summary>
    public JsonElement Get(string name) =>
        Body.ValueKind == JsonValueKind.Object && Body.TryGetProperty(name, out var v) ? v
            : throw new CliException($"the server's answer has no '{name}'; is it a riskengine-server of this version?", Program.ExitEnvironment);
}

using System.Diagnostics.CodeAnalysis;
using System.Text;
using Microsoft.AspNetCore.Http.Features;
using RiskEngine.Domain;

namespace RiskEngine.Server.Accounts;

/// <summary>
/// The account a <c>/v1/accounts/{id}/…</c> request names, for every account route (status, history, freeze, unfreeze,
/// TOTP, password check). An account id may hold <c>/</c>, which clients send as <c>%2F</c>; the server decodes every
/// escape in the path except <c>%2F</c>, so the <c>{id}</c> route value of <c>a%2Fb</c> is <c>a%2Fb</c> — the same as
/// that of <c>a%252Fb</c>. The account is therefore read from the raw request target, not decoded by the server: the
/// segment after <c>/v1/accounts/</c>, unescaped exactly once (<c>a%2Fb</c> is <c>a/b</c>, <c>a%252Fb</c> is the account
/// literally named <c>a%2Fb</c>). An escape that is not <c>%</c> and two hex digits, or bytes that are not UTF-8, name
/// no account: 422 on <c>account</c>.
/// </summary>
internal static class AccountRoute
{
    private const string Prefix = "/v1/accounts/";
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// The account the request's path names, or a 422 problem naming <c>account</c>. <paramref name="routed"/> is the
    /// handler's <c>{id}</c> route value (bound so that the OpenAPI document lists it): only checked against the raw
    /// path, never the account.
    /// </summary>
    public static bool TryGet(HttpContext context, string routed, out AccountId account, [NotNullWhen(false)] out IResult? problem)
    {
        account = default;
        var error = Read(context.Features.Get<IHttpRequestFeature>()?.RawTarget, routed, out var id);
        if (error is null && AccountId.TryCreate(id, out account, out error))
        {
            problem = null;
            return true;
        }
        problem = ServerResults.Invalid("account", error);
        return false;
    }

    /// <summary>
    /// The account id in <paramref name="rawTarget"/> (the request target as sent), checked against the route value the
    /// server matched (<paramref name="routed"/>, decoded except <c>%2F</c>) so that the account acted on is the one the
    /// route matched; null, or the error a person can read.
    /// </summary>
    internal static string? Read(string? rawTarget, string? routed, out string? id)
    {
        id = null;
        if (routed is null) return "the request path names no account";
        if (string.IsNullOrEmpty(rawTarget))
        {
            // No raw target (a host that does not keep it): the route value is the account only while it is unambiguous.
            if (routed.Contains('%', StringComparison.Ordinal)) return "the account in the request path cannot be read unambiguously";
            id = routed;
            return null;
        }
        var path = rawTarget.AsSpan();
        var query = path.IndexOfAny('?', '#');
        if (query >= 0) path = path[..query];
        if (!path.StartsWith("/", StringComparison.Ordinal)) // absolute-form: scheme://authority/path
        {
            var scheme = path.IndexOf("://", StringComparison.Ordinal);
            var slash = scheme < 0 ? -1 : path[(scheme + 3)..].IndexOf('/');
            path = slash < 0 ? [] : path[(scheme + 3 + slash)..];
        }
        var start = path.IndexOf(Prefix, StringComparison.OrdinalIgnoreCase);
        if (start < 0) return "the request path names no account";
        var segment = path[(start + Prefix.Length)..];
        var end = segment.IndexOf('/');
        if (end >= 0) segment = segment[..end];

        var once = Unescape(segment, keepEscapedSlash: false);
        if (once is null) return "the account in the request path must be percent-encoded UTF-8 (an escape is % and two hex digits)";
        // The server's reading of the same segment (every escape but %2F decoded) must be the route value it matched:
        // otherwise the segment read here is not the one routed (dot segments, an escaped prefix) — refuse, never guess.
        if (!string.Equals(Unescape(segment, keepEscapedSlash: true), routed, StringComparison.Ordinal))
            return "the account in the request path cannot be read unambiguously";
        id = once;
        return null;
    }

    /// <summary>
    /// Percent-decodes <paramref name="text"/> once as UTF-8; with <paramref name="keepEscapedSlash"/> an escaped
    /// <c>/</c> stays as it was written, as the server's own path decoding leaves it. Null when an escape is malformed or
    /// the bytes are not UTF-8.
    /// </summary>
    private static string? Unescape(ReadOnlySpan<char> text, bool keepEscapedSlash)
    {
        var bytes = new List<byte>(text.Length);
        var i = 0;
        while (i < text.Length)
        {
            if (text[i] != '%')
            {
                var run = text[i..].IndexOf('%');
                var literal = run < 0 ? text[i..] : text.Slice(i, run);
                bytes.AddRange(Encoding.UTF8.GetBytes(literal.ToString()));
                i += literal.Length;
                continue;
            }
            if (i + 2 >= text.Length || !char.IsAsciiHexDigit(text[i + 1]) || !char.IsAsciiHexDigit(text[i + 2])) return null;
            var b = byte.Parse(text.Slice(i + 1, 2), System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture);
            if (keepEscapedSlash && b == (byte)'/')
                bytes.AddRange(Encoding.ASCII.GetBytes(text.Slice(i, 3).ToString()));
            else
                bytes.Add(b);
            i += 3;
        }
        try
        {
            return StrictUtf8.GetString(bytes.ToArray());
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace RiskEngine.Server.Webhooks;

/// <summary>One account event on its way to one endpoint.</summary>
/// <param name="Id">Stable across retries and restarts (<see cref="IdFor"/>): receivers de-duplicate by it.</param>
/// <param name="Type">The account event's type (<c>account.frozen</c>).</param>
/// <param name="Body">The account event exactly as the output carries it (one JSON object, UTF-8).</param>
public sealed record WebhookDelivery(string Id, string Type, ReadOnlyMemory<byte> Body)
{
    /// <summary>
    /// The delivery id of the outbox record <paramref name="sequence"/> for <paramref name="endpoint"/>: a hash of both
    /// and of the body, so the same record always gets the same id and a store rebuilt from scratch never reuses one.
    /// </summary>
    public static string IdFor(string endpoint, long sequence, ReadOnlySpan<byte> body)
    {
        var head = Encoding.UTF8.GetBytes($"{endpoint}\n{sequence}\n");
        var all = new byte[head.Length + body.Length];
        head.CopyTo(all, 0);
        body.CopyTo(all.AsSpan(head.Length));
        return "wh_" + Convert.ToHexStringLower(SHA256.HashData(all).AsSpan(0, 16));
    }
}

/// <summary>What one delivery attempt came to.</summary>
public readonly record struct WebhookAttempt(bool Delivered, int? Status, TimeSpan? RetryAfter, string? Error);

/// <summary>
/// POSTs one delivery: <c>Content-Type: application/json</c> and the Standard Webhooks headers
/// (<see cref="WebhookSignature"/>), signed anew for each attempt (a fresh timestamp, the same id). Any 2xx is
/// delivered; anything else is a failure, with the status, so the dispatcher can tell a permanent refusal from a
/// passing one, and <c>Retry-After</c>. Thread-safe (stateless over its HttpClient).
/// </summary>
public sealed class WebhookSender(HttpClient http, TimeProvider time)
{
    /// <summary>Sends <paramref name="delivery"/> to <paramref name="endpoint"/> once.</summary>
    public async Task<WebhookAttempt> SendAsync(WebhookEndpoint endpoint, WebhookDelivery delivery, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint.Url);
        request.Content = new ReadOnlyMemoryContent(delivery.Body);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        // The options validator refused any endpoint whose secret does not decode.
        if (!WebhookSignature.TryDecodeSecret(endpoint.Secret, out var key)) throw new InvalidOperationException($"webhook endpoint {endpoint.Name}: the secret is not a whsec_ key");
        var now = time.GetUtcNow();
        request.Headers.TryAddWithoutValidation(WebhookSignature.IdHeader, delivery.Id);
        request.Headers.TryAddWithoutValidation(WebhookSignature.TimestampHeader, WebhookSignature.Seconds(now));
        request.Headers.TryAddWithoutValidation(WebhookSignature.SignatureHeader, WebhookSignature.Sign(key, delivery.Id, now, delivery.Body.Span));
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
            if (response.IsSuccessStatusCode) return new(true, (int)response.StatusCode, null, null);
            return new(false, (int)response.StatusCode, RetryAfter(response), $"HTTP {(int)response.StatusCode}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new(false, null, null, $"no answer within {timeout.TotalSeconds:0.#} s");
        }
        catch (HttpRequestException e)
        {
            // The message names the host and the socket error, never a header.
            return new(false, null, null, e.HttpRequestError + ": " + e.Message);
        }
    }

    private TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        if (response.StatusCode is not (HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable)) return null;
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta) return delta;
        if (header?.Date is { } date) return date - time.GetUtcNow() is var d && d > TimeSpan.Zero ? d : TimeSpan.Zero;
        return null;
    }
}

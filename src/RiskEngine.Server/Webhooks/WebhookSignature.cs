using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace RiskEngine.Server.Webhooks;

/// <summary>
/// Signing by the Standard Webhooks scheme (standardwebhooks.com), so that receivers verify with an off-the-shelf
/// library (NuGet <c>StandardWebhooks</c>, npm <c>standardwebhooks</c>, Svix's libraries): a delivery carries
/// <see cref="IdHeader"/>, <see cref="TimestampHeader"/> (unix seconds) and <see cref="SignatureHeader"/>
/// (<c>v1,BASE64</c>), where BASE64 is HMAC-SHA256 over <c>"{id}.{timestamp}.{body}"</c> with the endpoint's key.
/// Signing the id with the body means a captured delivery replayed under another id no longer verifies; signing the
/// timestamp lets receivers refuse old captures. Secrets are <c>whsec_</c> + base64 of the key. Thread-safe (static).
/// </summary>
public static class WebhookSignature
{
    /// <summary>The delivery id: stable across retries, receivers de-duplicate by it.</summary>
    public const string IdHeader = "webhook-id";

    /// <summary>When this attempt was signed, in unix seconds.</summary>
    public const string TimestampHeader = "webhook-timestamp";

    /// <summary>Space-separated <c>v1,BASE64</c> signatures (one here).</summary>
    public const string SignatureHeader = "webhook-signature";

    /// <summary>What every endpoint secret starts with; base64 of the key follows.</summary>
    public const string SecretPrefix = "whsec_";

    /// <summary>The shortest key accepted (decoded bytes): 192 bits.</summary>
    public const int MinKeyBytes = 24;

    /// <summary>How old a signed timestamp a receiver should accept by default (the libraries' default too).</summary>
    public static readonly TimeSpan DefaultTolerance = TimeSpan.FromMinutes(5);

    /// <summary>A new random secret (32 bytes), as <c>whsec_BASE64</c>.</summary>
    public static string NewSecret() => SecretPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>The key of a <c>whsec_BASE64</c> secret of at least <see cref="MinKeyBytes"/> bytes; false otherwise.</summary>
    public static bool TryDecodeSecret(string? secret, out byte[] key)
    {
        key = [];
        if (secret is null || !secret.StartsWith(SecretPrefix, StringComparison.Ordinal)) return false;
        var encoded = secret.AsSpan(SecretPrefix.Length);
        var buffer = new byte[encoded.Length];
        if (!Convert.TryFromBase64Chars(encoded, buffer, out var written) || written < MinKeyBytes) return false;
        key = buffer[..written];
        return true;
    }

    /// <summary>The <see cref="SignatureHeader"/> value for <paramref name="body"/> sent as <paramref name="id"/> at <paramref name="timestamp"/>.</summary>
    public static string Sign(ReadOnlySpan<byte> key, string id, DateTimeOffset timestamp, ReadOnlySpan<byte> body)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        return "v1," + Convert.ToBase64String(Mac(key, id, Seconds(timestamp), body));
    }

    /// <summary>The <see cref="TimestampHeader"/> value for <paramref name="timestamp"/>.</summary>
    public static string Seconds(DateTimeOffset timestamp) => timestamp.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// What a receiver does: true when <paramref name="signature"/> holds a <c>v1</c> signature of
    /// <paramref name="id"/>, <paramref name="timestamp"/> and <paramref name="body"/> with <paramref name="key"/>, and
    /// the timestamp is within <paramref name="tolerance"/> of <paramref name="now"/>. Compares in constant time.
    /// </summary>
    public static bool Verify(ReadOnlySpan<byte> key, string? id, string? timestamp, string? signature, ReadOnlySpan<byte> body, DateTimeOffset now, TimeSpan? tolerance = null)
    {
        if (string.IsNullOrEmpty(id) || string.IsNullOrEmpty(signature)) return false;
        if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)) return false;
        if (Math.Abs(now.ToUnixTimeSeconds() - seconds) > (tolerance ?? DefaultTolerance).TotalSeconds) return false;
        var expected = Mac(key, id, timestamp!, body);
        var ok = false;
        foreach (var part in signature.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!part.StartsWith("v1,", StringComparison.Ordinal)) continue;
            var given = new byte[expected.Length];
            if (Convert.TryFromBase64String(part[3..], given, out var n) && n == expected.Length) ok |= CryptographicOperations.FixedTimeEquals(given, expected);
        }
        return ok;
    }

    private static byte[] Mac(ReadOnlySpan<byte> key, string id, string seconds, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.UTF8.GetBytes($"{id}.{seconds}.");
        var signed = new byte[prefix.Length + body.Length];
        prefix.CopyTo(signed, 0);
        body.CopyTo(signed.AsSpan(prefix.Length));
        return HMACSHA256.HashData(key, signed);
    }
}

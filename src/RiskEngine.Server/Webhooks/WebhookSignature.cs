using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace RiskEngine.Server.Webhooks;

/// <summary>
/// The signature a webhook delivery carries in <see cref="Header"/>: <c>t=UNIX_SECONDS,v1=HEX</c>, where HEX is
/// HMAC-SHA256 with the endpoint's secret over <c>"{t}.{body}"</c> (the body's exact bytes). Signing the timestamp
/// with the body lets a receiver refuse replays older than its tolerance. Thread-safe (static, no state).
/// </summary>
public static class WebhookSignature
{
    /// <summary>The request header that carries the signature.</summary>
    public const string Header = "RiskEngine-Signature";

    /// <summary>How old a signed timestamp a receiver should accept by default.</summary>
    public static readonly TimeSpan DefaultTolerance = TimeSpan.FromMinutes(5);

    /// <summary>The header value for <paramref name="body"/> signed at <paramref name="timestamp"/>.</summary>
    public static string Sign(ReadOnlySpan<byte> secret, DateTimeOffset timestamp, ReadOnlySpan<byte> body)
    {
        var t = timestamp.ToUnixTimeSeconds();
        return $"t={t.ToString(CultureInfo.InvariantCulture)},v1={Convert.ToHexStringLower(Mac(secret, t, body))}";
    }

    /// <summary>
    /// What a receiver does: true when <paramref name="header"/> carries a <c>v1</c> signature of
    /// <paramref name="body"/> with <paramref name="secret"/> and its timestamp is within <paramref name="tolerance"/>
    /// of <paramref name="now"/>. Compares in constant time.
    /// </summary>
    public static bool Verify(ReadOnlySpan<byte> secret, string? header, ReadOnlySpan<byte> body, DateTimeOffset now, TimeSpan? tolerance = null)
    {
        if (string.IsNullOrEmpty(header)) return false;
        long? t = null;
        var signatures = new List<byte[]>();
        foreach (var part in header.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=');
            if (eq <= 0) continue;
            var (key, value) = (part[..eq], part[(eq + 1)..]);
            if (key == "t" && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)) t = seconds;
            else if (key == "v1" && value.Length == 64)
            {
                try { signatures.Add(Convert.FromHexString(value)); }
                catch (FormatException) { }
            }
        }
        if (t is not { } ts || signatures.Count == 0) return false;
        if ((now - DateTimeOffset.FromUnixTimeSeconds(ts)).Duration() > (tolerance ?? DefaultTolerance)) return false;
        var expected = Mac(secret, ts, body);
        var ok = false;
        foreach (var s in signatures) ok |= CryptographicOperations.FixedTimeEquals(s, expected);
        return ok;
    }

    private static byte[] Mac(ReadOnlySpan<byte> secret, long t, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.ASCII.GetBytes(t.ToString(CultureInfo.InvariantCulture) + ".");
        var signed = new byte[prefix.Length + body.Length];
        prefix.CopyTo(signed, 0);
        body.CopyTo(signed.AsSpan(prefix.Length));
        return HMACSHA256.HashData(secret, signed);
    }
}

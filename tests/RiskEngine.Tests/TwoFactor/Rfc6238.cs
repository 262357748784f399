using System.Security.Cryptography;

namespace RiskEngine.Tests.TwoFactor;

/// <summary>An independent RFC 6238 / RFC 4226 implementation (no Otp.NET), to check the service against.</summary>
internal static class Rfc6238
{
    public static string Code(byte[] key, long step, int digits = 6, string algorithm = "SHA1")
    {
        var counter = new byte[8];
        for (var i = 7; i >= 0; i--) { counter[i] = (byte)(step & 0xFF); step >>= 8; }
        var hash = algorithm switch
        {
            "SHA256" => HMACSHA256.HashData(key, counter),
            "SHA512" => HMACSHA512.HashData(key, counter),
#pragma warning disable CA5350 // RFC 6238 mandates HMAC-SHA1 as its default; this is its reference computation
            _ => HMACSHA1.HashData(key, counter),
#pragma warning restore CA5350
        };
        var offset = hash[^1] & 0x0F;
        var binary = ((hash[offset] & 0x7F) << 24) | (hash[offset + 1] << 16) | (hash[offset + 2] << 8) | hash[offset + 3];
        var modulo = (int)Math.Pow(10, digits);
        return (binary % modulo).ToString(System.Globalization.CultureInfo.InvariantCulture).PadLeft(digits, '0');
    }

    public static long Step(DateTimeOffset t, int period = 30) => t.ToUnixTimeSeconds() / period;

    /// <summary>RFC 4648 Base32 decoding, padding optional.</summary>
    public static byte[] FromBase32(string text)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        text = text.TrimEnd('=').ToUpperInvariant();
        var bytes = new List<byte>();
        int buffer = 0, bits = 0;
        foreach (var c in text)
        {
            var v = alphabet.IndexOf(c, StringComparison.Ordinal);
            if (v < 0) throw new FormatException($"not Base32: {c}");
            buffer = (buffer << 5) | v;
            bits += 5;
            if (bits >= 8) { bytes.Add((byte)(buffer >> (bits - 8))); bits -= 8; }
        }
        return [.. bytes];
    }

    /// <summary>The query parameters of an otpauth URI.</summary>
    public static Dictionary<string, string> Query(string uri)
    {
        var q = new Uri(uri).Query.TrimStart('?');
        return q.Split('&').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => Uri.UnescapeDataString(p[1]));
    }
}

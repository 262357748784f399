using OtpNet;

namespace RiskEngine.TwoFactor;

/// <summary>RFC 6238 codes through Otp.NET, with the checks RiskEngine needs around it.</summary>
internal static class TotpCode
{
    public static OtpHashMode Mode(string algorithm) => algorithm switch
    {
        "SHA1" => OtpHashMode.Sha1,
        "SHA256" => OtpHashMode.Sha256,
        "SHA512" => OtpHashMode.Sha512,
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "expected SHA1, SHA256 or SHA512"),
    };

    /// <summary>Secret length per RFC 6238's reference seeds: the hash's output size (160, 256, 512 bits).</summary>
    public static int SecretBytes(string algorithm) => algorithm switch
    {
        "SHA256" => 32,
        "SHA512" => 64,
        _ => 20,
    };

    /// <summary>The time step containing <paramref name="time"/>.</summary>
    public static long Step(DateTimeOffset time, int period) => time.ToUnixTimeSeconds() / period;

    /// <summary>The code for time step <paramref name="step"/>.</summary>
    public static string Compute(byte[] secret, string algorithm, int digits, int period, long step)
    {
        var totp = new Totp(secret, period, Mode(algorithm), digits);
        return totp.ComputeTotp(DateTimeOffset.FromUnixTimeSeconds(step * period).UtcDateTime);
    }

    /// <summary>Exactly <paramref name="digits"/> ASCII digits; anything else is refused before any cryptography.</summary>
    public static bool IsWellFormed(string? code, int digits)
    {
        if (code is null || code.Length != digits) return false;
        foreach (var c in code) if (c is < '0' or > '9') return false;
        return true;
    }
}

using System.Security.Cryptography;
using System.Text;
using RiskEngine.Domain;

namespace RiskEngine.TwoFactor;

/// <summary>
/// Single-use recovery codes: ten per enrolment, <c>XXXXX-XXXXX</c> from a 32-letter alphabet without look-alikes
/// (50 random bits each), kept only as SHA-256 hashes over <c>account:code</c> and compared in constant time.
/// </summary>
internal static class RecoveryCodes
{
    public const int Count = 10;
    private const string Alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"; // no 0/O, 1/I

    public static IReadOnlyList<string> Generate()
    {
        var codes = new string[Count];
        Span<char> c = stackalloc char[11];
        for (var i = 0; i < Count; i++)
        {
            for (var j = 0; j < 11; j++) c[j] = j == 5 ? '-' : Alphabet[RandomNumberGenerator.GetInt32(Alphabet.Length)];
            codes[i] = new string(c);
        }
        return codes;
    }

    /// <summary>True for the shape of a recovery code (case and the dash are forgiven).</summary>
    public static bool IsWellFormed(string? code) => Normalize(code) is not null;

    public static string Hash(AccountId account, string code) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(account.Value + ":" + Normalize(code))));

    /// <summary>The index of the hash <paramref name="code"/> matches, or -1; every hash is compared, in constant time.</summary>
    public static int Find(IReadOnlyList<string> hashes, AccountId account, string code)
    {
        var given = Encoding.ASCII.GetBytes(Hash(account, code));
        var found = -1;
        for (var i = 0; i < hashes.Count; i++)
        {
            if (CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(hashes[i]), given) && found < 0) found = i;
        }
        return found;
    }

    private static string? Normalize(string? code)
    {
        if (code is null) return null;
        var letters = code.Replace("-", "", StringComparison.Ordinal).ToUpperInvariant();
        if (letters.Length != 10) return null;
        foreach (var c in letters) if (!Alphabet.Contains(c, StringComparison.Ordinal)) return null;
        return letters[..5] + "-" + letters[5..];
    }
}

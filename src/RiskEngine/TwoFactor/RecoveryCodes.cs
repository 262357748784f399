using System.Security.Cryptography;
using System.Text;
using RiskEngine.Domain;

namespace RiskEngine.TwoFactor;

/// <summary>
/// Single-use recovery codes: ten per enrolment, <c>XXXXX-XXXXX</c> from a 32-letter alphabet without look-alikes
/// (50 random bits each), kept only as <c>hmac:</c> + HMAC-SHA256 under a key derived (HKDF) from the factor's TOTP
/// secret, over SHA-256 of <c>account:code</c>, and compared in constant time. The secret is stored only encrypted by
/// the key ring (<see cref="ISecretProtector"/>), so a copy of the state without the key ring cannot check a guess:
/// 50 bits under an unkeyed hash would fall to an offline search in hours. Entries an earlier version stored (the bare
/// SHA-256 hex) are still accepted and are keyed (<see cref="Migrate"/>) at the account's next check that decrypts
/// the secret. Thread-safe (stateless).
/// </summary>
internal static class RecoveryCodes
{
    public const int Count = 10;
    private const string Alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"; // no 0/O, 1/I

    /// <summary>Marks a keyed entry; an entry without it is an earlier version's unkeyed SHA-256.</summary>
    private const string Keyed = "hmac:";

    /// <summary>HKDF's info: the key is for recovery codes only, never usable as (or revealing) the TOTP secret.</summary>
    private static ReadOnlySpan<byte> KeyPurpose => "RiskEngine.TwoFactor.RecoveryCodes.v1"u8;

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

    /// <summary>The HMAC key of a factor's recovery codes, from its decrypted TOTP secret. Zero it after use.</summary>
    public static byte[] Key(ReadOnlySpan<byte> totpSecret)
    {
        var key = new byte[32];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, totpSecret, key, salt: [], info: KeyPurpose);
        return key;
    }

    /// <summary>What is stored for <paramref name="code"/>.</summary>
    public static string Hash(ReadOnlySpan<byte> key, AccountId account, string code) => Keyed + Convert.ToHexStringLower(HMACSHA256.HashData(key, Inner(account, code)));

    /// <summary>True when an earlier version's unkeyed entry is among <paramref name="hashes"/>.</summary>
    public static bool AnyUnkeyed(IReadOnlyList<string> hashes)
    {
        foreach (var h in hashes) if (!h.StartsWith(Keyed, StringComparison.Ordinal)) return true;
        return false;
    }

    /// <summary>
    /// Keys an earlier version's entry (hex of SHA-256 over <c>account:code</c>): the HMAC over those same bytes is
    /// what <see cref="Hash"/> computes for the code, so the code keeps working without ever being known here.
    /// </summary>
    public static string Migrate(ReadOnlySpan<byte> key, string stored)
    {
        if (stored.StartsWith(Keyed, StringComparison.Ordinal)) return stored;
        Span<byte> inner = stackalloc byte[SHA256.HashSizeInBytes];
        if (Convert.FromHexString(stored, inner, out _, out var written) != System.Buffers.OperationStatus.Done || written != inner.Length) return stored; // not a code's hash: left as is
        return Keyed + Convert.ToHexStringLower(HMACSHA256.HashData(key, inner));
    }

    /// <summary>The index of the entry <paramref name="code"/> matches, or -1; every entry is compared, in constant time.</summary>
    public static int Find(IReadOnlyList<string> hashes, ReadOnlySpan<byte> key, AccountId account, string code)
    {
        var inner = Inner(account, code);
        var keyed = Encoding.ASCII.GetBytes(Keyed + Convert.ToHexStringLower(HMACSHA256.HashData(key, inner)));
        var unkeyed = Encoding.ASCII.GetBytes(Convert.ToHexStringLower(inner));
        var found = -1;
        for (var i = 0; i < hashes.Count; i++)
        {
            var given = hashes[i].StartsWith(Keyed, StringComparison.Ordinal) ? keyed : unkeyed;
            if (CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(hashes[i]), given) && found < 0) found = i;
        }
        return found;
    }

    /// <summary>SHA-256 of <c>account:code</c> (the code normalised): what earlier versions stored, now only the HMAC's message.</summary>
    private static byte[] Inner(AccountId account, string code) => SHA256.HashData(Encoding.UTF8.GetBytes(account.Value + ":" + Normalize(code)));

    private static string? Normalize(string? code)
    {
        if (code is null) return null;
        var letters = code.Replace("-", "", StringComparison.Ordinal).ToUpperInvariant();
        if (letters.Length != 10) return null;
        foreach (var c in letters) if (!Alphabet.Contains(c, StringComparison.Ordinal)) return null;
        return letters[..5] + "-" + letters[5..];
    }
}

namespace RiskEngine.TwoFactor;

/// <summary>
/// Encrypts TOTP secrets before they reach a state store. RiskEngine.Extensions registers one on ASP.NET Core Data
/// Protection (authenticated encryption, rotating key ring); a host can register its own to use a KMS or HSM.
/// Implementations must be thread-safe.
/// </summary>
public interface ISecretProtector
{
    /// <summary>Encrypts <paramref name="secret"/> into a printable envelope.</summary>
    string Protect(ReadOnlySpan<byte> secret);

    /// <summary>Decrypts an envelope made by <see cref="Protect"/>. Throws <see cref="System.Security.Cryptography.CryptographicException"/> when it was tampered with or its key is gone.</summary>
    byte[] Unprotect(string envelope);
}

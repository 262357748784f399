using Microsoft.AspNetCore.DataProtection;

namespace RiskEngine.TwoFactor;

/// <summary>
/// <see cref="ISecretProtector"/> on ASP.NET Core Data Protection. Where the key ring lives and how it is protected at
/// rest is the host's Data Protection configuration (<c>services.AddDataProtection().PersistKeysToFileSystem(...)</c>,
/// <c>.ProtectKeysWithCertificate(...)</c>, or a cloud key vault).
/// </summary>
/// <remarks>Thread-safe.</remarks>
public sealed class DataProtectionSecretProtector : ISecretProtector
{
    /// <summary>The Data Protection purpose string; changing it makes existing envelopes unreadable.</summary>
    public const string Purpose = "RiskEngine.TwoFactor.TotpSecret.v1";

    private readonly IDataProtector _protector;

    /// <summary>Creates the protector from the host's Data Protection provider.</summary>
    public DataProtectionSecretProtector(IDataProtectionProvider provider)
    {
        ArgumentNullException.ThrowIfNull(provider);
        _protector = provider.CreateProtector(Purpose);
    }

    /// <inheritdoc />
    public string Protect(ReadOnlySpan<byte> secret) => Convert.ToBase64String(_protector.Protect(secret.ToArray()));

    /// <inheritdoc />
    public byte[] Unprotect(string envelope) => _protector.Unprotect(Convert.FromBase64String(envelope));
}

using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.DependencyInjection;
using RiskEngine.TwoFactor;

namespace RiskEngine.Security;

/// <summary>
/// The key ring of the worker and the CLI: where it is, who may read it, what encrypts it, and whether it is the one
/// that encrypted the secrets already stored. One place, so that both find the same keys the same way.
/// </summary>
public static class KeyRing
{
    /// <summary>Where earlier versions kept the key ring (<c>DATA/keys</c>): inside the data folder, where a copy of the folder could decrypt every secret.</summary>
    public const string LegacyFolderName = "keys";

    /// <summary>
    /// Gets the key ring of <paramref name="settings"/> ready for the data folder <paramref name="dataFolder"/>:
    /// refuses a key ring inside the data folder without a certificate (when the folder holds the store,
    /// <paramref name="storeInDataFolder"/>), and moves the key ring an older version kept in <c>DATA/keys</c> into
    /// the key ring folder (0700, keys 0600), so that a copy of the data folder no longer decrypts its secrets and
    /// the secrets stay readable. Tolerates another process moving the same keys at the same time.
    /// </summary>
    /// <param name="notice">Told what was moved, for the operator.</param>
    /// <exception cref="KeyRingException">The settings are refused, or the old keys cannot be moved.</exception>
    public static void Prepare(KeyRingSettings settings, string? dataFolder, bool storeInDataFolder = true, Action<string>? notice = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var keys = settings.ResolveDirectory();
        if (settings.HasCertificate && !File.Exists(settings.Certificate))
            throw new KeyRingException($"the key ring certificate '{settings.Certificate}' ({KeyRingSettings.CertificateKey}, --key-certificate) does not exist");
        if (string.IsNullOrEmpty(dataFolder)) return;
        var data = Path.GetFullPath(dataFolder);
        if (IsInside(keys, data) && storeInDataFolder)
        {
            if (!settings.HasCertificate)
                throw new KeyRingException($"the key ring '{keys}' is inside the data folder '{data}', so a copy of the folder would decrypt every TOTP secret in it. " +
                    $"Keep it elsewhere (--keys-dir, {KeyRingSettings.DirectoryKey}; default {KeyRingSettings.DefaultDirectory()}), or protect its keys with a certificate (--key-certificate, {KeyRingSettings.CertificateKey}).");
            return;
        }
        var legacy = Path.Combine(data, LegacyFolderName);
        if (!IsInside(keys, legacy) && Directory.Exists(legacy)) MoveLegacyKeys(legacy, keys, notice);
    }

    private static void MoveLegacyKeys(string legacy, string keys, Action<string>? notice)
    {
        var files = Directory.GetFiles(legacy, "key-*.xml");
        if (files.Length == 0) return;
        var moved = 0;
        try
        {
            OwnerOnly.EnsureDirectory(keys);
            foreach (var file in files)
            {
                var target = Path.Combine(keys, Path.GetFileName(file));
                try
                {
                    if (!File.Exists(target))
                    {
                        File.Move(file, target);
                        OwnerOnly.RestrictFile(target);
                    }
                    else if (File.ReadAllBytes(target).AsSpan().SequenceEqual(File.ReadAllBytes(file)))
                    {
                        File.Delete(file); // already moved (by another process, or copied by hand)
                    }
                    else
                    {
                        throw new KeyRingException($"cannot move the old key ring {legacy} out of the data folder: {target} already exists with other content; move the keys by hand");
                    }
                    moved++;
                }
                catch (FileNotFoundException)
                {
                    // Another process moved it first.
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new KeyRingException($"cannot move the old key ring {legacy} out of the data folder to {keys}: {e.Message}; move it by hand (mv {legacy}/key-*.xml {keys}/) or set --keys-dir ({KeyRingSettings.DirectoryKey})", e);
        }
        try
        {
            if (!Directory.EnumerateFileSystemEntries(legacy).Any()) Directory.Delete(legacy);
        }
        catch (IOException)
        {
            // Gone already, or something was added: left as it is.
        }
        if (moved > 0) notice?.Invoke($"moved {moved} Data Protection key(s) from {legacy}, inside the data folder, to the key ring {keys}");
    }

    /// <summary>
    /// Registers Data Protection with the key ring of <paramref name="settings"/>: its folder created 0700 (an existing
    /// one narrowed to 0700, its key files to 0600), keys written 0600, and encrypted with the certificate when one is
    /// set. Every RiskEngine process shares one application name, so the worker and the CLI read each other's secrets.
    /// </summary>
    /// <exception cref="KeyRingException">The folder cannot be created, or the certificate cannot be loaded.</exception>
    public static IDataProtectionBuilder AddRiskEngineKeyRing(this IServiceCollection services, KeyRingSettings settings)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(settings);
        var folder = settings.ResolveDirectory();
        try
        {
            OwnerOnly.EnsureDirectory(folder);
            foreach (var file in Directory.EnumerateFiles(folder, "*.xml")) OwnerOnly.RestrictFile(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new KeyRingException($"cannot create or open the key ring folder '{folder}': {e.Message}", e);
        }
        var builder = services.AddDataProtection();
        // No application discriminator: the default (a host's content root) differs between the worker, the CLI and
        // every install path, and would make each unable to read the others' secrets. The purpose string of
        // DataProtectionSecretProtector isolates RiskEngine's secrets.
        services.Configure<DataProtectionOptions>(o => o.ApplicationDiscriminator = null);
        services.Configure<KeyManagementOptions>(o => o.XmlRepository = new OwnerOnlyXmlRepository(folder));
        if (settings.HasCertificate) builder.ProtectKeysWithCertificate(LoadCertificate(settings));
        return builder;
    }

    private static X509Certificate2 LoadCertificate(KeyRingSettings settings)
    {
        try
        {
            var certificate = X509CertificateLoader.LoadPkcs12FromFile(settings.Certificate!, settings.CertificatePassword);
            if (!certificate.HasPrivateKey)
                throw new KeyRingException($"the key ring certificate '{settings.Certificate}' has no private key; export it with its key (a .pfx), or the keys it encrypts could not be read back");
            return certificate;
        }
        catch (CryptographicException e)
        {
            throw new KeyRingException($"cannot load the key ring certificate '{settings.Certificate}': {e.Message} " +
                $"(a PKCS#12 .pfx file; its password comes from {KeyRingSettings.CertificatePasswordKey}, environment variable {KeyRingSettings.EnvironmentName(KeyRingSettings.CertificatePasswordKey)})", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new KeyRingException($"cannot read the key ring certificate '{settings.Certificate}': {e.Message}", e);
        }
    }

    /// <summary>
    /// <see cref="VerifyAsync(ISecretProtector, IKeyRingCheckStore, string, CancellationToken)"/> with the key ring of
    /// <paramref name="settings"/>, through a Data Protection provider of its own that logs nothing: a key that cannot
    /// be decrypted is reported once, in the refusal's message, not as a logged stack trace.
    /// </summary>
    public static async ValueTask VerifyAsync(KeyRingSettings settings, IKeyRingCheckStore store, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var services = new ServiceCollection();
        services.AddRiskEngineKeyRing(settings);
        await using var provider = services.BuildServiceProvider();
        var protector = new DataProtectionSecretProtector(provider.GetRequiredService<IDataProtectionProvider>());
        await VerifyAsync(protector, store, settings.ResolveDirectory(), cancellationToken);
    }

    /// <summary>
    /// Checks that the key ring in force decrypts what the store holds: the store's check value (a constant encrypted
    /// with the key ring that first used the store), or, in a store that has none yet, one stored TOTP secret; then
    /// records a check value. Cheap: one decryption, one read.
    /// </summary>
    /// <exception cref="KeyRingException">The key ring is not the one the store's secrets were encrypted with.</exception>
    public static async ValueTask VerifyAsync(ISecretProtector protector, IKeyRingCheckStore store, string keyRing, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(protector);
        ArgumentNullException.ThrowIfNull(store);
        if (await store.LoadKeyCheckAsync(cancellationToken) is { } envelope)
        {
            if (TryUnprotect(protector, envelope, out var value, out var error) && value.AsSpan().SequenceEqual(CheckValue)) return;
            throw Mismatch(keyRing, store.Name, error ?? "the check value differs");
        }
        if (await store.FindProtectedSecretAsync(cancellationToken) is { } secret)
        {
            if (!TryUnprotect(protector, secret, out var value, out var error)) throw Mismatch(keyRing, store.Name, error!);
            CryptographicOperations.ZeroMemory(value);
        }
        await store.SaveKeyCheckAsync(protector.Protect(CheckValue), cancellationToken);
    }

    /// <summary>The constant the check value encrypts; not a secret.</summary>
    internal static ReadOnlySpan<byte> CheckValue => "RiskEngine key ring check v1"u8;

    private static bool TryUnprotect(ISecretProtector protector, string envelope, out byte[] value, out string? error)
    {
        try
        {
            value = protector.Unprotect(envelope);
            error = null;
            return true;
        }
        catch (Exception e) when (e is CryptographicException or FormatException)
        {
            value = [];
            error = e.Message;
            return false;
        }
    }

    private static KeyRingException Mismatch(string keyRing, string store, string error) =>
        new($"the key ring '{keyRing}' cannot decrypt the TOTP secrets stored in {store} ({error}). " +
            "It is not the key ring they were encrypted with: another machine's or another user's, or a new one made because the original was lost or moved. " +
            $"Point --keys-dir ({KeyRingSettings.DirectoryKey}) at the original key ring, and --key-certificate ({KeyRingSettings.CertificateKey}) at its certificate if one protects it. " +
            "Refusing to start, so that nothing is encrypted with the wrong keys.");

    private static bool IsInside(string path, string folder)
    {
        var relative = Path.GetRelativePath(folder, path);
        return relative == "." || (!relative.StartsWith("..", StringComparison.Ordinal) && !Path.IsPathRooted(relative));
    }

    /// <summary>Data Protection's file repository, writing each key 0600 (through a temporary file renamed into place).</summary>
    private sealed class OwnerOnlyXmlRepository(string folder) : IXmlRepository
    {
        private readonly FileSystemXmlRepository _reader = new(new DirectoryInfo(folder), Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);

        public IReadOnlyCollection<XElement> GetAllElements() => _reader.GetAllElements();

        public void StoreElement(XElement element, string friendlyName)
        {
            ArgumentNullException.ThrowIfNull(element);
            var name = IsSafeName(friendlyName) ? friendlyName : Guid.NewGuid().ToString();
            var path = Path.Combine(folder, name + ".xml");
            var tmp = Path.Combine(folder, Guid.NewGuid().ToString() + ".tmp");
            using (var stream = new FileStream(tmp, OwnerOnly.Options(FileMode.CreateNew, FileAccess.Write, FileShare.None)))
            {
                element.Save(stream);
                stream.Flush(flushToDisk: true);
            }
            try
            {
                File.Move(tmp, path); // never replaces a key
            }
            catch
            {
                File.Delete(tmp);
                throw;
            }
        }

        private static bool IsSafeName(string name) =>
            !string.IsNullOrEmpty(name) && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
    }
}

/// <summary>Where a store keeps the key ring check value, and how it finds a stored secret to check against.</summary>
public interface IKeyRingCheckStore
{
    /// <summary>The store, named for messages (a file path, "the Redis store at ...").</summary>
    string Name { get; }

    /// <summary>The recorded check value envelope, or null when none was recorded yet.</summary>
    ValueTask<string?> LoadKeyCheckAsync(CancellationToken cancellationToken = default);

    /// <summary>Records the check value envelope unless one is already recorded.</summary>
    ValueTask SaveKeyCheckAsync(string envelope, CancellationToken cancellationToken = default);

    /// <summary>Any one stored TOTP secret envelope, or null when there is none (or no cheap way to find one).</summary>
    ValueTask<string?> FindProtectedSecretAsync(CancellationToken cancellationToken = default);
}

namespace RiskEngine.Security;

/// <summary>
/// Where the Data Protection key ring that encrypts TOTP secrets lives, and what protects it at rest. The worker reads
/// these from its configuration (<c>--keys-dir</c>, <c>--key-certificate</c>, <c>RiskEngine:KeyRing</c>,
/// <c>RiskEngine:KeyCertificate</c>, <c>RiskEngine:KeyCertificatePassword</c>, or the environment variables
/// <c>RiskEngine__KeyRing</c>, ...); the CLI from the same flags and environment variables. Both resolve them here,
/// so they find the same key ring.
/// </summary>
public sealed class KeyRingSettings
{
    /// <summary>Configuration key of <see cref="Directory"/>.</summary>
    public const string DirectoryKey = "RiskEngine:KeyRing";

    /// <summary>Configuration key of <see cref="Certificate"/>.</summary>
    public const string CertificateKey = "RiskEngine:KeyCertificate";

    /// <summary>Configuration key of <see cref="CertificatePassword"/> (set it in the environment, not on a command line).</summary>
    public const string CertificatePasswordKey = "RiskEngine:KeyCertificatePassword";

    /// <summary>The key ring folder; null or empty for <see cref="DefaultDirectory"/>.</summary>
    public string? Directory { get; init; }

    /// <summary>A PKCS#12 (.pfx) file whose certificate encrypts the keys at rest (<c>ProtectKeysWithCertificate</c>); null for none.</summary>
    public string? Certificate { get; init; }

    /// <summary>The password of <see cref="Certificate"/>, if it has one.</summary>
    public string? CertificatePassword { get; init; }

    /// <summary>True when a certificate protects the keys.</summary>
    public bool HasCertificate => !string.IsNullOrEmpty(Certificate);

    /// <summary>
    /// Settings from the environment variables <c>RiskEngine__KeyRing</c>, <c>RiskEngine__KeyCertificate</c> and
    /// <c>RiskEngine__KeyCertificatePassword</c> (the names the worker's configuration reads too), with
    /// <paramref name="directory"/> and <paramref name="certificate"/> (command-line flags) taking precedence.
    /// </summary>
    public static KeyRingSettings FromEnvironment(string? directory = null, string? certificate = null, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        return new KeyRingSettings
        {
            Directory = NonEmpty(directory) ?? NonEmpty(environment(EnvironmentName(DirectoryKey))),
            Certificate = NonEmpty(certificate) ?? NonEmpty(environment(EnvironmentName(CertificateKey))),
            CertificatePassword = NonEmpty(environment(EnvironmentName(CertificatePasswordKey))),
        };
    }

    /// <summary>The environment variable of a configuration key (<c>RiskEngine:KeyRing</c> → <c>RiskEngine__KeyRing</c>).</summary>
    public static string EnvironmentName(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return key.Replace(":", "__", StringComparison.Ordinal);
    }

    /// <summary>
    /// The default key ring, outside any data folder and private to the user: <c>$XDG_CONFIG_HOME/riskengine/keys</c>,
    /// else <c>~/.config/riskengine/keys</c> (on Windows <c>%APPDATA%\riskengine\keys</c>).
    /// </summary>
    public static string DefaultDirectory(Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        string root;
        if (OperatingSystem.IsWindows())
        {
            root = Environment.GetFolderPath(Environment.SpecialFolder.ApplicationData);
        }
        else if (NonEmpty(environment("XDG_CONFIG_HOME")) is { } xdg && Path.IsPathRooted(xdg))
        {
            root = xdg; // the XDG spec ignores a relative value
        }
        else
        {
            var home = NonEmpty(environment("HOME")) ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            if (string.IsNullOrEmpty(home))
                throw new KeyRingException($"no home folder to keep the key ring in (HOME is not set); set --keys-dir or {DirectoryKey}");
            root = Path.Combine(home, ".config");
        }
        return Path.Combine(root, "riskengine", "keys");
    }

    /// <summary>The key ring folder in force, as a full path.</summary>
    public string ResolveDirectory(Func<string, string?>? environment = null) =>
        Path.GetFullPath(NonEmpty(Directory) ?? DefaultDirectory(environment));

    private static string? NonEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;
}

/// <summary>The key ring cannot be used as configured; the message names the folder or file and the fix. Nothing secret is in it.</summary>
public sealed class KeyRingException : Exception
{
    /// <summary>Creates the exception.</summary>
    public KeyRingException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public KeyRingException(string message, Exception inner) : base(message, inner)
    {
    }
}

using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using RiskEngine.Security;
using RiskEngine.Tests.TwoFactor;
using RiskEngine.Tests.Worker;
using RiskEngine.TwoFactor;

namespace RiskEngine.Tests.Security;

/// <summary>
/// The key ring that encrypts TOTP secrets: outside the data folder, private to its owner, optionally encrypted with a
/// certificate, and refused when it is not the one the stored secrets were encrypted with. Each test's processes get
/// their own default key ring (<c>$XDG_CONFIG_HOME</c> beside the data folder, see <see cref="WorkerProcess"/>).
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class KeyRingTests() : ScratchFolder("riskengine-keys-")
{
    /// <summary>The default key ring of processes whose data folder is <paramref name="data"/>.</summary>
    private string DefaultKeys(string data) => WorkerProcess.DefaultKeyRing(P(data));

    internal static string Code(string base32, int stepsAhead = 0) =>
        Rfc6238.Code(Rfc6238.FromBase32(base32), Rfc6238.Step(DateTimeOffset.UtcNow) + stepsAhead);

    [Fact]
    public async Task A_copy_of_the_data_folder_does_not_decrypt_its_totp_secrets()
    {
        var secret = await ConfirmedAsync("alice", P("site/data"));
        Assert.False(Directory.Exists(P("site/data/keys")), "the key ring must not be inside the data folder");
        Assert.NotEmpty(Directory.GetFiles(DefaultKeys("site/data"), "*.xml"));
        var (code, log) = await WorkerProcess.RunAsync("--input", Sample("events.example.jsonl"), "--output", P("site/out.jsonl"), "--data", P("site/data"), "--once");
        Assert.True(code == 0, log);

        CopyDirectory(P("site/data"), P("copy/data"));
        foreach (var file in Directory.EnumerateFiles(P("copy"), "*", SearchOption.AllDirectories))
        {
            var bytes = await File.ReadAllBytesAsync(file);
            Assert.DoesNotContain(secret, Encoding.Latin1.GetString(bytes), StringComparison.Ordinal);
            Assert.DoesNotContain(Convert.ToHexString(Rfc6238.FromBase32(secret)), Convert.ToHexString(bytes), StringComparison.Ordinal);
        }

        // On another machine (its own, fresh key ring) the copy is refused, by the CLI and by the worker.
        string err;
        (code, var output, err) = await WorkerProcess.RunCliAsync(null, "totp", "verify", "alice", "--code", Code(secret, 1), "--data", P("copy/data"));
        Assert.True(code == 2, output + err);
        Assert.Contains("cannot decrypt the TOTP secrets stored in", err, StringComparison.Ordinal);
        Assert.Contains("--keys-dir", err, StringComparison.Ordinal);
        Assert.DoesNotContain("accepted", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", err, StringComparison.Ordinal);
        (code, log) = await WorkerProcess.RunAsync("--input", Sample("events.example.jsonl"), "--output", P("copy/out.jsonl"), "--data", P("copy/data"), "--once");
        Assert.True(code == 2, log);
        Assert.Contains("cannot decrypt the TOTP secrets stored in", log, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", log, StringComparison.Ordinal);
        Assert.False(File.Exists(P("copy/out.jsonl")), "the worker must refuse before writing anything");

        // With the original key ring too, the copy is the original.
        (code, output, err) = await WorkerProcess.RunCliAsync(null, "totp", "verify", "alice", "--code", Code(secret, 1), "--data", P("copy/data"), "--keys-dir", DefaultKeys("site/data"));
        Assert.True(code == 0, output + err);
        Assert.Contains("accepted", output, StringComparison.Ordinal);
    }

    /// <summary>Enrols a factor for <paramref name="account"/> on <paramref name="data"/> and confirms it; returns the secret.</summary>
    private static Task<string> ConfirmedAsync(string account, string data, IReadOnlyDictionary<string, string?>? environment = null, params string[] more) =>
        EnrollConfirmedAsync(account, environment, ["--data", data, .. more]);

    /// <summary>Enrols a factor through <c>riskengine totp enroll ACCOUNT ARGS</c>, confirms it with its first code, and returns the secret.</summary>
    internal static async Task<string> EnrollConfirmedAsync(string account, IReadOnlyDictionary<string, string?>? environment, params string[] args)
    {
        var p = StartEnroll(account, environment, args);
        using (p)
        {
            Assert.True(await p.WaitUntilAsync(() => p.StdOut.Any(l => l.Contains("enter the first code", StringComparison.Ordinal)), TimeSpan.FromSeconds(60)), p.Log);
            var secret = Rfc6238.Query(p.StdOut.First())["secret"];
            await p.Input.WriteLineAsync(Code(secret));
            p.Input.Close();
            Assert.True(await p.WaitForExitAsync(TimeSpan.FromSeconds(60)) == 0, string.Join('\n', p.StdOut) + p.Log);
            return secret;
        }
    }

    private static WorkerProcess StartEnroll(string account, IReadOnlyDictionary<string, string?>? environment, string[] args) =>
        WorkerProcess.StartCliWithEnvironment(environment ?? new Dictionary<string, string?>(), ["totp", "enroll", account, .. args]);

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        foreach (var dir in Directory.EnumerateDirectories(from)) CopyDirectory(dir, Path.Combine(to, Path.GetFileName(dir)));
    }

    [Fact]
    public async Task Data_files_outputs_and_the_key_ring_are_owner_only()
    {
        if (OperatingSystem.IsWindows()) return; // Unix modes; Windows keeps the folder's ACL
        await File.WriteAllTextAsync(P("in.jsonl"), string.Join('\n', File.ReadLines(Sample("events.example.jsonl")).Take(5)) + "\n");
        using (var w = WorkerProcess.Start("--input", P("in.jsonl"), "--output", P("out.jsonl"), "--dead-letter", P("dead.jsonl"), "--data", P("data"),
            "--max-future-skew", "off", "--RiskEngine:ProgressInterval=00:00:00.050"))
        {
            Assert.True(await w.WaitUntilAsync(() => File.Exists(P("data/health.json")) && File.Exists(P("out.jsonl")), TimeSpan.FromSeconds(60)), w.Log);
            // While it runs, SQLite's -wal and -shm files exist too.
            foreach (var name in new[] { "data/riskengine.db", "data/riskengine.db-wal", "data/riskengine.db-shm", "data/worker.lock", "data/health.json", "out.jsonl", "dead.jsonl" })
                Assert.Equal((P(name), OwnerOnly.FilePermissions), (P(name), Mode(P(name))));
            Assert.Equal(OwnerOnly.DirectoryPermissions, Mode(P("data")));
            w.Terminate();
            Assert.Equal(0, await w.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }
        var keys = DefaultKeys("data");
        Assert.Equal(OwnerOnly.DirectoryPermissions, Mode(keys));
        var keyFiles = Directory.GetFiles(keys, "*.xml");
        Assert.NotEmpty(keyFiles); // the worker's start-up check made the first key
        Assert.All(keyFiles, f => Assert.Equal(OwnerOnly.FilePermissions, Mode(f)));
        Assert.Empty(Directory.GetFiles(keys, "*.tmp"));

        // The QR code holds the secret.
        await ConfirmedAsync("bob", P("data"), null, "--png", P("bob.png"));
        Assert.Equal(OwnerOnly.FilePermissions, Mode(P("bob.png")));

        // A database and key files an older version left world-readable are narrowed on the next start.
        File.SetUnixFileMode(P("data/riskengine.db"), OwnerOnly.FilePermissions | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        File.SetUnixFileMode(keys, OwnerOnly.DirectoryPermissions | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        var (code, log) = await WorkerProcess.RunAsync("--input", P("in.jsonl"), "--output", P("out2.jsonl"), "--data", P("data"), "--once");
        Assert.True(code == 0, log);
        Assert.Equal(OwnerOnly.FilePermissions, Mode(P("data/riskengine.db")));
        Assert.Equal(OwnerOnly.DirectoryPermissions, Mode(keys));
    }

    private static UnixFileMode Mode(string path) =>
        OperatingSystem.IsWindows() ? default : File.GetUnixFileMode(path) & (UnixFileMode)0x1FF;

    [Fact]
    public async Task A_certificate_encrypts_the_keys_at_rest_and_is_needed_to_read_the_secrets()
    {
        using (var rsa = RSA.Create(2048))
        {
            var request = new CertificateRequest("CN=RiskEngine key ring test", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
            await File.WriteAllBytesAsync(P("keys.pfx"), certificate.Export(X509ContentType.Pfx, "correct horse"));
        }
        var withCertificate = new Dictionary<string, string?> { ["RiskEngine__KeyCertificatePassword"] = "correct horse" };
        var secret = await ConfirmedAsync("carol", P("data"), withCertificate, "--keys-dir", P("keys"), "--key-certificate", P("keys.pfx"));

        var keyFiles = Directory.GetFiles(P("keys"), "*.xml");
        Assert.NotEmpty(keyFiles);
        foreach (var file in keyFiles)
        {
            var xml = XDocument.Load(file);
            Assert.Contains(xml.Descendants(), e => e.Name.LocalName == "EncryptedData" && e.Name.NamespaceName == "http://www.w3.org/2001/04/xmlenc#");
            Assert.DoesNotContain(xml.Descendants(), e => e.Name.LocalName == "masterKey"); // the plain form: <masterKey><value>base64</value></masterKey>
        }

        // The worker, with the same certificate (from its configuration: environment variables this time).
        var workerEnvironment = new Dictionary<string, string?>(withCertificate) { ["RiskEngine__KeyRing"] = P("keys"), ["RiskEngine__KeyCertificate"] = P("keys.pfx") };
        var (code, log) = await WorkerProcess.RunWithEnvironmentAsync(workerEnvironment, "--input", Sample("events.example.jsonl"), "--output", P("out.jsonl"), "--data", P("data"), "--once");
        Assert.True(code == 0, log);

        // Without the certificate the keys cannot be read, so neither can the secrets.
        (code, log) = await WorkerProcess.RunAsync("--input", Sample("events.example.jsonl"), "--output", P("out.jsonl"), "--data", P("data"), "--once", "--keys-dir", P("keys"));
        Assert.True(code == 2, log);
        Assert.Contains("cannot decrypt the TOTP secrets stored in", log, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", log, StringComparison.Ordinal);

        // A wrong password is named as such, and not printed.
        var wrong = new Dictionary<string, string?> { ["RiskEngine__KeyCertificatePassword"] = "wrong battery" };
        var (c, output, err) = await WorkerProcess.RunCliWithEnvironmentAsync(wrong, null, "totp", "verify", "carol", "--code", Code(secret, 1), "--data", P("data"),
            "--keys-dir", P("keys"), "--key-certificate", P("keys.pfx"));
        Assert.True(c == 2, output + err);
        Assert.Contains("cannot load the key ring certificate", err, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong battery", err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", err, StringComparison.Ordinal);

        (c, output, err) = await WorkerProcess.RunCliWithEnvironmentAsync(withCertificate, null, "totp", "verify", "carol", "--code", Code(secret, 1), "--data", P("data"),
            "--keys-dir", P("keys"), "--key-certificate", P("keys.pfx"));
        Assert.True(c == 0, output + err);
        Assert.Contains("accepted", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_ring_left_inside_an_old_data_folder_is_moved_out_and_its_secrets_stay_readable()
    {
        // An older version's layout: the key ring in DATA/keys.
        var secret = await ConfirmedAsync("dave", P("data"), null, "--keys-dir", P("old-keys"));
        var keyNames = Directory.GetFiles(P("old-keys"), "*.xml").Select(Path.GetFileName).Order().ToList();
        Directory.Move(P("old-keys"), P("data/keys"));

        var (code, log) = await WorkerProcess.RunAsync("--input", Sample("events.example.jsonl"), "--output", P("out.jsonl"), "--data", P("data"), "--once");
        Assert.True(code == 0, log);
        Assert.Contains($"from {P("data/keys")}, inside the data folder, to the key ring {DefaultKeys("data")}", log, StringComparison.Ordinal);
        Assert.False(Directory.Exists(P("data/keys")));
        Assert.Equal(keyNames, Directory.GetFiles(DefaultKeys("data"), "*.xml").Select(Path.GetFileName).Order().ToList());
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(OwnerOnly.DirectoryPermissions, Mode(DefaultKeys("data")));
            Assert.All(Directory.GetFiles(DefaultKeys("data")), f => Assert.Equal(OwnerOnly.FilePermissions, Mode(f)));
        }
        var (c, output, err) = await WorkerProcess.RunCliAsync(null, "totp", "verify", "dave", "--code", Code(secret, 1), "--data", P("data"));
        Assert.True(c == 0, output + err);

        // A key ring inside the data folder is refused unless a certificate protects it.
        (code, log) = await WorkerProcess.RunAsync("--input", Sample("events.example.jsonl"), "--output", P("out.jsonl"), "--data", P("data"), "--once", "--keys-dir", P("data/keys"));
        Assert.True(code == 2, log);
        Assert.Contains("is inside the data folder", log, StringComparison.Ordinal);
        (c, output, err) = await WorkerProcess.RunCliAsync(null, "totp", "verify", "dave", "--code", Code(secret, 1), "--data", P("data"), "--keys-dir", P("data/k"));
        Assert.True(c == 2, output + err);
        Assert.Contains("is inside the data folder", err, StringComparison.Ordinal);
    }

    [Fact]
    public void The_default_key_ring_follows_XDG_CONFIG_HOME_then_HOME()
    {
        if (OperatingSystem.IsWindows()) return;
        Assert.Equal("/x/config/riskengine/keys", KeyRingSettings.DefaultDirectory(n => n == "XDG_CONFIG_HOME" ? "/x/config" : "/home/u"));
        Assert.Equal("/home/u/.config/riskengine/keys", KeyRingSettings.DefaultDirectory(n => n == "HOME" ? "/home/u" : null));
        Assert.Equal("/home/u/.config/riskengine/keys", KeyRingSettings.DefaultDirectory(n => n == "XDG_CONFIG_HOME" ? "relative" : "/home/u"));
        var env = new Dictionary<string, string> { ["RiskEngine__KeyRing"] = "/etc/riskengine/keys", ["RiskEngine__KeyCertificate"] = "/etc/riskengine/keys.pfx" };
        var fromEnv = KeyRingSettings.FromEnvironment(environment: n => env.GetValueOrDefault(n));
        Assert.Equal("/etc/riskengine/keys", fromEnv.ResolveDirectory());
        Assert.True(fromEnv.HasCertificate);
        Assert.Equal("/flag", KeyRingSettings.FromEnvironment("/flag", environment: n => env.GetValueOrDefault(n)).ResolveDirectory());
    }

    [Fact]
    public async Task The_check_value_refuses_another_key_ring_and_a_store_without_one_is_checked_against_a_stored_secret()
    {
        var ours = Protector(P("ours"));
        var theirs = Protector(P("theirs"));

        var store = new CheckStore();
        await KeyRing.VerifyAsync(ours, store, "ours");
        Assert.NotNull(store.Check);
        await KeyRing.VerifyAsync(ours, store, "ours"); // the same key ring, again
        var e = await Assert.ThrowsAsync<KeyRingException>(async () => await KeyRing.VerifyAsync(theirs, store, "theirs"));
        Assert.Contains("'theirs' cannot decrypt the TOTP secrets stored in the test store", e.Message, StringComparison.Ordinal);

        // A store from before the check value: one of its secrets decides, then the value is recorded.
        var legacy = new CheckStore { Secret = ours.Protect([1, 2, 3]) };
        await Assert.ThrowsAsync<KeyRingException>(async () => await KeyRing.VerifyAsync(theirs, legacy, "theirs"));
        Assert.Null(legacy.Check);
        await KeyRing.VerifyAsync(ours, legacy, "ours");
        Assert.NotNull(legacy.Check);
    }

    private static DataProtectionSecretProtector Protector(string keys)
    {
        var services = new ServiceCollection();
        services.AddRiskEngineKeyRing(new KeyRingSettings { Directory = keys });
        return new DataProtectionSecretProtector(services.BuildServiceProvider().GetRequiredService<IDataProtectionProvider>());
    }

    private sealed class CheckStore : IKeyRingCheckStore
    {
        public string? Check { get; private set; }

        public string? Secret { get; init; }

        public string Name => "the test store";

        public ValueTask<string?> LoadKeyCheckAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(Check);

        public ValueTask SaveKeyCheckAsync(string envelope, CancellationToken cancellationToken = default)
        {
            Check ??= envelope;
            return ValueTask.CompletedTask;
        }

        public ValueTask<string?> FindProtectedSecretAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(Secret);
    }
}

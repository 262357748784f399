using System.CommandLine;
using System.Security.Cryptography;
using QRCoder;
using RiskEngine.Domain;
using RiskEngine.Security;
using RiskEngine.TwoFactor;

namespace RiskEngine.Cli;

/// <summary><c>riskengine totp enroll|verify</c>: TOTP factors in the worker's store, secrets encrypted with its key ring.</summary>
internal static class TotpCommands
{
    public static Command Create()
    {
        var totp = new Command("totp", "TOTP two-factor enrolment and verification.");
        totp.Subcommands.Add(Enroll());
        totp.Subcommands.Add(Verify());
        return totp;
    }

    private static Command Enroll()
    {
        var id = new Argument<string>("account") { Description = "The account id." };
        var issuer = new Option<string?>("--issuer") { Description = "Name shown in the authenticator app (default: the policy's totp.issuer)." };
        var png = new Option<string?>("--png") { Description = "Also write the QR code as a PNG file." };
        var data = Program.DataOption();
        var redis = Program.RedisOption();
        var policy = Program.PolicyOption();
        var keysDir = Program.KeysDirOption();
        var keyCertificate = Program.KeyCertificateOption();
        var command = new Command("enroll", "Enrol a factor: prints the otpauth:// URI and a QR code, then reads the first code from standard input to confirm.")
        {
            id, issuer, png, data, redis, policy, keysDir, keyCertificate,
        };
        command.SetAction((parse, ct) => Program.Guard(() => Secrets(async () =>
        {
            await using var host = await CliHost.OpenAsync(parse.GetValue(data)!, parse.GetValue(policy), write: true, parse.GetValue(redis),
                KeyRingSettings.FromEnvironment(parse.GetValue(keysDir), parse.GetValue(keyCertificate)), ct);
            var account = Program.ParseAccount(parse.GetValue(id)!);
            var result = parse.GetValue(issuer) is { Length: > 0 } name
                ? await host.TwoFactor.EnrollAsync(account, name, ct)
                : await host.TwoFactor.EnrollAsync(account, ct);
            if (result.Enrollment is not { } enrollment)
                throw new CliException($"account {account} already has a confirmed factor; support must reset it first", 1);

            using var generator = new QRCodeGenerator();
            using var qr = generator.CreateQrCode(enrollment.Uri, QRCodeGenerator.ECCLevel.M);
            Console.WriteLine(enrollment.Uri); // on a line of its own, for copy and paste and for scripts
            Console.WriteLine(new AsciiQRCode(qr).GetGraphic(1, "██", "  ", drawQuietZones: true));
            if (parse.GetValue(png) is { } pngPath) await WritePngAsync(pngPath, new PngByteQRCode(qr).GetGraphic(10), ct);

            Console.WriteLine("Scan it, then enter the first code:");
            var code = (await Console.In.ReadLineAsync(ct))?.Trim() ?? "";
            var confirmed = await host.TwoFactor.ConfirmEnrollmentAsync(account, code, ct);
            Console.WriteLine();
            Console.WriteLine(confirmed.Succeeded ? "confirmed: the factor is active" : $"not confirmed: {confirmed.ReasonCode}; run enroll again");
            if (confirmed.Succeeded)
            {
                // Shown once, like the secret: each works once instead of a code if the authenticator is lost.
                Console.WriteLine("recovery codes (each works once; keep them offline):");
                foreach (var r in enrollment.RecoveryCodes) Console.WriteLine("  " + r);
            }
            return confirmed.Succeeded ? 0 : 1;
        })));
        return command;
    }

    /// <summary>The QR code holds the secret: the file is created 0600 (and an existing one replaced, not reused with its mode).</summary>
    private static async Task WritePngAsync(string path, byte[] png, CancellationToken ct)
    {
        try
        {
            File.Delete(path);
            await using var file = new FileStream(path, OwnerOnly.Options(FileMode.CreateNew, FileAccess.Write, FileShare.None));
            await file.WriteAsync(png, ct);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"cannot write {path}: {e.Message}", Program.ExitEnvironment);
        }
    }

    /// <summary>
    /// A secret that does not decrypt is an environment problem (the wrong key ring, one whose certificate is missing):
    /// the store's check catches it at start-up; this catches it where no check value exists (the Redis store).
    /// </summary>
    private static async Task<int> Secrets(Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (CryptographicException e)
        {
            throw new CliException($"the key ring cannot decrypt this account's TOTP secret ({e.Message}); point --keys-dir (RiskEngine:KeyRing) at the key ring it was encrypted with", Program.ExitEnvironment);
        }
    }

    private static Command Verify()
    {
        var id = new Argument<string>("account") { Description = "The account id." };
        var codeOption = new Option<string?>("--code") { Description = "The code (default: read from standard input, so it stays out of shell history)." };
        var data = Program.DataOption();
        var redis = Program.RedisOption();
        var policy = Program.PolicyOption();
        var keysDir = Program.KeysDirOption();
        var keyCertificate = Program.KeyCertificateOption();
        var command = new Command("verify", "Verify a code now; a valid code lifts a self-service freeze.") { id, codeOption, data, redis, policy, keysDir, keyCertificate };
        command.SetAction((parse, ct) => Program.Guard(() => Secrets(async () =>
        {
            await using var host = await CliHost.OpenAsync(parse.GetValue(data)!, parse.GetValue(policy), write: true, parse.GetValue(redis),
                KeyRingSettings.FromEnvironment(parse.GetValue(keysDir), parse.GetValue(keyCertificate)), ct);
            var code = parse.GetValue(codeOption) ?? (await Console.In.ReadLineAsync(ct))?.Trim() ?? "";
            var result = await host.TwoFactor.VerifyAsync(Program.ParseAccount(parse.GetValue(id)!), code, ct);
            Console.WriteLine(result.Succeeded ? "accepted" : $"refused: {result.ReasonCode}");
            var buffer = new System.Buffers.ArrayBufferWriter<byte>();
            foreach (var e in result.Events) RiskEngine.Pipeline.RecordWriter.WriteAccountEvent(buffer, e);
            await using var stdout = Console.OpenStandardOutput();
            await stdout.WriteAsync(buffer.WrittenMemory, ct);
            return result.Succeeded ? 0 : 1;
        })));
        return command;
    }
}

using System.CommandLine;
using System.Net;
using System.Text.Json;
using System.Security.Cryptography;
using QRCoder;
using RiskEngine.Domain;
using RiskEngine.Security;
using RiskEngine.TwoFactor;

namespace RiskEngine.Cli;

/// <summary>
/// <c>riskengine totp enroll|verify|reset</c>: TOTP factors in the worker's store, secrets encrypted with its key ring;
/// or with <c>--server URL</c> through a running server's API (enrol and verify: role <c>decide</c>, reset: role
/// <c>support</c>), printing the same lines either way — the account events they cause (<c>account.factor_enrolled</c>
/// on confirmation, <c>account.factor_reset</c>, a freeze or unfreeze) as JSON lines on standard output, where the
/// other account commands print theirs.
/// </summary>
internal static class TotpCommands
{
    public static Command Create()
    {
        var totp = new Command("totp", "TOTP two-factor enrolment and verification.");
        totp.Subcommands.Add(Enroll());
        totp.Subcommands.Add(Verify());
        totp.Subcommands.Add(Reset());
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
        var server = new ServerClient.Options("totp enroll", "decide", data, redis, policy, keysDir, keyCertificate);
        var command = new Command("enroll", "Enrol a factor: prints the otpauth:// URI and a QR code, then reads the first code from standard input to confirm.")
        {
            id, issuer, png, data, redis, policy, keysDir, keyCertificate,
        };
        server.AddTo(command);
        command.SetAction((parse, ct) => Program.Guard(() => Secrets(async () =>
        {
            var account = Program.ParseAccount(parse.GetValue(id)!);
            var alreadyEnrolled = $"account {account} already has a confirmed factor; support must reset it first";
            using var client = server.Open(parse);
            if (client is not null)
            {
                var answer = await client.SendAsync(HttpMethod.Post, ServerClient.AccountPath(account, "/totp/enroll"),
                    parse.GetValue(issuer) is { Length: > 0 } issuerName ? new { issuer = issuerName } : new { }, ct, HttpStatusCode.Conflict);
                if (answer.Status == HttpStatusCode.Conflict) throw new CliException(alreadyEnrolled, Program.ExitRefused);
                var uri = answer.Get("uri").GetString() ?? "";
                var recovery = answer.Get("recoveryCodes").EnumerateArray().Select(c => c.GetString() ?? "").ToList();
                return await EnrollDialogAsync(uri, recovery, parse.GetValue(png), async code =>
                {
                    var confirmed = await client.SendAsync(HttpMethod.Post, ServerClient.AccountPath(account, "/totp/confirm"), new { code }, ct);
                    return (confirmed.Get("accepted").GetBoolean(), confirmed.Get("reason").GetString(), Events(confirmed));
                }, ct);
            }
            await using var host = await CliHost.OpenAsync(parse.GetValue(data)!, parse.GetValue(policy), write: true, parse.GetValue(redis),
                KeyRingSettings.FromEnvironment(parse.GetValue(keysDir), parse.GetValue(keyCertificate)), ct);
            var result = parse.GetValue(issuer) is { Length: > 0 } name
                ? await host.TwoFactor.EnrollAsync(account, name, ct)
                : await host.TwoFactor.EnrollAsync(account, ct);
            if (result.Enrollment is not { } enrollment) throw new CliException(alreadyEnrolled, 1);
            return await EnrollDialogAsync(enrollment.Uri, enrollment.RecoveryCodes, parse.GetValue(png), async code =>
            {
                var confirmed = await host.TwoFactor.ConfirmEnrollmentAsync(account, code, ct);
                return (confirmed.Succeeded, confirmed.ReasonCode, Lines(confirmed.Events));
            }, ct);
        })));
        return command;
    }

    /// <summary>
    /// Shows the URI and the QR code (and writes the PNG), reads the first code from standard input and confirms it:
    /// the same lines whether the factor lives in the data folder or on a server.
    /// </summary>
    private static async Task<int> EnrollDialogAsync(string uri, IReadOnlyList<string> recoveryCodes, string? pngPath,
        Func<string, Task<(bool Succeeded, string? ReasonCode, string Events)>> confirm, CancellationToken ct)
    {
        using var generator = new QRCodeGenerator();
        using var qr = generator.CreateQrCode(uri, QRCodeGenerator.ECCLevel.M);
        Console.WriteLine(uri); // on a line of its own, for copy and paste and for scripts
        Console.WriteLine(new AsciiQRCode(qr).GetGraphic(1, "██", "  ", drawQuietZones: true));
        if (pngPath is not null) await WritePngAsync(pngPath, new PngByteQRCode(qr).GetGraphic(10), ct);

        Console.WriteLine("Scan it, then enter the first code:");
        var code = (await Console.In.ReadLineAsync(ct))?.Trim() ?? "";
        var (succeeded, reasonCode, events) = await confirm(code);
        Console.WriteLine();
        Console.WriteLine(succeeded ? "confirmed: the factor is active" : $"not confirmed: {reasonCode}; run enroll again");
        Console.Write(events); // account.factor_enrolled (or a freeze after wrong codes), as the worker writes account events
        if (succeeded)
        {
            // Shown once, like the secret: each works once instead of a code if the authenticator is lost.
            Console.WriteLine("recovery codes (each works once; keep them offline):");
            foreach (var r in recoveryCodes) Console.WriteLine("  " + r);
        }
        return succeeded ? 0 : 1;
    }

    /// <summary>Account events as the worker writes them, one line each.</summary>
    private static string Lines(IEnumerable<RiskEngine.Events.AccountEvent> events)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        foreach (var e in events) RiskEngine.Pipeline.RecordWriter.WriteAccountEvent(buffer, e);
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>
    /// The account events of a server's answer, one line each; none from a server too old to return them (the change
    /// it made stands, so the command does not fail on their absence).
    /// </summary>
    private static string Events(ServerAnswer answer)
    {
        var text = new System.Text.StringBuilder();
        if (answer.Body.ValueKind == JsonValueKind.Object && answer.Body.TryGetProperty("events", out var events) && events.ValueKind == JsonValueKind.Array)
            foreach (var e in events.EnumerateArray()) text.Append(e.GetRawText()).Append('\n');
        return text.ToString();
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
        var server = new ServerClient.Options("totp verify", "decide", data, redis, policy, keysDir, keyCertificate);
        var command = new Command("verify", "Verify a code now; a valid code lifts a self-service freeze.") { id, codeOption, data, redis, policy, keysDir, keyCertificate };
        server.AddTo(command);
        command.SetAction((parse, ct) => Program.Guard(() => Secrets(async () =>
        {
            var account = Program.ParseAccount(parse.GetValue(id)!);
            using var client = server.Open(parse);
            if (client is not null)
            {
                var code = parse.GetValue(codeOption) ?? (await Console.In.ReadLineAsync(ct))?.Trim() ?? "";
                // {"accepted", "reason", "events"}: the events (a self-service unfreeze, a freeze after too many codes) also reached the server's output.
                var answer = await client.SendAsync(HttpMethod.Post, ServerClient.AccountPath(account, "/totp/verify"), new { code }, ct);
                var accepted = answer.Get("accepted").GetBoolean();
                Console.WriteLine(accepted ? "accepted" : $"refused: {answer.Get("reason").GetString()}");
                await AccountCommands.WriteLinesAsync([.. answer.Get("events").EnumerateArray()]);
                return accepted ? 0 : 1;
            }
            await using var host = await CliHost.OpenAsync(parse.GetValue(data)!, parse.GetValue(policy), write: true, parse.GetValue(redis),
                KeyRingSettings.FromEnvironment(parse.GetValue(keysDir), parse.GetValue(keyCertificate)), ct);
            var localCode = parse.GetValue(codeOption) ?? (await Console.In.ReadLineAsync(ct))?.Trim() ?? "";
            var result = await host.TwoFactor.VerifyAsync(account, localCode, ct);
            Console.WriteLine(result.Succeeded ? "accepted" : $"refused: {result.ReasonCode}");
            var buffer = new System.Buffers.ArrayBufferWriter<byte>();
            foreach (var e in result.Events) RiskEngine.Pipeline.RecordWriter.WriteAccountEvent(buffer, e);
            await using var stdout = Console.OpenStandardOutput();
            await stdout.WriteAsync(buffer.WrittenMemory, ct);
            return result.Succeeded ? 0 : 1;
        })));
        return command;
    }

    /// <summary>
    /// <c>totp reset ACCOUNT --by --reason</c>: support removes a lost factor (<see cref="ITwoFactorService.ResetAsync(AccountId, string, string, CancellationToken)"/>,
    /// recorded in the account's support log) so the user can enrol again. Prints <c>{"account","reset":true}</c> and then
    /// the <c>account.factor_reset</c> event (with the policy's support contacts and messages); exit 1 when the account has
    /// no factor. The secret is never decrypted, so no key ring is needed.
    /// </summary>
    private static Command Reset()
    {
        var id = new Argument<string>("account") { Description = "The account id." };
        var (by, reason) = AccountCommands.ByAndReason("Why, for the audit trail (e.g. the user's identity was checked by phone).");
        var data = Program.DataOption();
        var redis = Program.RedisOption();
        var policy = Program.PolicyOption();
        var server = new ServerClient.Options("totp reset", "support", data, redis, policy);
        var command = new Command("reset", "Support: remove an account's TOTP factor (a lost authenticator) so the user can enrol again; prints the account.factor_reset event.")
        {
            id, by, reason, data, redis, policy,
        };
        server.AddTo(command);
        command.SetAction((parse, ct) => Program.Guard(async () =>
        {
            var (byText, reasonText) = AccountCommands.ReadByAndReason(parse, by, reason);
            var account = Program.ParseAccount(parse.GetValue(id)!);
            var noFactor = $"account {account} has no TOTP factor to reset";
            string events;
            using var client = server.Open(parse);
            if (client is not null)
            {
                var answer = await client.SendAsync(HttpMethod.Post, ServerClient.AccountPath(account, "/totp/reset"), new { by = byText, reason = reasonText }, ct, HttpStatusCode.NotFound);
                if (answer.Status == HttpStatusCode.NotFound) throw new CliException(noFactor, Program.ExitRefused);
                events = Events(answer);
            }
            else
            {
                await using var host = await CliHost.OpenAsync(parse.GetValue(data)!, parse.GetValue(policy), write: true, parse.GetValue(redis));
                TotpResetResult reset;
                try
                {
                    // Through the engine's batch, as the worker's account events go: committed, then told to the sinks.
                    await using var batch = await host.Engine.BeginBatchAsync(ct);
                    reset = await batch.ResetTotpAsync(host.TwoFactor, account, byText, reasonText, null, ct);
                    await batch.CommitAsync(null, ct);
                }
                catch (ArgumentException e)
                {
                    throw new CliException(Program.ArgumentMessage(e), Program.ExitRefused);
                }
                catch (RiskEngine.State.StateStoreUnavailableException e)
                {
                    throw new CliException($"the state store cannot be reached ({e.Message}); nothing was changed", Program.ExitEnvironment);
                }
                if (reset.Status == TotpStatus.NotEnrolled) throw new CliException(noFactor, Program.ExitRefused);
                events = Lines(reset.Events);
            }
            Console.WriteLine(JsonSerializer.Serialize(new { account = account.Value, reset = true }));
            Console.Write(events);
            return 0;
        }));
        return command;
    }
}

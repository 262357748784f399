using System.Buffers;
using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Text.Json;
using RiskEngine.Decisions;
using RiskEngine.Domain;
using RiskEngine.Events;
using RiskEngine.Pipeline;

namespace RiskEngine.Cli;

/// <summary>
/// <c>riskengine account status|unfreeze|freeze|history</c>: support actions on the worker's store, or with
/// <c>--server URL</c> on a running server's (role <c>support</c>), printing the same output either way.
/// </summary>
internal static class AccountCommands
{
    public static Command Create()
    {
        var account = new Command("account", "Support actions on an account, against the worker's data folder or a running server (--server).");
        account.Subcommands.Add(Status());
        account.Subcommands.Add(Unfreeze());
        account.Subcommands.Add(Freeze());
        account.Subcommands.Add(History());
        return account;
    }

    private static Argument<string> AccountArgument() => new("account") { Description = "The account id." };

    private static Command Status()
    {
        var id = AccountArgument();
        var data = Program.DataOption();
        var redis = Program.RedisOption();
        var policy = Program.PolicyOption();
        var server = new ServerClient.Options("account status", "support", data, redis, policy);
        var command = new Command("status", "Frozen or not, why, since when, how it can be lifted; lockout; TOTP.") { id, data, redis, policy };
        server.AddTo(command);
        command.SetAction((parse, ct) => Program.Guard(async () =>
        {
            var accountId = Program.ParseAccount(parse.GetValue(id)!);
            using var client = server.Open(parse);
            if (client is not null)
            {
                var answer = await client.SendAsync(HttpMethod.Get, ServerClient.AccountPath(accountId), null, ct, HttpStatusCode.NotFound);
                if (answer.Status == HttpStatusCode.NotFound)
                    throw new CliException($"account {accountId} is unknown: it has no state and no decisions on the server at {client.Display}", Program.ExitUnknownAccount);
                Console.WriteLine(StatusLine(answer.Body));
                return 0;
            }
            await using var host = await CliHost.OpenAsync(parse.GetValue(data)!, parse.GetValue(policy), write: false, parse.GetValue(redis));
            // An account the store has never seen has no state and no decisions: say so rather than print a clean record.
            if ((await host.StateStore.LoadAccountAsync(accountId, ct)).Version == 0)
                throw new CliException($"account {accountId} is unknown: it has no state and no decisions in {host.StoreName}", Program.ExitUnknownAccount);
            var s = await host.Engine.GetAccountStatusAsync(accountId, ct);
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                account = s.Account.Value,
                frozen = s.Frozen,
                reason = s.FreezeReason,
                frozenAt = s.FrozenAt is { } f ? RecordWriter.FormatTime(f) : null,
                selfService = s.SelfService,
                unfreezesAt = s.UnfreezesAt is { } u ? RecordWriter.FormatTime(u) : null,
                lockedUntil = s.LockedUntil is { } l ? RecordWriter.FormatTime(l) : null,
                totpEnrolled = s.TotpEnrolled,
            }));
            return 0;
        }));
        return command;
    }

    /// <summary>The members <c>account status</c> prints, in its order (the server's answer has more: the case, limits, the support log).</summary>
    internal static readonly string[] StatusMembers = ["account", "frozen", "reason", "frozenAt", "selfService", "unfreezesAt", "lockedUntil", "totpEnrolled"];

    /// <summary>The local mode's status line from the server's <c>GET /v1/accounts/{id}</c> answer: the same members in the same order.</summary>
    private static string StatusLine(JsonElement body)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            foreach (var name in StatusMembers)
            {
                w.WritePropertyName(name);
                if (body.ValueKind == JsonValueKind.Object && body.TryGetProperty(name, out var value)) value.WriteTo(w);
                else w.WriteNullValue();
            }
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The <c>--by</c> and <c>--reason</c> of a support action (one place for their wording and checks).</summary>
    internal static (Option<string> By, Option<string> Reason) ByAndReason(string reasonDescription = "Why, for the audit trail.") =>
        (new Option<string>("--by") { Description = "Your agent id.", Required = true },
         new Option<string>("--reason") { Description = reasonDescription, Required = true });

    /// <summary>The values of <see cref="ByAndReason"/>; exit 1 when either is blank.</summary>
    internal static (string By, string Reason) ReadByAndReason(ParseResult parse, Option<string> by, Option<string> reason)
    {
        var byText = parse.GetValue(by)!;
        var reasonText = parse.GetValue(reason)!;
        if (string.IsNullOrWhiteSpace(byText) || string.IsNullOrWhiteSpace(reasonText)) throw new CliException("--by and --reason must not be empty", 1);
        return (byText, reasonText);
    }

    private static Command Unfreeze()
    {
        var id = AccountArgument();
        var (by, reason) = ByAndReason();
        var data = Program.DataOption();
        var redis = Program.RedisOption();
        var policy = Program.PolicyOption();
        var server = new ServerClient.Options("account unfreeze", "support", data, redis, policy);
        var command = new Command("unfreeze", "Lift a freeze; prints the decision and the account.unfrozen event, as the worker would.") { id, by, reason, data, redis, policy };
        server.AddTo(command);
        command.SetAction((parse, ct) => Program.Guard(async () =>
        {
            var (byText, reasonText) = ReadByAndReason(parse, by, reason);
            var account = Program.ParseAccount(parse.GetValue(id)!);
            using var client = server.Open(parse);
            if (client is not null)
            {
                // {"decision": the record as the worker writes it, "events": [account.unfrozen]}: printed as the local mode prints them.
                var answer = await client.SendAsync(HttpMethod.Post, ServerClient.AccountPath(account, "/unfreeze"), new { by = byText, reason = reasonText }, ct);
                var record = answer.Get("decision");
                await WriteLinesAsync([record, .. answer.Get("events").EnumerateArray()]);
                return record.TryGetProperty("outcome", out var o) && o.ValueEquals("allow") ? 0 : 1;
            }
            await using var host = await CliHost.OpenAsync(parse.GetValue(data)!, parse.GetValue(policy), write: true, parse.GetValue(redis));
            var now = TimeProvider.System.GetUtcNow();
            var eventId = EventId.Create("support:" + now.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture) + ":" + Guid.NewGuid().ToString("N")[..8]);
            var result = await host.Engine.UnfreezeAsync(new SupportUnfreeze(eventId, now, account, byText, reasonText), ct);
            var decision = result.Kind switch
            {
                ResultKind.Decided => result.Decision!,
                ResultKind.Unavailable => throw new CliException($"the state store cannot be reached ({result.Outage!.Reason}); nothing was changed", 2),
                _ => throw new CliException(result.Rejection!.Error, 1),
            };
            var buffer = new System.Buffers.ArrayBufferWriter<byte>();
            RecordWriter.WriteDecision(buffer, decision);
            await using var stdout = Console.OpenStandardOutput();
            await stdout.WriteAsync(buffer.WrittenMemory, ct);
            return decision.Outcome == Outcome.Allow ? 0 : 1;
        }));
        return command;
    }

    /// <summary>
    /// <c>account freeze ACCOUNT --by --reason</c>: a support hold (<see cref="IRiskEngine.HoldAsync"/>), reason
    /// <c>support.hold</c>, lifted only by <c>account unfreeze</c>; prints the <c>account.frozen</c> event. Exit 1 when
    /// the account is already frozen (nothing changed).
    /// </summary>
    private static Command Freeze()
    {
        var id = AccountArgument();
        var (by, reason) = ByAndReason();
        var data = Program.DataOption();
        var redis = Program.RedisOption();
        var policy = Program.PolicyOption();
        var server = new ServerClient.Options("account freeze", "support", data, redis, policy);
        var command = new Command("freeze", "Put a support hold on an account (reason support.hold, lifted only by support's unfreeze); prints the account.frozen event.")
        {
            id, by, reason, data, redis, policy,
        };
        server.AddTo(command);
        command.SetAction((parse, ct) => Program.Guard(async () =>
        {
            var (byText, reasonText) = ReadByAndReason(parse, by, reason);
            var account = Program.ParseAccount(parse.GetValue(id)!);
            var alreadyFrozen = $"account {account} is already frozen; nothing was changed";
            using var client = server.Open(parse);
            if (client is not null)
            {
                var answer = await client.SendAsync(HttpMethod.Post, ServerClient.AccountPath(account, "/freeze"), new { by = byText, reason = reasonText }, ct, HttpStatusCode.Conflict);
                if (answer.Status == HttpStatusCode.Conflict) throw new CliException(alreadyFrozen, Program.ExitRefused);
                await WriteLinesAsync([.. answer.Get("events").EnumerateArray()]);
                return 0;
            }
            await using var host = await CliHost.OpenAsync(parse.GetValue(data)!, parse.GetValue(policy), write: true, parse.GetValue(redis));
            AccountFrozen? frozen;
            try
            {
                frozen = await host.Engine.HoldAsync(new SupportHold(account, byText, reasonText), ct);
            }
            catch (ArgumentException e)
            {
                throw new CliException(Program.ArgumentMessage(e), Program.ExitRefused);
            }
            catch (RiskEngine.State.StateStoreUnavailableException e)
            {
                throw new CliException($"the state store cannot be reached ({e.Message}); nothing was changed", Program.ExitEnvironment);
            }
            if (frozen is null) throw new CliException(alreadyFrozen, Program.ExitRefused);
            var buffer = new ArrayBufferWriter<byte>();
            RecordWriter.WriteAccountEvent(buffer, frozen);
            await using var stdout = Console.OpenStandardOutput();
            await stdout.WriteAsync(buffer.WrittenMemory, ct);
            return 0;
        }));
        return command;
    }

    private static Command History()
    {
        var id = AccountArgument();
        var data = Program.DataOption();
        var redis = Program.RedisOption();
        var limit = new Option<int>("--limit") { Description = "Most decisions shown (one line each), newest first.", DefaultValueFactory = _ => 50 };
        var server = new ServerClient.Options("account history", "support", data, redis);
        var command = new Command("history", "Recent decisions for the account (those still inside the idempotency window).") { id, data, redis, limit };
        server.AddTo(command);
        command.SetAction((parse, ct) => Program.Guard(async () =>
        {
            var max = parse.GetValue(limit);
            if (max < 1) throw new CliException($"--limit must be at least 1, not {max}", 1);
            var account = Program.ParseAccount(parse.GetValue(id)!);
            using var client = server.Open(parse);
            if (client is not null)
            {
                // A JSON array of the very lines the local mode prints.
                var answer = await client.SendAsync(HttpMethod.Get, ServerClient.AccountPath(account, "/history?limit=" + max.ToString(CultureInfo.InvariantCulture)), null, ct);
                if (answer.Body.ValueKind != JsonValueKind.Array) throw new CliException($"the server at {client.Display} did not answer the history with a JSON array", Program.ExitEnvironment);
                await WriteLinesAsync([.. answer.Body.EnumerateArray()]);
                return 0;
            }
            await using var host = await CliHost.OpenAsync(parse.GetValue(data)!, null, write: false, parse.GetValue(redis));
            var buffer = new System.Buffers.ArrayBufferWriter<byte>();
            foreach (var d in await host.HistoryAsync(account, max)) WriteHistoryLine(buffer, d);
            await using var stdout = Console.OpenStandardOutput();
            await stdout.WriteAsync(buffer.WrittenMemory, ct);
            return 0;
        }));
        return command;
    }

    /// <summary>Records from a server's answer, one line each and byte for byte as the server rendered them (the worker's record format).</summary>
    internal static async Task WriteLinesAsync(IReadOnlyList<JsonElement> records)
    {
        var text = new System.Text.StringBuilder();
        foreach (var r in records) text.Append(r.GetRawText()).Append('\n');
        await Console.Out.WriteAsync(text.ToString());
        await Console.Out.FlushAsync();
    }

    /// <summary>One line per decision (<see cref="RecordWriter.WriteHistoryLine"/>), so that <c>--limit N</c> prints N lines.</summary>
    internal static void WriteHistoryLine(IBufferWriter<byte> output, Decision decision) => RecordWriter.WriteHistoryLine(output, decision);
}

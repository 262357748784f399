using System.Buffers;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using RiskEngine.Decisions;
using RiskEngine.Domain;
using RiskEngine.Events;
using RiskEngine.Pipeline;

namespace RiskEngine.Cli;

/// <summary><c>riskengine account status|unfreeze|history</c>: support actions on the worker's store.</summary>
internal static class AccountCommands
{
    public static Command Create()
    {
        var account = new Command("account", "Support actions on an account, against the worker's data folder.");
        account.Subcommands.Add(Status());
        account.Subcommands.Add(Unfreeze());
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
        var command = new Command("status", "Frozen or not, why, since when, how it can be lifted; lockout; TOTP.") { id, data, redis, policy };
        command.SetAction((parse, ct) => Program.Guard(async () =>
        {
            await using var host = await CliHost.OpenAsync(parse.GetValue(data)!, parse.GetValue(policy), write: false, parse.GetValue(redis));
            var accountId = Program.ParseAccount(parse.GetValue(id)!);
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

    private static Command Unfreeze()
    {
        var id = AccountArgument();
        var by = new Option<string>("--by") { Description = "Your agent id.", Required = true };
        var reason = new Option<string>("--reason") { Description = "Why, for the audit trail.", Required = true };
        var data = Program.DataOption();
        var redis = Program.RedisOption();
        var policy = Program.PolicyOption();
        var command = new Command("unfreeze", "Lift a freeze; prints the decision and the account.unfrozen event, as the worker would.") { id, by, reason, data, redis, policy };
        command.SetAction((parse, ct) => Program.Guard(async () =>
        {
            await using var host = await CliHost.OpenAsync(parse.GetValue(data)!, parse.GetValue(policy), write: true, parse.GetValue(redis));
            var now = TimeProvider.System.GetUtcNow();
            var eventId = EventId.Create("support:" + now.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture) + ":" + Guid.NewGuid().ToString("N")[..8]);
            var byText = parse.GetValue(by)!;
            var reasonText = parse.GetValue(reason)!;
            if (string.IsNullOrWhiteSpace(byText) || string.IsNullOrWhiteSpace(reasonText)) throw new CliException("--by and --reason must not be empty", 1);
            var result = await host.Engine.UnfreezeAsync(new SupportUnfreeze(eventId, now, Program.ParseAccount(parse.GetValue(id)!), byText, reasonText), ct);
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

    private static Command History()
    {
        var id = AccountArgument();
        var data = Program.DataOption();
        var redis = Program.RedisOption();
        var limit = new Option<int>("--limit") { Description = "Most decisions shown (one line each), newest first.", DefaultValueFactory = _ => 50 };
        var command = new Command("history", "Recent decisions for the account (those still inside the idempotency window).") { id, data, redis, limit };
        command.SetAction((parse, ct) => Program.Guard(async () =>
        {
            var max = parse.GetValue(limit);
            if (max < 1) throw new CliException($"--limit must be at least 1, not {max}", 1);
            await using var host = await CliHost.OpenAsync(parse.GetValue(data)!, null, write: false, parse.GetValue(redis));
            var buffer = new System.Buffers.ArrayBufferWriter<byte>();
            foreach (var d in await host.HistoryAsync(Program.ParseAccount(parse.GetValue(id)!), max)) WriteHistoryLine(buffer, d);
            await using var stdout = Console.OpenStandardOutput();
            await stdout.WriteAsync(buffer.WrittenMemory, ct);
            return 0;
        }));
        return command;
    }

    /// <summary>One line per decision (<see cref="RecordWriter.WriteHistoryLine"/>), so that <c>--limit N</c> prints N lines.</summary>
    internal static void WriteHistoryLine(IBufferWriter<byte> output, Decision decision) => RecordWriter.WriteHistoryLine(output, decision);
}

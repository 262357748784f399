using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RiskEngine.Passwords;
using RiskEngine.Policies;

namespace RiskEngine.Cli;

/// <summary>
/// <c>riskengine password check</c>: the policy's verdict on a candidate password read from standard input (never
/// from an argument: arguments end up in shell history and process lists). Exit 0 allowed, 1 refused.
/// </summary>
internal static class PasswordCommands
{
    public static Command Create()
    {
        var policy = Program.PolicyOption();
        var account = new Option<string?>("--account") { Description = "The account id (refused inside the password)." };
        var email = new Option<string?>("--email") { Description = "The user's e-mail (its local part is refused inside the password)." };
        var name = new Option<string?>("--name") { Description = "The user's name (each part is refused inside the password)." };
        var birth = new Option<string?>("--birth-date") { Description = "The user's birth date, YYYY-MM-DD (refused in every common format)." };
        var format = new Option<string>("--format") { Description = "text or json.", DefaultValueFactory = _ => "text" };
        format.AcceptOnlyFromAmong("text", "json");
        var check = new Command("check", "Check a candidate password, read from standard input, against the policy.") { policy, account, email, name, birth, format };
        check.SetAction((parse, ct) => Program.Guard(async () =>
        {
            var context = new PasswordContext
            {
                Account = parse.GetValue(account) is { } a ? Program.ParseAccount(a) : null,
                Email = parse.GetValue(email),
                Name = parse.GetValue(name),
                BirthDate = parse.GetValue(birth) is { } b ? ParseDate(b) : null,
            };
            var services = new ServiceCollection().AddRiskEngine(o => o.PolicyPath = parse.GetValue(policy));
            await using var provider = services.BuildServiceProvider();
            IPasswordChecker checker;
            try
            {
                checker = provider.GetRequiredService<IPasswordChecker>();
                _ = provider.GetRequiredService<IPolicyProvider>().Current;
            }
            catch (OptionsValidationException e)
            {
                throw new CliException(string.Join(Environment.NewLine, e.Failures), 1);
            }
            catch (PolicyValidationException e)
            {
                throw new CliException(e.Message, 1);
            }
            var candidate = await Console.In.ReadLineAsync(ct);
            if (string.IsNullOrEmpty(candidate)) throw new CliException("no password on standard input (one line; it is never taken from an argument)", 1);
            var verdict = checker.Check(candidate, context);
            candidate = null;
            if (parse.GetValue(format) == "json")
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    allowed = verdict.Allowed,
                    score = verdict.Score,
                    reasons = verdict.Findings.Select(f => new { code = f.Code, advice = f.Advice }),
                    rotateAfterDays = verdict.RotateAfter?.TotalDays,
                }));
            }
            else
            {
                Console.WriteLine(verdict.Allowed ? $"allowed (strength {verdict.Score}/4)" : $"refused (strength {verdict.Score}/4)");
                foreach (var f in verdict.Findings) Console.WriteLine($"  {f.Code}: {f.Advice["en"]}");
            }
            return verdict.Allowed ? 0 : Program.ExitRefused;
        }));
        return new Command("password", "Password policy.") { check };
    }

    private static DateOnly ParseDate(string value) =>
        DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d)
            ? d
            : throw new CliException($"--birth-date '{value}' is not a date as YYYY-MM-DD", 1);
}

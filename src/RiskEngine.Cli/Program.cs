using System.CommandLine;
using System.CommandLine.Help;

namespace RiskEngine.Cli;

/// <summary>The <c>riskengine</c> command.</summary>
public static class Program
{
    /// <summary>Exit code: refused or invalid (a usage error, a refused policy, a code not accepted).</summary>
    internal const int ExitRefused = 1;

    /// <summary>Exit code: an environment problem (a file that cannot be opened, a data folder held by a worker, a key ring that cannot decrypt).</summary>
    internal const int ExitEnvironment = 2;

    /// <summary>Exit code: the account is unknown (no state and no decisions in the store).</summary>
    internal const int ExitUnknownAccount = 3;

    /// <summary>Entry point.</summary>
    public static Task<int> Main(string[] args) => Build().Parse(args).InvokeAsync();

    /// <summary>The command's name in help and usage: the installed tool's (<c>ToolCommandName</c>), however it is started.</summary>
    public const string CommandName = "riskengine";

    /// <summary>The command tree (exposed for tests).</summary>
    /// <remarks>
    /// Not a <see cref="RootCommand"/>: that one is named after the entry assembly, so the installed tool and
    /// <c>dotnet RiskEngine.Cli.dll</c> would print <c>Usage: RiskEngine.Cli</c>, and the assembly cannot be renamed
    /// <c>riskengine</c> (assembly names compare case-insensitively: it would shadow the core library, RiskEngine). A
    /// command of our own name with the same help and version options; without only the root's directives
    /// (<c>[suggest]</c>, <c>[diagram]</c>).
    /// </remarks>
    public static Command Build()
    {
        var root = new Command(CommandName, "RiskEngine: allow / challenge / deny / freeze decisions for payments and sign-ins.")
        {
            Options = { new HelpOption(), new VersionOption() },
        };
        root.Subcommands.Add(ReplayCommand.Create());
        root.Subcommands.Add(ValidateCommand.Create());
        root.Subcommands.Add(BacktestCommand.Create());
        root.Subcommands.Add(AccountCommands.Create());
        root.Subcommands.Add(TotpCommands.Create());
        root.Subcommands.Add(PasswordCommands.Create());
        return root;
    }

    /// <summary>Runs an action, turning a <see cref="CliException"/> into its message and exit code.</summary>
    internal static async Task<int> Guard(Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (CliException e)
        {
            await Console.Error.WriteLineAsync($"riskengine: {e.Message}");
            return e.ExitCode;
        }
    }

    /// <summary>Opens a file for reading or writing, or standard input/output for <c>-</c>.</summary>
    internal static Stream Open(string path, bool read)
    {
        if (path == "-") return read ? Console.OpenStandardInput() : Console.OpenStandardOutput();
        try
        {
            return read
                ? new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16, useAsync: true)
                : new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16, useAsync: true);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new CliException($"cannot open {path}: {e.Message}", ExitEnvironment);
        }
    }

    /// <summary>An account id from the command line, or a usage error.</summary>
    internal static Domain.AccountId ParseAccount(string value) =>
        Domain.AccountId.TryCreate(value, out var id, out var error) ? id : throw new CliException(error, 1);

    /// <summary>An argument error's message without .NET's " (Parameter 'x')" suffix.</summary>
    internal static string ArgumentMessage(ArgumentException e) =>
        e.ParamName is { } name ? e.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : e.Message;

    /// <summary>The <c>--data</c> option shared by the commands that work on a worker's data folder.</summary>
    internal static Option<string> DataOption() =>
        new("--data") { Description = "The worker's data folder (SQLite state, key ring).", DefaultValueFactory = _ => "data" };

    /// <summary>The <c>--redis</c> option: use the Redis store (the worker's <c>--store redis</c>) instead of the data folder's SQLite.</summary>
    internal static Option<string?> RedisOption() =>
        new("--redis") { Description = "Work on the Redis store at this address (StackExchange.Redis configuration) instead of DATA/riskengine.db." };

    /// <summary>The <c>--keys-dir</c> option: the key ring, as the worker's <c>--keys-dir</c>.</summary>
    internal static Option<string?> KeysDirOption() =>
        new("--keys-dir") { Description = "The Data Protection key ring that encrypts TOTP secrets (default: RiskEngine__KeyRing, else $XDG_CONFIG_HOME/riskengine/keys or ~/.config/riskengine/keys)." };

    /// <summary>The <c>--key-certificate</c> option: the certificate protecting the key ring, as the worker's.</summary>
    internal static Option<string?> KeyCertificateOption() =>
        new("--key-certificate") { Description = "PKCS#12 (.pfx) certificate that encrypts the key ring (default: RiskEngine__KeyCertificate); its password from RiskEngine__KeyCertificatePassword." };

    /// <summary>The <c>--policy</c> option (default: the embedded default policy).</summary>
    internal static Option<string?> PolicyOption() =>
        new("--policy") { Description = "Policy JSON file (default: the embedded default policy)." };
}

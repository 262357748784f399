using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using RiskEngine;
using RiskEngine.Pipeline;
using RiskEngine.Policies;

namespace RiskEngine.Cli;

/// <summary>The <c>riskengine</c> command.</summary>
public static class Program
{
    /// <summary>Entry point.</summary>
    public static Task<int> Main(string[] args) => Build().Parse(args).InvokeAsync();

    /// <summary>The command tree (exposed for tests).</summary>
    public static RootCommand Build()
    {
        var root = new RootCommand("RiskEngine: allow / challenge / deny / freeze decisions for payments and sign-ins.");
        root.Subcommands.Add(ReplayCommand());
        return root;
    }

    private static Command ReplayCommand()
    {
        var policy = new Option<string?>("--policy") { Description = "Policy JSON file (default: the embedded default policy)." };
        var input = new Option<string>("--input") { Description = "JSON Lines events to decide, or - for standard input.", DefaultValueFactory = _ => "-" };
        var output = new Option<string>("--output") { Description = "Where decisions and account events go, or - for standard output.", DefaultValueFactory = _ => "-" };
        var deadLetter = new Option<string?>("--dead-letter") { Description = "Also write rejected lines (with the reason) to this file." };
        var command = new Command("replay", "Decide a recorded event stream, in order, with decision time taken from each event's 'at'.")
        {
            policy, input, output, deadLetter,
        };
        command.SetAction(async (parse, ct) =>
        {
            var services = new ServiceCollection().AddRiskEngine(o =>
            {
                o.PolicyPath = parse.GetValue(policy);
                o.MaxFutureSkew = null; // a recording is in the past or the future of now; only the events' own times count
            });
            await using var provider = services.BuildServiceProvider();
            IRiskEngine engine;
            try
            {
                engine = provider.GetRequiredService<IRiskEngine>();
                _ = engine.Policy;
            }
            catch (Microsoft.Extensions.Options.OptionsValidationException e)
            {
                foreach (var failure in e.Failures) await Console.Error.WriteLineAsync(failure);
                return 1;
            }
            catch (PolicyValidationException e)
            {
                await Console.Error.WriteLineAsync(e.Message);
                return 1;
            }
            try
            {
                await using var inStream = Open(parse.GetValue(input)!, read: true);
                await using var outStream = Open(parse.GetValue(output)!, read: false);
                await using var dlStream = parse.GetValue(deadLetter) is { } dl ? Open(dl, read: false) : null;
                var summary = await new EventStreamProcessor(engine).RunAsync(inStream, outStream, dlStream, ct);
                await Console.Error.WriteLineAsync(
                    $"riskengine: {summary.Lines} lines, {summary.Decisions} decisions ({summary.Duplicates} duplicates), {summary.Rejected} rejected, {summary.AccountEvents} account events; policy {engine.Policy.Version}");
                return 0;
            }
            catch (IOException e)
            {
                await Console.Error.WriteLineAsync($"riskengine: {e.Message}");
                return 1;
            }
        });
        return command;
    }

    private static Stream Open(string path, bool read)
    {
        if (path == "-") return read ? Console.OpenStandardInput() : Console.OpenStandardOutput();
        try
        {
            return read
                ? new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16, useAsync: true)
                : new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16, useAsync: true);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or FileNotFoundException or DirectoryNotFoundException)
        {
            throw new IOException($"cannot open {path}: {e.Message}", e);
        }
    }
}

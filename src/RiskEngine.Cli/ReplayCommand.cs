using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RiskEngine.Pipeline;
using RiskEngine.Policies;

namespace RiskEngine.Cli;

/// <summary><c>riskengine replay</c>: decide a recorded stream with the contract pipeline, in memory.</summary>
internal static class ReplayCommand
{
    public static Command Create()
    {
        var policy = Program.PolicyOption();
        var input = new Option<string>("--input") { Description = "JSON Lines events to decide, or - for standard input.", DefaultValueFactory = _ => "-" };
        var output = new Option<string>("--output") { Description = "Where decisions and account events go, or - for standard output.", DefaultValueFactory = _ => "-" };
        var deadLetter = new Option<string?>("--dead-letter") { Description = "Also write rejected lines (with the reason) to this file." };
        var command = new Command("replay", "Decide a recorded event stream, in order, with decision time taken from each event's 'at'.")
        {
            policy, input, output, deadLetter,
        };
        command.SetAction((parse, ct) => Program.Guard(async () =>
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
            }
            catch (OptionsValidationException e)
            {
                throw new CliException(string.Join(Environment.NewLine, e.Failures), 1);
            }
            catch (PolicyValidationException e)
            {
                throw new CliException(e.Message, 1);
            }
            await using var inStream = Program.Open(parse.GetValue(input)!, read: true);
            await using var outStream = Program.Open(parse.GetValue(output)!, read: false);
            await using var dlStream = parse.GetValue(deadLetter) is { } dl ? Program.Open(dl, read: false) : null;
            var summary = await new EventStreamProcessor(engine).RunAsync(inStream, outStream, dlStream, ct);
            await Console.Error.WriteLineAsync(
                $"riskengine: {summary.Lines} lines, {summary.Decisions} decisions ({summary.Duplicates} duplicates), {summary.Rejected} rejected, {summary.AccountEvents} account events; policy {engine.Policy.Version}");
            return 0;
        }));
        return command;
    }
}

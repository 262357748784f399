using System.CommandLine;
using System.Text.Json;
using RiskEngine.Policies;

namespace RiskEngine.Cli;

/// <summary><c>riskengine validate POLICY...</c>: check policy files; exit 0 when all are valid, 1 otherwise.</summary>
internal static class ValidateCommand
{
    public static Command Create()
    {
        var files = new Argument<string[]>("policy") { Description = "Policy files to check.", Arity = ArgumentArity.OneOrMore };
        var format = new Option<string>("--format") { Description = "text or json (for CI).", DefaultValueFactory = _ => "text" };
        format.AcceptOnlyFromAmong("text", "json");
        var command = new Command("validate", "Check policy files: every error with file, JSON path and reason.") { files, format };
        command.SetAction(parse =>
        {
            var results = parse.GetValue(files)!.Select(Check).ToList();
            if (parse.GetValue(format) == "json")
            {
                Console.WriteLine(JsonSerializer.Serialize(results.Select(r => new
                {
                    file = r.File,
                    valid = r.Policy is not null,
                    version = r.Policy?.Version,
                    errors = r.Errors.Select(e => new { path = e.Path, message = e.Message }),
                })));
            }
            else
            {
                foreach (var r in results)
                {
                    if (r.Policy is { } p) Console.WriteLine($"ok      {r.File} ({p.Name}, {p.Version})");
                    foreach (var e in r.Errors) Console.WriteLine($"invalid {e}");
                }
            }
            return results.All(r => r.Policy is not null) ? 0 : 1;
        });
        return command;
    }

    private static (string File, RiskPolicy? Policy, IReadOnlyList<PolicyError> Errors) Check(string file)
    {
        try
        {
            var (policy, errors) = PolicyLoader.TryLoad(File.ReadAllBytes(file), file);
            if (policy is not null) RiskEngine.Rules.PolicyRuleSet.Compile(policy); // what a worker does before putting it in force
            return (file, policy, errors);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (file, null, [new PolicyError(file, "$", $"cannot read the file: {e.Message}")]);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return (file, null, [new PolicyError(file, "$", $"the policy cannot be compiled: {e.Message}")]);
        }
    }
}

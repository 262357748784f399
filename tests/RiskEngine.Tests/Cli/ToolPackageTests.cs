using RiskEngine.Tests.Contract;
using RiskEngine.Tests.Packaging;
using RiskEngine.Tests.Worker;

namespace RiskEngine.Tests.Cli;

/// <summary>
/// <c>riskengine</c> as a .NET tool: packed from src/RiskEngine.Cli, installed with <c>dotnet tool install
/// --tool-path</c> from that package alone, and run from where it was installed — so everything it loads at run
/// time (the embedded default policy, SQLite's native library, ...) must be in the package.
/// </summary>
[Trait("Category", "EndToEnd")]
[Collection(Dotnet.Collection)]
public sealed class ToolPackageTests() : ScratchFolder("riskengine-tool-")
{
    [Fact]
    public async Task The_packed_tool_installs_and_validates_and_replays_the_contract_example()
    {
        // One pack (Release), built under the tests' own --artifacts-path: the repository's bin/ and obj/ stay as they are.
        Directory.CreateDirectory(P("feed"));
        await Dotnet.SucceedAsync(Dotnet.RepositoryRoot, null, "pack", Path.Combine("src", "RiskEngine.Cli", "RiskEngine.Cli.csproj"),
            "-c", "Release", "--output", P("feed"), "--artifacts-path", Dotnet.ArtifactsPath, "-nodeReuse:false");
        var package = Assert.Single(Directory.GetFiles(P("feed"), "RiskEngine.Cli.*.nupkg"));
        // Versioned from Directory.Build.props, so "dotnet tool update" sees each release as new.
        Assert.Equal($"RiskEngine.Cli.{Dotnet.Version}.nupkg", Path.GetFileName(package));

        // Installed from that feed only, through a package folder of its own: never a cached or published RiskEngine.Cli.
        await File.WriteAllTextAsync(P("nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{P("feed")}" />
              </packageSources>
            </configuration>
            """);
        var install = await Dotnet.SucceedAsync(P(""), new Dictionary<string, string> { ["NUGET_PACKAGES"] = P("packages") },
            "tool", "install", "--tool-path", P("tools"), "--configfile", P("nuget.config"), "RiskEngine.Cli");
        Assert.Contains("riskengine", install, StringComparison.Ordinal);
        var riskengine = P(Path.Combine("tools", OperatingSystem.IsWindows() ? "riskengine.exe" : "riskengine"));
        Assert.True(File.Exists(riskengine), $"no riskengine command after installing {Path.GetFileName(package)}");

        // Run where there is no policies/ or samples/ folder to lean on, with a key ring root of its own.
        Directory.CreateDirectory(P("run"));
        var environment = new Dictionary<string, string> { ["XDG_CONFIG_HOME"] = P("config") };

        // Help names the command as installed (not the assembly, RiskEngine.Cli); --version is the package's.
        var (code, output, error) = await Dotnet.RunAsync(riskengine, ["--help"], P("run"), environment);
        Assert.True(code == 0, error);
        Assert.Contains("Usage:\n  riskengine [command] [options]", output.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.DoesNotContain("RiskEngine.Cli", output, StringComparison.Ordinal);
        (code, output, error) = await Dotnet.RunAsync(riskengine, ["--version"], P("run"), environment);
        Assert.True(code == 0, error);
        Assert.StartsWith(Dotnet.Version, output.Trim(), StringComparison.Ordinal);

        (code, output, error) = await Dotnet.RunAsync(riskengine, ["validate", Sample("policy.example.json")], P("run"), environment);
        Assert.True(code == 0, error);
        Assert.Matches(@"^ok\s+\S*policy\.example\.json \(example, sha256:[0-9a-f]{16}\)", output);

        // The wire contract's example under its example policy gives the contract's expected records.
        (code, output, error) = await Dotnet.RunAsync(riskengine,
            ["replay", "--policy", Sample("policy.example.json"), "--input", Sample("events.example.jsonl"), "--output", "-"], P("run"), environment);
        Assert.True(code == 0, error);
        ContractExampleTests.AssertMatches(ContractExampleTests.Lines(await File.ReadAllTextAsync(Sample("expected.example.jsonl"))), ContractExampleTests.Lines(output));
        Assert.Contains("34 lines, 31 decisions", error, StringComparison.Ordinal);

        // Without --policy the embedded default decides, exactly as the riskengine built beside the tests does.
        (code, output, error) = await Dotnet.RunAsync(riskengine, ["replay", "--input", Sample("events.example.jsonl"), "--output", "-"], P("run"), environment);
        Assert.True(code == 0, error);
        var (builtCode, builtOutput, _) = await WorkerProcess.RunCliAsync(null, "replay", "--input", Sample("events.example.jsonl"), "--output", "-");
        Assert.Equal(0, builtCode);
        Assert.Equal(builtOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries), output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}

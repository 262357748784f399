using System.Diagnostics;
using System.Text;

namespace RiskEngine.Tests.Packaging;

/// <summary>
/// Runs the .NET SDK (or a program it installed) as a child process, for the tests that pack, install or build
/// the way a user would. Test classes that do are in the <c>dotnet-builds</c> collection, so only one builds at a time.
/// </summary>
internal static class Dotnet
{
    public const string Collection = "dotnet-builds";

    /// <summary>The repository's root (where RiskEngine.sln is), found from the test binaries' folder.</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    /// <summary>The one version of every assembly and package: <c>&lt;Version&gt;</c> in the repository's Directory.Build.props.</summary>
    public static string Version { get; } = System.Xml.Linq.XDocument.Load(Path.Combine(RepositoryRoot, "Directory.Build.props"))
        .Descendants("Version").Single().Value.Trim();

    /// <summary>The configuration the tests were built in (Debug or Release).</summary>
    public static string Configuration { get; } = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;

    /// <summary>
    /// One <c>--artifacts-path</c> for every build the tests make of the repository's projects (bin/, obj/ and
    /// packages under a temporary folder that <see cref="DotnetBuilds"/> deletes when the collection ends): the
    /// repository's own bin/ and obj/ stay as they are, and a library compiled for one test is up to date for the next.
    /// </summary>
    public static string ArtifactsPath => SharedArtifacts.Value;

    private static readonly Lazy<string> SharedArtifacts = new(() => Directory.CreateTempSubdirectory("riskengine-tests-artifacts-").FullName);

    internal static void DeleteArtifacts()
    {
        if (SharedArtifacts.IsValueCreated && Directory.Exists(SharedArtifacts.Value)) Directory.Delete(SharedArtifacts.Value, recursive: true);
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "RiskEngine.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("RiskEngine.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Runs <paramref name="program"/> to its end (at most <paramref name="timeout"/>) and returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Out, string Err)> RunAsync(string program, IEnumerable<string> args, string workingDirectory,
        IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var a in args) info.ArgumentList.Add(a);
        // `dotnet test` hands its MSBuild settings to the test host; a nested build must find its own.
        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || k == "DOTNET_HOST_PATH").ToList())
            info.Environment.Remove(name);
        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) info.Environment[name] = value;

        using var process = Process.Start(info)!;
        process.StandardInput.Close();
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (stdout) stdout.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(5));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish in time:\n{stdout}\n{stderr}");
        }
        process.WaitForExit(); // drains the redirected streams
        return (process.ExitCode, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Runs <c>dotnet</c> with <paramref name="args"/> and fails the test, with all it printed, unless it exits 0.</summary>
    public static async Task<string> SucceedAsync(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var (code, output, error) = await RunAsync("dotnet", args, workingDirectory, environment);
        Assert.True(code == 0, $"dotnet {string.Join(' ', args)} exited {code}:\n{output}\n{error}");
        return output;
    }
}

/// <summary>The <c>dotnet-builds</c> collection: its tests run one at a time, and its build folder goes when they are done.</summary>
[CollectionDefinition(Dotnet.Collection)]
public sealed class DotnetBuilds : ICollectionFixture<DotnetBuilds>, IDisposable
{
    public void Dispose() => Dotnet.DeleteArtifacts();
}

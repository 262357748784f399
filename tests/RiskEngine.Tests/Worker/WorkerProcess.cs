using System.Collections.Concurrent;
using System.Diagnostics;

namespace RiskEngine.Tests.Worker;

/// <summary>The real worker, started as its own process (<c>dotnet RiskEngine.Worker.dll ...</c>).</summary>
internal sealed class WorkerProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _log = new();

    private WorkerProcess(Process process)
    {
        _process = process;
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _log.Enqueue(e.Data); };
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) StdOut.Enqueue(e.Data); };
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
    }

    public ConcurrentQueue<string> StdOut { get; } = new();

    public string Log => string.Join('\n', _log);

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public static string WorkerDll
    {
        get
        {
            // tests/RiskEngine.Tests/bin/<Configuration>/net10.0/ → src/RiskEngine.Worker/bin/<Configuration>/net10.0/
            var testDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var configuration = testDir.Parent!.Name;
            var root = testDir.Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
            var dll = Path.Combine(root, "src", "RiskEngine.Worker", "bin", configuration, "net10.0", "RiskEngine.Worker.dll");
            return File.Exists(dll) ? dll : throw new FileNotFoundException("build the solution first; worker not found", dll);
        }
    }

    /// <summary>The riskengine CLI beside the worker (the test project builds both).</summary>
    public static string CliDll => Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(WorkerDll)!)!)!)!)!,
        "RiskEngine.Cli", "bin", new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name, "net10.0", "RiskEngine.Cli.dll");

    public static WorkerProcess Start(params string[] args) => StartDll(WorkerDll, args);

    /// <summary>The HTTP server beside the worker (the test project builds both).</summary>
    public static string ServerDll => Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(WorkerDll)!)!)!)!)!,
        "RiskEngine.Server", "bin", new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name, "net10.0", "RiskEngine.Server.dll");

    /// <summary>Starts <c>riskengine-server</c> (its default key ring, like the worker's, is one per data folder and test run).</summary>
    public static WorkerProcess StartServer(params string[] args) => StartDll(ServerDll, args);

    /// <summary>Starts the server with extra environment variables (a null value removes one).</summary>
    public static WorkerProcess StartServerWithEnvironment(IReadOnlyDictionary<string, string?> environment, params string[] args) => StartDll(ServerDll, args, environment: environment);

    /// <summary>Starts the worker with extra environment variables (a null value removes one).</summary>
    public static WorkerProcess StartWithEnvironment(IReadOnlyDictionary<string, string?> environment, params string[] args) => StartDll(WorkerDll, args, environment: environment);

    /// <summary>Starts <c>riskengine</c> with standard input redirected (write to <see cref="Input"/>).</summary>
    public static WorkerProcess StartCli(params string[] args) => StartDll(CliDll, args, redirectInput: true);

    /// <summary>Starts <c>riskengine</c> with extra environment variables and standard input redirected.</summary>
    public static WorkerProcess StartCliWithEnvironment(IReadOnlyDictionary<string, string?> environment, params string[] args) =>
        StartDll(CliDll, args, redirectInput: true, environment);

    /// <summary>Runs <c>riskengine</c> to its end, feeding <paramref name="stdin"/>.</summary>
    public static Task<(int ExitCode, string Out, string Err)> RunCliAsync(string? stdin, params string[] args) =>
        RunCliWithEnvironmentAsync(new Dictionary<string, string?>(), stdin, args);

    /// <summary>Runs <c>riskengine</c> to its end with extra environment variables, feeding <paramref name="stdin"/>.</summary>
    public static async Task<(int ExitCode, string Out, string Err)> RunCliWithEnvironmentAsync(IReadOnlyDictionary<string, string?> environment, string? stdin, params string[] args)
    {
        using var p = StartDll(CliDll, args, redirectInput: true, environment);
        if (stdin is not null) await p.Input.WriteAsync(stdin);
        p.Input.Close();
        var code = await p.WaitForExitAsync(TimeSpan.FromMinutes(3));
        return (code, string.Join('\n', p.StdOut), p.Log);
    }

    public StreamWriter Input => _process.StandardInput;

    /// <summary>Key ring settings a developer may have in the environment; a test sets its own or none.</summary>
    private static readonly string[] KeyRingVariables = ["RiskEngine__KeyRing", "RiskEngine__KeyCertificate", "RiskEngine__KeyCertificatePassword"];

    /// <summary>The default key ring's root for processes started without <c>--data</c>: one per test run, never the user's own.</summary>
    private static readonly Lazy<string> SharedConfigHome = new(() =>
    {
        var dir = Directory.CreateTempSubdirectory("riskengine-tests-config-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Directory.Delete(dir, recursive: true);
        return dir;
    });

    /// <summary>The <c>XDG_CONFIG_HOME</c> of processes started on <paramref name="data"/>: one folder per data folder, in one temporary folder per test run.</summary>
    private static string ConfigHome(string? data) => data is null
        ? Path.Combine(SharedConfigHome.Value, "none")
        : Path.Combine(SharedConfigHome.Value, Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Path.GetFullPath(data))))[..16]);

    /// <summary>The default key ring of processes started with <c>--data <paramref name="data"/></c>.</summary>
    public static string DefaultKeyRing(string data) => Path.Combine(ConfigHome(data), "riskengine", "keys");

    private static WorkerProcess StartDll(string dll, string[] args, bool redirectInput = false, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, RedirectStandardInput = redirectInput, UseShellExecute = false };
        info.ArgumentList.Add(dll);
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var name in KeyRingVariables) info.Environment.Remove(name);
        // Each data folder's processes get their own default key ring ($XDG_CONFIG_HOME/riskengine/keys): tests never
        // share one, nor touch ~/.config.
        var data = Array.IndexOf(args, "--data") is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        info.Environment["XDG_CONFIG_HOME"] = ConfigHome(data);
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null) info.Environment.Remove(name);
            else info.Environment[name] = value;
        }
        return new WorkerProcess(Process.Start(info)!);
    }

    /// <summary>Runs the worker to its end and returns its exit code.</summary>
    public static Task<(int ExitCode, string Log)> RunAsync(params string[] args) => RunWithEnvironmentAsync(new Dictionary<string, string?>(), args);

    /// <summary>Runs the worker to its end with extra environment variables and returns its exit code.</summary>
    public static async Task<(int ExitCode, string Log)> RunWithEnvironmentAsync(IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        using var w = StartWithEnvironment(environment, args);
        var code = await w.WaitForExitAsync(TimeSpan.FromMinutes(3));
        return (code, w.Log);
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        _process.WaitForExit(); // drains the redirected streams
        return _process.ExitCode;
    }

    /// <summary>Waits until <paramref name="condition"/> holds, the process exits, or the timeout passes (polling, not sleeping for time to pass).</summary>
    public async Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            if (condition()) return true;
            if (_process.HasExited) return condition();
            await Task.Delay(5);
        }
        return false;
    }

    public Task<bool> WaitForLogAsync(string text, TimeSpan timeout) => WaitUntilAsync(() => Log.Contains(text, StringComparison.Ordinal), timeout);

    /// <summary>SIGKILL: no shutdown code runs.</summary>
    public void KillHard() => _process.Kill(entireProcessTree: true);

    /// <summary>SIGTERM: the host's graceful shutdown.</summary>
    public void Terminate()
    {
        using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }
}

/// <summary>A deterministic stream of contract events for many accounts, with bursts that freeze accounts.</summary>
internal static class EventStream
{
    public static List<string> Generate(int count, int accounts, int seed, bool withGarbage = false)
    {
        var rng = new Random(seed);
        var lines = new List<string>(count);
        var t = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var countries = new[] { "US", "GB", "DE", "FR", "JP", "CN", "KP" };
        for (var i = 0; i < count; i++)
        {
            t = t.AddMilliseconds(rng.Next(50, 400));
            var at = t.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
            var account = $"acct-{rng.Next(accounts)}";
            var roll = rng.NextDouble();
            if (withGarbage && roll < 0.01)
            {
                lines.Add(rng.Next(3) switch
                {
                    0 => "not json at all {",
                    1 => $$"""{"type":"transaction","id":"g{{i}}","at":"{{at}}","account":"{{account}}","amount":-1,"currency":"USD","country":"US","device":"d"}""",
                    _ => $$"""{"type":"transaction","id":"g{{i}}","at":"{{at}}","account":"{{account}}","amount":5,"currency":"USD","country":"ZZ","device":"d"}""",
                });
            }
            else if (roll < 0.75)
            {
                var amount = rng.Next(1, 8000);
                var country = countries[rng.Next(countries.Length)];
                var totp = rng.NextDouble() < 0.3 ? ",\"authenticated\":\"totp\"" : "";
                lines.Add($$"""{"type":"transaction","id":"e{{i}}","at":"{{at}}","account":"{{account}}","amount":{{amount}},"currency":"USD","country":"{{country}}","device":"dev-{{rng.Next(3)}}"{{totp}}}""");
            }
            else if (roll < 0.95)
            {
                var ok = rng.NextDouble() < 0.7 ? "true" : "false";
                lines.Add($$"""{"type":"login","id":"e{{i}}","at":"{{at}}","account":"{{account}}","success":{{ok}},"device":"dev-{{rng.Next(3)}}","country":"{{countries[rng.Next(3)]}}","ip":"203.0.113.{{rng.Next(20)}}"}""");
            }
            else
            {
                lines.Add($$"""{"type":"unfreeze","id":"e{{i}}","at":"{{at}}","account":"{{account}}","by":"agent-{{rng.Next(5)}}","reason":"checked"}""");
            }
        }
        return lines;
    }
}

using BenchmarkDotNet.Running;
using RiskEngine.Benchmarks.Traffic;

namespace RiskEngine.Benchmarks;

/// <summary>
/// <c>generate</c> writes seeded traffic; <c>throughput</c> runs the decision harness; <c>stream-load</c> puts a
/// JSON Lines file on a partitioned Redis stream input; <c>http-load</c> drives a running server over
/// HTTP; anything else goes to
/// BenchmarkDotNet (<c>--filter '*'</c>).
/// </summary>
public static class Program
{
    /// <summary>Entry point.</summary>
    public static int Main(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Length > 0 && args[0] == "generate")
        {
            var accounts = IntArg(args, "--accounts", 10_000);
            var events = LongArg(args, "--events", 100_000);
            var seed = IntArg(args, "--seed", 1);
            var output = StringArg(args, "--output", "-");
            var days = IntArg(args, "--days", 1);
            new TrafficGenerator(accounts, events, seed, TimeSpan.FromDays(days)).WriteTo(output, events);
            if (output != "-") Console.Error.WriteLine($"wrote {events} events for {accounts} accounts (seed {seed}) to {output}");
            return 0;
        }
        if (args.Length > 0 && args[0] == "throughput") return ThroughputHarness.Run(args[1..]);
        if (args.Length > 0 && args[0] == "profile") return ProfileHarness.Run();
        if (args.Length > 0 && args[0] == "stream-load") return StreamLoad.Run(args[1..]);
        if (args.Length > 0 && args[0] == "http-load") return HttpLoad.Run(args[1..]);
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }

    internal static string StringArg(string[] args, string name, string fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }

    internal static int IntArg(string[] args, string name, int fallback) =>
        int.Parse(StringArg(args, name, fallback.ToString(System.Globalization.CultureInfo.InvariantCulture)), System.Globalization.CultureInfo.InvariantCulture);

    internal static long LongArg(string[] args, string name, long fallback) =>
        long.Parse(StringArg(args, name, fallback.ToString(System.Globalization.CultureInfo.InvariantCulture)), System.Globalization.CultureInfo.InvariantCulture);

    internal static bool Flag(string[] args, string name) => Array.IndexOf(args, name) >= 0;
}

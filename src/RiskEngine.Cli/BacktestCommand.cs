using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RiskEngine.Decisions;
using RiskEngine.Events;
using RiskEngine.Pipeline;
using RiskEngine.Policies;

namespace RiskEngine.Cli;

/// <summary>
/// <c>riskengine backtest</c>: replays a recorded stream through the current and a candidate policy, each with its
/// own fresh state rebuilt from the events (windows, caps, freezes), and reports what would change.
/// </summary>
internal static class BacktestCommand
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static Command Create()
    {
        var events = new Option<string>("--events") { Description = "Recorded JSON Lines events (optionally with a 'label' of fraud/legit).", Required = true };
        var current = new Option<string>("--policy") { Description = "The policy in force.", Required = true };
        var candidate = new Option<string>("--candidate") { Description = "The policy to compare with it.", Required = true };
        var format = new Option<string>("--format") { Description = "table, json or html.", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong("table", "json", "html");
        var output = new Option<string>("--output") { Description = "Report file, or - for standard output.", DefaultValueFactory = _ => "-" };
        var command = new Command("backtest", "Compare a candidate policy with the current one on a recorded event stream.")
        {
            events, current, candidate, format, output,
        };
        command.SetAction((parse, ct) => Program.Guard(async () =>
        {
            var report = await RunAsync(parse.GetValue(events)!, Load(parse.GetValue(current)!), Load(parse.GetValue(candidate)!), ct);
            var text = parse.GetValue(format) switch
            {
                "json" => JsonSerializer.Serialize(report.ToJson(), Indented),
                "html" => HtmlReport.Render(report),
                _ => report.ToTable(),
            };
            await using var stream = Program.Open(parse.GetValue(output)!, read: false);
            await stream.WriteAsync(Encoding.UTF8.GetBytes(text + "\n"), ct);
            return 0;
        }));
        return command;
    }

    private static RiskPolicy Load(string path)
    {
        try
        {
            return PolicyLoader.LoadFile(path);
        }
        catch (PolicyValidationException e)
        {
            throw new CliException(e.Message, 1);
        }
    }

    internal static async Task<BacktestReport> RunAsync(string eventsPath, RiskPolicy current, RiskPolicy candidate, CancellationToken ct)
    {
        await using var a = new ReplayEngine(current);
        await using var b = new ReplayEngine(candidate);
        var report = new BacktestReport(current.Version, candidate.Version) { CurrentName = current.Name, CandidateName = candidate.Name };
        await using var stream = Program.Open(eventsPath, read: true);
        var total = stream.CanSeek ? stream.Length : 0;
        var reader = new JsonLinesReader(stream, EventParser.MaxEventBytes);
        var progress = new Progress(total);
        // The pump every host uses: lines parsed once per engine and decided a batch at a time.
        var pumpA = new EventStreamProcessor(a.Engine);
        var pumpB = new EventStreamProcessor(b.Engine);
        var batch = new List<JsonLine>(EventStreamProcessor.BatchSize);
        var marks = new List<Marks>(EventStreamProcessor.BatchSize);
        (JsonLine Line, Marks Marks)? held = null;
        while (true)
        {
            batch.Clear();
            marks.Clear();
            while (batch.Count < EventStreamProcessor.BatchSize)
            {
                JsonLine line;
                Marks m;
                if (held is { } h) { (line, m) = h; held = null; }
                else if (await reader.ReadLineAsync(ct) is { } next)
                {
                    line = next with { Bytes = next.Bytes.ToArray() }; // the reader reuses its buffer
                    m = Read(line.Bytes.Span);
                }
                else break;
                if (m.TotpPassed)
                {
                    // The customer typed a valid code just before this line: decide everything before it first, then
                    // verify a real code at the line's time in both engines, so the step-up is recorded as live.
                    if (batch.Count > 0) { held = (line, m); break; }
                    if (EventParser.Parse(line.Bytes.Span).Event is { } retry)
                    {
                        await a.PassTotpAsync(retry.Account, retry.At, ct);
                        await b.PassTotpAsync(retry.Account, retry.At, ct);
                    }
                }
                batch.Add(line);
                marks.Add(m);
            }
            if (batch.Count == 0) break;
            progress.Report(batch[^1].EndOffset);
            var ra = await pumpA.ProcessLinesAsync(batch, ct);
            var rb = await pumpB.ProcessLinesAsync(batch, ct);
            for (var i = 0; i < batch.Count; i++)
            {
                if (pumpA.Read(batch[i]).Event is not { } e) { report.Rejected++; continue; }
                report.Add(e, marks[i].Label, marks[i].Scenario, ra[i].Decision, rb[i].Decision);
            }
        }
        progress.Done();
        report.TotpPassed = a.Passed;
        report.TotpRefused = a.Refused;
        return report;
    }

    /// <summary>
    /// The simulation-only fields of a line, which the engine's parser ignores: <c>label</c>, <c>scenario</c>, and
    /// <c>simulation: "totp_passed"</c> (the customer passed a TOTP check just before this attempt).
    /// </summary>
    private readonly record struct Marks(string? Label, string? Scenario, bool TotpPassed);

    private static Marks Read(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        string? label = null, scenario = null;
        var totp = false;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return default;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isLabel = reader.ValueTextEquals("label"u8);
                var isScenario = reader.ValueTextEquals("scenario"u8);
                var isSimulation = reader.ValueTextEquals("simulation"u8);
                reader.Read();
                if (reader.TokenType == JsonTokenType.String)
                {
                    if (isLabel) label = reader.GetString();
                    else if (isScenario) scenario = reader.GetString();
                    else if (isSimulation) totp = reader.ValueTextEquals("totp_passed"u8);
                }
                reader.Skip();
            }
        }
        catch (JsonException)
        {
            // A malformed line is the parser's to reject; what was read before the fault stands.
        }
        return new Marks(label, scenario, totp);
    }

    /// <summary>A progress bar on standard error, only when a person is watching.</summary>
    private sealed class Progress(long total)
    {
        private readonly bool _show = total > 0 && !Console.IsErrorRedirected;
        private int _last = -1;

        public void Report(long position)
        {
            if (!_show) return;
            var percent = (int)(position * 100 / total);
            if (percent == _last) return;
            _last = percent;
            Console.Error.Write($"\r[{new string('#', percent / 4),-25}] {percent,3}%");
        }

        public void Done()
        {
            if (_show) Console.Error.WriteLine();
        }
    }
}

/// <summary>What a backtest found.</summary>
internal sealed class BacktestReport(string currentVersion, string candidateVersion)
{
    private const int TableLimit = 50;

    public PolicyStats Current { get; } = new(currentVersion);

    public PolicyStats Candidate { get; } = new(candidateVersion);

    public List<(string Event, string Account, DateTimeOffset At, Outcome Current, Outcome Candidate, string? Label, string CurrentReasons, string CandidateReasons)> Changed { get; } = [];

    /// <summary>The policies' names (their <c>name</c> field), shown beside their versions.</summary>
    public string CurrentName { get; init; } = "";

    public string CandidateName { get; init; } = "";

    public int Rejected { get; set; }

    /// <summary>Lines marked <c>simulation: "totp_passed"</c> whose code the current policy's engine accepted, and refused.</summary>
    public int TotpPassed { get; set; }

    public int TotpRefused { get; set; }

    public int Events { get; private set; }

    public bool Labelled { get; private set; }

    /// <summary>Outcomes per hour, for the chart.</summary>
    public SortedDictionary<DateTimeOffset, (int[] Current, int[] Candidate)> Timeline { get; } = [];

    public int FreezesGained => Changed.Count(c => c.Candidate == Outcome.Freeze && c.Current != Outcome.Freeze);

    public int FreezesLost => Changed.Count(c => c.Current == Outcome.Freeze && c.Candidate != Outcome.Freeze);

    public void Add(RiskEvent e, string? label, string? scenario, Decision? current, Decision? candidate)
    {
        if (current is null || candidate is null) { Rejected++; return; }
        Events++;
        Labelled |= label is not null;
        Current.Add(current, label);
        Candidate.Add(candidate, label);
        if (label is not null)
        {
            Current.Scenarios.Add(e, label, scenario, current);
            Candidate.Scenarios.Add(e, label, scenario, candidate);
        }
        if (current.Outcome != candidate.Outcome)
            Changed.Add((e.Id.Value, e.Account.Value, e.At, current.Outcome, candidate.Outcome, label, Codes(current), Codes(candidate)));
        var hour = new DateTimeOffset(e.At.UtcDateTime.Year, e.At.UtcDateTime.Month, e.At.UtcDateTime.Day, e.At.UtcDateTime.Hour, 0, 0, TimeSpan.Zero);
        if (!Timeline.TryGetValue(hour, out var bucket)) Timeline[hour] = bucket = (new int[4], new int[4]);
        bucket.Current[(int)current.Outcome]++;
        bucket.Candidate[(int)candidate.Outcome]++;
    }

    private static string Codes(Decision d) => string.Join(", ", d.Reasons.Select(r => r.Code));

    public object ToJson() => new Dictionary<string, object?>
    {
        ["events"] = Events,
        ["rejected"] = Rejected,
        ["current"] = Current.ToJson(Labelled),
        ["candidate"] = Candidate.ToJson(Labelled),
        ["changed"] = Changed.Select(c => new Dictionary<string, object?>
        {
            ["event"] = c.Event,
            ["account"] = c.Account,
            ["at"] = RecordWriter.FormatTime(c.At),
            ["current"] = c.Current.ToWire(),
            ["candidate"] = c.Candidate.ToWire(),
            ["label"] = c.Label,
            ["currentReasons"] = c.CurrentReasons,
            ["candidateReasons"] = c.CandidateReasons,
        }).ToArray(),
        ["freezesGained"] = FreezesGained,
        ["simulatedTotp"] = new { passed = TotpPassed, refused = TotpRefused },
        ["freezesLost"] = FreezesLost,
    };

    public string ToTable()
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"{Events} events decided ({Rejected} rejected)");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"{"outcome",-12}{"current",12}{"candidate",12}{"change",10}");
        foreach (var o in Enum.GetValues<Outcome>())
        {
            var a = Current.Counts[(int)o];
            var b = Candidate.Counts[(int)o];
            sb.AppendLine(CultureInfo.InvariantCulture, $"{o.ToWire(),-12}{a,12}{b,12}{b - a,10:+0;-0;0}");
        }
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"freezes gained: {FreezesGained}, freezes lost: {FreezesLost}, events changed: {Changed.Count}");
        if (TotpPassed + TotpRefused > 0)
            sb.AppendLine(CultureInfo.InvariantCulture, $"simulated TOTP checks before retries: {TotpPassed} accepted, {TotpRefused} refused");
        if (Labelled)
        {
            sb.AppendLine();
            sb.AppendLine(CultureInfo.InvariantCulture, $"{"(label fraud)",-20}{"current",12}{"candidate",12}");
            sb.AppendLine(CultureInfo.InvariantCulture, $"{"freeze precision",-20}{Pct(Current.Freeze.Precision),12}{Pct(Candidate.Freeze.Precision),12}");
            sb.AppendLine(CultureInfo.InvariantCulture, $"{"freeze recall",-20}{Pct(Current.Freeze.Recall),12}{Pct(Candidate.Freeze.Recall),12}");
            sb.AppendLine(CultureInfo.InvariantCulture, $"{"deny precision",-20}{Pct(Current.Deny.Precision),12}{Pct(Candidate.Deny.Precision),12}");
            sb.AppendLine(CultureInfo.InvariantCulture, $"{"deny recall",-20}{Pct(Current.Deny.Recall),12}{Pct(Candidate.Deny.Recall),12}");
            sb.AppendLine();
            sb.Append(ScenarioMetrics.Table(Current.Scenarios, Candidate.Scenarios));
        }
        if (Changed.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine(CultureInfo.InvariantCulture, $"{"event",-16}{"account",-16}{"current",-11}{"candidate",-11}label");
            foreach (var c in Changed.Take(TableLimit))
                sb.AppendLine(CultureInfo.InvariantCulture, $"{c.Event,-16}{c.Account,-16}{c.Current.ToWire(),-11}{c.Candidate.ToWire(),-11}{c.Label}");
            if (Changed.Count > TableLimit) sb.AppendLine(CultureInfo.InvariantCulture, $"... and {Changed.Count - TableLimit} more (use --format json for all)");
        }
        return sb.ToString().TrimEnd();
    }

    private static string Pct(double? v) => ScenarioMetrics.Pct(v);
}

/// <summary>Counts for one policy, and precision/recall against labels.</summary>
internal sealed class PolicyStats(string version)
{
    public string Version { get; } = version;

    public int[] Counts { get; } = new int[4];

    public Confusion Freeze { get; } = new();

    public Confusion Deny { get; } = new();

    public int AccountsFrozen { get; private set; }

    public ScenarioMetrics Scenarios { get; } = new();

    public void Add(Decision d, string? label)
    {
        Counts[(int)d.Outcome]++;
        AccountsFrozen += d.Events.Count(e => e is AccountFrozen);
        if (label is null) return;
        var fraud = label == "fraud";
        Freeze.Add(d.Outcome == Outcome.Freeze, fraud);
        Deny.Add(d.Outcome >= Outcome.Deny, fraud);
    }

    public object ToJson(bool labelled) => new Dictionary<string, object?>
    {
        ["policy"] = Version,
        ["counts"] = Enum.GetValues<Outcome>().ToDictionary(o => o.ToWire(), o => Counts[(int)o]),
        ["accountsFrozen"] = AccountsFrozen,
        ["freeze"] = labelled ? new { precision = Freeze.Precision, recall = Freeze.Recall } : null,
        ["deny"] = labelled ? new { precision = Deny.Precision, recall = Deny.Recall } : null,
        ["scenarios"] = labelled ? Scenarios.ToJson() : null,
    };
}

/// <summary>True/false positives and negatives of one kind of outcome against the <c>fraud</c> label.</summary>
internal sealed class Confusion
{
    private int _tp, _fp, _fn;

    public void Add(bool predicted, bool fraud)
    {
        if (predicted && fraud) _tp++;
        else if (predicted) _fp++;
        else if (fraud) _fn++;
    }

    public double? Precision => _tp + _fp == 0 ? null : (double)_tp / (_tp + _fp);

    public double? Recall => _tp + _fn == 0 ? null : (double)_tp / (_tp + _fn);
}

/// <summary>A self-contained HTML report with an inline SVG chart of outcomes per hour.</summary>
internal static class HtmlReport
{
    private static readonly string[] Colors = ["#4caf50", "#ffb300", "#e53935", "#5e35b1"];

    public static string Render(BacktestReport r)
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>RiskEngine backtest</title>");
        sb.Append("<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f4f4f4}</style></head><body>");
        sb.Append(CultureInfo.InvariantCulture, $"<h1>Backtest</h1><p>{r.Events} events; current <b>{Enc(r.CurrentName)}</b> <code>{Enc(r.Current.Version)}</code>, candidate <b>{Enc(r.CandidateName)}</b> <code>{Enc(r.Candidate.Version)}</code>.</p>");
        sb.Append("<table><tr><th>outcome</th><th>current</th><th>candidate</th></tr>");
        foreach (var o in Enum.GetValues<Outcome>())
            sb.Append(CultureInfo.InvariantCulture, $"<tr><td>{o.ToWire()}</td><td>{r.Current.Counts[(int)o]}</td><td>{r.Candidate.Counts[(int)o]}</td></tr>");
        sb.Append(CultureInfo.InvariantCulture, $"</table><p>Freezes gained: {r.FreezesGained}; lost: {r.FreezesLost}; events changed: {r.Changed.Count}.</p>");
        if (r.Labelled) sb.Append("<h2>Labelled scenarios</h2><pre>").Append(Enc(ScenarioMetrics.Table(r.Current.Scenarios, r.Candidate.Scenarios))).Append("</pre>");
        sb.Append("<h2>Outcomes per hour</h2><p>Left bar: current, right bar: candidate; green allow, amber challenge, red deny, purple freeze. The second chart leaves out allow and has its own scale, so rare outcomes show.</p>");
        sb.Append(Chart(r, includeAllow: true));
        sb.Append(Chart(r, includeAllow: false));
        sb.Append("<h2>Changed events, with the reason codes behind each decision</h2><table><tr><th>event</th><th>account</th><th>at</th><th>current</th><th>reasons</th><th>candidate</th><th>reasons</th><th>label</th></tr>");
        foreach (var c in r.Changed.Take(1000))
            sb.Append(CultureInfo.InvariantCulture, $"<tr><td>{Enc(c.Event)}</td><td>{Enc(c.Account)}</td><td>{RecordWriter.FormatTime(c.At)}</td><td>{c.Current.ToWire()}</td><td>{Enc(c.CurrentReasons)}</td><td>{c.Candidate.ToWire()}</td><td>{Enc(c.CandidateReasons)}</td><td>{Enc(c.Label ?? "")}</td></tr>");
        sb.Append("</table></body></html>");
        return sb.ToString();
    }

    private static string Chart(BacktestReport r, bool includeAllow)
    {
        const int height = 160, barWidth = 8, gap = 6, left = 50;
        var from = includeAllow ? 0 : 1;
        var buckets = r.Timeline.ToList();
        int Sum(int[] counts) => counts.Skip(from).Sum();
        var max = Math.Max(1, buckets.Select(b => Math.Max(Sum(b.Value.Current), Sum(b.Value.Candidate))).DefaultIfEmpty(1).Max());
        var width = Math.Max(120, buckets.Count * (2 * barWidth + gap) + left + 10);
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height + 40}\" role=\"img\" aria-label=\"{(includeAllow ? "all outcomes" : "challenge, deny and freeze")} per hour\">");
        // The y-axis: a line and four ticks with the counts they stand for.
        sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{left - 4}\" y1=\"0\" x2=\"{left - 4}\" y2=\"{height}\" stroke=\"#888\"/>");
        for (var t = 0; t <= 4; t++)
        {
            var y = height - t * height / 4.0;
            var value = (int)Math.Round(max * t / 4.0);
            sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{left - 8}\" y1=\"{y:0.##}\" x2=\"{width}\" y2=\"{y:0.##}\" stroke=\"#eee\"/><text x=\"{left - 10}\" y=\"{y + 3:0.##}\" font-size=\"9\" text-anchor=\"end\">{value}</text>");
        }
        for (var i = 0; i < buckets.Count; i++)
        {
            var x = left + i * (2 * barWidth + gap);
            Bar(sb, x, buckets[i].Value.Current, from, max, height, barWidth);
            Bar(sb, x + barWidth, buckets[i].Value.Candidate, from, max, height, barWidth);
            if (i % 6 == 0) sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{x}\" y=\"{height + 15}\" font-size=\"9\">{buckets[i].Key:MM-dd HH}h</text>");
        }
        sb.Append("</svg>");
        return sb.ToString();
    }

    private static void Bar(StringBuilder sb, int x, int[] counts, int from, int max, int height, int width)
    {
        var y = (double)height;
        for (var o = from; o < counts.Length; o++)
        {
            var h = counts[o] * (double)height / max;
            y -= h;
            if (h > 0) sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{x}\" y=\"{y:0.##}\" width=\"{width - 1}\" height=\"{h:0.##}\" fill=\"{Colors[o]}\"><title>{((Outcome)o).ToWire()}: {counts[o]}</title></rect>");
        }
    }

    private static string Enc(string s) => WebUtility.HtmlEncode(s);
}

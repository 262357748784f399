using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using RiskEngine.Decisions;
using RiskEngine.Events;

namespace RiskEngine.Pipeline;

/// <summary>
/// Renders the contract's output records (<c>decision</c>, <c>rejected</c>, <c>account.frozen</c>, <c>account.unfrozen</c>)
/// and the second-factor account events (<c>account.factor_enrolled</c>, <c>account.factor_reset</c>) as JSON Lines.
/// Thread-safe (each thread writes with a writer of its own).
/// </summary>
public static class RecordWriter
{
    // Relaxed escaping keeps non-ASCII messages (zh-CN) readable in the output; the output is JSON Lines, never HTML.
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private const string WholeSeconds = "yyyy-MM-dd'T'HH:mm:ss'Z'";
    private const string WithFraction = "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'";

    // One writer per thread, pointed at each record's output in turn, instead of a new one per record (the worker
    // writes a record or more per line). Records are written synchronously, so the writer is never shared.
    [ThreadStatic] private static Utf8JsonWriter? t_writer;

    // Where an idle writer points, so that it keeps no caller's buffer alive. Nothing is ever written to it.
    private static readonly IBufferWriter<byte> Detached = new ArrayBufferWriter<byte>(1);

    /// <summary>Timestamps are written in UTC with a Z, to the precision they carry.</summary>
    public static string FormatTime(DateTimeOffset t) => t.UtcDateTime.ToString(TimeFormat(t), CultureInfo.InvariantCulture);

    private static string TimeFormat(DateTimeOffset t) => t.Ticks % TimeSpan.TicksPerSecond == 0 ? WholeSeconds : WithFraction;

    /// <summary>Writes <paramref name="t"/> as <see cref="FormatTime"/> does, without the string.</summary>
    private static void WriteTime(Utf8JsonWriter w, JsonEncodedText name, DateTimeOffset t)
    {
        Span<byte> text = stackalloc byte[28]; // the longest: 2026-11-27T10:00:00.1234567Z
        t.UtcDateTime.TryFormat(text, out var length, TimeFormat(t), CultureInfo.InvariantCulture);
        w.WriteString(name, text[..length]);
    }

    /// <summary>Writes a decision and then the account events it caused, one line each.</summary>
    public static void WriteDecision(IBufferWriter<byte> output, Decision decision)
    {
        ArgumentNullException.ThrowIfNull(decision);
        var w = Rent(output);
        try
        {
            w.WriteStartObject();
            w.WriteString(Name.Type, Name.Decision);
            w.WriteString(Name.Event, decision.EventId.Value);
            w.WriteString(Name.Account, decision.Account.Value);
            WriteTime(w, Name.At, decision.At);
            w.WriteString(Name.Outcome, decision.Outcome.ToWire());
            WriteHits(w, Name.Reasons, decision.Reasons, withOutcome: false);
            if (decision.Shadow.Count > 0) WriteHits(w, Name.Shadow, decision.Shadow, withOutcome: true);
            w.WriteString(Name.Policy, decision.PolicyVersion);
            if (decision.Duplicate) w.WriteBoolean(Name.Duplicate, true);
            w.WriteEndObject();
        }
        finally
        {
            Return(w);
        }
        NewLine(output);
        for (var i = 0; i < decision.Events.Count; i++) WriteAccountEvent(output, decision.Events[i]);
    }

    private static void WriteHits(Utf8JsonWriter w, JsonEncodedText name, IReadOnlyList<RuleHit> hits, bool withOutcome)
    {
        w.WriteStartArray(name);
        for (var i = 0; i < hits.Count; i++) // by index: a foreach over the interface would allocate an enumerator
        {
            var r = hits[i];
            w.WriteStartObject();
            w.WriteString(Name.Rule, r.Rule);
            w.WriteString(Name.Code, r.Code);
            w.WriteString(Name.Message, r.Message);
            if (withOutcome) w.WriteString(Name.Outcome, r.Outcome.ToWire()); // what a shadow rule would have decided
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    /// <summary>
    /// A decision as account history shows it (the CLI's <c>account history</c>, the server's history endpoint): one
    /// line per decision, the decision record as the worker writes it with the account events it caused (a freeze, a
    /// support unfreeze and its <c>by</c>) nested in <c>events</c>.
    /// </summary>
    public static void WriteHistoryLine(IBufferWriter<byte> output, Decision decision)
    {
        ArgumentNullException.ThrowIfNull(output);
        var records = new ArrayBufferWriter<byte>();
        WriteDecision(records, decision);
        var lines = Lines(records.WrittenSpan);
        var head = lines[0];
        if (lines.Count == 1)
        {
            output.Write(head);
        }
        else
        {
            output.Write(head.AsSpan(0, head.Length - 1)); // the decision object without its closing brace
            output.Write(",\"events\":["u8);
            for (var i = 1; i < lines.Count; i++)
            {
                if (i > 1) output.Write(","u8);
                output.Write(lines[i]);
            }
            output.Write("]}"u8);
        }
        output.Write("\n"u8);
    }

    /// <summary>True when <paramref name="line"/> is an account event record as <see cref="WriteAccountEvent"/> writes it (its type first).</summary>
    public static bool IsAccountEvent(ReadOnlySpan<byte> line) => line.StartsWith("{\"type\":\"account."u8);

    /// <summary>Writes an account event line.</summary>
    public static void WriteAccountEvent(IBufferWriter<byte> output, AccountEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var w = Rent(output);
        try
        {
            w.WriteStartObject();
            w.WriteString(Name.Type, e.Type);
            w.WriteString(Name.Event, e.Event.Value);
            w.WriteString(Name.Account, e.Account.Value);
            WriteTime(w, Name.At, e.At);
            switch (e)
            {
                case AccountFrozen f:
                    w.WriteString(Name.Reason, f.Reason);
                    break;
                case AccountUnfrozen u:
                    w.WriteString(Name.By, u.By);
                    w.WriteString(Name.Reason, u.Reason);
                    if (u.Note is { } note) w.WriteString("note"u8, note);
                    break;
                case AccountFactorEnrolled f:
                    w.WriteString("factor"u8, f.Factor);
                    break;
                case AccountFactorReset r:
                    w.WriteString("factor"u8, r.Factor);
                    w.WriteString(Name.By, r.By);
                    if (r.Note is { } resetNote) w.WriteString("note"u8, resetNote);
                    break;
            }
            // selfService says whether the user can lift a freeze: it belongs to freezes and unfreezes only.
            if (e is AccountFrozen or AccountUnfrozen) w.WriteBoolean(Name.SelfService, e.SelfService);
            w.WriteStartObject(Name.Support);
            w.WriteString(Name.Phone, e.Support.Phone);
            w.WriteString(Name.Chat, e.Support.Chat);
            w.WriteString(Name.Email, e.Support.Email);
            w.WriteStartArray(Name.Social);
            foreach (var s in e.Support.Social) w.WriteStringValue(s);
            w.WriteEndArray();
            w.WriteStartArray(Name.Prepare);
            foreach (var s in e.Support.Prepare) w.WriteStringValue(s);
            w.WriteEndArray();
            w.WriteEndObject();
            if (e.Case is { } c)
            {
                w.WriteStartObject("case"u8);
                w.WriteString(Name.Account, c.Account.Value);
                w.WriteString(Name.Event, c.Event.Value);
                w.WriteString(Name.Type, c.Type);
                if (c.Amount is { } amount) w.WriteNumber("amount"u8, amount);
                if (c.Currency is { } currency) w.WriteString("currency"u8, currency);
                if (c.Country is { } country) w.WriteString("country"u8, country);
                WriteTime(w, Name.At, c.At);
                w.WriteString(Name.Reason, c.Reason);
                w.WriteEndObject();
            }
            w.WriteStartObject(Name.Message);
            foreach (var (language, text) in e.Message) w.WriteString(language, text);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        finally
        {
            Return(w);
        }
        NewLine(output);
    }

    /// <summary>Writes a rejected line.</summary>
    public static void WriteRejected(IBufferWriter<byte> output, long line, Rejection rejection)
    {
        ArgumentNullException.ThrowIfNull(rejection);
        var w = Rent(output);
        try
        {
            w.WriteStartObject();
            w.WriteString(Name.Type, Name.Rejected);
            w.WriteNumber(Name.Line, line);
            if (rejection.EventId is { } id) w.WriteString(Name.Event, id.Value); else w.WriteNull(Name.Event);
            if (rejection.Field is { } f) w.WriteString(Name.Field, f); else w.WriteNull(Name.Field);
            w.WriteString(Name.Error, rejection.Error);
            w.WriteEndObject();
        }
        finally
        {
            Return(w);
        }
        NewLine(output);
    }

    /// <summary>This thread's writer, pointed at <paramref name="output"/>.</summary>
    private static Utf8JsonWriter Rent(IBufferWriter<byte> output)
    {
        var w = t_writer;
        t_writer = null; // taken: a nested call would get a writer of its own
        if (w is null) return new Utf8JsonWriter(output, Options);
        w.Reset(output);
        return w;
    }

    /// <summary>
    /// Commits what <paramref name="w"/> wrote (also when writing failed half-way, as disposing it used to) and keeps
    /// it for the thread's next record.
    /// </summary>
    private static void Return(Utf8JsonWriter w)
    {
        w.Flush();
        w.Reset(Detached);
        t_writer = w;
    }

    /// <summary>The records written to <paramref name="written"/>, one array per line, without line breaks.</summary>
    public static List<byte[]> Lines(ReadOnlySpan<byte> written)
    {
        var lines = new List<byte[]>();
        while (!written.IsEmpty)
        {
            var nl = written.IndexOf((byte)'\n');
            lines.Add((nl < 0 ? written : written[..nl]).ToArray());
            written = nl < 0 ? [] : written[(nl + 1)..];
        }
        return lines;
    }

    private static void NewLine(IBufferWriter<byte> output)
    {
        var span = output.GetSpan(1);
        span[0] = (byte)'\n';
        output.Advance(1);
    }

    /// <summary>Property names and fixed values, encoded once.</summary>
    private static class Name
    {
        public static readonly JsonEncodedText Type = JsonEncodedText.Encode("type");
        public static readonly JsonEncodedText Event = JsonEncodedText.Encode("event");
        public static readonly JsonEncodedText Account = JsonEncodedText.Encode("account");
        public static readonly JsonEncodedText At = JsonEncodedText.Encode("at");
        public static readonly JsonEncodedText Outcome = JsonEncodedText.Encode("outcome");
        public static readonly JsonEncodedText Reasons = JsonEncodedText.Encode("reasons");
        public static readonly JsonEncodedText Shadow = JsonEncodedText.Encode("shadow");
        public static readonly JsonEncodedText Policy = JsonEncodedText.Encode("policy");
        public static readonly JsonEncodedText Duplicate = JsonEncodedText.Encode("duplicate");
        public static readonly JsonEncodedText Rule = JsonEncodedText.Encode("rule");
        public static readonly JsonEncodedText Code = JsonEncodedText.Encode("code");
        public static readonly JsonEncodedText Message = JsonEncodedText.Encode("message");
        public static readonly JsonEncodedText Reason = JsonEncodedText.Encode("reason");
        public static readonly JsonEncodedText By = JsonEncodedText.Encode("by");
        public static readonly JsonEncodedText SelfService = JsonEncodedText.Encode("selfService");
        public static readonly JsonEncodedText Support = JsonEncodedText.Encode("support");
        public static readonly JsonEncodedText Phone = JsonEncodedText.Encode("phone");
        public static readonly JsonEncodedText Chat = JsonEncodedText.Encode("chat");
        public static readonly JsonEncodedText Email = JsonEncodedText.Encode("email");
        public static readonly JsonEncodedText Social = JsonEncodedText.Encode("social");
        public static readonly JsonEncodedText Prepare = JsonEncodedText.Encode("prepare");
        public static readonly JsonEncodedText Line = JsonEncodedText.Encode("line");
        public static readonly JsonEncodedText Field = JsonEncodedText.Encode("field");
        public static readonly JsonEncodedText Error = JsonEncodedText.Encode("error");
        public static readonly JsonEncodedText Decision = JsonEncodedText.Encode("decision");
        public static readonly JsonEncodedText Rejected = JsonEncodedText.Encode("rejected");
    }
}

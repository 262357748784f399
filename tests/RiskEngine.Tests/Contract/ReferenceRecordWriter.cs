// The record writer as it was before it reused one Utf8JsonWriter per thread (issue #11), kept verbatim apart from
// its name and namespace, so RecordWriterTests can check that records stay byte for byte the same.
using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using RiskEngine.Decisions;
using RiskEngine.Events;

namespace RiskEngine.Tests.Contract;

/// <summary>Renders the contract's output records (<c>decision</c>, <c>rejected</c>, <c>account.frozen</c>, <c>account.unfrozen</c>) as JSON Lines.</summary>
internal static class ReferenceRecordWriter
{
    // Relaxed escaping keeps non-ASCII messages (zh-CN) readable in the output; the output is JSON Lines, never HTML.
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Timestamps are written in UTC with a Z, to the precision they carry.</summary>
    public static string FormatTime(DateTimeOffset t) =>
        t.UtcDateTime.ToString(t.Ticks % TimeSpan.TicksPerSecond == 0 ? "yyyy-MM-dd'T'HH:mm:ss'Z'" : "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Writes a decision and then the account events it caused, one line each.</summary>
    public static void WriteDecision(IBufferWriter<byte> output, Decision decision)
    {
        ArgumentNullException.ThrowIfNull(decision);
        using (var w = new Utf8JsonWriter(output, Options))
        {
            w.WriteStartObject();
            w.WriteString("type", "decision");
            w.WriteString("event", decision.EventId.Value);
            w.WriteString("account", decision.Account.Value);
            w.WriteString("at", FormatTime(decision.At));
            w.WriteString("outcome", decision.Outcome.ToWire());
            WriteHits(w, "reasons", decision.Reasons, withOutcome: false);
            if (decision.Shadow.Count > 0) WriteHits(w, "shadow", decision.Shadow, withOutcome: true);
            w.WriteString("policy", decision.PolicyVersion);
            if (decision.Duplicate) w.WriteBoolean("duplicate", true);
            w.WriteEndObject();
        }
        NewLine(output);
        foreach (var e in decision.Events) WriteAccountEvent(output, e);
    }

    private static void WriteHits(Utf8JsonWriter w, string name, IReadOnlyList<RuleHit> hits, bool withOutcome)
    {
        w.WriteStartArray(name);
        foreach (var r in hits)
        {
            w.WriteStartObject();
            w.WriteString("rule", r.Rule);
            w.WriteString("code", r.Code);
            w.WriteString("message", r.Message);
            if (withOutcome) w.WriteString("outcome", r.Outcome.ToWire()); // what a shadow rule would have decided
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    /// <summary>Writes an account event line.</summary>
    public static void WriteAccountEvent(IBufferWriter<byte> output, AccountEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        using (var w = new Utf8JsonWriter(output, Options))
        {
            w.WriteStartObject();
            w.WriteString("type", e.Type);
            w.WriteString("event", e.Event.Value);
            w.WriteString("account", e.Account.Value);
            w.WriteString("at", FormatTime(e.At));
            switch (e)
            {
                case AccountFrozen f:
                    w.WriteString("reason", f.Reason);
                    break;
                case AccountUnfrozen u:
                    w.WriteString("by", u.By);
                    w.WriteString("reason", u.Reason);
                    if (u.Note is { } note) w.WriteString("note", note);
                    break;
            }
            w.WriteBoolean("selfService", e.SelfService);
            w.WriteStartObject("support");
            w.WriteString("phone", e.Support.Phone);
            w.WriteString("chat", e.Support.Chat);
            w.WriteString("email", e.Support.Email);
            w.WriteStartArray("social");
            foreach (var s in e.Support.Social) w.WriteStringValue(s);
            w.WriteEndArray();
            w.WriteStartArray("prepare");
            foreach (var s in e.Support.Prepare) w.WriteStringValue(s);
            w.WriteEndArray();
            w.WriteEndObject();
            if (e.Case is { } c)
            {
                w.WriteStartObject("case");
                w.WriteString("account", c.Account.Value);
                w.WriteString("event", c.Event.Value);
                w.WriteString("type", c.Type);
                if (c.Amount is { } amount) w.WriteNumber("amount", amount);
                if (c.Currency is { } currency) w.WriteString("currency", currency);
                if (c.Country is { } country) w.WriteString("country", country);
                w.WriteString("at", FormatTime(c.At));
                w.WriteString("reason", c.Reason);
                w.WriteEndObject();
            }
            w.WriteStartObject("message");
            foreach (var (language, text) in e.Message) w.WriteString(language, text);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        NewLine(output);
    }

    /// <summary>Writes a rejected line.</summary>
    public static void WriteRejected(IBufferWriter<byte> output, long line, Rejection rejection)
    {
        ArgumentNullException.ThrowIfNull(rejection);
        using (var w = new Utf8JsonWriter(output, Options))
        {
            w.WriteStartObject();
            w.WriteString("type", "rejected");
            w.WriteNumber("line", line);
            if (rejection.EventId is { } id) w.WriteString("event", id.Value); else w.WriteNull("event");
            if (rejection.Field is { } f) w.WriteString("field", f); else w.WriteNull("field");
            w.WriteString("error", rejection.Error);
            w.WriteEndObject();
        }
        NewLine(output);
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
}

using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using RiskEngine.Decisions;
using RiskEngine.Domain;

namespace RiskEngine.Hosting;

/// <summary>
/// Traces on the <c>RiskEngine</c> activity source: one <c>riskengine.batch</c> activity per pump batch (linked to
/// the callers' activities, one <c>riskengine.decision</c> / <c>riskengine.rejected</c> activity event per event), and
/// the server's <c>riskengine.decide</c> activity around a single-event request. Tags carry the event type, outcome,
/// reason codes, policy version and rejected field; never an account id (only <see cref="AccountHash"/>), an event id,
/// an amount or any free text. Nothing is computed when no listener samples the activity.
/// </summary>
public static class RiskEngineTracing
{
    /// <summary>The activity source name (the meter's name too).</summary>
    public const string SourceName = "RiskEngine";

    /// <summary>The activity source.</summary>
    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>A key drawn once per process: account hashes correlate activities of one process, and cannot be reversed by hashing guessed ids.</summary>
    private static readonly byte[] HashKey = RandomNumberGenerator.GetBytes(32);

    private static readonly string[] EventTypes = ["transaction", "login", "limit", "unfreeze", "reversal", "report"];

    /// <summary>16 hex digits of HMAC-SHA256 of the account id under a per-process key: the same account gives the same hash within one process.</summary>
    public static string AccountHash(AccountId account)
    {
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(HashKey, Encoding.UTF8.GetBytes(account.Value), mac);
        return Convert.ToHexStringLower(mac[..8]);
    }

    /// <summary>The event's <c>type</c> when it is one of the contract's types, else <c>unknown</c> (never text from the input).</summary>
    public static string EventType(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return "unknown";
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isType = reader.ValueTextEquals("type"u8);
                if (!reader.Read()) break;
                if (isType && reader.TokenType == JsonTokenType.String)
                {
                    foreach (var t in EventTypes)
                    {
                        if (reader.ValueTextEquals(t)) return t;
                    }
                    return "unknown";
                }
                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }
        return "unknown";
    }

    /// <summary>Tags <paramref name="activity"/> with a decision (type, outcome, reason codes, policy, duplicate, account hash).</summary>
    public static void TagDecision(Activity activity, string eventType, Decision d)
    {
        ArgumentNullException.ThrowIfNull(activity);
        ArgumentNullException.ThrowIfNull(d);
        foreach (var (k, v) in DecisionTags(eventType, d)) activity.SetTag(k, v);
    }

    /// <summary>Tags <paramref name="activity"/> with a rejection (type when readable, the field tag).</summary>
    public static void TagRejection(Activity activity, string eventType, Rejection r)
    {
        ArgumentNullException.ThrowIfNull(activity);
        ArgumentNullException.ThrowIfNull(r);
        foreach (var (k, v) in RejectionTags(eventType, r)) activity.SetTag(k, v);
    }

    /// <summary>Adds one activity event for a decided event to a batch activity.</summary>
    public static void AddDecisionEvent(Activity batch, string eventType, Decision d)
    {
        ArgumentNullException.ThrowIfNull(batch);
        batch.AddEvent(new ActivityEvent("riskengine.decision", tags: new ActivityTagsCollection(DecisionTags(eventType, d))));
    }

    /// <summary>Adds one activity event for a rejected event to a batch activity.</summary>
    public static void AddRejectionEvent(Activity batch, string eventType, Rejection r)
    {
        ArgumentNullException.ThrowIfNull(batch);
        batch.AddEvent(new ActivityEvent("riskengine.rejected", tags: new ActivityTagsCollection(RejectionTags(eventType, r))));
    }

    private static IEnumerable<KeyValuePair<string, object?>> DecisionTags(string eventType, Decision d) =>
    [
        new("riskengine.event.type", eventType),
        new("riskengine.outcome", d.Outcome.ToWire()),
        new("riskengine.reasons", d.Reasons.Select(r => WorkerMetrics.Reason(r.Code)).ToArray()),
        new("riskengine.policy.version", d.PolicyVersion),
        new("riskengine.duplicate", d.Duplicate),
        new("riskengine.account.hash", AccountHash(d.Account)),
    ];

    private static IEnumerable<KeyValuePair<string, object?>> RejectionTags(string eventType, Rejection r) =>
    [
        new("riskengine.event.type", eventType),
        new("riskengine.outcome", "rejected"),
        new("riskengine.rejected.field", WorkerMetrics.FieldTag(r.Field)),
    ];
}

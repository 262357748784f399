using System.Text.Json;
using RiskEngine.Decisions;
using RiskEngine.Domain;

namespace RiskEngine.State;

/// <summary>
/// The stored form of decisions and account state, for durable stores. Decisions are kept without their account
/// events: a duplicate is answered with the decision alone, and applies nothing again.
/// </summary>
public static class StateJson
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    /// <summary>Serialises account state.</summary>
    public static byte[] SerializeState(AccountState state) => JsonSerializer.SerializeToUtf8Bytes(state, Options);

    /// <summary>Reads account state written by <see cref="SerializeState"/>.</summary>
    public static AccountState DeserializeState(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize<AccountState>(json, Options) ?? throw new JsonException("account state is null");

    /// <summary>Serialises a decision (without its account events).</summary>
    public static byte[] SerializeDecision(Decision d)
    {
        ArgumentNullException.ThrowIfNull(d);
        var dto = new DecisionDto(d.EventId.Value, d.Account.Value, d.At, d.Outcome,
            d.Reasons.Select(r => new ReasonDto(r.Rule, r.Code, r.Message, r.Outcome)).ToArray(), d.PolicyVersion);
        return JsonSerializer.SerializeToUtf8Bytes(dto, Options);
    }

    /// <summary>Reads a decision written by <see cref="SerializeDecision"/>.</summary>
    public static Decision DeserializeDecision(ReadOnlySpan<byte> json)
    {
        var dto = JsonSerializer.Deserialize<DecisionDto>(json, Options) ?? throw new JsonException("decision is null");
        return new Decision(EventId.Create(dto.Event), AccountId.Create(dto.Account), dto.At, dto.Outcome,
            dto.Reasons.Select(r => new RuleHit(r.Rule, r.Code, r.Message, r.Outcome)).ToArray(), dto.Policy, []);
    }

    private sealed record DecisionDto(string Event, string Account, DateTimeOffset At, Outcome Outcome, ReasonDto[] Reasons, string Policy);

    private sealed record ReasonDto(string Rule, string Code, string Message, Outcome Outcome);
}

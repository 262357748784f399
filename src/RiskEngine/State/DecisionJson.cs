using System.Text.Json;
using RiskEngine.Decisions;
using RiskEngine.Domain;

namespace RiskEngine.State;

/// <summary>
/// The stored form of decisions and account state, for durable stores. Decisions are kept without their account
/// events: a duplicate is answered with the decision alone, and applies nothing again.
/// </summary>
public static partial class StateJson
{
    /// <summary>Serialises account state.</summary>
    public static byte[] SerializeState(AccountState state) => JsonSerializer.SerializeToUtf8Bytes(state, StateContext.Default.AccountState);

    /// <summary>Reads account state written by <see cref="SerializeState"/>.</summary>
    public static AccountState DeserializeState(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize(json, StateContext.Default.AccountState) ?? throw new JsonException("account state is null");

    // Source-generated: no reflection on the hot path of durable stores.
    [System.Text.Json.Serialization.JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
    [System.Text.Json.Serialization.JsonSerializable(typeof(AccountState))]
    [System.Text.Json.Serialization.JsonSerializable(typeof(DecisionDto))]
    private sealed partial class StateContext : System.Text.Json.Serialization.JsonSerializerContext;

    /// <summary>Serialises a decision (without its account events).</summary>
    public static byte[] SerializeDecision(Decision d)
    {
        ArgumentNullException.ThrowIfNull(d);
        var dto = new DecisionDto(d.EventId.Value, d.Account.Value, d.At, d.Outcome,
            d.Reasons.Select(r => new ReasonDto(r.Rule, r.Code, r.Message, r.Outcome)).ToArray(), d.PolicyVersion);
        return JsonSerializer.SerializeToUtf8Bytes(dto, StateContext.Default.DecisionDto);
    }

    /// <summary>Reads a decision written by <see cref="SerializeDecision"/>.</summary>
    public static Decision DeserializeDecision(ReadOnlySpan<byte> json)
    {
        var dto = JsonSerializer.Deserialize(json, StateContext.Default.DecisionDto) ?? throw new JsonException("decision is null");
        return new Decision(EventId.Create(dto.Event), AccountId.Create(dto.Account), dto.At, dto.Outcome,
            dto.Reasons.Select(r => new RuleHit(r.Rule, r.Code, r.Message, r.Outcome)).ToArray(), dto.Policy, []);
    }

    internal sealed record DecisionDto(string Event, string Account, DateTimeOffset At, Outcome Outcome, ReasonDto[] Reasons, string Policy);

    internal sealed record ReasonDto(string Rule, string Code, string Message, Outcome Outcome);
}

using System.Text.Json;
using RiskEngine.Decisions;
using RiskEngine.Domain;
using RiskEngine.Events;

namespace RiskEngine.State;

/// <summary>
/// The stored form of decisions and account state, for durable stores. A duplicate is answered with the decision
/// alone (the engine drops the stored events), and applies nothing again.
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

    /// <summary>Serialises a decision with the account events it caused (so a worker can publish them after a crash).</summary>
    public static byte[] SerializeDecision(Decision d)
    {
        ArgumentNullException.ThrowIfNull(d);
        var dto = new DecisionDto(d.EventId.Value, d.Account.Value, d.At, d.Outcome,
            d.Reasons.Select(r => new ReasonDto(r.Rule, r.Code, r.Message, r.Outcome)).ToArray(), d.PolicyVersion)
        {
            Events = d.Events.Count == 0 ? null : d.Events.Select(e => new EventDto(e.Type, e.Event.Value, e.Account.Value, e.At, (e as AccountFrozen)?.Reason ?? (e as AccountUnfrozen)?.Reason ?? "",
                (e as AccountUnfrozen)?.By, e.SelfService, e.Support, e.Message.ToDictionary())
            {
                Note = (e as AccountUnfrozen)?.Note,
                Case = e.Case is { } c ? new CaseDto(c.Event.Value, c.Type, c.At, c.Reason, c.Amount, c.Currency, c.Country) : null,
            }).ToArray(),
        };
        return JsonSerializer.SerializeToUtf8Bytes(dto, StateContext.Default.DecisionDto);
    }

    /// <summary>Reads a decision written by <see cref="SerializeDecision"/>.</summary>
    public static Decision DeserializeDecision(ReadOnlySpan<byte> json)
    {
        var dto = JsonSerializer.Deserialize(json, StateContext.Default.DecisionDto) ?? throw new JsonException("decision is null");
        var account = AccountId.Create(dto.Account);
        IReadOnlyList<AccountEvent> events = dto.Events is null ? [] : dto.Events.Select(e =>
        {
            var @case = e.Case is { } c ? new SupportCase(account, EventId.Create(c.Event), c.Type, c.At, c.Reason) { Amount = c.Amount, Currency = c.Currency, Country = c.Country } : null;
            return e.Type == "account.frozen"
                ? (AccountEvent)new AccountFrozen(EventId.Create(e.Event), account, e.At, e.Reason, e.SelfService, e.Support, e.Message) { Case = @case }
                : new AccountUnfrozen(EventId.Create(e.Event), account, e.At, e.By ?? "", e.Reason, e.Support, e.Message) { Case = @case, Note = e.Note };
        }).ToArray();
        return new Decision(EventId.Create(dto.Event), account, dto.At, dto.Outcome,
            dto.Reasons.Select(r => new RuleHit(r.Rule, r.Code, r.Message, r.Outcome)).ToArray(), dto.Policy, events);
    }

    internal sealed record DecisionDto(string Event, string Account, DateTimeOffset At, Outcome Outcome, ReasonDto[] Reasons, string Policy)
    {
        public EventDto[]? Events { get; init; }
    }

    internal sealed record EventDto(string Type, string Event, string Account, DateTimeOffset At, string Reason, string? By, bool SelfService,
        Policies.SupportContacts Support, Dictionary<string, string> Message)
    {
        public string? Note { get; init; }

        public CaseDto? Case { get; init; }
    }

    internal sealed record CaseDto(string Event, string Type, DateTimeOffset At, string Reason, decimal? Amount, string? Currency, string? Country);

    internal sealed record ReasonDto(string Rule, string Code, string Message, Outcome Outcome);
}

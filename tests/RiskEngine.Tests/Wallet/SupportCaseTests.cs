using System.Text.Json.Nodes;
using RiskEngine.Decisions;
using RiskEngine.Domain;
using RiskEngine.Events;
using RiskEngine.Sqlite;

namespace RiskEngine.Tests.Wallet;

/// <summary>Frozen and unfrozen events carry the filled-in support case; support's reason travels as the note.</summary>
public sealed class SupportCaseTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("riskengine-case-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private static void AmountTemplates(JsonObject p)
    {
        p["messages"]!["en"]!["account.frozen"] = "Frozen because of {reason}. Support will ask about {amount} {currency} at {at} (event {event}).";
        p["messages"]!["zh-CN"]!["account.frozen"] = "因{reason}已冻结。客服会询问 {at} 的 {amount} {currency}(事件 {event})。";
    }

    [Fact]
    public async Task A_freeze_caused_by_a_payment_carries_its_amount_currency_country_and_time_and_the_message_names_them()
    {
        await using var t = new TestEngine(AmountTemplates);
        Decision last = null!;
        for (var i = 0; i < 6; i++) last = await t.Decide(t.Tx("a", 12.50m, country: "GB", after: TimeSpan.FromSeconds(i)));
        var frozen = Assert.IsType<AccountFrozen>(Assert.Single(last.Events));
        var c = frozen.Case!;
        Assert.Equal(("a", last.EventId, "transaction", 12.5m, "USD", "GB", TestEngine.T0.AddSeconds(5), "velocity.count"),
            (c.Account.Value, c.Event, c.Type, c.Amount, c.Currency, c.Country, c.At, c.Reason));
        Assert.Equal($"Frozen because of an unusually high number of transactions in a short time. Support will ask about 12.5 USD at 2026-11-27 10:00 UTC (event {last.EventId}).", frozen.Message["en"]);
        Assert.Contains("12.5 USD", frozen.Message["zh-CN"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_support_unfreeze_carries_the_agents_reason_as_note_and_the_history_keeps_it()
    {
        using var store = new SqliteRiskStateStore(Path.Combine(_dir, "case.db"));
        await using var t = new TestEngine(store: store);
        for (var i = 0; i < 6; i++) await t.Decide(t.Tx("a", 10m, after: TimeSpan.FromSeconds(i)));
        var d = await t.Decide(new SupportUnfreeze(t.NextId(), TestEngine.T0.AddMinutes(5), AccountId.Create("a"), "agent-7", "called the user back; payments were theirs"));
        var unfrozen = Assert.IsType<AccountUnfrozen>(Assert.Single(d.Events));
        Assert.Equal("called the user back; payments were theirs", unfrozen.Note);
        Assert.Equal("velocity.count", unfrozen.Case!.Reason);
        Assert.Equal(10m, unfrozen.Case.Amount);

        var kept = store.History(AccountId.Create("a"), 1).Single().Events.OfType<AccountUnfrozen>().Single();
        Assert.Equal(("agent-7", "called the user back; payments were theirs", "transaction"), (kept.By, kept.Note, kept.Case!.Type));
    }
}

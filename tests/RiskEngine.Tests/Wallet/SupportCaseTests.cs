using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
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
    public async Task The_embedded_default_tells_the_user_which_payment_or_sign_in_support_will_ask_about_in_both_languages()
    {
        using var provider = new ServiceCollection()
            .AddSingleton<TimeProvider>(new Microsoft.Extensions.Time.Testing.FakeTimeProvider(TestEngine.T0))
            .AddRiskEngine(o => o.MaxFutureSkew = null)
            .BuildServiceProvider();
        var engine = provider.GetRequiredService<IRiskEngine>();
        Decision last = null!;
        for (var i = 0; i < 6; i++)
        {
            last = (await engine.EvaluateAsync(new TransactionAttempt(EventId.Create($"p{i}"), TestEngine.T0.AddSeconds(i), AccountId.Create("a"),
                Money.Create(25m, "USD"), CountryCode.Create("US"), DeviceId.Create("d")))).GetDecisionOrThrow();
        }
        var frozen = Assert.IsType<AccountFrozen>(Assert.Single(last.Events));
        Assert.EndsWith("Have ready your account id and the payment of 25 USD on 2026-11-27 10:00 UTC.", frozen.Message["en"], StringComparison.Ordinal);
        Assert.Contains("2026-11-27 10:00 UTC 的 25 USD 付款", frozen.Message["zh-CN"], StringComparison.Ordinal);

        var login = (await engine.EvaluateAsync(new LoginAttempt(EventId.Create("l1"), TestEngine.T0.AddHours(1), AccountId.Create("b"), true, DeviceId.Create("d"), CountryCode.Create("US"))
            { Location = new GeoPoint(40.71, -74.01) })).GetDecisionOrThrow();
        Assert.Equal(Outcome.Allow, login.Outcome);
        var travel = (await engine.EvaluateAsync(new LoginAttempt(EventId.Create("l2"), TestEngine.T0.AddHours(1.5), AccountId.Create("b"), true, DeviceId.Create("d"), CountryCode.Create("GB"))
            { Location = new GeoPoint(51.51, -0.13) })).GetDecisionOrThrow();
        var loginFrozen = Assert.IsType<AccountFrozen>(Assert.Single(travel.Events));
        Assert.Contains("the sign-in from GB on 2026-11-27 11:30 UTC", loginFrozen.Message["en"], StringComparison.Ordinal);
        Assert.DoesNotContain("{", loginFrozen.Message["en"], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("en", "Have ready your account id and the payment of 25 USD on 2026-11-27 10:00 UTC.")]
    [InlineData("zh-CN", "请准备好您的账户编号,以及2026-11-27 10:00 UTC 的 25 USD 付款的信息。")]
    public async Task A_payment_denied_on_a_frozen_account_names_the_freeze_s_case_in_the_policy_s_language(string language, string ending)
    {
        // The embedded default's account.frozen wording ends with {case}: the deny that follows a freeze uses the same
        // wording and case as the account.frozen event (it used to print "{case}" itself).
        var policy = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "policies", "default.json")))!.AsObject();
        if (language != "en") policy["messages"]!.AsObject().Remove("en"); // decision messages are in the first language when en is absent
        await using var t = new TestEngine(p =>
        {
            foreach (var (name, value) in policy) p[name] = value?.DeepClone();
            p["totp"]!["stepUp"] = "trust-caller";
        });
        Decision freeze = null!;
        for (var i = 0; i < 6; i++) freeze = await t.Decide(t.Tx("a", 25m, after: TimeSpan.FromSeconds(i)));
        Assert.Equal(Outcome.Freeze, freeze.Outcome);
        var denied = await t.Decide(t.Tx("a", 30m, after: TimeSpan.FromMinutes(5)));
        var reason = Assert.Single(denied.Reasons);
        Assert.Equal(("account.frozen", Outcome.Deny), (reason.Code, denied.Outcome));
        Assert.EndsWith(ending, reason.Message, StringComparison.Ordinal);
        Assert.Equal(Assert.IsType<AccountFrozen>(Assert.Single(freeze.Events)).Message[language], reason.Message);
        // A limit arranged on the frozen account is denied with the same words.
        var limit = await t.Decide(new LimitArrangement(t.NextId(), TestEngine.T0.AddMinutes(6), AccountId.Create("a"), Money.Create(100m, "USD"), TestEngine.T0.AddDays(1)) { TotpVerified = true });
        Assert.Equal(reason.Message, limit.Reasons.Single(r => r.Code == "account.frozen").Message);
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

        var kept = (await store.HistoryAsync(AccountId.Create("a"), 1)).Single().Events.OfType<AccountUnfrozen>().Single();
        Assert.Equal(("agent-7", "called the user back; payments were theirs", "transaction"), (kept.By, kept.Note, kept.Case!.Type));
    }
}

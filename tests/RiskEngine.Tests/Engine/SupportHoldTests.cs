using System.Text.Json.Nodes;
using RiskEngine.Decisions;
using RiskEngine.Domain;
using RiskEngine.Events;
using RiskEngine.Policies;
using RiskEngine.TwoFactor;

namespace RiskEngine.Tests.Engine;

/// <summary>A support hold: support freezes an account; only support lifts it.</summary>
public sealed class SupportHoldTests
{
    private static readonly AccountId A = AccountId.Create("a");

    [Fact]
    public async Task A_hold_freezes_the_account_logs_who_and_why_and_emits_account_frozen_worded_in_en_and_zh_cn()
    {
        await using var t = new TestEngine();
        var frozen = await t.Engine.HoldAsync(new SupportHold(A, "agent-3", "the user called: phone stolen"));

        Assert.NotNull(frozen);
        Assert.Equal(ReasonCodes.SupportHold, frozen.Reason);
        Assert.False(frozen.SelfService);
        Assert.Equal(TestEngine.T0, frozen.At); // the engine's clock
        Assert.StartsWith("hold:", frozen.Event.Value, StringComparison.Ordinal);
        Assert.Contains(BuiltInWording.Find("en", ReasonCodes.SupportHold)!, frozen.Message["en"], StringComparison.Ordinal);
        Assert.Contains(BuiltInWording.Find("zh-CN", ReasonCodes.SupportHold)!, frozen.Message["zh-CN"], StringComparison.Ordinal);
        Assert.Same(frozen, Assert.Single(t.Sink.Events));

        var status = await t.Engine.GetAccountStatusAsync(A);
        Assert.True(status.Frozen);
        Assert.Equal(ReasonCodes.SupportHold, status.FreezeReason);
        Assert.False(status.SelfService);
        Assert.Null(status.UnfreezesAt);
        var log = Assert.Single(status.SupportLog);
        Assert.Equal(("agent-3", ReasonCodes.SupportHold, "the user called: phone stolen", TestEngine.T0), (log.By, log.Action, log.Reason, log.At));

        DecisionAssert.Is(await t.Decide(t.Tx("a", 10, after: TimeSpan.FromMinutes(1))), Outcome.Deny, ReasonCodes.AccountFrozen);
        Assert.Null(await t.Engine.HoldAsync(new SupportHold(A, "agent-4", "again"))); // already frozen: nothing changes, no second event
        Assert.Single(t.Sink.Events.OfType<AccountFrozen>());
        Assert.Single((await t.Engine.GetAccountStatusAsync(A)).SupportLog);
    }

    [Fact]
    public async Task Only_a_support_unfreeze_lifts_a_hold_not_a_totp_code_nor_time()
    {
        await using var t = new TestEngine();
        var enrollment = (await t.TwoFactor.EnrollAsync(A)).Enrollment!;
        var totp = new OtpNet.Totp(OtpNet.Base32Encoding.ToBytes(enrollment.Secret), step: 30, totpSize: 6);
        Assert.True((await t.TwoFactor.ConfirmEnrollmentAsync(A, totp.ComputeTotp(t.Time.GetUtcNow().UtcDateTime))).Succeeded);
        await t.Engine.HoldAsync(new SupportHold(A, "agent-3", "suspicious"));

        t.Time.Advance(TimeSpan.FromDays(40));
        var verified = await t.TwoFactor.VerifyAsync(A, totp.ComputeTotp(t.Time.GetUtcNow().UtcDateTime));
        Assert.True(verified.Succeeded);
        Assert.Empty(verified.Events); // the code is fine, the hold stays
        Assert.Empty(await t.Engine.ExpireCoolDownsAsync());
        Assert.True((await t.Engine.GetAccountStatusAsync(A)).Frozen);

        var lifted = await t.Decide(new SupportUnfreeze(t.NextId(), t.Time.GetUtcNow(), A, "agent-5", "identity checked"));
        DecisionAssert.Is(lifted, Outcome.Allow);
        var unfrozen = Assert.IsType<AccountUnfrozen>(Assert.Single(lifted.Events));
        Assert.Equal(ReasonCodes.SupportHold, unfrozen.Reason);
        Assert.False((await t.Engine.GetAccountStatusAsync(A)).Frozen);
    }

    [Fact]
    public async Task A_hold_and_an_unfreeze_go_to_the_support_log_with_the_api_key_they_carry_and_none_from_a_stream()
    {
        await using var t = new TestEngine();
        await t.Engine.HoldAsync(new SupportHold(A, "agent-3", "suspicious") { Key = "support-desk" });
        t.Time.Advance(TimeSpan.FromMinutes(5));
        var at = t.Time.GetUtcNow();
        DecisionAssert.Is(await t.Decide(new SupportUnfreeze(t.NextId(), at, A, "agent-5", "identity checked") { Key = "support-desk" }), Outcome.Allow);
        await t.Engine.HoldAsync(new SupportHold(A, "agent-6", "again")); // as the CLI: no key

        // An unfreeze line names no key, whatever it carries (the contract has no such field: unknown fields are
        // ignored), and the key is not part of an unfreeze's canonical form.
        var line = $$"""{"type":"unfreeze","id":"u-9","at":"{{Pipeline.RecordWriter.FormatTime(at.AddMinutes(1))}}","account":"a","by":"agent-7","reason":"ok","key":"forged"}""";
        var fromStream = Assert.IsType<SupportUnfreeze>(EventParser.Parse(System.Text.Encoding.UTF8.GetBytes(line)).Event);
        Assert.Null(fromStream.Key);
        Assert.Equal(fromStream.Canonical(), (fromStream with { Key = "support-desk" }).Canonical());
        DecisionAssert.Is(await t.Decide(fromStream), Outcome.Allow);

        var log = (await t.Engine.GetAccountStatusAsync(A)).SupportLog;
        Assert.Equal(
            [("agent-3", ReasonCodes.SupportHold, "support-desk"), ("agent-5", "unfreeze", "support-desk"), ("agent-6", ReasonCodes.SupportHold, null), ("agent-7", "unfreeze", null)],
            log.Select(a => (a.By, a.Action, a.Key)));
        Assert.Equal(at, log[1].At); // an unfreeze is logged at its event's time
        Assert.Equal("identity checked", log[1].Reason);
    }

    [Fact]
    public async Task A_support_unfreeze_of_an_account_that_is_not_frozen_logs_nothing()
    {
        await using var t = new TestEngine();
        DecisionAssert.Is(await t.Decide(new SupportUnfreeze(t.NextId(), t.Time.GetUtcNow(), A, "agent-5", "nothing to lift") { Key = "support-desk" }), Outcome.Deny, ReasonCodes.AccountNotFrozen);
        Assert.Empty((await t.Engine.GetAccountStatusAsync(A)).SupportLog);
    }

    [Theory]
    [InlineData("selfService")]
    [InlineData("coolDown")]
    public void A_policy_cannot_make_a_hold_lift_itself(string field)
    {
        var policy = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "samples", "policy.example.json")))!.AsObject();
        var freeze = policy["freeze"]!.AsObject();
        if (field == "selfService") freeze["selfService"]!.AsArray().Add(ReasonCodes.SupportHold);
        else freeze["coolDown"]![ReasonCodes.SupportHold] = "1h";
        var (loaded, errors) = PolicyLoader.TryLoad(System.Text.Encoding.UTF8.GetBytes(policy.ToJsonString()), "policy.json");
        Assert.Null(loaded);
        Assert.Contains(errors, e => e.Path.Contains(field, StringComparison.Ordinal) && e.Message.Contains("support only", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_hold_needs_an_agent_id_and_a_reason()
    {
        await using var t = new TestEngine();
        await Assert.ThrowsAsync<ArgumentException>(async () => await t.Engine.HoldAsync(new SupportHold(A, "", "why")));
        await Assert.ThrowsAsync<ArgumentException>(async () => await t.Engine.HoldAsync(new SupportHold(A, "agent-1", " ")));
        Assert.False((await t.Engine.GetAccountStatusAsync(A)).Frozen);
    }
}

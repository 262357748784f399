using System.Buffers;
using System.Text;
using System.Text.Json.Nodes;
using RiskEngine.Domain;
using RiskEngine.Events;
using RiskEngine.Pipeline;
using RiskEngine.Policies;
using RiskEngine.Tests.Contract;
using RiskEngine.TwoFactor;

namespace RiskEngine.Tests.TwoFactor;

/// <summary>
/// Changes to an account's second factor are announced: <c>account.factor_enrolled</c> when an enrolment is confirmed
/// (when the factor starts to count), <c>account.factor_reset</c> when support removes it — with the support block and
/// "if this was not you, contact support" in every language of the policy.
/// </summary>
public sealed class FactorEventTests() : ScratchFolder("riskengine-factor-")
{
    protected override void Cleanup() => Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();

    private static readonly AccountId Alice = AccountId.Create("alice");

    private static async Task<(TotpEnrollment Enrollment, byte[] Key)> EnrollAsync(TestEngine t)
    {
        var e = (await t.TwoFactor.EnrollAsync(Alice)).Enrollment!;
        return (e, Rfc6238.FromBase32(Rfc6238.Query(e.Uri)["secret"]));
    }

    private static JsonObject Record(AccountEvent e)
    {
        var buffer = new ArrayBufferWriter<byte>();
        RecordWriter.WriteAccountEvent(buffer, e);
        return ContractExampleTests.Lines(Encoding.UTF8.GetString(buffer.WrittenSpan)).Single();
    }

    private static void UseDefaultPolicy(JsonObject p)
    {
        var policy = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "policies", "default.json")))!.AsObject();
        foreach (var (name, value) in policy) p[name] = value?.DeepClone();
    }

    [Fact]
    public async Task A_confirmed_enrolment_is_announced_with_support_and_both_languages_and_an_unconfirmed_one_is_not()
    {
        await using var t = new TestEngine(UseDefaultPolicy);
        var (_, key) = await EnrollAsync(t);
        Assert.Empty(t.Sink.Events); // enrolment alone changes nothing: the factor does not count yet
        t.Time.Advance(TimeSpan.FromSeconds(10));
        var wrong = await t.TwoFactor.ConfirmEnrollmentAsync(Alice, Rfc6238.Code(key, Rfc6238.Step(t.Time.GetUtcNow()) + 5));
        Assert.Equal(TotpStatus.Invalid, wrong.Status);
        Assert.Empty(wrong.Events);

        var confirmed = await t.TwoFactor.ConfirmEnrollmentAsync(Alice, Rfc6238.Code(key, Rfc6238.Step(t.Time.GetUtcNow())));
        var enrolled = Assert.IsType<AccountFactorEnrolled>(Assert.Single(confirmed.Events));
        Assert.Same(enrolled, Assert.Single(t.Sink.Events)); // told to the sinks once committed
        Assert.Equal(("account.factor_enrolled", "alice", "totp", t.Time.GetUtcNow()), (enrolled.Type, enrolled.Account.Value, enrolled.Factor, enrolled.At));
        Assert.Equal("+1-800-555-0100", enrolled.Support.Phone);
        Assert.Equal(["en", "zh-CN"], enrolled.Message.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("An authenticator app was set up as the second factor of your account on 2026-11-27 10:00 UTC. If this was not you, contact support: phone +1-800-555-0100, email support@wallet.example.", enrolled.Message["en"]);
        Assert.Equal("您的账户已于 2026-11-27 10:00 UTC 设置身份验证器应用作为第二重验证。如非本人操作,请联系客服:电话 +1-800-555-0100,邮箱 support@wallet.example。", enrolled.Message["zh-CN"]);

        var record = Record(enrolled);
        Assert.Equal(["type", "event", "account", "at", "factor", "support", "message"], record.Select(p => p.Key));
        Assert.Equal("2026-11-27T10:00:10Z", (string)record["at"]!);
        Assert.True(PlaceholderTests.AssertFilled([record], "account.factor_enrolled") == 2);
        Assert.True(RecordWriter.IsAccountEvent(Encoding.UTF8.GetBytes(record.ToJsonString())));
    }

    [Fact]
    public async Task A_support_reset_is_announced_with_who_and_why_and_no_factor_means_no_event()
    {
        await using var t = new TestEngine(UseDefaultPolicy);
        Assert.Equal(TotpStatus.NotEnrolled, await t.TwoFactor.ResetAsync(Alice, "agent-7", "lost phone"));
        Assert.Empty(t.Sink.Events);
        var (_, key) = await EnrollAsync(t);
        await t.TwoFactor.ConfirmEnrollmentAsync(Alice, Rfc6238.Code(key, Rfc6238.Step(t.Time.GetUtcNow())));
        t.Time.Advance(TimeSpan.FromMinutes(3));

        Assert.Equal(TotpStatus.Accepted, await t.TwoFactor.ResetAsync(Alice, "agent-7", "lost phone; identity checked by video call"));
        var reset = Assert.IsType<AccountFactorReset>(t.Sink.Events[^1]);
        Assert.Equal(("account.factor_reset", "totp", "agent-7", "lost phone; identity checked by video call", TestEngine.T0.AddMinutes(3)),
            (reset.Type, reset.Factor, reset.By, reset.Note, reset.At));
        Assert.StartsWith("totp-reset:", reset.Event.Value, StringComparison.Ordinal);
        Assert.Contains("If this was not you, contact support: phone +1-800-555-0100", reset.Message["en"], StringComparison.Ordinal);
        Assert.Contains("如非本人操作,请联系客服", reset.Message["zh-CN"], StringComparison.Ordinal);
        var record = Record(reset);
        Assert.Equal(["type", "event", "account", "at", "factor", "by", "note", "support", "message"], record.Select(p => p.Key));
        Assert.True(PlaceholderTests.AssertFilled([record], "account.factor_reset") == 2);
    }

    [Fact]
    public async Task A_reset_staged_in_the_engine_s_batch_is_told_to_the_sinks_only_once_committed()
    {
        using var store = new RiskEngine.Sqlite.SqliteRiskStateStore(P("state.db")); // a store whose batches are transactions
        await using var t = new TestEngine(store: store);
        var (_, key) = await EnrollAsync(t);
        await t.TwoFactor.ConfirmEnrollmentAsync(Alice, Rfc6238.Code(key, Rfc6238.Step(t.Time.GetUtcNow())));
        var told = t.Sink.Events.Count;
        await using (var batch = await t.Engine.BeginBatchAsync())
        {
            var dropped = await batch.ResetTotpAsync(t.TwoFactor, Alice, "agent-7", "lost phone", "support-desk");
            Assert.IsType<AccountFactorReset>(Assert.Single(dropped.Events));
        }
        Assert.Equal(told, t.Sink.Events.Count);
        Assert.True((await t.Engine.GetAccountStatusAsync(Alice)).TotpEnrolled); // not committed: nothing happened

        await using (var batch = await t.Engine.BeginBatchAsync())
        {
            var reset = await batch.ResetTotpAsync(t.TwoFactor, Alice, "agent-7", "lost phone", "support-desk");
            Assert.Equal(told, t.Sink.Events.Count);
            await batch.CommitAsync();
            Assert.Same(Assert.Single(reset.Events), t.Sink.Events[^1]);
        }
        var status = await t.Engine.GetAccountStatusAsync(Alice);
        Assert.False(status.TotpEnrolled);
        Assert.Equal("support-desk", Assert.Single(status.SupportLog).Key);
    }

    [Fact]
    public async Task A_policy_may_word_the_factor_events_itself_but_not_name_a_reason_or_case_they_do_not_have()
    {
        await using var t = new TestEngine(p => p["messages"]!["en"]!["account.factor_enrolled"] = "New sign-in method on {account} at {at}. Not you? Call {phone}.");
        var (_, key) = await EnrollAsync(t);
        var enrolled = (await t.TwoFactor.ConfirmEnrollmentAsync(Alice, Rfc6238.Code(key, Rfc6238.Step(t.Time.GetUtcNow())))).Events.OfType<AccountFactorEnrolled>().Single();
        Assert.Equal("New sign-in method on alice at 2026-11-27 10:00 UTC. Not you? Call +1-800-555-0100.", enrolled.Message["en"]);
        Assert.StartsWith("您的账户已于", enrolled.Message["zh-CN"], StringComparison.Ordinal); // the engine's own words where the policy has none

        var policy = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "samples", "policy.example.json")))!.AsObject();
        policy["messages"]!["en"]!["account.factor_reset"] = "Your factor was reset because of {reason}; have {case} ready.";
        var errors = PolicyLoader.TryLoad(Encoding.UTF8.GetBytes(policy.ToJsonString()), "p.json").Errors;
        Assert.Equal(2, errors.Count);
        Assert.All(errors, e => Assert.Equal("$.messages.en['account.factor_reset']", e.Path));
        Assert.Contains(errors, e => e.Message.Contains("{reason}", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Message.Contains("{case}", StringComparison.Ordinal));
    }
}

using System.Text.Json.Nodes;
using RiskEngine.Decisions;
using RiskEngine.Events;
using RiskEngine.Policies;

namespace RiskEngine.Tests.Wallet;

/// <summary>Every freeze tells the user why in words, in every language; policies cannot word it with holes.</summary>
public sealed class FreezeWordingTests
{
    [Fact]
    public async Task A_freeze_reason_the_policy_does_not_word_is_said_in_the_engines_words_not_as_a_code()
    {
        // velocity.amount has no wording in the example policy; before, the message read "because of velocity.amount".
        await using var t = new TestEngine(p => p["velocity"] = JsonNode.Parse("""[{"id": "big", "window": "1h", "maxAmount": 15000, "currency": "USD", "then": "freeze"}]"""));
        await t.Decide(t.Tx("a", 9_000m, totp: true));
        var d = await t.Decide(t.Tx("a", 9_000m, after: TimeSpan.FromMinutes(1), totp: true));
        DecisionAssert.Is(d, Outcome.Freeze, "velocity.amount");
        var frozen = Assert.IsType<AccountFrozen>(Assert.Single(d.Events));
        Assert.Contains("an unusually large amount sent in a short time", frozen.Message["en"], StringComparison.Ordinal);
        Assert.Contains("短时间内转出金额异常", frozen.Message["zh-CN"], StringComparison.Ordinal);
        Assert.DoesNotContain("velocity.amount", frozen.Message["en"], StringComparison.Ordinal);
    }

    [Fact]
    public void A_language_the_engine_does_not_word_must_word_every_freeze_reason()
    {
        var error = Assert.Single(TestPolicies.ErrorsOf(p => p["messages"]!["fr"] = JsonNode.Parse("""{"account.frozen": "Compte gelé : {reason}.", "account.unfrozen": "Compte actif.", "velocity.count": "trop de paiements"}""")));
        Assert.Equal("$.messages.fr", error.Path);
        Assert.Contains("velocity.amount", error.Message, StringComparison.Ordinal);
        Assert.Contains("account.reported", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_engine_words_every_reason_code_it_emits_in_en_and_zh_CN()
    {
        Assert.True(ReasonCodes.All.Count >= 30);
        foreach (var code in ReasonCodes.All)
        {
            Assert.False(string.IsNullOrWhiteSpace(BuiltInWording.Find("en", code)), $"no en words for {code}");
            Assert.False(string.IsNullOrWhiteSpace(BuiltInWording.Find("zh-CN", code)), $"no zh-CN words for {code}");
        }
    }

    [Fact]
    public async Task A_policy_in_zh_CN_alone_gets_decision_messages_in_zh_CN()
    {
        await using var t = new TestEngine(p =>
        {
            p["messages"]!.AsObject().Remove("en");
            p.Remove("velocity");
        });
        var d = await t.Decide(t.Tx("a", 15_000m));
        DecisionAssert.Is(d, Outcome.Deny, "cap.per_transaction");
        Assert.Equal("金额超过单笔限额", d.Reasons.Single(r => r.Code == "cap.per_transaction").Message);
    }

    [Fact]
    public void A_template_with_an_unknown_placeholder_is_refused()
    {
        var error = Assert.Single(TestPolicies.ErrorsOf(p => p["messages"]!["en"]!["account.unfrozen"] = "Welcome back, {firstName}."));
        Assert.Equal("$.messages.en['account.unfrozen']", error.Path);
        Assert.Contains("{firstName}", error.Message, StringComparison.Ordinal);
    }
}

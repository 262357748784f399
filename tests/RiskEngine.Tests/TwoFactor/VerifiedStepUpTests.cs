using System.Text.Json.Nodes;
using RiskEngine.Decisions;
using RiskEngine.Domain;
using RiskEngine.Events;
using RiskEngine.TwoFactor;

namespace RiskEngine.Tests.TwoFactor;

/// <summary>
/// With <c>totp.stepUp: "verified"</c>, <c>authenticated: "totp"</c> counts only after RiskEngine itself accepted a
/// code for the account shortly before, and each accepted code counts once.
/// </summary>
public sealed class VerifiedStepUpTests
{
    private static readonly AccountId Alice = AccountId.Create("alice");

    private static async Task<(TestEngine T, byte[] Key)> Enrolled(string validity = "5m")
    {
        var t = new TestEngine(p =>
        {
            p["totp"] = JsonNode.Parse($$"""{"stepUp": "verified", "stepUpValidity": "{{validity}}"}""");
            p.Remove("velocity");
        });
        var e = (await t.TwoFactor.EnrollAsync(Alice)).Enrollment!;
        var key = Rfc6238.FromBase32(Rfc6238.Query(e.Uri)["secret"]);
        Assert.Equal(TotpStatus.Accepted, (await t.TwoFactor.ConfirmEnrollmentAsync(Alice, Rfc6238.Code(key, Rfc6238.Step(t.Time.GetUtcNow())))).Status);
        return (t, key);
    }

    /// <summary>A payment above the step-up threshold, claiming TOTP, at the engine's current time.</summary>
    private static TransactionAttempt Large(TestEngine t) => t.Tx("alice", 6_000m, after: t.Time.GetUtcNow() - TestEngine.T0, totp: true);

    private static async Task VerifyNow(TestEngine t, byte[] key)
    {
        t.Time.Advance(TimeSpan.FromSeconds(30)); // a fresh step: a code is never accepted twice
        Assert.Equal(TotpStatus.Accepted, (await t.TwoFactor.VerifyAsync(Alice, Rfc6238.Code(key, Rfc6238.Step(t.Time.GetUtcNow())))).Status);
    }

    [Fact]
    public async Task A_claimed_step_up_without_an_accepted_code_is_still_challenged()
    {
        var (t, _) = await Enrolled();
        await using var _t = t;
        DecisionAssert.Is(await t.Decide(Large(t)), Outcome.Challenge, "cap.step_up");
    }

    [Fact]
    public async Task An_accepted_code_satisfies_one_attempt_only()
    {
        var (t, key) = await Enrolled();
        await using var _t = t;
        await VerifyNow(t, key);
        DecisionAssert.Is(await t.Decide(Large(t)), Outcome.Allow);
        DecisionAssert.Is(await t.Decide(Large(t)), Outcome.Challenge, "cap.step_up"); // the same code again: no
        await VerifyNow(t, key);
        DecisionAssert.Is(await t.Decide(Large(t)), Outcome.Allow);
    }

    [Fact]
    public async Task An_accepted_code_older_than_the_validity_does_not_count()
    {
        var (t, key) = await Enrolled("1m");
        await using var _t = t;
        await VerifyNow(t, key);
        t.Time.Advance(TimeSpan.FromMinutes(2));
        DecisionAssert.Is(await t.Decide(Large(t)), Outcome.Challenge, "cap.step_up");
    }

    [Fact]
    public async Task Trust_caller_keeps_the_first_waves_meaning()
    {
        await using var t = new TestEngine(p => p.Remove("velocity"));
        DecisionAssert.Is(await t.Decide(t.Tx("alice", 6_000m, totp: true)), Outcome.Allow);
    }
}

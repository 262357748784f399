using RiskEngine.Domain;
using RiskEngine.State;
using RiskEngine.TwoFactor;

namespace RiskEngine.Tests.TwoFactor;

/// <summary>Ten single-use recovery codes per enrolment, stored hashed, usable instead of a TOTP code, throttled alike.</summary>
public sealed class RecoveryCodeTests
{
    private static readonly AccountId Alice = AccountId.Create("alice");

    private static async Task<(TestEngine T, TotpEnrollment E)> Enrolled(InMemoryRiskStateStore? store = null)
    {
        var t = new TestEngine(store: store);
        var e = (await t.TwoFactor.EnrollAsync(Alice)).Enrollment!;
        var key = Rfc6238.FromBase32(Rfc6238.Query(e.Uri)["secret"]);
        Assert.Equal(TotpStatus.Accepted, (await t.TwoFactor.ConfirmEnrollmentAsync(Alice, Rfc6238.Code(key, Rfc6238.Step(t.Time.GetUtcNow())))).Status);
        return (t, e);
    }

    [Fact]
    public async Task Enrolment_gives_ten_distinct_codes_that_the_store_never_holds_and_that_are_never_printed()
    {
        var store = new InMemoryRiskStateStore();
        var (t, e) = await Enrolled(store);
        await using var _ = t;
        Assert.Equal(10, e.RecoveryCodes.Distinct().Count());
        Assert.All(e.RecoveryCodes, c => Assert.Matches("^[A-HJ-NP-Z2-9]{5}-[A-HJ-NP-Z2-9]{5}$", c));
        var dump = store.Dump();
        Assert.All(e.RecoveryCodes, c => Assert.DoesNotContain(c, dump, StringComparison.Ordinal));
        Assert.All(e.RecoveryCodes, c => Assert.DoesNotContain(c, e.ToString(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_recovery_code_works_once_in_any_case_and_lifts_a_self_service_freeze()
    {
        var (t, e) = await Enrolled();
        await using var _ = t;
        for (var i = 0; i < 6; i++) await t.Decide(t.Tx("alice", 1m, after: TimeSpan.FromSeconds(i + 1)));
        Assert.True((await t.Engine.GetAccountStatusAsync(Alice)).Frozen);
        t.Time.Advance(TimeSpan.FromMinutes(1));

        var first = await t.TwoFactor.VerifyAsync(Alice, e.RecoveryCodes[3].ToLowerInvariant());
        Assert.Equal(TotpStatus.Accepted, first.Status);
        Assert.IsType<RiskEngine.Events.AccountUnfrozen>(Assert.Single(first.Events));
        Assert.False((await t.Engine.GetAccountStatusAsync(Alice)).Frozen);
        t.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(TotpStatus.Invalid, (await t.TwoFactor.VerifyAsync(Alice, e.RecoveryCodes[3])).Status); // used up
        Assert.Equal(TotpStatus.Accepted, (await t.TwoFactor.VerifyAsync(Alice, e.RecoveryCodes[4])).Status);
    }

    [Fact]
    public async Task Wrong_recovery_codes_count_towards_the_same_throttle_as_wrong_totp_codes()
    {
        var (t, e) = await Enrolled();
        await using var _ = t;
        for (var i = 0; i < 5; i++) Assert.Equal(TotpStatus.Invalid, (await t.TwoFactor.VerifyAsync(Alice, "ABCDE-FGHJK")).Status);
        Assert.Equal(TotpStatus.Throttled, (await t.TwoFactor.VerifyAsync(Alice, e.RecoveryCodes[0])).Status);
        Assert.Equal("totp.failed_attempts", (await t.Engine.GetAccountStatusAsync(Alice)).FreezeReason);
    }
}

/// <summary>Support resets a lost factor; who and why stay in the account's support log.</summary>
public sealed class FactorResetTests
{
    private static readonly AccountId Alice = AccountId.Create("alice");

    [Fact]
    public async Task A_reset_removes_the_factor_and_its_recovery_codes_and_logs_who_and_why()
    {
        await using var t = new TestEngine();
        var e = (await t.TwoFactor.EnrollAsync(Alice)).Enrollment!;
        var key = Rfc6238.FromBase32(Rfc6238.Query(e.Uri)["secret"]);
        await t.TwoFactor.ConfirmEnrollmentAsync(Alice, Rfc6238.Code(key, Rfc6238.Step(t.Time.GetUtcNow())));
        Assert.Equal(TotpStatus.AlreadyEnrolled, (await t.TwoFactor.EnrollAsync(Alice)).Status);

        t.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(TotpStatus.Accepted, await t.TwoFactor.ResetAsync(Alice, "agent-7", "phone lost; identity checked by video call"));
        Assert.Equal(TotpStatus.NotEnrolled, (await t.TwoFactor.VerifyAsync(Alice, e.RecoveryCodes[0])).Status);
        var status = await t.Engine.GetAccountStatusAsync(Alice);
        Assert.False(status.TotpEnrolled);
        var logged = Assert.Single(status.SupportLog);
        Assert.Equal(("agent-7", "totp.reset", "phone lost; identity checked by video call", t.Time.GetUtcNow()), (logged.By, logged.Action, logged.Reason, logged.At));
        Assert.NotNull((await t.TwoFactor.EnrollAsync(Alice)).Enrollment); // the user can enrol again
        Assert.Equal(TotpStatus.Accepted, await t.TwoFactor.ResetAsync(Alice, "agent-7", "abandoned enrolment"));
        Assert.Equal(TotpStatus.NotEnrolled, await t.TwoFactor.ResetAsync(Alice, "agent-7", "again"));
        Assert.Equal(2, (await t.Engine.GetAccountStatusAsync(Alice)).SupportLog.Count);
        await Assert.ThrowsAsync<ArgumentException>(async () => await t.TwoFactor.ResetAsync(Alice, "agent\u0007", "x"));
        Assert.All((await t.Engine.GetAccountStatusAsync(Alice)).SupportLog, a => Assert.Null(a.Key)); // not through a server
    }

    [Fact]
    public async Task A_reset_through_a_server_logs_the_api_key_name_beside_the_agent()
    {
        await using var t = new TestEngine();
        await t.TwoFactor.EnrollAsync(Alice);
        Assert.Equal(TotpStatus.Accepted, await t.TwoFactor.ResetAsync(Alice, "agent-7", "lost phone", "support-desk"));
        var logged = Assert.Single((await t.Engine.GetAccountStatusAsync(Alice)).SupportLog);
        Assert.Equal(("agent-7", "totp.reset", "lost phone", "support-desk"), (logged.By, logged.Action, logged.Reason, logged.Key));
    }
}

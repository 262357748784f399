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

    private static string Sha256(string text) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));

    [Fact]
    public async Task The_stored_value_of_a_code_is_keyed_by_the_key_ring_not_a_sha256_of_account_and_code()
    {
        var store = new InMemoryRiskStateStore();
        var (t, e) = await Enrolled(store);
        await using var _ = t;
        var stored = (await store.LoadAccountAsync(Alice)).State.Totp!.RecoveryHashes;
        Assert.Equal(10, stored.Count);
        var dump = store.Dump();
        foreach (var code in e.RecoveryCodes)
        {
            // What earlier versions stored: 50 bits under an unsalted hash, cracked offline from a copy of the data.
            Assert.DoesNotContain(Sha256("alice:" + code), dump, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(stored, h => h.Contains(Sha256("alice:" + code), StringComparison.OrdinalIgnoreCase));
        }
        Assert.All(stored, h => Assert.Matches("^hmac:[0-9a-f]{64}$", h));
    }

    [Fact]
    public async Task With_the_data_but_another_key_ring_a_recovery_code_cannot_be_checked()
    {
        var store = new InMemoryRiskStateStore();
        var (t, e) = await Enrolled(store);
        await using var _ = t;
        // The same data (a copy of the store) under another key ring: the code's keyed hash cannot be computed.
        await using var thief = new TestEngine(store: store, protector: new DataProtectionSecretProtector(new Microsoft.AspNetCore.DataProtection.EphemeralDataProtectionProvider()));
        thief.Time.SetUtcNow(t.Time.GetUtcNow().AddMinutes(1));
        await Assert.ThrowsAnyAsync<System.Security.Cryptography.CryptographicException>(async () => await thief.TwoFactor.VerifyAsync(Alice, e.RecoveryCodes[0]));
        // Nothing was used up: the owner's key ring still checks it, once.
        t.Time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(TotpStatus.Accepted, (await t.TwoFactor.VerifyAsync(Alice, e.RecoveryCodes[0])).Status);
        t.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(TotpStatus.Invalid, (await t.TwoFactor.VerifyAsync(Alice, e.RecoveryCodes[0])).Status);
    }

    [Fact]
    public async Task Codes_stored_by_earlier_versions_keep_working_and_are_keyed_at_the_account_s_next_check()
    {
        var store = new InMemoryRiskStateStore();
        var (t, e) = await Enrolled(store);
        await using var _ = t;
        // The factor as an earlier version stored it: SHA-256 over account:code, in hex.
        var snapshot = await store.LoadAccountAsync(Alice);
        snapshot.State.Totp!.RecoveryHashes.Clear();
        snapshot.State.Totp.RecoveryHashes.AddRange(e.RecoveryCodes.Select(c => Sha256("alice:" + c)));
        Assert.Equal(CommitStatus.Committed, await store.CommitAsync(new AccountCommit(Alice, snapshot.Version, snapshot.State, null, null, TestEngine.T0.AddDays(7))));

        // Any check that reaches the key ring (here a wrong code) keys them; none is lost.
        t.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(TotpStatus.Invalid, (await t.TwoFactor.VerifyAsync(Alice, "ABCDE-FGHJK")).Status);
        var stored = (await store.LoadAccountAsync(Alice)).State.Totp!.RecoveryHashes;
        Assert.Equal(10, stored.Count);
        Assert.All(stored, h => Assert.Matches("^hmac:[0-9a-f]{64}$", h));
        Assert.DoesNotContain(Sha256("alice:" + e.RecoveryCodes[1]), store.Dump(), StringComparison.OrdinalIgnoreCase);

        t.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(TotpStatus.Accepted, (await t.TwoFactor.VerifyAsync(Alice, e.RecoveryCodes[1])).Status);
        t.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(TotpStatus.Invalid, (await t.TwoFactor.VerifyAsync(Alice, e.RecoveryCodes[1])).Status); // still single-use
        Assert.Equal(9, (await store.LoadAccountAsync(Alice)).State.Totp!.RecoveryHashes.Count);
    }

    [Fact]
    public async Task A_code_stored_by_an_earlier_version_is_accepted_once_before_any_other_check()
    {
        var store = new InMemoryRiskStateStore();
        var (t, e) = await Enrolled(store);
        await using var _ = t;
        var snapshot = await store.LoadAccountAsync(Alice);
        snapshot.State.Totp!.RecoveryHashes.Clear();
        snapshot.State.Totp.RecoveryHashes.AddRange(e.RecoveryCodes.Select(c => Sha256("alice:" + c)));
        Assert.Equal(CommitStatus.Committed, await store.CommitAsync(new AccountCommit(Alice, snapshot.Version, snapshot.State, null, null, TestEngine.T0.AddDays(7))));
        t.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(TotpStatus.Accepted, (await t.TwoFactor.VerifyAsync(Alice, e.RecoveryCodes[5])).Status);
        var stored = (await store.LoadAccountAsync(Alice)).State.Totp!.RecoveryHashes;
        Assert.Equal(9, stored.Count);
        Assert.All(stored, h => Assert.StartsWith("hmac:", h, StringComparison.Ordinal));
        t.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(TotpStatus.Invalid, (await t.TwoFactor.VerifyAsync(Alice, e.RecoveryCodes[5])).Status);
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

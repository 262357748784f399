using System.Text;
using System.Text.Json.Nodes;
using RiskEngine.Domain;
using RiskEngine.Events;
using RiskEngine.State;
using RiskEngine.TwoFactor;

namespace RiskEngine.Tests.TwoFactor;

public sealed class TwoFactorServiceTests
{
    private static readonly AccountId Alice = AccountId.Create("alice");

    [Theory]
    // RFC 6238 Appendix B: seeds of 20, 32 and 64 bytes, 8 digits, 30 s steps.
    [InlineData(59L, "SHA1", "94287082")]
    [InlineData(59L, "SHA256", "46119246")]
    [InlineData(59L, "SHA512", "90693936")]
    [InlineData(1111111109L, "SHA1", "07081804")]
    [InlineData(1111111109L, "SHA256", "68084774")]
    [InlineData(1111111109L, "SHA512", "25091201")]
    [InlineData(1111111111L, "SHA1", "14050471")]
    [InlineData(1111111111L, "SHA256", "67062674")]
    [InlineData(1111111111L, "SHA512", "99943326")]
    [InlineData(1234567890L, "SHA1", "89005924")]
    [InlineData(1234567890L, "SHA256", "91819424")]
    [InlineData(1234567890L, "SHA512", "93441116")]
    [InlineData(2000000000L, "SHA1", "69279037")]
    [InlineData(2000000000L, "SHA256", "90698825")]
    [InlineData(2000000000L, "SHA512", "38618901")]
    [InlineData(20000000000L, "SHA1", "65353130")]
    [InlineData(20000000000L, "SHA256", "77737706")]
    [InlineData(20000000000L, "SHA512", "47863826")]
    public void Rfc6238_appendix_B_vectors(long unixSeconds, string algorithm, string expected)
    {
        var seed = algorithm switch
        {
            "SHA256" => "12345678901234567890123456789012",
            "SHA512" => "1234567890123456789012345678901234567890123456789012345678901234",
            _ => "12345678901234567890",
        };
        var step = unixSeconds / 30;
        Assert.Equal(expected, TotpCode.Compute(Encoding.ASCII.GetBytes(seed), algorithm, 8, 30, step));
        Assert.Equal(expected, Rfc6238.Code(Encoding.ASCII.GetBytes(seed), step, 8, algorithm)); // the test's own implementation agrees
    }

    private static async Task<(TestEngine T, byte[] Key)> Enrolled(Action<JsonObject>? policy = null, string algorithm = "SHA1", int digits = 6)
    {
        var t = new TestEngine(policy);
        var enrollment = (await t.TwoFactor.EnrollAsync(Alice)).Enrollment!;
        var key = Rfc6238.FromBase32(Rfc6238.Query(enrollment.Uri)["secret"]);
        var code = Rfc6238.Code(key, Rfc6238.Step(t.Time.GetUtcNow()), digits, algorithm);
        Assert.Equal(TotpStatus.Accepted, (await t.TwoFactor.ConfirmEnrollmentAsync(Alice, code)).Status);
        t.Time.Advance(TimeSpan.FromSeconds(30)); // confirmation used the current step
        return (t, key);
    }

    [Fact]
    public async Task Enrolment_gives_a_160_bit_secret_and_an_otpauth_uri_that_round_trips()
    {
        await using var t = new TestEngine();
        var result = await t.TwoFactor.EnrollAsync(Alice);
        var e = result.Enrollment!;
        Assert.StartsWith("otpauth://totp/RiskEngine%20Example:alice?", e.Uri, StringComparison.Ordinal);
        var q = Rfc6238.Query(e.Uri);
        Assert.Equal(e.Secret, q["secret"]);
        Assert.Equal("RiskEngine Example", q["issuer"]);
        Assert.Equal(("SHA1", "6", "30"), (q["algorithm"], q["digits"], q["period"]));
        var key = Rfc6238.FromBase32(q["secret"]);
        Assert.True(key.Length * 8 >= 160);
        Assert.DoesNotContain(e.Secret, e.ToString(), StringComparison.Ordinal);

        // Not active until confirmed.
        var code = Rfc6238.Code(key, Rfc6238.Step(t.Time.GetUtcNow()));
        Assert.Equal(TotpStatus.NotEnrolled, (await t.TwoFactor.VerifyAsync(Alice, code)).Status);
        Assert.False((await t.Engine.GetAccountStatusAsync(Alice)).TotpEnrolled);
        Assert.Equal(TotpStatus.Accepted, (await t.TwoFactor.ConfirmEnrollmentAsync(Alice, code)).Status);
        Assert.True((await t.Engine.GetAccountStatusAsync(Alice)).TotpEnrolled);
        Assert.Equal(TotpStatus.AlreadyEnrolled, (await t.TwoFactor.EnrollAsync(Alice)).Status);

        // A code the independent implementation derives from the URI's secret verifies.
        t.Time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(TotpStatus.Accepted, (await t.TwoFactor.VerifyAsync(Alice, Rfc6238.Code(key, Rfc6238.Step(t.Time.GetUtcNow())))).Status);
    }

    [Fact]
    public async Task Sha512_with_8_digits_is_supported()
    {
        var (t, key) = await Enrolled(p =>
        {
            p["totp"]!["algorithm"] = "SHA512";
            p["totp"]!["digits"] = 8;
        }, "SHA512", 8);
        await using var _ = t;
        Assert.Equal(64, key.Length);
        Assert.Equal(TotpStatus.Accepted, (await t.TwoFactor.VerifyAsync(Alice, Rfc6238.Code(key, Rfc6238.Step(t.Time.GetUtcNow()), 8, "SHA512"))).Status);
    }

    [Theory]
    [InlineData(-2, TotpStatus.Invalid)]
    [InlineData(-1, TotpStatus.Accepted)]
    [InlineData(0, TotpStatus.Accepted)]
    [InlineData(1, TotpStatus.Accepted)]
    [InlineData(2, TotpStatus.Invalid)]
    public async Task One_step_of_drift_is_accepted_and_two_are_not(int offset, TotpStatus expected)
    {
        var (t, key) = await Enrolled();
        await using var _ = t;
        t.Time.Advance(TimeSpan.FromMinutes(5));
        var code = Rfc6238.Code(key, Rfc6238.Step(t.Time.GetUtcNow()) + offset);
        Assert.Equal(expected, (await t.TwoFactor.VerifyAsync(Alice, code)).Status);
    }

    [Fact]
    public async Task A_code_is_accepted_once_and_an_earlier_step_after_a_later_one_is_refused()
    {
        var (t, key) = await Enrolled();
        await using var _ = t;
        var now = Rfc6238.Step(t.Time.GetUtcNow());
        var code = Rfc6238.Code(key, now);
        Assert.Equal(TotpStatus.Accepted, (await t.TwoFactor.VerifyAsync(Alice, code)).Status);
        var replay = await t.TwoFactor.VerifyAsync(Alice, code);
        Assert.Equal(TotpStatus.Replayed, replay.Status);
        Assert.Equal("totp.replayed", replay.ReasonCode);
        // The previous step is inside the drift window, but older than the one accepted.
        Assert.Equal(TotpStatus.Replayed, (await t.TwoFactor.VerifyAsync(Alice, Rfc6238.Code(key, now - 1))).Status);
        Assert.Equal(TotpStatus.Accepted, (await t.TwoFactor.VerifyAsync(Alice, Rfc6238.Code(key, now + 1))).Status);
    }

    [Fact]
    public async Task Fifty_parallel_verifications_of_one_code_succeed_exactly_once()
    {
        var (t, key) = await Enrolled();
        await using var _ = t;
        var code = Rfc6238.Code(key, Rfc6238.Step(t.Time.GetUtcNow()));
        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Task.Run(async () => await t.TwoFactor.VerifyAsync(Alice, code))));
        Assert.Equal(1, results.Count(r => r.Status == TotpStatus.Accepted));
        Assert.Equal(49, results.Count(r => r.Status == TotpStatus.Replayed));
    }

    [Theory]
    [InlineData("12345")]
    [InlineData("1234567")]
    [InlineData("12 345")]
    [InlineData("12a456")]
    [InlineData("１２３４５６")] // full-width digits are not ASCII digits
    [InlineData("")]
    public async Task Malformed_codes_are_refused_before_any_check_and_do_not_count_as_failures(string code)
    {
        var (t, _) = await Enrolled();
        await using var __ = t;
        for (var i = 0; i < 10; i++) Assert.Equal(TotpStatus.Malformed, (await t.TwoFactor.VerifyAsync(Alice, code)).Status);
        Assert.Empty((await t.Store.LoadAccountAsync(Alice)).State.Totp!.Failures);
    }

    [Fact]
    public async Task Codes_with_leading_zeros_work()
    {
        var (t, key) = await Enrolled();
        await using var _ = t;
        // Walk forward to a step whose code starts with 0 (about one step in ten).
        var step = Rfc6238.Step(t.Time.GetUtcNow());
        while (!Rfc6238.Code(key, step).StartsWith('0')) { t.Time.Advance(TimeSpan.FromSeconds(30)); step++; }
        Assert.Equal(TotpStatus.Accepted, (await t.TwoFactor.VerifyAsync(Alice, Rfc6238.Code(key, step))).Status);
    }

    [Fact]
    public async Task Max_failures_freeze_the_account_with_support_contacts_then_checks_are_throttled()
    {
        var (t, key) = await Enrolled();
        await using var _ = t;
        var wrong = Rfc6238.Code(key, Rfc6238.Step(t.Time.GetUtcNow()) + 5);
        for (var i = 0; i < 4; i++)
        {
            var r = await t.TwoFactor.VerifyAsync(Alice, wrong);
            Assert.Equal(TotpStatus.Invalid, r.Status);
            Assert.Empty(r.Events);
        }
        var fifth = await t.TwoFactor.VerifyAsync(Alice, wrong);
        var frozen = Assert.IsType<AccountFrozen>(Assert.Single(fifth.Events));
        Assert.Equal("totp.failed_attempts", frozen.Reason);
        Assert.Equal("+1-800-555-0100", frozen.Support.Phone);
        Assert.Contains("repeated wrong verification codes", frozen.Message["en"], StringComparison.Ordinal);
        Assert.IsType<AccountFactorEnrolled>(t.Sink.Events[0]); // the confirmation, before these checks
        Assert.Equal(frozen, Assert.Single(t.Sink.Events.OfType<AccountFrozen>()));
        Assert.True((await t.Engine.GetAccountStatusAsync(Alice)).Frozen);

        // Even the right code is not checked while throttled: no oracle for a brute force.
        var right = Rfc6238.Code(key, Rfc6238.Step(t.Time.GetUtcNow()));
        Assert.Equal(TotpStatus.Throttled, (await t.TwoFactor.VerifyAsync(Alice, right)).Status);
        // The freeze reason is not self-service: after the failure window a valid code verifies but does not unfreeze.
        t.Time.Advance(TimeSpan.FromMinutes(16));
        var later = await t.TwoFactor.VerifyAsync(Alice, Rfc6238.Code(key, Rfc6238.Step(t.Time.GetUtcNow())));
        Assert.Equal(TotpStatus.Accepted, later.Status);
        Assert.Empty(later.Events);
        Assert.True((await t.Engine.GetAccountStatusAsync(Alice)).Frozen);
    }

    [Fact]
    public async Task A_success_resets_the_failure_count()
    {
        var (t, key) = await Enrolled();
        await using var _ = t;
        var wrong = Rfc6238.Code(key, Rfc6238.Step(t.Time.GetUtcNow()) + 5);
        for (var i = 0; i < 4; i++) await t.TwoFactor.VerifyAsync(Alice, wrong);
        Assert.Equal(TotpStatus.Accepted, (await t.TwoFactor.VerifyAsync(Alice, Rfc6238.Code(key, Rfc6238.Step(t.Time.GetUtcNow()))))!.Status);
        for (var i = 0; i < 4; i++) Assert.Equal(TotpStatus.Invalid, (await t.TwoFactor.VerifyAsync(Alice, wrong)).Status);
        Assert.False((await t.Engine.GetAccountStatusAsync(Alice)).Frozen);
    }

    [Fact]
    public async Task A_valid_code_lifts_a_self_service_freeze_and_not_another()
    {
        var (t, key) = await Enrolled();
        await using var _ = t;
        // velocity.count is listed in freeze.selfService.
        for (var i = 0; i < 6; i++) await t.Decide(t.Tx("alice", 1m, after: t.Time.GetUtcNow() - TestEngine.T0 + TimeSpan.FromSeconds(i)));
        Assert.Equal("velocity.count", (await t.Engine.GetAccountStatusAsync(Alice)).FreezeReason);
        t.Time.Advance(TimeSpan.FromSeconds(30));
        var r = await t.TwoFactor.VerifyAsync(Alice, Rfc6238.Code(key, Rfc6238.Step(t.Time.GetUtcNow())));
        var unfrozen = Assert.IsType<AccountUnfrozen>(Assert.Single(r.Events));
        Assert.Equal("totp", unfrozen.By);
        Assert.False((await t.Engine.GetAccountStatusAsync(Alice)).Frozen);

        // login.impossible_travel is not listed.
        await t.Decide(t.Login("alice", true, t.Time.GetUtcNow() - TestEngine.T0, at: new GeoPoint(40.71, -74.01)));
        await t.Decide(t.Login("alice", true, t.Time.GetUtcNow() - TestEngine.T0 + TimeSpan.FromMinutes(30), at: new GeoPoint(51.51, -0.13)));
        Assert.Equal("login.impossible_travel", (await t.Engine.GetAccountStatusAsync(Alice)).FreezeReason);
        t.Time.Advance(TimeSpan.FromSeconds(30));
        var r2 = await t.TwoFactor.VerifyAsync(Alice, Rfc6238.Code(key, Rfc6238.Step(t.Time.GetUtcNow())));
        Assert.Equal(TotpStatus.Accepted, r2.Status);
        Assert.Empty(r2.Events);
        Assert.True((await t.Engine.GetAccountStatusAsync(Alice)).Frozen);
    }

    [Fact]
    public async Task A_factor_enrolled_after_the_freeze_cannot_lift_it_by_self_service()
    {
        await using var t = new TestEngine();
        // Frozen on velocity.count (self-service in the example policy) before any factor exists ...
        for (var i = 0; i < 6; i++) await t.Decide(t.Tx("alice", 1m, after: TimeSpan.FromSeconds(i)));
        Assert.Equal("velocity.count", (await t.Engine.GetAccountStatusAsync(Alice)).FreezeReason);
        // ... then someone who can reach the API enrols a factor of their own and confirms it.
        t.Time.Advance(TimeSpan.FromMinutes(1));
        var e = (await t.TwoFactor.EnrollAsync(Alice)).Enrollment!;
        var key = Rfc6238.FromBase32(Rfc6238.Query(e.Uri)["secret"]);
        Assert.Equal(TotpStatus.Accepted, (await t.TwoFactor.ConfirmEnrollmentAsync(Alice, Rfc6238.Code(key, Rfc6238.Step(t.Time.GetUtcNow())))).Status);
        t.Time.Advance(TimeSpan.FromSeconds(30));
        var r = await t.TwoFactor.VerifyAsync(Alice, Rfc6238.Code(key, Rfc6238.Step(t.Time.GetUtcNow())));
        Assert.Equal(TotpStatus.Accepted, r.Status); // a valid code, but not one that may lift this freeze
        Assert.Empty(r.Events);
        Assert.True((await t.Engine.GetAccountStatusAsync(Alice)).Frozen);
    }

    [Fact]
    public async Task A_factor_confirmed_after_the_real_freeze_but_before_its_claimed_time_cannot_lift_it()
    {
        await using var t = new TestEngine(); // the engine accepts events up to 5 minutes ahead of its clock
        // The burst that freezes the account claims times 4 minutes ahead of the engine's clock (T0).
        RiskEngine.Decisions.EvaluationResult last = default;
        for (var i = 0; i < 6; i++) last = await t.Engine.EvaluateAsync(t.Tx("alice", 1m, after: TimeSpan.FromMinutes(4) + TimeSpan.FromSeconds(i)));
        Assert.Equal(RiskEngine.Decisions.Outcome.Freeze, last.GetDecisionOrThrow().Outcome);
        Assert.Equal(TestEngine.T0.AddMinutes(4).AddSeconds(5), (await t.Engine.GetAccountStatusAsync(Alice)).FrozenAt);

        // A minute later by the clock — after the freeze, before the time it claimed — a factor is enrolled and confirmed.
        t.Time.Advance(TimeSpan.FromMinutes(1));
        var e = (await t.TwoFactor.EnrollAsync(Alice)).Enrollment!;
        var key = Rfc6238.FromBase32(Rfc6238.Query(e.Uri)["secret"]);
        Assert.Equal(TotpStatus.Accepted, (await t.TwoFactor.ConfirmEnrollmentAsync(Alice, Rfc6238.Code(key, Rfc6238.Step(t.Time.GetUtcNow())))).Status);
        t.Time.Advance(TimeSpan.FromSeconds(30));
        var r = await t.TwoFactor.VerifyAsync(Alice, Rfc6238.Code(key, Rfc6238.Step(t.Time.GetUtcNow())));
        Assert.Equal(TotpStatus.Accepted, r.Status);
        Assert.Empty(r.Events);
        Assert.True((await t.Engine.GetAccountStatusAsync(Alice)).Frozen);

        // Nor does a recovery code of that factor.
        t.Time.Advance(TimeSpan.FromMinutes(10)); // past the claimed freeze time too
        Assert.Empty((await t.TwoFactor.VerifyAsync(Alice, e.RecoveryCodes[0])).Events);
        Assert.True((await t.Engine.GetAccountStatusAsync(Alice)).Frozen);
    }

    [Fact]
    public async Task A_factor_confirmed_before_the_freeze_lifts_it_whatever_time_the_freezing_events_claimed()
    {
        await using var t = new TestEngine();
        var e = (await t.TwoFactor.EnrollAsync(Alice)).Enrollment!;
        var key = Rfc6238.FromBase32(Rfc6238.Query(e.Uri)["secret"]);
        Assert.Equal(TotpStatus.Accepted, (await t.TwoFactor.ConfirmEnrollmentAsync(Alice, Rfc6238.Code(key, Rfc6238.Step(t.Time.GetUtcNow())))).Status);
        t.Time.Advance(TimeSpan.FromMinutes(1));
        for (var i = 0; i < 6; i++) await t.Engine.EvaluateAsync(t.Tx("alice", 1m, after: TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(i)));
        Assert.True((await t.Engine.GetAccountStatusAsync(Alice)).Frozen);
        t.Time.Advance(TimeSpan.FromSeconds(30));
        var r = await t.TwoFactor.VerifyAsync(Alice, Rfc6238.Code(key, Rfc6238.Step(t.Time.GetUtcNow())));
        Assert.IsType<AccountUnfrozen>(Assert.Single(r.Events));
    }

    [Theory]
    [InlineData(6, true)]
    [InlineData(4, false)]
    public async Task A_freeze_stored_without_the_engine_s_clock_counts_from_its_event_time_less_five_minutes(int minutesLater, bool lifts)
    {
        await using var t = new TestEngine();
        var e = (await t.TwoFactor.EnrollAsync(Alice)).Enrollment!;
        var key = Rfc6238.FromBase32(Rfc6238.Query(e.Uri)["secret"]);
        Assert.Equal(TotpStatus.Accepted, (await t.TwoFactor.ConfirmEnrollmentAsync(Alice, Rfc6238.Code(key, Rfc6238.Step(t.Time.GetUtcNow())))).Status);
        for (var i = 0; i < 6; i++) await t.Decide(t.Tx("alice", 1m, after: TimeSpan.FromMinutes(minutesLater) + TimeSpan.FromSeconds(i)));
        // The freeze as an earlier version stored it: its event's time only.
        var snapshot = await t.Store.LoadAccountAsync(Alice);
        Assert.Equal(t.Time.GetUtcNow(), snapshot.State.Freeze!.Clock);
        snapshot.State.Freeze = snapshot.State.Freeze with { Clock = null };
        Assert.Equal(CommitStatus.Committed, await t.Store.CommitAsync(new AccountCommit(Alice, snapshot.Version, snapshot.State, null, null, TestEngine.T0.AddDays(7))));
        t.Time.Advance(TimeSpan.FromSeconds(30));
        var r = await t.TwoFactor.VerifyAsync(Alice, Rfc6238.Code(key, Rfc6238.Step(t.Time.GetUtcNow())));
        Assert.Equal(TotpStatus.Accepted, r.Status);
        Assert.Equal(lifts, r.Events.Count == 1);
    }

    [Fact]
    public async Task The_store_never_holds_the_secret_in_the_clear()
    {
        var store = new InMemoryRiskStateStore();
        await using var t = new TestEngine(store: store);
        var e = (await t.TwoFactor.EnrollAsync(Alice)).Enrollment!;
        var key = Rfc6238.FromBase32(e.Secret);
        var dump = store.Dump();
        Assert.Contains("ProtectedSecret", dump, StringComparison.Ordinal);
        foreach (var form in new[] { e.Secret, Convert.ToHexString(key), Convert.ToHexStringLower(key), Convert.ToBase64String(key) })
            Assert.DoesNotContain(form, dump, StringComparison.OrdinalIgnoreCase);
    }
}

public sealed class DurableTwoFactorTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("riskengine-totp-");

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }

    [Fact]
    public async Task The_failure_count_survives_a_restart_with_a_durable_store()
    {
        var path = Path.Combine(_dir.FullName, "state.db");
        var alice = RiskEngine.Domain.AccountId.Create("alice");
        // One key ring across the restart, as a worker's DATA/keys folder would be.
        var protector = new DataProtectionSecretProtector(new Microsoft.AspNetCore.DataProtection.EphemeralDataProtectionProvider());
        string wrong;
        using (var store = new RiskEngine.Sqlite.SqliteRiskStateStore(path))
        {
            await using var t = new TestEngine(store: store, protector: protector);
            var key = Rfc6238.FromBase32((await t.TwoFactor.EnrollAsync(alice)).Enrollment!.Secret);
            await t.TwoFactor.ConfirmEnrollmentAsync(alice, Rfc6238.Code(key, Rfc6238.Step(t.Time.GetUtcNow())));
            wrong = Rfc6238.Code(key, Rfc6238.Step(t.Time.GetUtcNow()) + 5);
            for (var i = 0; i < 3; i++) Assert.Equal(TotpStatus.Invalid, (await t.TwoFactor.VerifyAsync(alice, wrong)).Status);
        }
        using (var store = new RiskEngine.Sqlite.SqliteRiskStateStore(path))
        {
            await using var t = new TestEngine(store: store, protector: protector);
            Assert.Equal(TotpStatus.Invalid, (await t.TwoFactor.VerifyAsync(alice, wrong)).Status);
            var fifth = await t.TwoFactor.VerifyAsync(alice, wrong);
            Assert.Equal("totp.failed_attempts", Assert.IsType<AccountFrozen>(Assert.Single(fifth.Events)).Reason);
        }
    }
}

using RiskEngine.Decisions;
using RiskEngine.Domain;
using RiskEngine.Events;
using RiskEngine.Redis;
using RiskEngine.State;
using RiskEngine.Tests.TwoFactor;
using RiskEngine.TwoFactor;
using StackExchange.Redis;

namespace RiskEngine.Tests.Redis;

/// <summary>What Redis may forget of an idle account, and what it must never forget.</summary>
[Collection("redis")]
public sealed class RedisRetentionTests(RedisFixture redis)
{
    /// <summary>What Redis does once every TTL has run out (31 idle days): deletes each key under the prefix that has one.</summary>
    private async Task<int> ForgetEverythingThatExpiresAsync(string prefix)
    {
        var db = redis.Connection.GetDatabase();
        var forgotten = 0;
        foreach (var endpoint in redis.Connection.GetEndPoints())
        {
            await foreach (var key in redis.Connection.GetServer(endpoint).KeysAsync(pattern: prefix + ":*"))
            {
                if (await db.KeyTimeToLiveAsync(key) is null) continue;
                await db.KeyDeleteAsync(key);
                forgotten++;
            }
        }
        return forgotten;
    }

    [Fact]
    public async Task Factors_freezes_limits_lockouts_and_sign_in_history_outlive_an_idle_month_and_an_account_with_nothing_to_keep_does_not()
    {
        var prefix = "r" + Guid.NewGuid().ToString("N")[..12];
        // Limits may last 60 days here (the default is 30): bob's must outlive the 31-day idle expiry.
        await using var t = new TestEngine(p => p["limits"] = new System.Text.Json.Nodes.JsonObject { ["maxDuration"] = "60d" }, store: new RedisRiskStateStore(redis.Connection, prefix));
        var (alice, bob, carol, dave, erin, frank) = (AccountId.Create("alice"), AccountId.Create("bob"), AccountId.Create("carol"),
            AccountId.Create("dave"), AccountId.Create("erin"), AccountId.Create("frank"));

        // alice enrols a TOTP factor, and later pays (a commit that rewrites her state).
        var enrollment = (await t.TwoFactor.EnrollAsync(alice)).Enrollment!;
        var key = Rfc6238.FromBase32(Rfc6238.Query(enrollment.Uri)["secret"]);
        Assert.Equal(TotpStatus.Accepted, (await t.TwoFactor.ConfirmEnrollmentAsync(alice, Rfc6238.Code(key, Rfc6238.Step(t.Time.GetUtcNow())))).Status);
        DecisionAssert.Is(await t.Decide(t.Tx("alice", 10m, after: TimeSpan.FromSeconds(1))), Outcome.Allow);
        // bob arranges a higher limit for a large payment next month.
        var limit = new LimitArrangement(t.NextId(), TestEngine.T0.AddSeconds(2), bob, Money.Create(50_000m, "USD"), TestEngine.T0.AddDays(45)) { TotpVerified = true };
        DecisionAssert.Is(await t.Decide(limit), Outcome.Allow);
        // carol is locked out of sign-in.
        for (var i = 0; i < 5; i++) await t.Decide(t.Login("carol", ok: false, after: TimeSpan.FromSeconds(3 + i)));
        // dave is frozen (six payments in a minute).
        for (var i = 0; i < 6; i++) await t.Decide(t.Tx("dave", 1m, after: TimeSpan.FromSeconds(10 + i)));
        // erin has signed in from her device.
        DecisionAssert.Is(await t.Decide(t.Login("erin", ok: true, after: TimeSpan.FromSeconds(20))), Outcome.Allow);
        // frank only paid once: nothing worth keeping past the windows.
        DecisionAssert.Is(await t.Decide(t.Tx("frank", 10m, after: TimeSpan.FromSeconds(21))), Outcome.Allow);

        Assert.True(await ForgetEverythingThatExpiresAsync(prefix) > 0);

        Assert.Equal(TotpStatus.AlreadyEnrolled, (await t.TwoFactor.EnrollAsync(alice)).Status); // nobody can enrol a second factor in her place
        t.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(TotpStatus.Accepted, (await t.TwoFactor.VerifyAsync(alice, Rfc6238.Code(key, Rfc6238.Step(t.Time.GetUtcNow())))).Status);
        Assert.True((await t.Store.LoadAccountAsync(bob)).State.Limits.ContainsKey("USD"));
        DecisionAssert.Is(await t.Decide(t.Login("carol", ok: true, after: TimeSpan.FromMinutes(2))), Outcome.Deny, "login.locked");
        Assert.True((await t.Engine.GetAccountStatusAsync(dave)).Frozen);
        DecisionAssert.Is(await t.Decide(t.Login("erin", ok: true, after: TimeSpan.FromMinutes(3), device: "stranger")), Outcome.Challenge, "login.new_device");
        Assert.Equal(0, (await t.Store.LoadAccountAsync(frank)).Version);
    }

    [Fact]
    public void Every_property_of_the_account_state_is_either_a_window_that_may_expire_or_something_kept_for_good()
    {
        var properties = typeof(AccountState).GetProperties().Select(p => p.Name).Order().ToArray();
        Assert.Equal(properties, RedisRiskStateStore.WindowProperties.Concat(RedisRiskStateStore.KeptProperties).Order().ToArray());
        var windowsOnly = new AccountState { LatestEventAt = DateTimeOffset.UnixEpoch };
        windowsOnly.Allowed.Add(new AmountEntry(DateTimeOffset.UnixEpoch, "USD", 1m));
        windowsOnly.Attempts.Add(new AmountEntry(DateTimeOffset.UnixEpoch, "USD", 1m));
        windowsOnly.LoginFailures.Add(DateTimeOffset.UnixEpoch);
        Assert.True(RedisRiskStateStore.MayExpire(windowsOnly));
        Assert.False(RedisRiskStateStore.MayExpire(new AccountState { HasLoggedIn = true }));
    }
}

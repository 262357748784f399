using System.Text.Json.Nodes;
using RiskEngine.Decisions;
using RiskEngine.Domain;
using RiskEngine.Events;

namespace RiskEngine.Tests.Rules;

public sealed class LoginRuleTests
{
    private static readonly GeoPoint NewYork = new(40.71, -74.01);
    private static readonly GeoPoint London = new(51.51, -0.13);
    private static TimeSpan M(int minutes) => TimeSpan.FromMinutes(minutes);

    [Fact]
    public async Task NewDeviceRule_challenges_an_unseen_device_and_totp_satisfies_it()
    {
        await using var t = new TestEngine();
        DecisionAssert.Is(await t.Decide(t.Login("a", true, M(0), device: "d1")), Outcome.Allow);
        DecisionAssert.Is(await t.Decide(t.Login("a", true, M(1), device: "d2")), Outcome.Challenge, "login.new_device");
        // A challenged sign-in does not make the device known.
        DecisionAssert.Is(await t.Decide(t.Login("a", true, M(2), device: "d2")), Outcome.Challenge, "login.new_device");
        DecisionAssert.Is(await t.Decide(t.Login("a", true, M(3), device: "d2", totp: true)), Outcome.Allow);
        DecisionAssert.Is(await t.Decide(t.Login("a", true, M(4), device: "d2")), Outcome.Allow);
    }

    [Fact]
    public async Task NewCountryRule_challenges_an_unseen_country()
    {
        await using var t = new TestEngine();
        await t.Decide(t.Login("a", true, M(0), country: "US"));
        DecisionAssert.Is(await t.Decide(t.Login("a", true, M(1), country: "DE")), Outcome.Challenge, "login.new_country");
        DecisionAssert.Is(await t.Decide(t.Login("a", true, M(2), country: "DE", totp: true)), Outcome.Allow);
    }

    [Fact]
    public async Task ImpossibleTravelRule_freezes_when_speed_between_sign_ins_exceeds_maxKmh()
    {
        await using var t = new TestEngine();
        await t.Decide(t.Login("a", true, M(0), at: NewYork));
        // ~5,570 km in 60 minutes: far above 900 km/h. Same country code, so only the travel rule can fire.
        var d = await t.Decide(t.Login("a", true, M(60), at: London));
        DecisionAssert.Is(d, Outcome.Freeze, "login.impossible_travel");
        var frozen = Assert.IsType<AccountFrozen>(Assert.Single(d.Events));
        Assert.False(frozen.SelfService);

        await t.Decide(t.Login("b", true, M(0), at: NewYork));
        // Ten hours: ~557 km/h, a plane can do it.
        DecisionAssert.Is(await t.Decide(t.Login("b", true, M(600), at: London)), Outcome.Allow);
    }

    [Fact]
    public async Task Haversine_distance_matches_a_known_value()
    {
        // New York – London great-circle distance is about 5,570 km.
        Assert.InRange(NewYork.DistanceKm(London), 5550, 5590);
        Assert.Equal(0, NewYork.DistanceKm(NewYork), 6);
    }

    [Fact]
    public async Task FailedLoginLockoutRule_locks_after_max_failures_and_escalates_to_freeze()
    {
        await using var t = new TestEngine();
        var minute = 0;
        async Task LockOut()
        {
            for (var i = 0; i < 4; i++) DecisionAssert.Is(await t.Decide(t.Login("a", false, M(minute++))), Outcome.Deny, "login.failed");
        }

        await LockOut();
        DecisionAssert.Is(await t.Decide(t.Login("a", false, M(minute))), Outcome.Deny, "login.failed_attempts");
        DecisionAssert.Is(await t.Decide(t.Login("a", true, M(minute + 1))), Outcome.Deny, "login.locked");
        DecisionAssert.Is(await t.Decide(t.Login("a", false, M(minute + 2))), Outcome.Deny, "login.locked");
        minute += 16; // lockout of 15 minutes is over; the failure count was reset by the lockout
        DecisionAssert.Is(await t.Decide(t.Login("a", true, M(minute++))), Outcome.Allow);

        await LockOut();
        DecisionAssert.Is(await t.Decide(t.Login("a", false, M(minute))), Outcome.Deny, "login.failed_attempts");
        minute += 16;
        await LockOut();
        var third = await t.Decide(t.Login("a", false, M(minute)));
        DecisionAssert.Is(third, Outcome.Freeze, "login.failed_attempts");
        Assert.Equal("login.failed_attempts", Assert.IsType<AccountFrozen>(Assert.Single(third.Events)).Reason);
    }

    [Fact]
    public async Task FailedLoginLockoutRule_counts_the_failures_since_the_last_allowed_sign_in_and_keeps_the_lockout_history()
    {
        // Contract, third wave, correction: an allowed sign-in resets the failure count (max 5 in 15 min), not the lockouts.
        await using var t = new TestEngine();
        for (var i = 0; i < 4; i++) DecisionAssert.Is(await t.Decide(t.Login("a", false, M(i))), Outcome.Deny, "login.failed");
        DecisionAssert.Is(await t.Decide(t.Login("a", true, M(4))), Outcome.Allow);
        // Four failures, a sign-in, and the fifth failure within the window is the first since that sign-in: no lockout.
        var fifth = await t.Decide(t.Login("a", false, M(5)));
        DecisionAssert.Is(fifth, Outcome.Deny, "login.failed");
        Assert.False(fifth.HasReason("login.failed_attempts"));
        for (var i = 6; i < 9; i++) Assert.False((await t.Decide(t.Login("a", false, M(i)))).HasReason("login.failed_attempts"));
        DecisionAssert.Is(await t.Decide(t.Login("a", false, M(9))), Outcome.Deny, "login.failed_attempts"); // the fifth since the sign-in

        // A sign-in that is not allowed (a challenged new device) resets nothing.
        var minute = 25; // the lockout is over
        DecisionAssert.Is(await t.Decide(t.Login("a", true, M(minute++))), Outcome.Allow);
        for (var i = 0; i < 4; i++) await t.Decide(t.Login("a", false, M(minute++)));
        DecisionAssert.Is(await t.Decide(t.Login("a", true, M(minute++), device: "dev-new")), Outcome.Challenge, "login.new_device");
        DecisionAssert.Is(await t.Decide(t.Login("a", false, M(minute++))), Outcome.Deny, "login.failed_attempts"); // second lockout

        // Lockouts are not reset by a sign-in: the third within 24 h freezes, allowed sign-ins between them or not.
        minute += 16;
        DecisionAssert.Is(await t.Decide(t.Login("a", true, M(minute++))), Outcome.Allow);
        for (var i = 0; i < 4; i++) await t.Decide(t.Login("a", false, M(minute++)));
        DecisionAssert.Is(await t.Decide(t.Login("a", false, M(minute))), Outcome.Freeze, "login.failed_attempts");
    }

    [Fact]
    public async Task IpThrottleRule_counts_every_spelling_of_one_address_together()
    {
        await using var t = new TestEngine(p => p["logins"]!["ipThrottle"]!["maxFailures"] = 3);
        string[] spellings = ["203.0.113.9", "::ffff:203.0.113.9", "::FFFF:cb00:7109"];
        for (var i = 0; i < 3; i++) DecisionAssert.Is(await t.Decide(t.Login($"victim-{i}", false, M(i), ip: spellings[i])), Outcome.Deny, "login.failed");
        DecisionAssert.Is(await t.Decide(t.Login("target", false, M(5), ip: "::ffff:203.0.113.9")), Outcome.Deny, "login.ip_throttled");
    }

    [Fact]
    public async Task IpThrottleRule_denies_an_ip_with_too_many_failures_across_accounts_without_locking_accounts()
    {
        await using var t = new TestEngine(p => p["logins"]!["ipThrottle"]!["maxFailures"] = 3);
        const string ip = "203.0.113.9";
        for (var i = 0; i < 3; i++) DecisionAssert.Is(await t.Decide(t.Login($"victim-{i}", false, M(i), ip: ip)), Outcome.Deny, "login.failed");
        for (var i = 0; i < 8; i++)
        {
            var d = await t.Decide(t.Login("target", false, M(10 + i), ip: ip));
            DecisionAssert.Is(d, Outcome.Deny, "login.ip_throttled");
            Assert.False(d.HasReason("login.failed_attempts"));
        }
        // The account was not locked by the sprayed failures.
        DecisionAssert.Is(await t.Decide(t.Login("target", true, M(30), ip: "198.51.100.1")), Outcome.Allow);
        // A success from the throttled IP is still refused while the IP is throttled...
        DecisionAssert.Is(await t.Decide(t.Login("victim-0", true, M(31), ip: ip)), Outcome.Deny, "login.ip_throttled");
        // ...and allowed once the hour has passed.
        DecisionAssert.Is(await t.Decide(t.Login("victim-0", true, M(90), ip: ip)), Outcome.Allow);
    }

    [Fact]
    public async Task Logins_are_still_decided_on_a_frozen_account()
    {
        await using var t = new TestEngine();
        for (var i = 0; i < 6; i++) await t.Decide(t.Tx("a", 1m, after: TimeSpan.FromSeconds(i)));
        Assert.True((await t.Engine.GetAccountStatusAsync(AccountId.Create("a"))).Frozen);
        DecisionAssert.Is(await t.Decide(t.Login("a", true, M(5))), Outcome.Allow);
    }

    [Fact]
    public async Task Login_outcomes_follow_the_policy()
    {
        await using var t = new TestEngine(p => p["logins"]!["newDevice"] = "deny");
        await t.Decide(t.Login("a", true, M(0), device: "d1"));
        DecisionAssert.Is(await t.Decide(t.Login("a", true, M(1), device: "d2")), Outcome.Deny, "login.new_device");
    }
}

using RiskEngine.Decisions;
using RiskEngine.Domain;
using RiskEngine.Events;

namespace RiskEngine.Tests.Engine;

/// <summary>Any unfreeze forgets the evidence that froze the account, so it cannot freeze the user again at once.</summary>
public sealed class UnfreezeSemanticsTests
{
    private static readonly GeoPoint NewYork = new(40.71, -74.01);
    private static readonly GeoPoint London = new(51.51, -0.13);

    private static SupportUnfreeze Unfreeze(TestEngine t, string account, TimeSpan after) =>
        new(t.NextId(), TestEngine.T0 + after, AccountId.Create(account), "agent-7", "called the user back");

    [Fact]
    public async Task After_support_lifts_an_impossible_travel_freeze_the_next_sign_in_from_the_new_place_is_not_frozen_again()
    {
        await using var t = new TestEngine();
        await t.Decide(t.Login("a", true, TimeSpan.Zero, at: NewYork));
        DecisionAssert.Is(await t.Decide(t.Login("a", true, TimeSpan.FromMinutes(60), at: London)), Outcome.Freeze, "login.impossible_travel");
        DecisionAssert.Is(await t.Decide(Unfreeze(t, "a", TimeSpan.FromMinutes(70))), Outcome.Allow);

        var next = await t.Decide(t.Login("a", true, TimeSpan.FromMinutes(75), at: London, totp: true));
        Assert.NotEqual(Outcome.Freeze, next.Outcome);
        Assert.False(next.HasReason("login.impossible_travel"));
    }

    [Fact]
    public async Task An_unfreeze_clears_lockouts_and_failed_sign_ins()
    {
        await using var t = new TestEngine();
        await t.Decide(t.Login("a", true, TimeSpan.Zero));
        var minute = 1;
        Decision last = null!;
        for (var lockout = 0; lockout < 3; lockout++)
        {
            for (var i = 0; i < 5; i++) last = await t.Decide(t.Login("a", false, TimeSpan.FromMinutes(minute++)));
            minute += 16; // past the 15-minute lockout
        }
        DecisionAssert.Is(last, Outcome.Freeze);
        DecisionAssert.Is(await t.Decide(Unfreeze(t, "a", TimeSpan.FromMinutes(minute++))), Outcome.Allow);

        var state = (await t.Store.LoadAccountAsync(AccountId.Create("a"))).State;
        Assert.Empty(state.Lockouts);
        Assert.Empty(state.LoginFailures);
        Assert.Null(state.LockedUntil);
        // One more wrong password is one failure, not the lockout that re-freezes the account.
        DecisionAssert.Is(await t.Decide(t.Login("a", false, TimeSpan.FromMinutes(minute++))), Outcome.Deny, "login.failed");
        DecisionAssert.Is(await t.Decide(t.Login("a", true, TimeSpan.FromMinutes(minute))), Outcome.Allow);
    }
}

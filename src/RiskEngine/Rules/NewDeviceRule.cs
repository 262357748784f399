using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>A sign-in from a device never seen in an allowed sign-in decides <c>logins.newDevice</c>, unless TOTP-verified.</summary>
public sealed class NewDeviceRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override bool IsEnabled => Policy.Logins.NewDevice != Outcome.Allow;

    /// <inheritdoc />
    public override void Define()
    {
        When()
            .Match<LoginFact>(l => l.Attempt.PasswordOk && !l.Attempt.TotpVerified)
            .Match<LoginHistoryFact>(h => h.HasPriorLogin && !h.DeviceKnown && !h.Locked);
        Then()
            .Do(_ => Collect(Hit(ReasonCodes.LoginNewDevice, Policy.Logins.NewDevice, "sign-in from a new device")));
    }
}

using RiskEngine.Decisions;
using RiskEngine.Policies;

namespace RiskEngine.Rules;

/// <summary>A sign-in from a device never seen in an allowed sign-in decides <c>logins.newDevice</c>, unless TOTP-verified.</summary>
public sealed class NewDeviceRule(RiskPolicy policy) : PolicyRule(policy)
{
    /// <inheritdoc />
    public override bool IsEnabled => Policy.Logins.NewDevice != Outcome.Allow;

    /// <inheritdoc />
    public override Type FactType => typeof(LoginFact);

    /// <inheritdoc />
    public override void Define()
    {
        var hit = Hit(ReasonCodes.LoginNewDevice, Policy.Logins.NewDevice, "sign-in from a new device");
        LoginFact f = default!;
        When()
            .Match(() => f, x => x.PasswordOk && !x.TotpVerified && x.HasPriorLogin && !x.DeviceKnown && !x.Locked);
        Then()
            .Do(_ => f.Add(hit));
    }
}

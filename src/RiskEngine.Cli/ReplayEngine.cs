using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using OtpNet;
using RiskEngine.Domain;
using RiskEngine.Policies;
using RiskEngine.TwoFactor;

namespace RiskEngine.Cli;

/// <summary>
/// One policy's engine for replaying labelled traffic, with its own in-memory state and the real two-factor service.
/// A line the traffic marks <c>simulation: "totp_passed"</c> stands for a customer who typed a valid TOTP code just
/// before it: <see cref="PassTotpAsync"/> does exactly that through <see cref="ITwoFactorService"/> (enrolling the
/// account once, "before the recording"), with the clock at the event's time, so <c>totp.stepUp: "verified"</c> finds
/// the step-up recorded the way a live caller records it. Nothing else reaches the engine: it never sees the label,
/// and an attacker's bare <c>authenticated: "totp"</c> claim finds no step-up.
/// </summary>
internal sealed class ReplayEngine : IAsyncDisposable
{
    /// <summary>How long before its first verified code an account is taken to have enrolled its factor.</summary>
    private static readonly TimeSpan EnrolledBefore = TimeSpan.FromDays(30);

    private readonly ServiceProvider _provider;
    private readonly ReplayClock _clock = new();
    private readonly RiskPolicy _policy;
    private readonly Dictionary<string, byte[]> _secrets = new(StringComparer.Ordinal);

    public ReplayEngine(RiskPolicy policy)
    {
        _policy = policy;
        _provider = new ServiceCollection()
            .AddSingleton<IPolicyProvider>(new PolicyHolder(policy))
            .AddSingleton<TimeProvider>(_clock)
            // Secrets of simulated factors live in memory only: no key ring is written for a backtest.
            .AddSingleton<ISecretProtector>(new DataProtectionSecretProtector(new EphemeralDataProtectionProvider()))
            .AddRiskEngine(o => o.MaxFutureSkew = null)
            .BuildServiceProvider();
        Engine = _provider.GetRequiredService<IRiskEngine>();
        TwoFactor = _provider.GetRequiredService<ITwoFactorService>();
    }

    public IRiskEngine Engine { get; }

    public ITwoFactorService TwoFactor { get; }

    /// <summary>Codes accepted, and refused (e.g. two checks of one account in one 30 s step: a code counts once).</summary>
    public int Passed { get; private set; }

    public int Refused { get; private set; }

    /// <summary>The customer of <paramref name="account"/> types the current code of their authenticator at <paramref name="at"/>.</summary>
    /// <remarks>
    /// Only under <c>totp.stepUp: "verified"</c>: under <c>trust-caller</c> the caller checks codes itself and RiskEngine
    /// records nothing (nor does the check lift a self-service freeze through it), so nothing happens here either.
    /// </remarks>
    public async ValueTask<TotpVerification?> PassTotpAsync(AccountId account, DateTimeOffset at, CancellationToken ct = default)
    {
        if (_policy.Totp.StepUp != StepUpMode.Verified) return null;
        try
        {
            if (!_secrets.TryGetValue(account.Value, out var secret))
            {
                _clock.Now = at - EnrolledBefore;
                var enrolled = await TwoFactor.EnrollAsync(account, ct);
                if (enrolled.Enrollment is not { } enrollment) { Refused++; return new TotpVerification(enrolled.Status, []); }
                secret = Base32Encoding.ToBytes(enrollment.Secret);
                var confirmed = await TwoFactor.ConfirmEnrollmentAsync(account, Code(secret, _clock.Now.Value), ct);
                if (!confirmed.Succeeded) { Refused++; return confirmed; }
                _secrets[account.Value] = secret;
            }
            _clock.Now = at;
            var verified = await TwoFactor.VerifyAsync(account, Code(secret, at), ct);
            if (verified.Succeeded) Passed++;
            else Refused++;
            return verified;
        }
        finally
        {
            _clock.Now = null;
        }
    }

    private string Code(byte[] secret, DateTimeOffset at)
    {
        var t = _policy.Totp;
        var mode = t.Algorithm switch { "SHA256" => OtpHashMode.Sha256, "SHA512" => OtpHashMode.Sha512, _ => OtpHashMode.Sha1 };
        return new Totp(secret, t.Period, mode, t.Digits).ComputeTotp(at.UtcDateTime);
    }

    public ValueTask DisposeAsync() => _provider.DisposeAsync();

    /// <summary>The system clock, except while a simulated TOTP check runs at an event's time.</summary>
    private sealed class ReplayClock : TimeProvider
    {
        public DateTimeOffset? Now { get; set; }

        public override DateTimeOffset GetUtcNow() => Now ?? System.GetUtcNow();
    }
}

using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OtpNet;
using EventId = RiskEngine.Domain.EventId;
using RiskEngine.Decisions;
using RiskEngine.Domain;
using RiskEngine.Events;
using RiskEngine.Policies;
using RiskEngine.State;

namespace RiskEngine.TwoFactor;

/// <summary>
/// The default <see cref="ITwoFactorService"/>. Every check and the record of its outcome (accepted step, failure,
/// freeze) commit together as one optimistic account commit, so two concurrent uses of one code cannot both pass.
/// Thread-safe: it holds no per-call state; the store's commits order concurrent calls.
/// </summary>
public sealed class TwoFactorService : ITwoFactorService
{
    private const int MaxRetries = 100;
    private readonly IPolicyProvider _policies;
    private readonly IRiskStateStore _store;
    private readonly ISecretProtector _protector;
    private readonly TimeProvider _time;
    private readonly IRiskEventSink[] _sinks;

    /// <summary>Creates the service.</summary>
    public TwoFactorService(IPolicyProvider policies, IRiskStateStore store, ISecretProtector protector, TimeProvider time, IEnumerable<IRiskEventSink> sinks, ILogger<TwoFactorService>? logger = null)
    {
        _policies = policies;
        _store = store;
        _protector = protector;
        _time = time;
        _sinks = sinks.ToArray();
        _log = (ILogger?)logger ?? NullLogger.Instance;
    }

    private readonly ILogger _log;

    /// <inheritdoc />
    public ValueTask<TotpEnrollmentResult> EnrollAsync(AccountId account, CancellationToken cancellationToken = default) =>
        EnrollAsync(account, _policies.Current.Policy.Totp.Issuer, cancellationToken);

    /// <inheritdoc />
    public async ValueTask<TotpEnrollmentResult> EnrollAsync(AccountId account, string issuer, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(issuer);
        if (issuer.Contains(':', StringComparison.Ordinal)) throw new ArgumentException("the issuer must not contain ':'", nameof(issuer));
        var totp = _policies.Current.Policy.Totp with { Issuer = issuer };
        var secret = RandomNumberGenerator.GetBytes(TotpCode.SecretBytes(totp.Algorithm));
        var recoveryKey = RecoveryCodes.Key(secret);
        try
        {
            var recovery = RecoveryCodes.Generate();
            var recoveryHashes = recovery.Select(c => RecoveryCodes.Hash(recoveryKey, account, c)).ToList();
            var enrolled = await EditAsync(account, snapshot =>
            {
                if (snapshot.State.Totp is { Confirmed: true }) return (false, false);
                snapshot.State.Totp = new TotpState(_protector.Protect(secret), Confirmed: false, LastAcceptedStep: -1, Failures: [])
                {
                    Algorithm = totp.Algorithm,
                    Digits = totp.Digits,
                    Period = totp.Period,
                    RecoveryHashes = [.. recoveryHashes],
                };
                return (true, true);
            }, cancellationToken);
            if (!enrolled) return new TotpEnrollmentResult(null, TotpStatus.AlreadyEnrolled);
            var base32 = Base32Encoding.ToString(secret).TrimEnd('=');
            return new TotpEnrollmentResult(new TotpEnrollment(account, base32, Uri(totp, account, base32)) { RecoveryCodes = recovery }, TotpStatus.Accepted);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
            CryptographicOperations.ZeroMemory(recoveryKey);
        }
    }

    /// <inheritdoc />
    public ValueTask<TotpVerification> ConfirmEnrollmentAsync(AccountId account, string code, CancellationToken cancellationToken = default) =>
        CheckAsync(account, code, confirming: true, cancellationToken);

    /// <inheritdoc />
    public ValueTask<TotpVerification> VerifyAsync(AccountId account, string code, CancellationToken cancellationToken = default) =>
        CheckAsync(account, code, confirming: false, cancellationToken);

    private async ValueTask<TotpVerification> CheckAsync(AccountId account, string code, bool confirming, CancellationToken ct)
    {
        TotpVerification verification;
        await using (var batch = await _store.BeginBatchAsync(ct))
        {
            verification = await CheckAsync(batch, account, code, confirming, ct);
            await batch.CommitAsync(null, ct);
        }
        await SinkPublisher.PublishAsync(_sinks, verification.Events, _log, ct); // committed: whatever a sink does, this is the answer
        return verification;
    }

    /// <inheritdoc />
    public async ValueTask<TotpVerification> CheckAsync(IStateBatch batch, AccountId account, string code, bool confirming, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var ct = cancellationToken;
        var policy = _policies.Current.Policy;
        var now = _time.GetUtcNow();
        return await AccountEdit.RunAsync(batch, account, MaxRetries, _time.GetUtcNow(), snapshot =>
        {
            var state = snapshot.State;
            var factor = state.Totp;
            if (factor is null || factor.Confirmed == confirming)
                return (false, Result(factor is null || !confirming ? TotpStatus.NotEnrolled : TotpStatus.AlreadyEnrolled));
            var recovery = !confirming && RecoveryCodes.IsWellFormed(code);
            if (!recovery && !TotpCode.IsWellFormed(code, factor.Digits)) return (false, Result(TotpStatus.Malformed));

            AccountState.PruneBefore(factor.Failures, now - policy.Totp.FailureWindow, static x => x);
            if (factor.Failures.Count >= policy.Totp.MaxFailures) return (false, Result(TotpStatus.Throttled));

            long? matched;
            var secret = _protector.Unprotect(factor.ProtectedSecret);
            var recoveryKey = recovery || RecoveryCodes.AnyUnkeyed(factor.RecoveryHashes) ? RecoveryCodes.Key(secret) : null;
            try
            {
                if (recovery)
                {
                    // A recovery code stands for the current step: used once (its hash is removed), throttled alike.
                    var used = RecoveryCodes.Find(factor.RecoveryHashes, recoveryKey!, account, code);
                    matched = used < 0 ? null : Math.Max(factor.LastAcceptedStep + 1, TotpCode.Step(now, factor.Period));
                    if (used >= 0) factor = factor with { RecoveryHashes = [.. factor.RecoveryHashes.Where((_, i) => i != used)] };
                }
                else
                {
                    matched = Match(factor, secret, code, now, policy.Totp.Drift);
                }
                // Hashes an earlier version stored unkeyed are keyed now that the key ring opened the secret; saved
                // with this check's outcome (a replayed code saves nothing, and they are keyed at the next check).
                if (recoveryKey is not null && RecoveryCodes.AnyUnkeyed(factor.RecoveryHashes))
                    factor = factor with { RecoveryHashes = [.. factor.RecoveryHashes.Select(h => RecoveryCodes.Migrate(recoveryKey, h))] };
            }
            finally
            {
                CryptographicOperations.ZeroMemory(secret);
                if (recoveryKey is not null) CryptographicOperations.ZeroMemory(recoveryKey);
            }
            var events = new List<AccountEvent>(1);
            TotpStatus status;
            if (matched is null)
            {
                status = TotpStatus.Invalid;
                state.Totp = factor; // its failures below, and its recovery hashes keyed
                AccountState.InsertOrdered(factor.Failures, now, static x => x);
                if (!confirming && factor.Failures.Count >= policy.Totp.MaxFailures && state.Freeze is null)
                    events.Add(DecisionMaker.Freeze(policy, state, CauseId(now), account, now, now, ReasonCodes.TotpFailedAttempts, "totp"));
            }
            else if (matched.Value <= factor.LastAcceptedStep)
            {
                // Not a failure (the user did type a valid code), but never accepted twice.
                return (false, Result(TotpStatus.Replayed));
            }
            else
            {
                status = TotpStatus.Accepted;
                state.Totp = factor with { Confirmed = true, LastAcceptedStep = matched.Value, Failures = [], ConfirmedAt = confirming ? now : factor.ConfirmedAt };
                // Confirmation, not enrolment, is announced: that is when the factor starts to count (an enrolment
                // never confirmed changes nothing, and a new one replaces it silently).
                if (confirming) events.Add(FactorEnrolled(policy, account, now));
                if (!confirming)
                {
                    // A verified step-up for one later attempt (totp.stepUp: "verified"); a handful kept at most.
                    AccountState.PruneBefore(state.StepUps, now - policy.Totp.StepUpValidity, static x => x);
                    if (state.StepUps.Count >= 10) state.StepUps.RemoveAt(0);
                    state.StepUps.Add(now);
                }
                // Self-service lifts a freeze only with a factor the account had before it: a factor enrolled on a
                // frozen account may belong to whoever caused the freeze.
                if (!confirming && state.Freeze is { } freeze && policy.Freeze.SelfService.Contains(freeze.Reason) &&
                    (factor.ConfirmedAt is not { } confirmedAt || confirmedAt < FrozenSince(freeze)))
                    events.Add(DecisionMaker.Unfreeze(policy, state, CauseId(now), account, now, "totp"));
            }
            return (true, new TotpVerification(status, events));
        }, ct);
    }

    /// <summary>
    /// One check or enrolment as a batch of one: the accepted step, failure or freeze commits with the check, so two
    /// concurrent uses of one code cannot both pass.
    /// </summary>
    private async ValueTask<T> EditAsync<T>(AccountId account, Func<AccountSnapshot, (bool Save, T Result)> change, CancellationToken ct)
    {
        await using var batch = await _store.BeginBatchAsync(ct);
        var result = await AccountEdit.RunAsync(batch, account, MaxRetries, _time.GetUtcNow(), change, ct);
        await batch.CommitAsync(null, ct);
        return result;
    }

    /// <inheritdoc />
    public ValueTask<TotpStatus> ResetAsync(AccountId account, string by, string reason, CancellationToken cancellationToken = default) =>
        ResetAsync(account, by, reason, null, cancellationToken);

    /// <inheritdoc />
    public async ValueTask<TotpStatus> ResetAsync(AccountId account, string by, string reason, string? key, CancellationToken cancellationToken = default)
    {
        TotpResetResult result;
        await using (var batch = await _store.BeginBatchAsync(cancellationToken))
        {
            result = await ResetAsync(batch, account, by, reason, key, cancellationToken);
            await batch.CommitAsync(null, cancellationToken);
        }
        await SinkPublisher.PublishAsync(_sinks, result.Events, _log, cancellationToken); // committed: whatever a sink does, this is the answer
        return result.Status;
    }

    /// <inheritdoc />
    public async ValueTask<TotpResetResult> ResetAsync(IStateBatch batch, AccountId account, string by, string reason, string? key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (TextRules.CheckIdentifier(by, 128, "by") is { } byError) throw new ArgumentException(byError, nameof(by));
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        if (reason.Length > 512) throw new ArgumentException("reason must be at most 512 characters", nameof(reason));
        var policy = _policies.Current.Policy;
        var now = _time.GetUtcNow();
        var cause = EventId.Create("totp-reset:" + now.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture) + ":" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)));
        return await AccountEdit.RunAsync(batch, account, MaxRetries, now, snapshot =>
        {
            var state = snapshot.State;
            if (state.Totp is null) return (false, new TotpResetResult(TotpStatus.NotEnrolled, []));
            state.Totp = null;
            state.StepUps.Clear();
            state.LogSupport(new SupportAction(now, by, "totp.reset", reason) { Key = key });
            // Announced even for a factor never confirmed: support changed the account's security, which the user
            // (or whoever talked support into it) must hear of.
            var reset = new AccountFactorReset(cause, account, now, "totp", by, policy.Support,
                policy.Messages.RenderAll(AccountFactorReset.TypeName, FactorValues(policy, account, cause, now))) { Note = reason };
            return (true, new TotpResetResult(TotpStatus.Accepted, [reset]));
        }, cancellationToken);
    }

    /// <summary>The account event of a confirmed enrolment.</summary>
    private static AccountFactorEnrolled FactorEnrolled(RiskPolicy policy, AccountId account, DateTimeOffset now)
    {
        var cause = CauseId(now);
        return new AccountFactorEnrolled(cause, account, now, "totp", policy.Support,
            policy.Messages.RenderAll(AccountFactorEnrolled.TypeName, FactorValues(policy, account, cause, now)));
    }

    /// <summary>What a factor message may name (<see cref="BuiltInWording.FactorPlaceholders"/>).</summary>
    private static Dictionary<string, string> FactorValues(RiskPolicy policy, AccountId account, EventId cause, DateTimeOffset at) => new(StringComparer.Ordinal)
    {
        ["phone"] = policy.Support.Phone,
        ["chat"] = policy.Support.Chat,
        ["email"] = policy.Support.Email,
        ["account"] = account.Value,
        ["event"] = cause.Value,
        ["at"] = BuiltInWording.CaseTime(at),
    };

    /// <summary>How far before a freeze recorded without the engine's clock (by earlier versions) its event may have claimed to be.</summary>
    private static readonly TimeSpan LegacyFreezeSkew = TimeSpan.FromMinutes(5);

    /// <summary>
    /// What a factor's confirmation (the engine's clock) must precede to lift <paramref name="freeze"/>: the engine's
    /// clock when it froze the account — an event may claim a time up to the future skew ahead, and a factor confirmed
    /// in that gap came after the freeze — and the freezing event's own time, whichever is earlier. A freeze recorded
    /// before the clock was kept counts from its event's time less the default skew.
    /// </summary>
    private static DateTimeOffset FrozenSince(FreezeState freeze)
    {
        var clock = freeze.Clock ?? freeze.At - LegacyFreezeSkew;
        return clock < freeze.At ? clock : freeze.At;
    }

    /// <summary>Compares the code with every step in the drift window in constant time, without stopping at a match.</summary>
    private static long? Match(TotpState factor, byte[] secret, string code, DateTimeOffset now, int drift)
    {
        var given = Encoding.ASCII.GetBytes(code);
        var current = TotpCode.Step(now, factor.Period);
        long? matched = null;
        for (var step = current - drift; step <= current + drift; step++)
        {
            var expected = Encoding.ASCII.GetBytes(TotpCode.Compute(secret, factor.Algorithm, factor.Digits, factor.Period, step));
            if (CryptographicOperations.FixedTimeEquals(expected, given) && matched is null) matched = step;
        }
        return matched;
    }

    private static EventId CauseId(DateTimeOffset now) => EventId.Create("totp:" + now.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));

    private static TotpVerification Result(TotpStatus status) => new(status, []);

    /// <summary>The <c>otpauth://</c> provisioning URI (Key Uri Format): label <c>issuer:account</c>, parameters from the policy.</summary>
    internal static string Uri(TotpPolicy totp, AccountId account, string base32Secret) =>
        $"otpauth://totp/{System.Uri.EscapeDataString(totp.Issuer)}:{System.Uri.EscapeDataString(account.Value)}" +
        $"?secret={base32Secret}&issuer={System.Uri.EscapeDataString(totp.Issuer)}&algorithm={totp.Algorithm}" +
        string.Create(CultureInfo.InvariantCulture, $"&digits={totp.Digits}&period={totp.Period}");
}

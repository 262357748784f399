using RiskEngine.Domain;
using RiskEngine.Events;
using RiskEngine.State;

namespace RiskEngine.TwoFactor;

/// <summary>
/// TOTP two-factor (RFC 6238): enrolment, confirmation, replay-safe verification with throttling, and self-service
/// unfreeze. Verification uses the server clock (<see cref="TimeProvider"/>), never a time from the request.
/// Codes and secrets never appear in results other than <see cref="TotpEnrollment"/>, nor in logs or events.
/// </summary>
public interface ITwoFactorService
{
    /// <summary>
    /// Starts enrolment: a new random secret (at least 160 bits), stored encrypted and unconfirmed. Show the
    /// <see cref="TotpEnrollment.Uri"/> (or QR code) once; it is not retrievable later. Refused when a confirmed
    /// factor exists (support must reset it).
    /// </summary>
    ValueTask<TotpEnrollmentResult> EnrollAsync(AccountId account, CancellationToken cancellationToken = default);

    /// <summary>As <see cref="EnrollAsync(AccountId, CancellationToken)"/>, with the issuer shown in authenticator apps instead of the policy's.</summary>
    ValueTask<TotpEnrollmentResult> EnrollAsync(AccountId account, string issuer, CancellationToken cancellationToken = default);

    /// <summary>
    /// Confirms enrolment with the first valid code; until then the account has no active factor. A confirmation is
    /// announced with <see cref="AccountFactorEnrolled"/> (in <see cref="TotpVerification.Events"/>, and to the
    /// sinks): the moment the factor starts to count, so the user hears of a factor someone else set up.
    /// </summary>
    ValueTask<TotpVerification> ConfirmEnrollmentAsync(AccountId account, string code, CancellationToken cancellationToken = default);

    /// <summary>
    /// Verifies a code — a TOTP code, or one of the enrolment's recovery codes (each usable once, counted by the same
    /// throttle). A valid code whose time step was already accepted (or is older than the last accepted one) is
    /// <see cref="TotpStatus.Replayed"/>; <c>maxFailures</c> wrong codes in <c>failureWindow</c> freeze the account
    /// (<c>totp.failed_attempts</c>); a valid code lifts a freeze whose reason is in <c>freeze.selfService</c>.
    /// </summary>
    ValueTask<TotpVerification> VerifyAsync(AccountId account, string code, CancellationToken cancellationToken = default);

    /// <summary>
    /// Support removes a lost factor (and its recovery codes) so the user can enrol again; who and why are kept in
    /// the account's support log, and the sinks are told (<see cref="AccountFactorReset"/>).
    /// <see cref="TotpStatus.NotEnrolled"/> when there was none.
    /// </summary>
    ValueTask<TotpStatus> ResetAsync(AccountId account, string by, string reason, CancellationToken cancellationToken = default);

    /// <summary>
    /// As <see cref="ResetAsync(AccountId, string, string, CancellationToken)"/>, recording with the support log
    /// entry the name of the API key that authenticated the request (<paramref name="key"/>: a server's configured
    /// key name, never the key; null: none, as the CLI).
    /// </summary>
    ValueTask<TotpStatus> ResetAsync(AccountId account, string by, string reason, string? key, CancellationToken cancellationToken = default) =>
        key is null ? ResetAsync(account, by, reason, cancellationToken)
            : throw new NotSupportedException($"{GetType().Name} cannot record the API key of a reset");

    /// <summary>
    /// As <see cref="ResetAsync(AccountId, string, string, string?, CancellationToken)"/>, staged in the caller's
    /// <paramref name="batch"/>: the reset and its <see cref="AccountFactorReset"/> become durable with the caller's
    /// commit (and its journal entry). Sinks are not told: the caller publishes what it commits.
    /// </summary>
    ValueTask<TotpResetResult> ResetAsync(IStateBatch batch, AccountId account, string by, string reason, string? key, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException($"{GetType().Name} cannot reset a factor inside a caller's batch");

    /// <summary>
    /// As <see cref="VerifyAsync(AccountId, string, CancellationToken)"/> (or, with <paramref name="confirming"/>,
    /// <see cref="ConfirmEnrollmentAsync(AccountId, string, CancellationToken)"/>), staged in the caller's
    /// <paramref name="batch"/>: the check and the account events it causes become durable with the caller's commit
    /// (and its journal entry), never apart. Sinks are not told: the caller publishes what it commits.
    /// </summary>
    ValueTask<TotpVerification> CheckAsync(IStateBatch batch, AccountId account, string code, bool confirming, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException($"{GetType().Name} cannot check a code inside a caller's batch");
}

/// <summary>A new factor's secret and provisioning URI. Show it to the user once; never log it.</summary>
/// <param name="Account">The account.</param>
/// <param name="Secret">Base32 secret (RFC 4648, no padding).</param>
/// <param name="Uri">The <c>otpauth://totp/...</c> provisioning URI for authenticator apps.</param>
public sealed record TotpEnrollment(AccountId Account, string Secret, string Uri)
{
    /// <summary>
    /// Ten single-use recovery codes (<c>XXXXX-XXXXX</c>), usable instead of a TOTP code when the authenticator is
    /// lost; stored only as hashes. Show them once with the secret.
    /// </summary>
    public IReadOnlyList<string> RecoveryCodes { get; init; } = [];

    /// <inheritdoc />
    public override string ToString() => $"TotpEnrollment {{ Account = {Account}, Secret = (hidden), Uri = (hidden), RecoveryCodes = (hidden) }}";
}

/// <summary>The result of <see cref="ITwoFactorService.EnrollAsync(AccountId, CancellationToken)"/>.</summary>
/// <param name="Enrollment">The new factor, when enrolment started.</param>
/// <param name="Status">Why not, when it did not.</param>
public sealed record TotpEnrollmentResult(TotpEnrollment? Enrollment, TotpStatus Status);

/// <summary>The result of a support reset staged in a batch. Immutable.</summary>
/// <param name="Status"><see cref="TotpStatus.Accepted"/>, or <see cref="TotpStatus.NotEnrolled"/> when there was no factor.</param>
/// <param name="Events">The <see cref="AccountFactorReset"/> it caused (none when there was no factor).</param>
public sealed record TotpResetResult(TotpStatus Status, IReadOnlyList<AccountEvent> Events);

/// <summary>How a TOTP check ended.</summary>
public enum TotpStatus
{
    /// <summary>The code is valid and its time step was not used before.</summary>
    Accepted,

    /// <summary>The code is not valid for any step in the drift window.</summary>
    Invalid,

    /// <summary>The code is valid for a step already accepted (or older than the last accepted): refused.</summary>
    Replayed,

    /// <summary>Not exactly the policy's number of digits; refused before any cryptography.</summary>
    Malformed,

    /// <summary>The account has no factor (or, for verification, no confirmed factor).</summary>
    NotEnrolled,

    /// <summary>The account already has a confirmed factor (enrolment refused).</summary>
    AlreadyEnrolled,

    /// <summary>Too many wrong codes in the failure window; refused without checking until the window passes.</summary>
    Throttled,
}

/// <summary>The result of a confirmation or verification.</summary>
/// <param name="Status">How it ended.</param>
/// <param name="Events">Account events it caused: a freeze after too many failures, an unfreeze by self-service, the factor's enrolment on confirmation.</param>
public sealed record TotpVerification(TotpStatus Status, IReadOnlyList<AccountEvent> Events)
{
    /// <summary>True when the code was accepted.</summary>
    public bool Succeeded => Status == TotpStatus.Accepted;

    /// <summary>The reason code for a refusal (<c>totp.replayed</c>, <c>totp.invalid</c>, ...), null on success.</summary>
    public string? ReasonCode => Status switch
    {
        TotpStatus.Accepted => null,
        TotpStatus.Replayed => Policies.ReasonCodes.TotpReplayed,
        TotpStatus.Throttled => Policies.ReasonCodes.TotpFailedAttempts,
        _ => "totp." + Status.ToString().ToLowerInvariant(),
    };
}

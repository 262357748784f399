using RiskEngine.Domain;

namespace RiskEngine.Passwords;

/// <summary>
/// What the caller knows about the user, so a password built from it can be refused. Used for one check and never
/// stored. Immutable.
/// </summary>
public sealed record PasswordContext
{
    /// <summary>The account the password is for.</summary>
    public AccountId? Account { get; init; }

    /// <summary>The user's e-mail address (its local part is checked).</summary>
    public string? Email { get; init; }

    /// <summary>The user's name (each part of three or more letters is checked).</summary>
    public string? Name { get; init; }

    /// <summary>The user's birth date (checked in every common format).</summary>
    public DateOnly? BirthDate { get; init; }
}

/// <summary>One reason a password was refused, with advice per language (<c>en</c>, <c>zh-CN</c>).</summary>
public sealed record PasswordFinding(string Code, IReadOnlyDictionary<string, string> Advice);

/// <summary>
/// The verdict on a candidate password: allowed, or every reason it was not. Holds nothing of the candidate.
/// Immutable.
/// </summary>
/// <param name="Allowed">True when no rule refused it.</param>
/// <param name="Findings">Every failed rule, in a fixed order.</param>
/// <param name="Score">The strength estimate, 0 (guessable) to 4 (very hard to guess).</param>
/// <param name="RotateAfter">The policy's advisory maximum age, if it has one.</param>
public sealed record PasswordVerdict(bool Allowed, IReadOnlyList<PasswordFinding> Findings, int Score, TimeSpan? RotateAfter)
{
    /// <summary>The findings' codes.</summary>
    public IEnumerable<string> Codes => Findings.Select(f => f.Code);
}

/// <summary>Checks candidate passwords against the policy in force. Thread-safe.</summary>
public interface IPasswordChecker
{
    /// <summary>
    /// The verdict on <paramref name="candidate"/>. The candidate is never stored, logged, returned or put in an
    /// exception; the caller should drop it as soon as this returns.
    /// </summary>
    PasswordVerdict Check(string candidate, PasswordContext? context = null);
}

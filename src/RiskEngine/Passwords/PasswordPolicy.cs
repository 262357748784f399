namespace RiskEngine.Passwords;

/// <summary>Character classes a password may be required to contain.</summary>
public enum CharacterClass
{
    /// <summary>Any letter, in any script.</summary>
    Letters,

    /// <summary>Decimal digits.</summary>
    Digits,

    /// <summary>Anything that is neither a letter, a digit nor white space.</summary>
    Symbols,
}

/// <summary>
/// The policy's <c>passwords</c> section: what a new password must satisfy. Immutable and thread-safe.
/// </summary>
/// <param name="MinLength">Fewest characters (<c>password.too_short</c>).</param>
/// <param name="Require">Classes that must each appear (<c>password.missing_class</c>).</param>
/// <param name="MinScore">Lowest zxcvbn strength score, 0–4 (<c>password.weak</c>); 0 turns the estimate off.</param>
/// <param name="RejectCommon">Refuse passwords from the estimator's list of common passwords (<c>password.common</c>).</param>
/// <param name="RejectBirthDate">Refuse a password containing the caller-given birth date in a common format (<c>password.contains_birth_date</c>).</param>
/// <param name="RejectName">Refuse a password containing the account id, the e-mail local part or a name (<c>password.contains_name</c>).</param>
/// <param name="MaxAge">Advisory only: when a password older than this should be replaced; null (the default) never.</param>
public sealed record PasswordPolicy(
    int MinLength,
    IReadOnlyList<CharacterClass> Require,
    int MinScore,
    bool RejectCommon,
    bool RejectBirthDate,
    bool RejectName,
    TimeSpan? MaxAge)
{
    /// <summary>What applies when a policy has no <c>passwords</c> section: the wallet guide's advice.</summary>
    public static PasswordPolicy Default { get; } = new(12, [CharacterClass.Letters, CharacterClass.Digits, CharacterClass.Symbols], 3, true, true, true, null);
}

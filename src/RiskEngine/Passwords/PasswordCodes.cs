namespace RiskEngine.Passwords;

/// <summary>The reason codes of a password verdict and the engine's own advice for each, in en and zh-CN.</summary>
public static class PasswordCodes
{
    /// <summary>Shorter than the policy's <c>minLength</c>.</summary>
    public const string TooShort = "password.too_short";

    /// <summary>A required character class is missing.</summary>
    public const string MissingClass = "password.missing_class";

    /// <summary>Contains the user's birth date.</summary>
    public const string ContainsBirthDate = "password.contains_birth_date";

    /// <summary>Contains the account id, the e-mail local part or the user's name.</summary>
    public const string ContainsName = "password.contains_name";

    /// <summary>One of the most common passwords.</summary>
    public const string Common = "password.common";

    /// <summary>Below the policy's minimum strength score.</summary>
    public const string Weak = "password.weak";

    /// <summary>Every code, in the order findings are reported.</summary>
    public static IReadOnlyList<string> All { get; } = [TooShort, MissingClass, ContainsBirthDate, ContainsName, Common, Weak];

    internal static IReadOnlyDictionary<string, string> Advice(string code, PasswordPolicy p) => code switch
    {
        TooShort => Both($"Use at least {p.MinLength} characters; a few unrelated words make a long password easy to remember.",
            $"密码至少需要 {p.MinLength} 个字符;用几个不相关的词组成长密码更容易记住。"),
        MissingClass => Both($"Mix {Classes(p, en: true)}.", $"请同时使用{Classes(p, en: false)}。"),
        ContainsBirthDate => Both("Do not use your birthday in any form; it is among the first things an attacker tries.",
            "不要以任何形式使用生日;这是攻击者最先尝试的内容之一。"),
        ContainsName => Both("Do not use your account name, e-mail or name in your password.", "密码中不要包含账户名、电子邮箱或姓名。"),
        Common => Both("This password is one of the most common ones; choose something nobody else uses.", "这是最常见的密码之一;请选择别人不会使用的密码。"),
        Weak => Both("This password is easy to guess; make it longer and less predictable.", "该密码容易被猜到;请使用更长、更难预测的密码。"),
        _ => throw new ArgumentOutOfRangeException(nameof(code), code, "not a password code"),
    };

    private static Dictionary<string, string> Both(string en, string zh) => new(StringComparer.Ordinal) { ["en"] = en, ["zh-CN"] = zh };

    private static string Classes(PasswordPolicy p, bool en)
    {
        var names = p.Require.Select(c => (c, en) switch
        {
            (CharacterClass.Letters, true) => "letters",
            (CharacterClass.Digits, true) => "digits",
            (CharacterClass.Symbols, true) => "symbols",
            (CharacterClass.Letters, false) => "字母",
            (CharacterClass.Digits, false) => "数字",
            _ => "符号",
        }).ToArray();
        return en ? (names.Length <= 1 ? string.Concat(names) : string.Join(", ", names[..^1]) + " and " + names[^1]) : string.Join("、", names);
    }
}

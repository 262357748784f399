using System.Globalization;
using System.Text;
using RiskEngine.Policies;

namespace RiskEngine.Passwords;

/// <summary>
/// The default <see cref="IPasswordChecker"/>: length, character classes, the user's birth date and names, and the
/// zxcvbn estimator (zxcvbn-core) for common passwords and strength. Thread-safe; holds no candidate.
/// </summary>
public sealed class PasswordChecker(IPolicyProvider policies) : IPasswordChecker
{
    /// <summary>How much of a candidate (and of each name part) the strength estimate reads: its cost grows faster than the length.</summary>
    public const int ScoredLength = 100;

    /// <summary>Common passwords are those the estimator's password list ranks at or above this.</summary>
    public const int CommonRank = 10_000;

    /// <inheritdoc />
    public PasswordVerdict Check(string candidate, PasswordContext? context = null)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        var policy = policies.Current.Policy.Passwords;
        context ??= new PasswordContext();
        var codes = new List<string>();

        if (new StringInfo(candidate).LengthInTextElements < policy.MinLength) codes.Add(PasswordCodes.TooShort);
        if (policy.Require.Any(c => !Has(candidate, c))) codes.Add(PasswordCodes.MissingClass);
        if (policy.RejectBirthDate && context.BirthDate is { } birth && BirthDateForms(birth).Any(f => candidate.Contains(f, StringComparison.Ordinal)))
            codes.Add(PasswordCodes.ContainsBirthDate);
        var names = NameParts(context).ToArray();
        if (policy.RejectName && names.Any(n => candidate.Contains(n, StringComparison.OrdinalIgnoreCase))) codes.Add(PasswordCodes.ContainsName);

        // zxcvbn looks every substring up in its dictionaries (quadratic and more in the length): score a bounded prefix,
        // so a megabyte "password" costs what 100 characters cost. A weak prefix still scores weak.
        var scored = candidate.Length > ScoredLength ? candidate[..ScoredLength] : candidate;
        var estimate = Zxcvbn.Zxcvbn.MatchPassword(scored, names.Select(n => n.Length > ScoredLength ? n[..ScoredLength] : n));
        if (policy.RejectCommon && IsCommon(estimate, candidate.Length)) codes.Add(PasswordCodes.Common);
        if (policy.MinScore > 0 && estimate.Score < policy.MinScore) codes.Add(PasswordCodes.Weak);

        var findings = codes.Select(c => new PasswordFinding(c, PasswordCodes.Advice(c, policy))).ToArray();
        return new PasswordVerdict(findings.Length == 0, findings, estimate.Score, policy.MaxAge);
    }

    private static bool Has(string s, CharacterClass c)
    {
        foreach (var rune in s.EnumerateRunes())
        {
            var hit = c switch
            {
                CharacterClass.Letters => Rune.IsLetter(rune),
                CharacterClass.Digits => Rune.IsDigit(rune),
                _ => !Rune.IsLetterOrDigit(rune) && !Rune.IsWhiteSpace(rune),
            };
            if (hit) return true;
        }
        return false;
    }

    /// <summary>A whole-password match in the estimator's password list (also reversed or in l33t spelling).</summary>
    private static bool IsCommon(Zxcvbn.Result estimate, int length) =>
        estimate.MatchSequence.OfType<Zxcvbn.Matcher.DictionaryMatch>().Any(m =>
            m.DictionaryName == "passwords" && m.Rank <= CommonRank && m.i == 0 && m.j == length - 1);

    /// <summary>The birth date as people write it into passwords: 19900512, 900512, 0512, 12051990, 1990-05-12, …</summary>
    internal static IEnumerable<string> BirthDateForms(DateOnly d)
    {
        var yyyy = d.Year.ToString("D4", CultureInfo.InvariantCulture);
        var yy = yyyy[2..];
        var mm = d.Month.ToString("D2", CultureInfo.InvariantCulture);
        var dd = d.Day.ToString("D2", CultureInfo.InvariantCulture);
        var m = d.Month.ToString(CultureInfo.InvariantCulture);
        var dn = d.Day.ToString(CultureInfo.InvariantCulture);
        string[][] orders = [[yyyy, mm, dd], [yy, mm, dd], [dd, mm, yyyy], [mm, dd, yyyy], [dd, mm, yy], [mm, dd, yy], [yyyy, m, dn], [dn, m, yyyy], [m, dn, yyyy]];
        var forms = new HashSet<string>(StringComparer.Ordinal) { mm + dd, dd + mm };
        foreach (var parts in orders)
        {
            foreach (var sep in (string[])["", "-", "/", ".", " "])
                forms.Add(string.Join(sep, parts));
        }
        return forms;
    }

    /// <summary>The account id, the e-mail local part and each part of the name, when three characters or longer.</summary>
    private static IEnumerable<string> NameParts(PasswordContext c)
    {
        var parts = new List<string>();
        if (c.Account is { } a) parts.Add(a.Value);
        if (c.Email is { } e) parts.Add(e.Split('@')[0]);
        if (c.Name is { } n) parts.AddRange(n.Split([' ', '-', '.', '_', ','], StringSplitOptions.RemoveEmptyEntries));
        return parts.Where(p => p.Length >= 3).Distinct(StringComparer.OrdinalIgnoreCase);
    }
}

using System.Globalization;

namespace RiskEngine.Domain;

internal static class TextRules
{
    /// <summary>
    /// Checks an identifier-like string; returns null when it is acceptable. Control and format characters
    /// (Unicode Cc, Cf: zero-width spaces, bidi overrides) are refused: they make two ids look alike to a person
    /// while comparing unequal, which is how an attacker hides one account behind another in a support screen.
    /// </summary>
    public static string? CheckIdentifier(string? value, int maxLength, string field)
    {
        if (string.IsNullOrEmpty(value)) return $"{field} must be a non-empty string";
        if (value.Length > maxLength) return $"{field} is {value.Length} characters long; the limit is {maxLength}";
        foreach (var c in value)
        {
            if (char.IsControl(c)) return $"{field} must not contain control characters";
            if (CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format)
                return $"{field} must not contain invisible format characters (U+{(int)c:X4})";
        }
        if (string.IsNullOrWhiteSpace(value)) return $"{field} must not be blank";
        return null;
    }
}

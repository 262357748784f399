namespace RiskEngine.Domain;

internal static class TextRules
{
    /// <summary>Checks an identifier-like string; returns null when it is acceptable.</summary>
    public static string? CheckIdentifier(string? value, int maxLength, string field)
    {
        if (string.IsNullOrEmpty(value)) return $"{field} must be a non-empty string";
        if (value.Length > maxLength) return $"{field} is {value.Length} characters long; the limit is {maxLength}";
        foreach (var c in value)
        {
            if (char.IsControl(c)) return $"{field} must not contain control characters";
        }
        if (string.IsNullOrWhiteSpace(value)) return $"{field} must not be blank";
        return null;
    }
}

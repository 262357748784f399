using System.Diagnostics.CodeAnalysis;

namespace RiskEngine.Domain;

/// <summary>
/// A currency or asset code: 3–10 upper-case ASCII letters or digits (ISO 4217 such as <c>USD</c>, or a crypto
/// asset such as <c>BTC</c> or <c>USDT</c>). Whether the policy supports it is a policy question, not a format one.
/// </summary>
public readonly record struct CurrencyCode
{
    private CurrencyCode(string value) => Value = value;

    /// <summary>The code, upper case.</summary>
    public string Value { get; }

    /// <summary>Parses <paramref name="value"/>, or returns an error a person can read.</summary>
    public static bool TryCreate(string? value, out CurrencyCode code, [NotNullWhen(false)] out string? error)
    {
        code = default;
        if (value is null || value.Length is < 3 or > 10)
        {
            error = "currency must be 3 to 10 upper-case letters or digits (ISO 4217 or an asset code)";
            return false;
        }
        foreach (var c in value)
        {
            if (c is not (>= 'A' and <= 'Z') and not (>= '0' and <= '9'))
            {
                error = $"currency '{Printable(value)}' must be 3 to 10 upper-case letters or digits (ISO 4217 or an asset code)";
                return false;
            }
        }
        code = new CurrencyCode(value);
        error = null;
        return true;
    }

    /// <summary>Creates a currency code or throws <see cref="ArgumentException"/>.</summary>
    public static CurrencyCode Create(string value) =>
        TryCreate(value, out var code, out var error) ? code : throw new ArgumentException(error, nameof(value));

    internal static string Printable(string value) =>
        value.Length > 16 || value.Any(char.IsControl) ? "(unprintable)" : value;

    /// <inheritdoc />
    public override string ToString() => Value ?? string.Empty;
}

using System.Diagnostics.CodeAnalysis;

namespace RiskEngine.Domain;

/// <summary>A positive amount of one currency or asset. Decimal places are checked against the policy's asset.</summary>
public readonly record struct Money
{
    private Money(decimal amount, CurrencyCode currency)
    {
        Amount = amount;
        Currency = currency;
    }

    /// <summary>The amount, greater than zero.</summary>
    public decimal Amount { get; }

    /// <summary>The currency or asset.</summary>
    public CurrencyCode Currency { get; }

    /// <summary>Number of decimal places the amount carries, ignoring trailing zeros (<c>1.50</c> has 1).</summary>
    public int Scale => DecimalPlaces(Amount);

    /// <summary>Creates an amount, or returns an error naming why it is not acceptable.</summary>
    public static bool TryCreate(decimal amount, CurrencyCode currency, out Money money, [NotNullWhen(false)] out string? error)
    {
        money = default;
        if (amount <= 0) { error = "amount must be greater than 0"; return false; }
        if (currency.Value is null) { error = "currency is required"; return false; }
        money = new Money(amount, currency);
        error = null;
        return true;
    }

    /// <summary>Creates an amount or throws <see cref="ArgumentException"/>.</summary>
    public static Money Create(decimal amount, string currency) =>
        TryCreate(amount, CurrencyCode.Create(currency), out var m, out var e) ? m : throw new ArgumentException(e, nameof(amount));

    internal static int DecimalPlaces(decimal value) => (decimal.GetBits(Normalize(value))[3] >> 16) & 0xFF;

    /// <summary>The same value without trailing zeros (<c>100.00</c> → <c>100</c>), so equal amounts print alike.</summary>
    internal static decimal Normalize(decimal value) => value / 1.000000000000000000000000000000000m;

    /// <inheritdoc />
    public override string ToString() => $"{Amount.ToString(System.Globalization.CultureInfo.InvariantCulture)} {Currency}";
}

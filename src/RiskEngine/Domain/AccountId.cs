using System.Diagnostics.CodeAnalysis;

namespace RiskEngine.Domain;

/// <summary>An account identifier: 1–128 characters, no control characters. Validated once at the edge.</summary>
public readonly record struct AccountId
{
    /// <summary>The maximum length of an account id, in UTF-16 code units.</summary>
    public const int MaxLength = 128;

    private AccountId(string value) => Value = value;

    /// <summary>The account id as the producer sent it.</summary>
    public string Value { get; }

    /// <summary>Parses <paramref name="value"/>, or returns an error a person can read.</summary>
    public static bool TryCreate(string? value, out AccountId id, [NotNullWhen(false)] out string? error)
    {
        id = default;
        error = TextRules.CheckIdentifier(value, MaxLength, "account");
        if (error is not null) return false;
        id = new AccountId(value!);
        return true;
    }

    /// <summary>Creates an account id or throws <see cref="ArgumentException"/>.</summary>
    public static AccountId Create(string value) =>
        TryCreate(value, out var id, out var error) ? id : throw new ArgumentException(error, nameof(value));

    /// <inheritdoc />
    public override string ToString() => Value ?? string.Empty;
}

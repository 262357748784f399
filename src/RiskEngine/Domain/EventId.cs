using System.Diagnostics.CodeAnalysis;

namespace RiskEngine.Domain;

/// <summary>An event id: 1–128 printable ASCII characters, unique per producer.</summary>
public readonly record struct EventId
{
    /// <summary>The maximum length of an event id.</summary>
    public const int MaxLength = 128;

    private EventId(string value) => Value = value;

    /// <summary>The id as sent.</summary>
    public string Value { get; }

    /// <summary>Parses <paramref name="value"/>, or returns an error a person can read.</summary>
    public static bool TryCreate(string? value, out EventId id, [NotNullWhen(false)] out string? error)
    {
        id = default;
        if (string.IsNullOrEmpty(value)) { error = "id must be a non-empty string"; return false; }
        if (value.Length > MaxLength) { error = $"id is {value.Length} characters long; the limit is {MaxLength}"; return false; }
        foreach (var c in value)
        {
            if (c < 0x20 || c > 0x7E) { error = "id must contain printable ASCII characters only"; return false; }
        }
        id = new EventId(value);
        error = null;
        return true;
    }

    /// <summary>Creates an event id or throws <see cref="ArgumentException"/>.</summary>
    public static EventId Create(string value) =>
        TryCreate(value, out var id, out var error) ? id : throw new ArgumentException(error, nameof(value));

    /// <inheritdoc />
    public override string ToString() => Value ?? string.Empty;
}

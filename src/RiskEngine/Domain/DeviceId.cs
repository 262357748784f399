using System.Diagnostics.CodeAnalysis;

namespace RiskEngine.Domain;

/// <summary>A device identifier (fingerprint or app installation id): 1–128 characters, no control characters.</summary>
public readonly record struct DeviceId
{
    /// <summary>The maximum length of a device id.</summary>
    public const int MaxLength = 128;

    private DeviceId(string value) => Value = value;

    /// <summary>The device id as sent.</summary>
    public string Value { get; }

    /// <summary>Parses <paramref name="value"/>, or returns an error a person can read.</summary>
    public static bool TryCreate(string? value, out DeviceId id, [NotNullWhen(false)] out string? error)
    {
        id = default;
        error = TextRules.CheckIdentifier(value, MaxLength, "device");
        if (error is not null) return false;
        id = new DeviceId(value!);
        return true;
    }

    /// <summary>Creates a device id or throws <see cref="ArgumentException"/>.</summary>
    public static DeviceId Create(string value) =>
        TryCreate(value, out var id, out var error) ? id : throw new ArgumentException(error, nameof(value));

    /// <inheritdoc />
    public override string ToString() => Value ?? string.Empty;
}

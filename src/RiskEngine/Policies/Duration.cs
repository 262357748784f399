using System.Globalization;

namespace RiskEngine.Policies;

/// <summary>
/// Policy durations: a positive whole number and a unit, <c>ms</c>, <c>s</c>, <c>m</c>, <c>h</c> or <c>d</c>
/// (<c>60s</c>, <c>15m</c>, <c>7d</c>), at most <see cref="Max"/>: every window, lockout and cool-down the engine
/// adds to an event's time stays far inside what a timestamp can hold.
/// </summary>
public static class Duration
{
    /// <summary>The longest duration a policy may give: 366 days.</summary>
    public static readonly TimeSpan Max = TimeSpan.FromDays(366);

    /// <summary>Parses a duration; false with a reason when it is not one.</summary>
    public static bool TryParse(string? text, out TimeSpan value, out string? error)
    {
        value = default;
        error = "must be a duration such as 60s, 15m, 24h or 7d";
        if (string.IsNullOrEmpty(text)) return false;
        var unitStart = 0;
        while (unitStart < text.Length && char.IsAsciiDigit(text[unitStart])) unitStart++;
        if (unitStart == 0) return false;
        var unit = text[unitStart..] switch
        {
            "ms" => TimeSpan.FromMilliseconds(1),
            "s" => TimeSpan.FromSeconds(1),
            "m" => TimeSpan.FromMinutes(1),
            "h" => TimeSpan.FromHours(1),
            "d" => TimeSpan.FromDays(1),
            _ => TimeSpan.Zero,
        };
        if (unit == TimeSpan.Zero) return false;
        var digits = text.AsSpan(0, unitStart).TrimStart('0');
        var number = digits.Length is > 0 and <= 18 ? long.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture) : digits.Length == 0 ? 0 : long.MaxValue;
        if (number <= 0) { error = "must be greater than zero"; return false; }
        // Compared before multiplying, so no number of digits can overflow.
        if (number > Max.Ticks / unit.Ticks) { error = "must be at most 366d"; return false; }
        value = TimeSpan.FromTicks(number * unit.Ticks);
        error = null;
        return true;
    }
}

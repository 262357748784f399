using System.Globalization;

namespace RiskEngine.Policies;

/// <summary>Policy durations: a positive whole number and a unit, <c>ms</c>, <c>s</c>, <c>m</c>, <c>h</c> or <c>d</c> (<c>60s</c>, <c>15m</c>, <c>7d</c>).</summary>
public static class Duration
{
    /// <summary>Parses a duration; false with a reason when it is not one.</summary>
    public static bool TryParse(string? text, out TimeSpan value, out string? error)
    {
        value = default;
        error = "must be a duration such as 60s, 15m, 24h or 7d";
        if (string.IsNullOrEmpty(text)) return false;
        var unitStart = 0;
        while (unitStart < text.Length && char.IsAsciiDigit(text[unitStart])) unitStart++;
        if (unitStart == 0 || unitStart > 9) return false;
        var number = long.Parse(text.AsSpan(0, unitStart), NumberStyles.None, CultureInfo.InvariantCulture);
        if (number <= 0) { error = "must be greater than zero"; return false; }
        value = text[unitStart..] switch
        {
            "ms" => TimeSpan.FromMilliseconds(number),
            "s" => TimeSpan.FromSeconds(number),
            "m" => TimeSpan.FromMinutes(number),
            "h" => TimeSpan.FromHours(number),
            "d" => TimeSpan.FromDays(number),
            _ => TimeSpan.Zero,
        };
        if (value == TimeSpan.Zero) return false;
        error = null;
        return true;
    }
}

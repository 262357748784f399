using System.Globalization;
using System.Text;

namespace RiskEngine.Events;

/// <summary>
/// Reads an RFC 3339 timestamp with an offset from UTF-8, accepting what the contract has always accepted:
/// <c>yyyy-MM-dd(T|t)HH:mm:ss[.f{1,9}](Z|z|±hh:mm)</c>, ASCII digits only, naming a real date and time (no leap
/// second, no hour 24) whose offset is at most 14:00 and whose instant lies in <see cref="DateTimeOffset"/>'s range.
/// (The regex this replaces also let a final line feed through, by mistake; that is refused now.)
/// </summary>
internal static class Rfc3339
{
    private const int MaxOffsetMinutes = 14 * 60;

    /// <summary>Parses <paramref name="text"/>; false for anything else, including surrounding spaces.</summary>
    public static bool TryParse(ReadOnlySpan<byte> text, out DateTimeOffset value)
    {
        value = default;
        if (text.Length < 20 ||
            !Number(text, 0, 4, out var year) || text[4] != '-' ||
            !Number(text, 5, 2, out var month) || text[7] != '-' ||
            !Number(text, 8, 2, out var day) || text[10] is not ((byte)'T' or (byte)'t') ||
            !Number(text, 11, 2, out var hour) || text[13] != ':' ||
            !Number(text, 14, 2, out var minute) || text[16] != ':' ||
            !Number(text, 17, 2, out var second))
            return false;

        var i = 19;
        long fraction = 0; // in ticks
        var fractionDigits = 0;
        if (text[i] == '.')
        {
            for (i++; i < text.Length && IsDigit(text[i]); i++, fractionDigits++)
                if (fractionDigits < 7) fraction = fraction * 10 + (text[i] - '0');
            if (fractionDigits is 0 or > 9) return false;
            for (var d = fractionDigits; d < 7; d++) fraction *= 10;
        }

        if (i >= text.Length) return false;
        var offsetMinutes = 0;
        if (text[i] is (byte)'Z' or (byte)'z') i++;
        else
        {
            if (text[i] is not ((byte)'+' or (byte)'-') || text.Length < i + 6 ||
                !Number(text, i + 1, 2, out var offsetHours) || text[i + 3] != ':' || !Number(text, i + 4, 2, out var offsetMinute))
                return false;
            if (offsetMinute > 59) return false;
            offsetMinutes = (offsetHours * 60 + offsetMinute) * (text[i] == '-' ? -1 : 1);
            i += 6;
        }
        if (i != text.Length) return false; // nothing after the offset, not even a line feed

        // .NET rounds 8 and 9 fraction digits to ticks through binary floating point; rather than copy its rounding,
        // let it decide those rare cases itself.
        if (fractionDigits > 7) return FromFramework(text, out value);

        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) ||
            hour > 23 || minute > 59 || second > 59 || Math.Abs(offsetMinutes) > MaxOffsetMinutes)
            return false;
        var local = new DateTime(year, month, day, hour, minute, second).Ticks + fraction;
        var offset = TimeSpan.FromMinutes(offsetMinutes);
        var utc = local - offset.Ticks;
        if (utc < DateTime.MinValue.Ticks || utc > DateTime.MaxValue.Ticks) return false;
        value = new DateTimeOffset(local, offset);
        return true;
    }

    private static bool FromFramework(ReadOnlySpan<byte> ascii, out DateTimeOffset value)
    {
        Span<char> chars = stackalloc char[ascii.Length];
        Encoding.ASCII.GetChars(ascii, chars);
        return DateTimeOffset.TryParse(chars, CultureInfo.InvariantCulture, DateTimeStyles.None, out value);
    }

    private static bool IsDigit(byte b) => b - (uint)'0' <= 9;

    private static bool Number(ReadOnlySpan<byte> text, int start, int length, out int value)
    {
        value = 0;
        foreach (var b in text.Slice(start, length))
        {
            if (!IsDigit(b)) return false;
            value = value * 10 + (b - '0');
        }
        return true;
    }
}

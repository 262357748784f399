using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;

namespace RiskEngine.Domain;

/// <summary>An officially assigned ISO 3166-1 alpha-2 country code (upper case), such as <c>US</c> or <c>CN</c>.</summary>
public readonly record struct CountryCode
{
    // The 249 officially assigned codes (ISO 3166-1, 2024 edition). User-assigned codes such as XK are not accepted.
    private const string Assigned =
        "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
        "CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR " +
        "GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP " +
        "KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT " +
        "MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW " +
        "SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG " +
        "UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

    private static readonly FrozenSet<string> Codes = Assigned.Split(' ').ToFrozenSet(StringComparer.Ordinal);

    private static readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> CodesBySpan = Codes.GetAlternateLookup<ReadOnlySpan<char>>();

    private CountryCode(string value) => Value = value;

    /// <summary>The two-letter code, upper case.</summary>
    public string Value { get; }

    /// <summary>Every officially assigned code.</summary>
    public static IReadOnlyCollection<string> All => Codes;

    /// <summary>Parses <paramref name="value"/>, or returns an error a person can read.</summary>
    public static bool TryCreate(string? value, out CountryCode code, [NotNullWhen(false)] out string? error)
    {
        code = default;
        if (value is null || !Codes.TryGetValue(value, out var interned))
        {
            error = value is { Length: 2 }
                ? $"'{CurrencyCode.Printable(value)}' is not an assigned ISO 3166-1 alpha-2 country code"
                : "must be an ISO 3166-1 alpha-2 country code (two upper-case letters, e.g. US)";
            return false;
        }
        code = new CountryCode(interned); // interned: one string per country, whatever the input
        error = null;
        return true;
    }

    /// <summary>
    /// Finds an assigned code without allocating (the event parser's path); false for anything else, which
    /// <see cref="TryCreate"/> then explains.
    /// </summary>
    internal static bool TryFind(ReadOnlySpan<char> value, out CountryCode code)
    {
        var found = CodesBySpan.TryGetValue(value, out var interned);
        code = found ? new CountryCode(interned!) : default;
        return found;
    }

    /// <summary>Creates a country code or throws <see cref="ArgumentException"/>.</summary>
    public static CountryCode Create(string value) =>
        TryCreate(value, out var code, out var error) ? code : throw new ArgumentException(error, nameof(value));

    /// <inheritdoc />
    public override string ToString() => Value ?? string.Empty;
}

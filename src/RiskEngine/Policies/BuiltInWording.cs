using System.Collections.Frozen;

namespace RiskEngine.Policies;

/// <summary>
/// The engine's own words, in en and zh-CN, for every reason that can freeze an account: what <c>{reason}</c> says
/// in an <c>account.frozen</c> / <c>account.unfrozen</c> message when the policy has no wording of its own, so no
/// user is told they were "frozen because of velocity.amount". A policy's <c>messages</c> override them.
/// </summary>
public static class BuiltInWording
{
    /// <summary>Languages the engine words itself.</summary>
    public static IReadOnlyList<string> Languages { get; } = ["en", "zh-CN"];

    private static readonly FrozenDictionary<string, FrozenDictionary<string, string>> Words = new Dictionary<string, FrozenDictionary<string, string>>
    {
        ["en"] = new Dictionary<string, string>
        {
            [ReasonCodes.VelocityCount] = "an unusually high number of transactions in a short time",
            [ReasonCodes.VelocityAmount] = "an unusually large amount sent in a short time",
            [ReasonCodes.LoginImpossibleTravel] = "sign-ins from places too far apart to travel between in the time",
            [ReasonCodes.LoginFailedAttempts] = "repeated failed sign-in attempts",
            [ReasonCodes.LoginNewDevice] = "a sign-in from a device we had not seen",
            [ReasonCodes.LoginNewCountry] = "a sign-in from a country we had not seen",
            [ReasonCodes.TotpFailedAttempts] = "repeated wrong verification codes",
            [ReasonCodes.AccountReported] = "activity you reported as not yours",
        }.ToFrozenDictionary(StringComparer.Ordinal),
        ["zh-CN"] = new Dictionary<string, string>
        {
            [ReasonCodes.VelocityCount] = "短时间内交易异常频繁",
            [ReasonCodes.VelocityAmount] = "短时间内转出金额异常",
            [ReasonCodes.LoginImpossibleTravel] = "登录地点相距过远,短时间内无法往返",
            [ReasonCodes.LoginFailedAttempts] = "多次登录失败",
            [ReasonCodes.LoginNewDevice] = "从未见过的设备登录",
            [ReasonCodes.LoginNewCountry] = "从未见过的国家或地区登录",
            [ReasonCodes.TotpFailedAttempts] = "多次输入错误的验证码",
            [ReasonCodes.AccountReported] = "您报告的非本人操作",
        }.ToFrozenDictionary(StringComparer.Ordinal),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>The engine's words for <paramref name="code"/> in <paramref name="language"/>, or null.</summary>
    public static string? Find(string language, string code) =>
        Words.TryGetValue(language, out var map) && map.TryGetValue(code, out var text) ? text : null;

    /// <summary>Placeholders a template may use.</summary>
    public static FrozenSet<string> Placeholders { get; } = new[]
    {
        "reason", "phone", "chat", "email", "account", "amount", "currency", "event", "at", "case",
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>
    /// <c>{case}</c>: what support will ask about, as a phrase in <paramref name="language"/> (en for a language the
    /// engine does not word) — the payment with its amount and time, the sign-in with its time and country, …
    /// </summary>
    public static string CasePhrase(string language, Events.SupportCase c)
    {
        ArgumentNullException.ThrowIfNull(c);
        var at = c.At.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", System.Globalization.CultureInfo.InvariantCulture);
        var amount = c.Amount?.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (language == "zh-CN")
        {
            return c.Type switch
            {
                "transaction" when amount is not null => $"{at} 的 {amount} {c.Currency} 付款",
                "login" => c.Country is { } cc ? $"{at} 来自 {cc} 的登录" : $"{at} 的登录",
                "report" => $"您在 {at} 报告的操作",
                "totp" => $"{at} 输入的验证码",
                _ => $"{at} 发生的操作",
            };
        }
        return c.Type switch
        {
            "transaction" when amount is not null => $"the payment of {amount} {c.Currency} on {at}",
            "login" => c.Country is { } country ? $"the sign-in from {country} on {at}" : $"the sign-in on {at}",
            "report" => $"the activity you reported on {at}",
            "totp" => $"the verification codes entered on {at}",
            _ => $"what happened on {at}",
        };
    }
}

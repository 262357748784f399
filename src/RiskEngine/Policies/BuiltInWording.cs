using System.Collections.Frozen;

namespace RiskEngine.Policies;

/// <summary>
/// The engine's own words, in en and zh-CN, for every reason code it emits and for the second-factor account events
/// (<see cref="FactorMessages"/>): what <c>{reason}</c> says in an
/// <c>account.frozen</c> / <c>account.unfrozen</c> message when the policy has no wording of its own (so no user is
/// told they were "frozen because of velocity.amount"), and the decision message in a policy whose first language is
/// zh-CN. A policy's <c>messages</c> override them; English decision messages keep the rules' own texts, which name
/// the currency, limit or region concerned.
/// </summary>
public static class BuiltInWording
{
    /// <summary>Languages the engine words itself.</summary>
    public static IReadOnlyList<string> Languages { get; } = ["en", "zh-CN"];

    private static readonly FrozenDictionary<string, FrozenDictionary<string, string>> Words = new Dictionary<string, FrozenDictionary<string, string>>
    {
        ["en"] = new Dictionary<string, string>
        {
            [ReasonCodes.AccountFrozen] = "the account is frozen; contact support",
            [ReasonCodes.EngineUnavailable] = "the risk engine cannot reach its state store; try again shortly",
            [ReasonCodes.AccountNotFrozen] = "the account is not frozen",
            [ReasonCodes.CapPerTransaction] = "the amount is above the per-transaction limit",
            [ReasonCodes.CapDaily] = "the amount would exceed the daily limit",
            [ReasonCodes.CapMonthly] = "the amount would exceed the monthly limit",
            [ReasonCodes.CapStepUp] = "confirm this amount with your verification code",
            [ReasonCodes.CapStructuring] = "several payments just below the verification threshold: confirm this one with your verification code",
            [ReasonCodes.CurrencyUnsupported] = "this currency is not supported",
            [ReasonCodes.LimitAboveMax] = "the limit is above the largest that can be arranged",
            [ReasonCodes.LimitUnauthenticated] = "arranging a higher limit needs a verification code",
            [ReasonCodes.LimitTooLong] = "an arranged limit cannot last that long",
            [ReasonCodes.LimitCancelled] = "the arranged limit was cancelled",
            [ReasonCodes.RegionUnavailable] = "the service is not available in this region",
            [ReasonCodes.VelocityCount] = "an unusually high number of transactions in a short time",
            [ReasonCodes.VelocityAmount] = "an unusually large amount sent in a short time",
            [ReasonCodes.LoginNewDevice] = "a sign-in from a device we had not seen",
            [ReasonCodes.LoginNewCountry] = "a sign-in from a country we had not seen",
            [ReasonCodes.LoginImpossibleTravel] = "sign-ins from places too far apart to travel between in the time",
            [ReasonCodes.LoginFailed] = "wrong password",
            [ReasonCodes.LoginFailedAttempts] = "repeated failed sign-in attempts",
            [ReasonCodes.LoginLocked] = "sign-in is locked for a while after repeated failures",
            [ReasonCodes.LoginIpThrottled] = "too many failed sign-ins from this network; try again later",
            [ReasonCodes.TotpFailedAttempts] = "repeated wrong verification codes",
            [ReasonCodes.TotpReplayed] = "this verification code was already used",
            [ReasonCodes.AccountReported] = "activity you reported as not yours",
            [ReasonCodes.SupportHold] = "a hold placed by our support team",
            [ReasonCodes.CapChannelPerTransaction] = "the amount is above this payment method's per-transaction limit",
            [ReasonCodes.CapChannelDaily] = "the amount would exceed this payment method's daily limit",
            [ReasonCodes.CapChannelMonthly] = "the amount would exceed this payment method's monthly limit",
            [ReasonCodes.ReversalApplied] = "the payment was reversed; it no longer counts towards your limits",
            [ReasonCodes.PaymentNewDevice] = "a payment from a device this account has not used",
            [ReasonCodes.PaymentNewCountry] = "a payment from a country this account has not used",
            [ReasonCodes.ReversalUnknown] = "no allowed payment of this account has that id",
            [ReasonCodes.ReversalDuplicate] = "this payment was already reversed",
            [Events.AccountFactorEnrolled.TypeName] = "An authenticator app was set up as the second factor of your account on {at}. If this was not you, contact support: phone {phone}, email {email}.",
            [Events.AccountFactorReset.TypeName] = "Our support team removed the authenticator app from your account on {at}; you can set up a new one. If this was not you, contact support: phone {phone}, email {email}.",
        }.ToFrozenDictionary(StringComparer.Ordinal),
        ["zh-CN"] = new Dictionary<string, string>
        {
            [ReasonCodes.AccountFrozen] = "账户已被冻结,请联系客服",
            [ReasonCodes.EngineUnavailable] = "风控服务暂时无法访问其数据,请稍后再试",
            [ReasonCodes.AccountNotFrozen] = "账户未被冻结",
            [ReasonCodes.CapPerTransaction] = "金额超过单笔限额",
            [ReasonCodes.CapDaily] = "金额将超过每日限额",
            [ReasonCodes.CapMonthly] = "金额将超过每月限额",
            [ReasonCodes.CapStepUp] = "请用验证码确认此金额",
            [ReasonCodes.CapStructuring] = "多笔付款金额略低于验证门槛,请用验证码确认这一笔",
            [ReasonCodes.CurrencyUnsupported] = "不支持该币种",
            [ReasonCodes.LimitAboveMax] = "该限额超过可预约的最高限额",
            [ReasonCodes.LimitUnauthenticated] = "预约更高限额需要验证码",
            [ReasonCodes.LimitTooLong] = "预约限额的有效期过长",
            [ReasonCodes.LimitCancelled] = "预约的限额已取消",
            [ReasonCodes.RegionUnavailable] = "该地区暂不提供此服务",
            [ReasonCodes.VelocityCount] = "短时间内交易异常频繁",
            [ReasonCodes.VelocityAmount] = "短时间内转出金额异常",
            [ReasonCodes.LoginNewDevice] = "从未见过的设备登录",
            [ReasonCodes.LoginNewCountry] = "从未见过的国家或地区登录",
            [ReasonCodes.LoginImpossibleTravel] = "登录地点相距过远,短时间内无法往返",
            [ReasonCodes.LoginFailed] = "密码错误",
            [ReasonCodes.LoginFailedAttempts] = "多次登录失败",
            [ReasonCodes.LoginLocked] = "多次失败后登录已被暂时锁定",
            [ReasonCodes.LoginIpThrottled] = "该网络登录失败次数过多,请稍后再试",
            [ReasonCodes.TotpFailedAttempts] = "多次输入错误的验证码",
            [ReasonCodes.TotpReplayed] = "该验证码已被使用",
            [ReasonCodes.AccountReported] = "您报告的非本人操作",
            [ReasonCodes.SupportHold] = "客服团队对账户设置的保护性冻结",
            [ReasonCodes.CapChannelPerTransaction] = "金额超过此支付方式的单笔限额",
            [ReasonCodes.CapChannelDaily] = "金额将超过此支付方式的每日限额",
            [ReasonCodes.CapChannelMonthly] = "金额将超过此支付方式的每月限额",
            [ReasonCodes.ReversalApplied] = "该笔付款已撤销,不再计入您的限额",
            [ReasonCodes.PaymentNewDevice] = "来自该账户未使用过的设备的付款",
            [ReasonCodes.PaymentNewCountry] = "来自该账户未使用过的国家或地区的付款",
            [ReasonCodes.ReversalUnknown] = "该账户没有此编号的已通过付款",
            [ReasonCodes.ReversalDuplicate] = "该笔付款已经撤销过",
            [Events.AccountFactorEnrolled.TypeName] = "您的账户已于 {at} 设置身份验证器应用作为第二重验证。如非本人操作,请联系客服:电话 {phone},邮箱 {email}。",
            [Events.AccountFactorReset.TypeName] = "客服已于 {at} 移除您账户的身份验证器应用,您可以重新设置。如非本人操作,请联系客服:电话 {phone},邮箱 {email}。",
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
    /// Message keys of the account events about second factors (<c>account.factor_enrolled</c>, <c>account.factor_reset</c>):
    /// the engine words them in en and zh-CN, a policy may override them, and for another language without its own
    /// wording the policy's first language (else the engine's English) is used.
    /// </summary>
    public static IReadOnlyList<string> FactorMessages { get; } = [Events.AccountFactorEnrolled.TypeName, Events.AccountFactorReset.TypeName];

    /// <summary>Placeholders a factor message may use: there is no reason or support case, only who to call and when.</summary>
    public static FrozenSet<string> FactorPlaceholders { get; } = new[] { "phone", "chat", "email", "account", "event", "at" }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>A support case's time as a person reads it in a message (<c>{at}</c>, and inside <c>{case}</c>).</summary>
    internal static string CaseTime(DateTimeOffset at) =>
        at.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// <c>{case}</c>: what support will ask about, as a phrase in <paramref name="language"/> (en for a language the
    /// engine does not word) — the payment with its amount and time, the sign-in with its time and country, …
    /// </summary>
    public static string CasePhrase(string language, Events.SupportCase c)
    {
        ArgumentNullException.ThrowIfNull(c);
        var at = CaseTime(c.At);
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

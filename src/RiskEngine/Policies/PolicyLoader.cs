using System.Collections.Frozen;
using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text.Json;
using RiskEngine.Decisions;
using RiskEngine.Domain;

namespace RiskEngine.Policies;

/// <summary>
/// Reads and validates policy JSON. Strict: unknown fields are errors (a typo must not silently disable a cap), and
/// every error is reported with the file, the JSON path and the reason.
/// </summary>
public static class PolicyLoader
{
    /// <summary>The name under which the embedded default policy reports itself.</summary>
    public const string EmbeddedDefaultSource = "embedded:default.json";

    /// <summary>Loads and validates a policy file. Throws <see cref="PolicyValidationException"/> when it is refused.</summary>
    public static RiskPolicy LoadFile(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PolicyValidationException([new PolicyError(path, "$", $"cannot read the file: {e.Message}")]);
        }
        return Load(bytes, path);
    }

    /// <summary>The policy bundled with the library (<c>policies/default.json</c>).</summary>
    public static RiskPolicy LoadEmbeddedDefault()
    {
        using var stream = typeof(PolicyLoader).Assembly.GetManifestResourceStream("RiskEngine.Policies.default.json")
            ?? throw new InvalidOperationException("the embedded default policy is missing from the assembly");
        using var ms = new MemoryStream();
        stream.CopyTo(ms);
        return Load(ms.ToArray(), EmbeddedDefaultSource);
    }

    /// <summary>Validates policy JSON; <paramref name="source"/> names it in errors.</summary>
    public static RiskPolicy Load(ReadOnlySpan<byte> json, string source)
    {
        var result = TryLoad(json, source);
        return result.Policy ?? throw new PolicyValidationException(result.Errors);
    }

    /// <summary>Validates policy JSON without throwing: either a policy or the list of errors.</summary>
    public static (RiskPolicy? Policy, IReadOnlyList<PolicyError> Errors) TryLoad(ReadOnlySpan<byte> json, string source)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            return (null, [new PolicyError(source, e.Path ?? "$", $"not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {FirstSentence(e.Message)}")]);
        }
        using (doc)
        {
            var ctx = new Context(source);
            RiskPolicy? policy;
            try
            {
                policy = Build(new Node(doc.RootElement, "$", ctx), ctx, Version(json));
            }
            catch (Exception e) when (e is ArithmeticException or ArgumentException or InvalidOperationException or FormatException)
            {
                // A value the checks above missed: refused like any other, never thrown at the caller.
                ctx.Errors.Add(new PolicyError(source, "$", $"the policy cannot be run: {e.Message}"));
                policy = null;
            }
            return ctx.Errors.Count == 0 ? (policy, []) : (null, ctx.Errors);
        }
    }

    private static string Version(ReadOnlySpan<byte> json) =>
        "sha256:" + Convert.ToHexStringLower(SHA256.HashData(json))[..16];

    private static string FirstSentence(string message)
    {
        var i = message.IndexOf(". ", StringComparison.Ordinal);
        return i < 0 ? message : message[..i];
    }

    private static RiskPolicy? Build(Node root, Context ctx, string version)
    {
        if (!root.IsObject("the policy")) return null;
        root.AllowOnly("name", "description", "assets", "regions", "velocity", "logins", "totp", "freeze", "idempotencyWindow", "support", "messages", "passwords", "channels", "limits", "transactions", "structuring");
        var name = root.Optional("name")?.String() ?? "unnamed";

        var assets = new Dictionary<CurrencyCode, AssetPolicy>();
        if (root.Required("assets") is { } assetsNode && assetsNode.IsObject("an object of currency code to caps"))
        {
            foreach (var (code, node) in assetsNode.Properties())
            {
                if (!CurrencyCode.TryCreate(code, out var currency, out var err)) { node.Error(err); continue; }
                if (!node.IsObject("an object of caps")) continue;
                node.AllowOnly("decimals", "perTransaction", "daily", "monthly", "challengeAbove", "maxArrangedLimit");
                var decimals = node.Required("decimals")?.Int(0, 18) ?? 0;
                var perTx = node.Required("perTransaction")?.PositiveDecimal() ?? 0;
                var daily = node.Required("daily")?.PositiveDecimal() ?? 0;
                var monthly = node.Required("monthly")?.PositiveDecimal() ?? 0;
                var challenge = node.Optional("challengeAbove")?.PositiveDecimal();
                var maxArranged = node.Optional("maxArrangedLimit")?.PositiveDecimal() ?? perTx;
                if (daily > 0 && perTx > daily) node.Child("perTransaction").Error($"{perTx} is above the daily cap {daily}");
                if (monthly > 0 && daily > monthly) node.Child("daily").Error($"{daily} is above the monthly cap {monthly}");
                assets[currency] = new AssetPolicy(currency, decimals, perTx, daily, monthly, challenge, maxArranged);
            }
            if (assets.Count == 0 && ctx.Errors.Count == 0) assetsNode.Error("must list at least one currency or asset");
        }

        var regions = new RegionPolicy(RegionMode.Deny, FrozenSet<CountryCode>.Empty, true, true, true);
        if (root.Optional("regions") is { } rn && rn.IsObject("an object"))
        {
            rn.AllowOnly("mode", "countries", "check", "enforcement");
            var mode = rn.Required("mode")?.Enum("deny", "allow") == "allow" ? RegionMode.Allow : RegionMode.Deny;
            var countries = new HashSet<CountryCode>();
            foreach (var c in rn.Required("countries")?.Items() ?? [])
            {
                if (c.String() is { } s)
                {
                    if (CountryCode.TryCreate(s, out var cc, out var err)) countries.Add(cc); else c.Error(err);
                }
            }
            var checks = new HashSet<string>(StringComparer.Ordinal);
            foreach (var c in rn.Optional("check")?.Items() ?? [])
            {
                if (c.Enum("origin", "residence", "counterparty") is { } s) checks.Add(s);
            }
            if (rn.Optional("check") is null) checks.UnionWith(["origin", "residence", "counterparty"]);
            regions = new RegionPolicy(mode, countries.ToFrozenSet(), checks.Contains("origin"), checks.Contains("residence"), checks.Contains("counterparty"))
            {
                Shadow = rn.Optional("enforcement")?.Enum("enforce", "shadow") == "shadow",
            };
        }

        var velocity = new List<VelocityLimit>();
        foreach (var v in root.Optional("velocity")?.Items() ?? [])
        {
            if (!v.IsObject("an object")) continue;
            v.AllowOnly("id", "window", "maxCount", "maxAmount", "currency", "then", "mode", "below");
            var id = v.Required("id")?.String() ?? "?";
            if (velocity.Any(x => x.Id == id)) v.Child("id").Error($"'{id}' is used by another velocity entry");
            var window = v.Required("window")?.Duration() ?? TimeSpan.Zero;
            var maxCount = v.Optional("maxCount")?.Int(1, 1_000_000);
            var maxAmount = v.Optional("maxAmount")?.PositiveDecimal();
            CurrencyCode? currency = null;
            if (v.Optional("currency") is { } cn && cn.String() is { } cs)
            {
                if (!CurrencyCode.TryCreate(cs, out var cc, out var err)) cn.Error(err);
                else if (!assets.ContainsKey(cc)) cn.Error($"'{cs}' is not one of the policy's assets");
                else currency = cc;
            }
            if (maxCount is null && maxAmount is null) v.Error("needs maxCount, maxAmount, or both");
            if (maxAmount is not null && currency is null && v.Optional("currency") is null) v.Error("maxAmount needs a currency");
            var then = v.Optional("then")?.OutcomeValue() ?? Outcome.Freeze;
            var below = v.Optional("below")?.PositiveDecimal();
            if (below is not null && v.Optional("currency") is null) v.Child("below").Error("needs a currency (amounts of different currencies are not comparable)");
            velocity.Add(new VelocityLimit(id, window, maxCount, maxAmount, currency, then)
            {
                Shadow = v.Optional("mode")?.Enum("enforce", "shadow") == "shadow",
                Below = below,
            });
        }

        var logins = new LoginPolicy(Outcome.Challenge, Outcome.Challenge, null, null, null);
        if (root.Optional("logins") is { } ln && ln.IsObject("an object"))
        {
            ln.AllowOnly("newDevice", "newCountry", "impossibleTravel", "failedAttempts", "ipThrottle");
            ImpossibleTravelPolicy? travel = null;
            if (ln.Optional("impossibleTravel") is { } tn && tn.IsObject("an object"))
            {
                tn.AllowOnly("maxKmh", "then", "minKm");
                var minKm = 0m;
                if (tn.Optional("minKm") is { } mk && mk.PositiveDecimal() is { } km) minKm = km; // 0 is the default; a given value must be > 0
                travel = new ImpossibleTravelPolicy((double)(tn.Required("maxKmh")?.PositiveDecimal() ?? 1), tn.Optional("then")?.OutcomeValue() ?? Outcome.Freeze)
                {
                    MinKm = (double)minKm,
                };
            }
            FailedAttemptsPolicy? failed = null;
            if (ln.Optional("failedAttempts") is { } fn && fn.IsObject("an object"))
            {
                fn.AllowOnly("max", "window", "lockout", "freezeAfterLockouts", "lockoutWindow");
                failed = new FailedAttemptsPolicy(
                    fn.Required("max")?.Int(1, 1000) ?? 1,
                    fn.Required("window")?.Duration() ?? TimeSpan.Zero,
                    fn.Required("lockout")?.Duration() ?? TimeSpan.Zero,
                    fn.Optional("freezeAfterLockouts")?.Int(1, 1000) ?? int.MaxValue,
                    fn.Optional("lockoutWindow")?.Duration() ?? TimeSpan.FromDays(1));
            }
            IpThrottlePolicy? ip = null;
            if (ln.Optional("ipThrottle") is { } ipn && ipn.IsObject("an object"))
            {
                ipn.AllowOnly("maxFailures", "window");
                ip = new IpThrottlePolicy(ipn.Required("maxFailures")?.Int(1, 1_000_000) ?? 1, ipn.Required("window")?.Duration() ?? TimeSpan.Zero);
            }
            logins = new LoginPolicy(
                ln.Optional("newDevice")?.OutcomeValue() ?? Outcome.Challenge,
                ln.Optional("newCountry")?.OutcomeValue() ?? Outcome.Challenge,
                travel, failed, ip);
        }

        var totp = new TotpPolicy(name, 6, 30, "SHA1", 1, 5, TimeSpan.FromMinutes(15));
        if (root.Optional("totp") is { } otp && otp.IsObject("an object"))
        {
            otp.AllowOnly("issuer", "digits", "period", "algorithm", "drift", "maxFailures", "failureWindow", "stepUp", "stepUpValidity");
            var issuer = otp.Optional("issuer")?.String() ?? name;
            if (issuer.Contains(':', StringComparison.Ordinal)) otp.Child("issuer").Error("must not contain ':' (it separates issuer and account in otpauth URIs)");
            var digits = otp.Optional("digits")?.Int(6, 8) ?? 6;
            if (digits == 7) otp.Child("digits").Error("must be 6 or 8");
            totp = new TotpPolicy(
                issuer,
                digits,
                otp.Optional("period")?.Int(15, 120) ?? 30,
                otp.Optional("algorithm")?.Enum("SHA1", "SHA256", "SHA512") ?? "SHA1",
                otp.Optional("drift")?.Int(0, 2) ?? 1,
                otp.Optional("maxFailures")?.Int(1, 100) ?? 5,
                otp.Optional("failureWindow")?.Duration() ?? TimeSpan.FromMinutes(15))
            {
                StepUp = otp.Optional("stepUp")?.Enum("verified", "trust-caller") == "verified" ? StepUpMode.Verified : StepUpMode.TrustCaller,
                StepUpValidity = otp.Optional("stepUpValidity")?.Duration() ?? TimeSpan.FromMinutes(5),
            };
            if (totp.StepUpValidity > TimeSpan.FromHours(1) || totp.StepUpValidity < TimeSpan.FromSeconds(30))
                otp.Child("stepUpValidity").Error("must be between 30s and 1h");
        }

        var coolDown = new Dictionary<string, TimeSpan>(StringComparer.Ordinal);
        var selfService = new HashSet<string>(StringComparer.Ordinal);
        if (root.Optional("freeze") is { } frn && frn.IsObject("an object"))
        {
            frn.AllowOnly("coolDown", "selfService");
            if (frn.Optional("coolDown") is { } cdn && cdn.IsObject("an object of reason code to duration"))
            {
                foreach (var (code, node) in cdn.Properties())
                {
                    if (!ReasonCodes.Freezing.Contains(code)) node.Error($"'{code}' is not a freeze reason ({string.Join(", ", ReasonCodes.Freezing)})");
                    else if (code == ReasonCodes.SupportHold) node.Error($"'{code}' is lifted by support only: a hold support placed must not lift itself");
                    else if (node.Duration() is { } d) coolDown[code] = d;
                }
            }
            foreach (var s in frn.Optional("selfService")?.Items() ?? [])
            {
                if (s.String() is not { } code) continue;
                if (!ReasonCodes.Freezing.Contains(code)) s.Error($"'{code}' is not a freeze reason ({string.Join(", ", ReasonCodes.Freezing)})");
                else if (ReasonCodes.SupportOnly.Contains(code)) s.Error($"'{code}' is lifted by support only: a second factor in the hands of whoever did the reported activity must not lift it");
                else selfService.Add(code);
            }
        }

        var idempotency = root.Optional("idempotencyWindow")?.Duration() ?? TimeSpan.FromDays(7);

        var support = new SupportContacts("", "", "", [], []);
        if (root.Required("support") is { } sn && sn.IsObject("an object"))
        {
            sn.AllowOnly("phone", "chat", "email", "social", "prepare");
            var email = sn.Required("email")?.String() ?? "";
            if (email.Length > 0 && !email.Contains('@', StringComparison.Ordinal)) sn.Child("email").Error($"'{email}' is not an e-mail address");
            support = new SupportContacts(
                sn.Required("phone")?.String() ?? "",
                sn.Optional("chat")?.String() ?? "",
                email,
                (sn.Optional("social")?.Items() ?? []).Select(x => x.String() ?? "").ToArray(),
                (sn.Optional("prepare")?.Items() ?? []).Select(x => x.String() ?? "").ToArray());
        }

        var languages = new List<string>();
        var byLanguage = new Dictionary<string, FrozenDictionary<string, string>>(StringComparer.Ordinal);
        if (root.Required("messages") is { } mn && mn.IsObject("an object of language to templates"))
        {
            foreach (var (language, node) in mn.Properties())
            {
                if (!node.IsObject("an object of message key to template")) continue;
                var map = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var (key, text) in node.Properties())
                {
                    if (text.String() is not { } t) continue;
                    map[key] = t;
                    // A factor event has no reason or support case: such a placeholder would reach the user unfilled.
                    var allowed = BuiltInWording.FactorMessages.Contains(key) ? BuiltInWording.FactorPlaceholders : BuiltInWording.Placeholders;
                    foreach (var placeholder in PlaceholdersIn(t))
                    {
                        if (!allowed.Contains(placeholder))
                            text.Error($"uses the placeholder {{{placeholder}}}, which is not one of {{{string.Join("}, {", allowed)}}}");
                    }
                }
                if (!BuiltInWording.Languages.Contains(language))
                {
                    // The engine words every reason code in en and zh-CN only: another language must word them all.
                    var missing = ReasonCodes.All.Where(c => !map.ContainsKey(c)).Order(StringComparer.Ordinal).ToArray();
                    if (missing.Length > 0)
                        node.Error($"has no wording for {string.Join(", ", missing)}; the engine words them in {string.Join(" and ", BuiltInWording.Languages)} only");
                }
                foreach (var key in (string[])["account.frozen", "account.unfrozen"])
                {
                    if (!map.ContainsKey(key)) node.Error($"is missing the template '{key}'");
                }
                languages.Add(language);
                byLanguage[language] = map.ToFrozenDictionary(StringComparer.Ordinal);
            }
            if (languages.Count == 0) mn.Error("must hold templates for at least one language");
        }

        var passwords = Passwords(root.Optional("passwords"));
        var channels = Channels(root.Optional("channels"), assets);
        var transactions = (Outcome.Allow, Outcome.Allow);
        if (root.Optional("transactions") is { } txn && txn.IsObject("an object"))
        {
            txn.AllowOnly("newDevice", "newCountry");
            transactions = (txn.Optional("newDevice")?.OutcomeValue() ?? Outcome.Allow, txn.Optional("newCountry")?.OutcomeValue() ?? Outcome.Allow);
        }
        StructuringPolicy? structuring = null;
        if (root.Optional("structuring") is { } stn && stn.IsObject("an object"))
        {
            stn.AllowOnly("window", "nearBelow", "maxCount", "then");
            var window = stn.Required("window")?.Duration() ?? TimeSpan.Zero;
            if (window > TimeSpan.FromDays(30)) stn.Child("window").Error("must be at most 30d (allowed payments are kept for 30 days)");
            var near = stn.Required("nearBelow")?.PositiveDecimal() ?? 0;
            if (near >= 1) stn.Child("nearBelow").Error("must be a fraction between 0 and 1 (e.g. 0.8: from 80 % of challengeAbove up to it)");
            structuring = new StructuringPolicy(window, near, stn.Required("maxCount")?.Int(1, 1000) ?? 1, stn.Optional("then")?.OutcomeValue() ?? Outcome.Challenge);
        }
        var maxLimitDuration = TimeSpan.FromDays(30);
        if (root.Optional("limits") is { } ln2 && ln2.IsObject("an object"))
        {
            ln2.AllowOnly("maxDuration");
            if (ln2.Optional("maxDuration")?.Duration() is { } md)
            {
                if (md < TimeSpan.FromHours(1)) ln2.Child("maxDuration").Error("must be at least 1h");
                else maxLimitDuration = md;
            }
        }

        if (ctx.Errors.Count > 0) return null;
        return new RiskPolicy(name, version, ctx.Source, assets.ToFrozenDictionary(), regions, velocity, logins, totp,
            new FreezePolicy(coolDown.ToFrozenDictionary(StringComparer.Ordinal), selfService.ToFrozenSet(StringComparer.Ordinal)),
            idempotency, support, new MessageCatalog(languages, byLanguage.ToFrozenDictionary(StringComparer.Ordinal)))
        {
            Passwords = passwords,
            Channels = channels,
            MaxLimitDuration = maxLimitDuration,
            Transactions = transactions,
            Structuring = structuring,
        };
    }

    /// <summary>The <c>channels</c> section: channel → currency (one the policy lists) → caps.</summary>
    private static FrozenDictionary<string, FrozenDictionary<CurrencyCode, ChannelCaps>> Channels(Node? section, Dictionary<CurrencyCode, AssetPolicy> assets)
    {
        var result = new Dictionary<string, FrozenDictionary<CurrencyCode, ChannelCaps>>(StringComparer.Ordinal);
        if (section is not { } cn || !cn.IsObject("an object of channel to currency to caps")) return result.ToFrozenDictionary(StringComparer.Ordinal);
        foreach (var (channel, byCurrency) in cn.Properties())
        {
            if (TextRules.CheckIdentifier(channel, 32, "a channel name") is { } err) { byCurrency.Error(err); continue; }
            if (!byCurrency.IsObject("an object of currency code to caps")) continue;
            var caps = new Dictionary<CurrencyCode, ChannelCaps>();
            foreach (var (code, node) in byCurrency.Properties())
            {
                if (!CurrencyCode.TryCreate(code, out var currency, out var cerr)) { node.Error(cerr); continue; }
                if (!assets.ContainsKey(currency)) { node.Error($"{code} is not one of the policy's assets"); continue; }
                if (!node.IsObject("an object of caps")) continue;
                node.AllowOnly("perTransaction", "daily", "monthly");
                var c = new ChannelCaps(node.Optional("perTransaction")?.PositiveDecimal(), node.Optional("daily")?.PositiveDecimal(), node.Optional("monthly")?.PositiveDecimal());
                if (c is { PerTransaction: null, Daily: null, Monthly: null }) node.Error("must hold at least one of perTransaction, daily, monthly");
                caps[currency] = c;
            }
            result[channel] = caps.ToFrozenDictionary();
        }
        return result.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>The names inside <c>{...}</c> in a template.</summary>
    private static IEnumerable<string> PlaceholdersIn(string template)
    {
        var i = 0;
        while ((i = template.IndexOf('{', i)) >= 0)
        {
            var close = template.IndexOf('}', i + 1);
            if (close < 0) yield break;
            yield return template[(i + 1)..close];
            i = close + 1;
        }
    }

    /// <summary>The <c>passwords</c> section; each field absent keeps <see cref="Passwords.PasswordPolicy.Default"/>'s value.</summary>
    private static Passwords.PasswordPolicy Passwords(Node? section)
    {
        var d = RiskEngine.Passwords.PasswordPolicy.Default;
        if (section is not { } pn || !pn.IsObject("an object")) return d;
        pn.AllowOnly("minLength", "require", "minScore", "rejectCommon", "rejectBirthDate", "rejectName", "maxAge");
        var require = d.Require;
        if (pn.Optional("require") is { } rn)
        {
            var classes = new List<Passwords.CharacterClass>();
            foreach (var item in rn.Items())
            {
                var c = item.Enum("letters", "digits", "symbols") switch
                {
                    "letters" => RiskEngine.Passwords.CharacterClass.Letters,
                    "digits" => RiskEngine.Passwords.CharacterClass.Digits,
                    "symbols" => RiskEngine.Passwords.CharacterClass.Symbols,
                    _ => (Passwords.CharacterClass?)null,
                };
                if (c is { } cc && !classes.Contains(cc)) classes.Add(cc);
            }
            require = classes;
        }
        var maxAge = pn.Optional("maxAge")?.Duration();
        if (maxAge is { } age && age < TimeSpan.FromDays(1)) pn.Child("maxAge").Error("must be at least 1d (it is advice to the user, not a session timeout)");
        return new RiskEngine.Passwords.PasswordPolicy(
            pn.Optional("minLength")?.Int(8, 128) ?? d.MinLength,
            require,
            pn.Optional("minScore")?.Int(0, 4) ?? d.MinScore,
            pn.Optional("rejectCommon")?.Bool() ?? d.RejectCommon,
            pn.Optional("rejectBirthDate")?.Bool() ?? d.RejectBirthDate,
            pn.Optional("rejectName")?.Bool() ?? d.RejectName,
            maxAge);
    }

    private sealed class Context(string source)
    {
        public string Source { get; } = source;
        public List<PolicyError> Errors { get; } = [];
    }

    /// <summary>A JSON value with its path, so every check can say where it failed.</summary>
    private readonly struct Node(JsonElement element, string path, Context ctx)
    {
        public void Error(string message) => ctx.Errors.Add(new PolicyError(ctx.Source, path, message));

        public Node Child(string name) =>
            new(element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var e) ? e : default, Join(path, name), ctx);

        private static string Join(string path, string name) =>
            name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_') ? $"{path}.{name}" : $"{path}['{name}']";

        public bool IsObject(string what)
        {
            if (element.ValueKind == JsonValueKind.Object) return true;
            Error($"must be {what}");
            return false;
        }

        public void AllowOnly(params string[] names)
        {
            foreach (var p in element.EnumerateObject())
            {
                if (Array.IndexOf(names, p.Name) < 0) new Node(p.Value, Join(path, p.Name), ctx).Error($"unknown field '{p.Name}' (expected one of: {string.Join(", ", names)})");
            }
        }

        public Node? Optional(string name) =>
            element.TryGetProperty(name, out var e) && e.ValueKind != JsonValueKind.Null ? new Node(e, Join(path, name), ctx) : null;

        public Node? Required(string name)
        {
            var n = Optional(name);
            if (n is null) ctx.Errors.Add(new PolicyError(ctx.Source, Join(path, name), "is required"));
            return n;
        }

        public List<(string Name, Node Node)> Properties()
        {
            var list = new List<(string, Node)>();
            foreach (var p in element.EnumerateObject()) list.Add((p.Name, new Node(p.Value, Join(path, p.Name), ctx)));
            return list;
        }

        public List<Node> Items()
        {
            if (element.ValueKind != JsonValueKind.Array) { Error("must be an array"); return []; }
            var list = new List<Node>();
            var i = 0;
            foreach (var e in element.EnumerateArray()) list.Add(new Node(e, $"{path}[{i++}]", ctx));
            return list;
        }

        public string? String()
        {
            if (element.ValueKind == JsonValueKind.String) return element.GetString();
            Error("must be a string");
            return null;
        }

        public string? Enum(params string[] allowed)
        {
            var s = String();
            if (s is null) return null;
            if (Array.IndexOf(allowed, s) >= 0) return s;
            Error($"'{s}' is not one of: {string.Join(", ", allowed)}");
            return null;
        }

        public Outcome? OutcomeValue()
        {
            var s = Enum("allow", "challenge", "deny", "freeze");
            return OutcomeNames.TryParse(s, out var o) ? o : null;
        }

        public decimal? PositiveDecimal()
        {
            if (element.ValueKind != JsonValueKind.Number || !element.TryGetDecimal(out var d)) { Error("must be a number"); return null; }
            if (d <= 0) { Error($"must be greater than 0, not {d.ToString(CultureInfo.InvariantCulture)}"); return null; }
            if (d > Events.EventBounds.MaxAmount) { Error($"must be at most {Events.EventBounds.MaxAmount.ToString(CultureInfo.InvariantCulture)}, not {d.ToString(CultureInfo.InvariantCulture)}"); return null; }
            return d;
        }

        public bool? Bool()
        {
            if (element.ValueKind is JsonValueKind.True or JsonValueKind.False) return element.GetBoolean();
            Error("must be true or false");
            return null;
        }

        public int? Int(int min, int max)
        {
            if (element.ValueKind != JsonValueKind.Number || !element.TryGetInt32(out var i)) { Error("must be a whole number"); return null; }
            if (i < min || i > max) { Error($"must be between {min} and {max}, not {i}"); return null; }
            return i;
        }

        public TimeSpan? Duration()
        {
            var s = String();
            if (s is null) return null;
            if (Policies.Duration.TryParse(s, out var d, out var err)) return d;
            Error($"'{s}' {err}");
            return null;
        }
    }
}

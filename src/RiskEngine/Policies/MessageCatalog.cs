using System.Collections.Frozen;
using System.Text;

namespace RiskEngine.Policies;

/// <summary>Message templates per language. Placeholders are <c>{name}</c>; unknown ones are left as written. Immutable, so thread-safe.</summary>
public sealed class MessageCatalog
{
    private readonly FrozenDictionary<string, FrozenDictionary<string, string>> _byLanguage;

    internal MessageCatalog(IReadOnlyList<string> languages, FrozenDictionary<string, FrozenDictionary<string, string>> byLanguage)
    {
        Languages = languages;
        _byLanguage = byLanguage;
        DefaultLanguage = languages.Contains("en") ? "en" : languages[0];
    }

    /// <summary>Languages in the order the policy lists them.</summary>
    public IReadOnlyList<string> Languages { get; }

    /// <summary>The language of decision reason messages: <c>en</c> when present, else the first.</summary>
    public string DefaultLanguage { get; }

    /// <summary>The template for <paramref name="key"/> in <paramref name="language"/>, or null.</summary>
    public string? Find(string language, string key) =>
        _byLanguage.TryGetValue(language, out var map) && map.TryGetValue(key, out var text) ? text : null;

    /// <summary>Renders <paramref name="key"/> in one language (falling back to the default language, then to <paramref name="fallback"/>).</summary>
    public string RenderOne(string language, string key, IReadOnlyDictionary<string, string> values, string fallback)
    {
        var template = Find(language, key) ?? Find(DefaultLanguage, key);
        return template is null ? fallback : Render(template, name => Lookup(language, name, values));
    }

    private string? Lookup(string language, string name, IReadOnlyDictionary<string, string> values)
    {
        // {case} is worded per language: the engine put one phrase per language it words beside the values.
        if (name == "case") return values.GetValueOrDefault("case:" + language) ?? values.GetValueOrDefault("case:en");
        if (!values.TryGetValue(name, out var value)) return null;
        // {reason} holds a reason code: the policy's words for it in the language, else the engine's own, else the
        // policy's default language, and only then the code itself.
        return name == "reason"
            ? Find(language, value) ?? BuiltInWording.Find(language, value) ?? Find(DefaultLanguage, value) ?? BuiltInWording.Find("en", value) ?? value
            : value;
    }

    /// <summary>
    /// Renders <paramref name="key"/> in every language; <c>{reason}</c> is itself looked up as a message key. The
    /// template is the policy's in that language, else the engine's own (<see cref="BuiltInWording"/>), else the
    /// policy's default language's, else the engine's English.
    /// </summary>
    public IReadOnlyDictionary<string, string> RenderAll(string key, IReadOnlyDictionary<string, string> values)
    {
        var result = new Dictionary<string, string>(Languages.Count, StringComparer.Ordinal);
        foreach (var language in Languages)
        {
            var template = Find(language, key) ?? BuiltInWording.Find(language, key) ?? Find(DefaultLanguage, key) ?? BuiltInWording.Find("en", key) ?? key;
            result[language] = Render(template, name => Lookup(language, name, values));
        }
        return result;
    }

    internal static string Render(string template, Func<string, string?> lookup)
    {
        var sb = new StringBuilder(template.Length + 32);
        var i = 0;
        while (i < template.Length)
        {
            var open = template.IndexOf('{', i);
            if (open < 0) { sb.Append(template, i, template.Length - i); break; }
            var close = template.IndexOf('}', open + 1);
            if (close < 0) { sb.Append(template, i, template.Length - i); break; }
            sb.Append(template, i, open - i);
            var name = template.Substring(open + 1, close - open - 1);
            sb.Append(lookup(name) ?? template.Substring(open, close - open + 1));
            i = close + 1;
        }
        return sb.ToString();
    }
}

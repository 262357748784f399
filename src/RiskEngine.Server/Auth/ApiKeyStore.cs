using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using RiskEngine.Security;

namespace RiskEngine.Server.Auth;

/// <summary>One API key as the keys file holds it: never the key itself, only its SHA-256.</summary>
internal sealed record ApiKey(string Name, IReadOnlyList<string> Roles, byte[] Sha256);

/// <summary>
/// The API keys (<c>--keys FILE</c>: a JSON array of <c>{"name","roles","sha256"}</c>, the hex SHA-256 of each key).
/// A presented key is hashed and compared with every entry in constant time. Without <c>--keys</c>, in Development,
/// one admin key is generated on first start, printed once to standard error, and only its hash kept in
/// <c>DATA/keys.json</c> (owner-only).
/// </summary>
internal sealed class ApiKeyStore(IReadOnlyList<ApiKey> keys)
{
    public const string DevelopmentFile = "keys.json";

    public IReadOnlyList<ApiKey> Keys { get; } = keys;

    /// <summary>The key whose hash matches <paramref name="presented"/>, or null. Every entry is compared, in constant time.</summary>
    public ApiKey? Find(string presented)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        ApiKey? found = null;
        foreach (var key in Keys)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, key.Sha256)) found ??= key;
        }
        return found;
    }

    /// <summary>Hex SHA-256 of a key, as the keys file holds it.</summary>
    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>Loads the keys; null after saying why on standard error (exit 2).</summary>
    public static ApiKeyStore? Load(string? path, string data, bool development, string name)
    {
        try
        {
            if (!string.IsNullOrEmpty(path)) return new ApiKeyStore(Parse(File.ReadAllBytes(path), path));
            var generated = Path.Combine(data, DevelopmentFile);
            // Only in Development: a key printed to a developer's terminal must not open a production server on the same folder.
            if (development && File.Exists(generated)) return new ApiKeyStore(Parse(File.ReadAllBytes(generated), generated));
            if (!development)
            {
                Console.Error.WriteLine($"{name}: --keys FILE is required (a JSON array of {{\"name\",\"roles\",\"sha256\"}}); only in Development is a key generated");
                return null;
            }
            var key = "rk_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            var json = JsonSerializer.Serialize(new[] { new { name = "admin", roles = new[] { Roles.Admin }, sha256 = Hash(key) } });
            OwnerOnly.CreateDirectory(data);
            OwnerOnly.WriteAllTextAtomicallyAsync(generated, json).GetAwaiter().GetResult();
            Console.Error.WriteLine($"{name}: generated an admin API key; it is shown this once, only its hash is kept in {generated}:");
            Console.Error.WriteLine(key);
            return new ApiKeyStore(Parse(Encoding.UTF8.GetBytes(json), generated));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or FormatException)
        {
            Console.Error.WriteLine($"{name}: API keys: {e.Message}");
            return null;
        }
    }

    /// <summary>Parses a keys file, naming the entry and field of any error.</summary>
    public static List<ApiKey> Parse(byte[] json, string file)
    {
        using var doc = JsonDocument.Parse(json);
        if (doc.RootElement.ValueKind != JsonValueKind.Array) throw new FormatException($"{file}: must be a JSON array of {{\"name\",\"roles\",\"sha256\"}}");
        var keys = new List<ApiKey>();
        var i = 0;
        foreach (var e in doc.RootElement.EnumerateArray())
        {
            var at = $"{file}: [{i++}]";
            if (e.ValueKind != JsonValueKind.Object) throw new FormatException($"{at}: must be an object");
            var keyName = e.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String && n.GetString() is { Length: > 0 } s ? s
                : throw new FormatException($"{at}.name: a non-empty string is required");
            if (!e.TryGetProperty("roles", out var r) || r.ValueKind != JsonValueKind.Array) throw new FormatException($"{at}.roles: an array of {string.Join(", ", Roles.All)} is required");
            var roles = new List<string>();
            foreach (var role in r.EnumerateArray())
            {
                var text = role.ValueKind == JsonValueKind.String ? role.GetString()! : "";
                if (!Roles.All.Contains(text)) throw new FormatException($"{at}.roles: '{text}' is not one of {string.Join(", ", Roles.All)}");
                roles.Add(text);
            }
            var hex = e.TryGetProperty("sha256", out var h) && h.ValueKind == JsonValueKind.String ? h.GetString()! : "";
            if (hex.Length != 64 || !hex.All(Uri.IsHexDigit)) throw new FormatException($"{at}.sha256: the hex SHA-256 of the key (64 hex digits) is required");
            if (keys.Any(k => k.Name == keyName)) throw new FormatException($"{at}.name: '{keyName}' is named twice (rate limits are per name)");
            keys.Add(new ApiKey(keyName, roles, Convert.FromHexString(hex)));
        }
        return keys;
    }
}

using System.Globalization;
using System.Text;
using RiskEngine.Domain;
using StackExchange.Redis;

namespace RiskEngine.Redis;

/// <summary>
/// Every Redis key RiskEngine uses, in one place (the state store and the stream worker both name keys through it).
/// Account ids, event ids, IPs, stream names and entry ids are embedded <see cref="Encode">percent-encoded</see>, so
/// an embedded value never contains <c>:</c>, <c>{</c>, <c>}</c> or a glob character: no id can produce another key's
/// name, and an account's hash tag is always exactly <c>{a:ENCODED-ACCOUNT}</c>.
/// </summary>
/// <remarks>
/// Layout (<c>P</c> = prefix, <c>A</c> = encoded account, <c>E</c> = encoded event id):
/// <list type="bullet">
/// <item><c>P:{a:A}:state</c> — the account's state (hash: <c>v</c> version, <c>s</c> JSON).</item>
/// <item><c>P:{a:A}:evt:E</c> — the decision record of event E (expires with the idempotency window).</item>
/// <item><c>P:{a:A}:pub:E</c> — marker: event E's records were published to an output stream.</item>
/// <item><c>P:ip:IP</c> — failed sign-ins from one IP (sorted set, scored by time).</item>
/// <item><c>P:frozen:REASON</c> — accounts frozen for a reason (sorted set, for cool-down timers).</item>
/// <item><c>P:{s:STREAM}:done:ID</c> / <c>P:{s:STREAM}:try:ID</c> — stream entry published / attempts to process it.</item>
/// <item><c>P:lease:NAME:N</c>, <c>P:workers:NAME</c> — partition leases and live workers of a stream.</item>
/// </list>
/// </remarks>
public sealed class RedisKeys
{
    /// <summary>The default prefix.</summary>
    public const string DefaultPrefix = "riskengine";

    /// <summary>Keys under <paramref name="prefix"/>: letters, digits, <c>-</c>, <c>_</c> and <c>.</c> only.</summary>
    public RedisKeys(string prefix = DefaultPrefix)
    {
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        if (!prefix.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            throw new ArgumentException($"the Redis key prefix may hold letters, digits, '-', '_' and '.' only, not '{prefix}'", nameof(prefix));
        Prefix = prefix;
    }

    /// <summary>The prefix of every key.</summary>
    public string Prefix { get; }

    /// <summary>The account's hash tag: every key of one account lands on one cluster slot.</summary>
    public string AccountTag(AccountId account) => $"{Prefix}:{{a:{Encode(account.Value)}}}";

    /// <summary>The account's state.</summary>
    public RedisKey State(AccountId account) => AccountTag(account) + ":state";

    /// <summary>The decision record of an event of the account.</summary>
    public RedisKey Decision(AccountId account, EventId eventId) => AccountTag(account) + ":evt:" + Encode(eventId.Value);

    /// <summary>The pattern of the account's decision records (for a scan).</summary>
    public string DecisionPattern(AccountId account) => AccountTag(account) + ":evt:*";

    /// <summary>Marker: the event's records were published to an output stream (the stream worker).</summary>
    public RedisKey Published(AccountId account, EventId eventId) => AccountTag(account) + ":pub:" + Encode(eventId.Value);

    /// <summary>Failed sign-ins from one IP.</summary>
    public RedisKey IpFailures(string ip) => $"{Prefix}:ip:{Encode(ip)}";

    /// <summary>Accounts frozen for <paramref name="reason"/>, scored by when.</summary>
    public RedisKey Frozen(string reason) => $"{Prefix}:frozen:{Encode(reason)}";

    /// <summary>Marker: a stream entry's records were published.</summary>
    public RedisKey EntryDone(string stream, RedisValue entryId) => $"{Prefix}:{{s:{Encode(stream)}}}:done:{Encode(entryId.ToString())}";

    /// <summary>How many times processing a stream entry was started.</summary>
    public RedisKey EntryAttempts(string stream, RedisValue entryId) => $"{Prefix}:{{s:{Encode(stream)}}}:try:{Encode(entryId.ToString())}";

    /// <summary>The lease of one partition of a stream input.</summary>
    public RedisKey Lease(string stream, int partition) => $"{Prefix}:lease:{Encode(stream)}:{partition.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>The live workers of a stream input (sorted set of heartbeats).</summary>
    public RedisKey Workers(string stream) => $"{Prefix}:workers:{Encode(stream)}";

    /// <summary>The pattern of every key under the prefix.</summary>
    public string AllPattern => Prefix + ":*";

    /// <summary>
    /// Percent-encodes <paramref name="value"/>: ASCII letters, digits, <c>-</c>, <c>.</c>, <c>_</c> and <c>~</c> stay as
    /// they are; every other character becomes <c>%XX</c> per UTF-8 byte (upper-case hex), and a lone UTF-16 surrogate
    /// (not encodable as UTF-8) becomes <c>%uXXXX</c>. Different values always give different encodings, and no encoding
    /// contains <c>:</c>, <c>{</c>, <c>}</c>, <c>*</c>, <c>?</c>, <c>[</c>, <c>]</c>, <c>\</c> or white space.
    /// </summary>
    public static string Encode(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var i = 0;
        while (i < value.Length && IsUnreserved(value[i])) i++;
        if (i == value.Length) return value; // the common case: nothing to escape
        var sb = new StringBuilder(value.Length + 16);
        sb.Append(value, 0, i);
        Span<byte> utf8 = stackalloc byte[4];
        while (i < value.Length)
        {
            var c = value[i];
            if (IsUnreserved(c))
            {
                sb.Append(c);
                i++;
            }
            else if (Rune.TryGetRuneAt(value, i, out var rune))
            {
                var n = rune.EncodeToUtf8(utf8);
                for (var b = 0; b < n; b++) sb.Append('%').Append(utf8[b].ToString("X2", CultureInfo.InvariantCulture));
                i += rune.Utf16SequenceLength;
            }
            else
            {
                sb.Append("%u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
                i++;
            }
        }
        return sb.ToString();
    }

    private static bool IsUnreserved(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~';
}

using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using RiskEngine.Decisions;
using RiskEngine.Domain;
using RiskEngine.Events;
using RiskEngine.Redis;
using RiskEngine.Tests.Worker;
using StackExchange.Redis;

namespace RiskEngine.Tests.Redis;

/// <summary>No event id or account id can make two different things share a Redis key.</summary>
[Collection("redis")]
public sealed class RedisKeyTests(RedisFixture redis)
{
    private static string Sample(string name) => Path.Combine(AppContext.BaseDirectory, "samples", name);

    private static string Tx(string id, string account, int second) => StreamProducer.Tx(id, account, second);

    [Fact]
    public async Task Ids_and_accounts_with_colons_braces_and_pub_decide_once_each_through_the_engine()
    {
        await using var provider = new ServiceCollection()
            .AddRiskEngineRedis(redis.Configuration, "k" + Guid.NewGuid().ToString("N")[..12])
            .AddRiskEngine(o => o.MaxFutureSkew = null)
            .BuildServiceProvider();
        var engine = provider.GetRequiredService<IRiskEngine>();
        // Account "g" event "h}:state" had the key of account "g}:evt:h"'s state; "{x}", "a{b" and "c}d" broke the hash tag.
        (string Id, string Account)[] events = [("h}:state", "g"), ("e1", "g}:evt:h"), ("e2", "g}:evt:h"), ("p", "{x}"), ("p:pub", "{x}"), ("q", "a{b"), ("q", "c}d"), ("q", "a{b}:"), ("e1", "g")];
        var at = new DateTimeOffset(2026, 11, 27, 10, 0, 0, TimeSpan.Zero);
        var i = 0;
        foreach (var (id, account) in events)
        {
            var d = (await engine.EvaluateAsync(new TransactionAttempt(EventId.Create(id), at.AddSeconds(i++), AccountId.Create(account), Money.Create(10m, "USD"), CountryCode.Create("US"), DeviceId.Create("d"))))
                .GetDecisionOrThrow();
            Assert.False(d.Duplicate, $"{account}/{id}");
            Assert.Equal(Outcome.Allow, d.Outcome);
        }
        // And each account's state holds its own transactions only.
        var store = provider.GetRequiredService<RiskEngine.State.IRiskStateStore>();
        foreach (var group in events.GroupBy(e => e.Account))
            Assert.Equal(group.Count(), (await store.LoadAccountAsync(AccountId.Create(group.Key))).State.Allowed.Count);
    }

    [Fact]
    [Trait("Category", "EndToEnd")]
    public async Task A_stream_worker_publishes_every_event_once_whatever_its_id_or_account()
    {
        var name = "in" + Guid.NewGuid().ToString("N")[..8];
        var output = "out" + Guid.NewGuid().ToString("N")[..8];
        // Y:pub then Y: Y's first decision came out as a duplicate; Z then Z:pub crashed the worker.
        string[] lines =
        [
            Tx("Y:pub", "k1", 1), Tx("Y", "k1", 2), Tx("Z", "k2", 3), Tx("Z:pub", "k2", 4), Tx("Z:pub:pub", "k2", 5),
            Tx("h}:state", "g", 6), Tx("e1", "g}:evt:h", 7), Tx("x", "{pub}", 8), Tx("x:pub", "{pub}", 9), Tx("x", "a{b}:c", 10),
        ];
        var db = redis.Connection.GetDatabase();
        foreach (var l in lines) await StreamPartitioner.PublishAsync(db, name, 1, (string)JsonNode.Parse(l)!["account"]!, l);

        var (code, log) = await WorkerProcess.RunAsync("--policy", Sample("policy.example.json"), "--store", "redis", "--redis", redis.Configuration,
            "--input", $"redis-stream:{name}", "--output", $"redis-stream:{output}", "--once", "--data", Path.GetTempPath());
        Assert.True(code == 0, log);
        var records = (await db.StreamRangeAsync(output)).Select(e => JsonNode.Parse((string)e["record"]!)!).ToList();
        Assert.All(records, r => Assert.Equal("decision", (string)r["type"]!));
        Assert.Equal(lines.Select(l => $"{JsonNode.Parse(l)!["account"]}/{JsonNode.Parse(l)!["id"]}"), records.Select(r => $"{r["account"]}/{r["event"]}"));
        Assert.DoesNotContain(records, r => r["duplicate"] is not null);
    }
}

public sealed class RedisKeyNamingTests
{
    [Fact]
    public void Encoding_is_injective_and_never_yields_a_separator_a_brace_or_a_glob_character()
    {
        // Every string of up to 4 characters over an alphabet of separators, braces, the escape character itself,
        // letters of "pub", a non-ASCII letter and both halves of a surrogate pair (alone and together).
        char[] alphabet = [':', '{', '}', '%', 'p', 'u', 'b', '*', ' ', 'é', '\uD83D', '\uDE00'];
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        var strings = new List<string> { "" };
        for (var length = 1; length <= 4; length++)
        {
            strings = strings.Where(s => s.Length == length - 1).SelectMany(s => alphabet.Select(c => s + c)).Concat(strings).ToList();
        }
        foreach (var s in strings.Distinct())
        {
            var e = RedisKeys.Encode(s);
            Assert.True(seen.TryAdd(e, s), $"'{s}' and '{seen.GetValueOrDefault(e)}' both encode to '{e}'");
            Assert.DoesNotContain(e, c => c is ':' or '{' or '}' or '*' or '?' or '[' or ']' or '\\' || char.IsWhiteSpace(c) || c > 0x7E);
        }
        Assert.Equal("acct-1.x_y~z", RedisKeys.Encode("acct-1.x_y~z")); // common ids stay readable
        Assert.Equal("a%3Ab%7Bc%7D%25", RedisKeys.Encode("a:b{c}%"));
        Assert.Equal("%C3%A9%F0%9F%98%80%uD83D", RedisKeys.Encode("é😀\uD83D"));
    }

    [Fact]
    public void An_accounts_keys_share_one_hash_tag_and_differ_from_every_other_accounts_keys()
    {
        var keys = new RedisKeys("p");
        var accounts = new[] { "u", "u}:evt:z", "{x}", "a{b", "c}d", "pub", "u:state" }.Select(AccountId.Create).ToArray();
        var ids = new[] { "z}:state", "Y", "Y:pub", "pub", "{", "}" }.Select(EventId.Create).ToArray();
        var all = new List<string>();
        foreach (var a in accounts)
        {
            var mine = new List<string> { keys.State(a)! };
            foreach (var id in ids) mine.AddRange([keys.Decision(a, id)!, keys.Published(a, id)!]);
            foreach (var k in mine)
            {
                var open = k.IndexOf('{', StringComparison.Ordinal);
                var close = k.IndexOf('}', open);
                Assert.Equal(keys.AccountTag(a), k[..(close + 1)]);
                Assert.Equal(1, k.Count(c => c == '{'));
                Assert.Equal(1, k.Count(c => c == '}'));
            }
            all.AddRange(mine);
        }
        Assert.Equal(all.Count, all.Distinct().Count());
    }

    [Theory]
    [InlineData("")]
    [InlineData("a:b")]
    [InlineData("a{b}")]
    [InlineData("a*")]
    [InlineData("a b")]
    public void A_prefix_that_could_overlap_another_or_break_a_hash_tag_is_refused(string prefix)
    {
        Assert.ThrowsAny<ArgumentException>(() => new RedisKeys(prefix));
    }
}

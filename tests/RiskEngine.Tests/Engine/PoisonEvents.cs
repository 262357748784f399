using System.Text.Json.Nodes;

namespace RiskEngine.Tests.Engine;

/// <summary>
/// The hardening issue's poison events, each between two valid events of one account, and the check every host must
/// pass on them: one record per line in order, the valid ones decided, the bad ones rejected and dead-lettered.
/// </summary>
internal static class PoisonEvents
{
    internal static string Tx(string id, string at, string amount, string account = "acct") =>
        $$"""{"type":"transaction","id":"{{id}}","at":"{{at}}","account":"{{account}}","amount":{{amount}},"currency":"USD","country":"US","device":"d"}""";

    /// <summary>The reproductions, each between two valid events of the same account.</summary>
    internal static readonly string[] Lines =
    [
        Tx("ok-1", "2026-11-27T10:00:00Z", "100"),
        Tx("bad-early", "0001-01-01T00:00:00Z", "100"),
        Tx("ok-2", "2026-11-27T10:01:00Z", "100"),
        Tx("bad-late", "9999-12-28T00:00:00Z", "100"),
        Tx("ok-3", "2026-11-27T10:02:00Z", "100"),
        Tx("bad-amount", "2026-11-27T10:03:00Z", "79228162514264337593543950335"),
        Tx("ok-4", "2026-11-27T10:04:00Z", "100"),
        Tx("bad-digits", "2026-11-27T10:05:00Z", "5000.0000000000000000000000000001"),
        Tx("ok-5", "2026-11-27T10:06:00Z", "100"),
        Tx("bad-account", "2026-11-27T10:07:00Z", "100", "acct\\u200B"),
        Tx("ok-6", "2026-11-27T10:08:00Z", "100"),
    ];

    internal static void AssertHandled(IReadOnlyList<JsonObject> records, IReadOnlyList<JsonObject> dead)
    {
        var mine = records.Where(r => (string?)r["type"] is "decision" or "rejected").ToList();
        Assert.Equal(Lines.Length, mine.Count);
        for (var i = 0; i < Lines.Length; i++)
        {
            var id = JsonNode.Parse(Lines[i])!["id"]!.GetValue<string>();
            Assert.Equal(id, (string?)mine[i]["event"]);
            Assert.Equal(id.StartsWith("ok-", StringComparison.Ordinal) ? "decision" : "rejected", (string?)mine[i]["type"]);
        }
        Assert.Equal(Lines.Count(l => l.Contains("\"bad-", StringComparison.Ordinal)), dead.Count);
    }
}

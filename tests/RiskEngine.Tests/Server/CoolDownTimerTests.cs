using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace RiskEngine.Tests.Server;

/// <summary>
/// Contract, third wave (correction): the HTTP server lifts a freeze whose cool-down has passed on its own clock,
/// within <c>CoolDownInterval</c>, not only at the account's next event; the <c>account.unfrozen</c> reaches the output.
/// </summary>
public sealed class CoolDownTimerTests() : ScratchFolder("riskengine-cooldown-")
{
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);

    private readonly FakeTimeProvider _clock = new(Now);
    private ServerFactory? _factory;

    protected override void Cleanup() => _factory?.Dispose();

    private List<JsonObject> Output() =>
        File.Exists(_factory!.Output) ? [.. File.ReadAllLines(_factory.Output).Select(l => JsonNode.Parse(l)!.AsObject())] : [];

    [Fact]
    public async Task A_freeze_whose_cool_down_passed_is_lifted_by_the_servers_timer_without_another_event()
    {
        // The example policy freezes a burst of more than 5 payments in 60 s (velocity.count) with a 24 h cool-down.
        _factory = new ServerFactory(P(""), new Dictionary<string, string> { ["RiskEngine:CoolDownInterval"] = "00:00:05" },
            s => s.AddSingleton<TimeProvider>(_clock));
        using var client = _factory.Client(ServerFactory.DecideKey);
        for (var i = 1; i <= 6; i++)
        {
            using var response = await client.PostAsync("/v1/events", new StringContent(
                $$"""{"type":"transaction","id":"c{{i}}","at":"{{Now.AddSeconds(i - 10):yyyy-MM-ddTHH:mm:ssZ}}","account":"acct-C","amount":1,"currency":"USD","country":"US","device":"d1"}""",
                Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        var frozen = Assert.Single(Output(), r => (string)r["type"]! == "account.frozen");
        Assert.Equal("velocity.count", (string)frozen["reason"]!);

        _clock.Advance(TimeSpan.FromHours(23)); // ticks of the timer before the cool-down ends lift nothing
        Assert.DoesNotContain(Output(), r => (string)r["type"]! == "account.unfrozen");

        _clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(5)); // past freeze.at + 24 h, and one interval
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30); // waits for the pump to commit, not for time to pass
        while (!Output().Any(r => (string)r["type"]! == "account.unfrozen") && DateTime.UtcNow < deadline) await Task.Delay(20);
        var unfrozen = Assert.Single(Output(), r => (string)r["type"]! == "account.unfrozen");
        Assert.Equal("acct-C", (string)unfrozen["account"]!);
        using var support = _factory.Client(ServerFactory.SupportKey);
        var status = JsonNode.Parse(await support.GetStringAsync("/v1/accounts/acct-C"))!;
        Assert.False((bool)status["frozen"]!);
    }
}

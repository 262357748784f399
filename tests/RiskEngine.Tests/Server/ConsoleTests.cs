using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using RiskEngine.Server.SupportConsole;

namespace RiskEngine.Tests.Server;

/// <summary>The support console's files and the account API it reads, in process (the browser test drives the real page).</summary>
public sealed class ConsoleTests() : ScratchFolder("riskengine-console-")
{
    private ServerFactory? _factory;

    private ServerFactory Start() => _factory = new ServerFactory(P(""), new Dictionary<string, string>());

    protected override void Cleanup() => _factory?.Dispose();

    [Theory]
    [InlineData("/console", "text/html", "<script src=\"/console/console.js\"")]
    [InlineData("/console/console.js", "text/javascript", "textContent")]
    [InlineData("/console/console.css", "text/css", "font-family")]
    public async Task The_console_page_its_script_and_style_sheet_are_served_without_a_key_under_a_strict_csp(string path, string mediaType, string content)
    {
        using var client = Start().Client(null);
        using var response = await client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(mediaType, response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("utf-8", response.Content.Headers.ContentType.CharSet);
        Assert.Equal(ConsoleEndpoints.ContentSecurityPolicy, Assert.Single(response.Headers.GetValues("Content-Security-Policy")));
        Assert.Contains("default-src 'none'", ConsoleEndpoints.ContentSecurityPolicy, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe", ConsoleEndpoints.ContentSecurityPolicy, StringComparison.Ordinal);
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        Assert.Contains(content, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/console/console.html")]
    [InlineData("/console/ConsoleEndpoints.cs")]
    [InlineData("/console/index.html")]
    [InlineData("/console/../appsettings.json")]
    [InlineData("/RiskEngine.Server.Console.console.js")]
    [InlineData("/console.js")]
    [InlineData("/riskengine-server.json")]
    public async Task Nothing_else_is_served_under_console_nor_as_a_static_file(string path)
    {
        using var client = Start().Client(null);
        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task The_page_inlines_no_script_or_style_and_every_label_has_both_languages()
    {
        using var client = Start().Client(null);
        var html = await client.GetStringAsync("/console");
        var js = await client.GetStringAsync("/console/console.js");
        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("style=", html, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"<[^>]*\son[a-z]+\s*=", html); // no inline event handlers
        Assert.DoesNotContain("innerHTML", js, StringComparison.Ordinal);
        // Every data-i18n key of the page is worded in English and in Simplified Chinese.
        foreach (var key in System.Text.RegularExpressions.Regex.Matches(html, "data-i18n=\"([^\"]+)\"").Select(m => m.Groups[1].Value).Distinct())
        {
            var pattern = $"(^|[{{ ,]){System.Text.RegularExpressions.Regex.Escape(key)}: \"";
            Assert.True(System.Text.RegularExpressions.Regex.Count(js, pattern, System.Text.RegularExpressions.RegexOptions.Multiline) == 2, $"the console words {key} in English and Simplified Chinese");
        }
    }

    [Fact]
    public async Task The_account_api_words_the_freeze_reason_in_each_language_and_names_the_rule_and_amount_of_the_case()
    {
        var factory = Start();
        using var decide = factory.Client(ServerFactory.DecideKey);
        var content = new StringContent(string.Join('\n', ConsoleBrowserTests.VelocityBurst("acct-V", DateTimeOffset.UtcNow)));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
        (await decide.PostAsync("/v1/events", content)).EnsureSuccessStatusCode();

        using var support = factory.Client(ServerFactory.SupportKey);
        var status = JsonNode.Parse(await support.GetStringAsync("/v1/accounts/acct-V"))!;
        Assert.True((bool)status["frozen"]!);
        Assert.Equal("velocity.count", (string)status["reason"]!);
        // The example policy's own words for the code, in each of its languages.
        Assert.Equal("an unusually high number of transactions in a short time", (string)status["reasonText"]!["en"]!);
        Assert.Equal("短时间内交易异常频繁", (string)status["reasonText"]!["zh-CN"]!);
        var @case = status["case"]!;
        Assert.Equal("transaction", (string)@case["type"]!);
        Assert.Equal("v6", (string)@case["event"]!);
        Assert.Equal(480.75m, (decimal)@case["amount"]!);
        Assert.Equal("USD", (string)@case["currency"]!);
        Assert.Equal("VelocityFreezeRule/burst", (string)@case["rule"]!);

        // A support hold: worded by the engine (the policy has no message for it), no rule.
        (await support.PostAsync("/v1/accounts/acct-W/freeze", new StringContent("""{"by":"agent-1","reason":"stolen phone"}""", System.Text.Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
        var held = JsonNode.Parse(await support.GetStringAsync("/v1/accounts/acct-W"))!;
        Assert.Equal("support.hold", (string)held["reason"]!);
        Assert.NotEqual("support.hold", (string)held["reasonText"]!["en"]!);
        Assert.NotEqual("support.hold", (string)held["reasonText"]!["zh-CN"]!);
        Assert.Null(held["case"]?["rule"]);

        // Not frozen: no reason, no words.
        (await support.PostAsync("/v1/accounts/acct-W/unfreeze", new StringContent("""{"by":"agent-1","reason":"found it"}""", System.Text.Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
        var active = JsonNode.Parse(await support.GetStringAsync("/v1/accounts/acct-W"))!;
        Assert.False((bool)active["frozen"]!);
        Assert.Null(active["reasonText"]);
    }
}

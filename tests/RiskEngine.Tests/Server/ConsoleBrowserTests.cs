using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;
using RiskEngine.Tests.Contract;
using RiskEngine.Tests.Worker;
using Xunit.Abstractions;

namespace RiskEngine.Tests.Server;

/// <summary>
/// The support console in a real browser: Debian's chromium, headless, driven by Selenium through chromedriver,
/// against the real server process on a loopback port. <c>./test.sh</c> installs chromium and chromium-driver.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed partial class ConsoleBrowserTests(ITestOutputHelper output) : ScratchFolder("riskengine-console-browser-")
{
    private const string Chromium = "/usr/bin/chromium";
    private const string ChromeDriverDirectory = "/usr/bin";
    private const string ChromeDriver = "chromedriver";
    private const string DecideKey = "browser-decide-key";
    private const string SupportKey = "browser-support-key";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20); // a deadline, not a wait: CI runs the whole suite on 2 cores beside it

    [GeneratedRegex(@"support console at (http://127\.0\.0\.1:\d+/console)")]
    private static partial Regex ConsoleUrl();

    /// <summary>Where the screenshots go: beside the test binaries (git-ignored), kept after the run.</summary>
    public static string ScreenshotFolder => Path.Combine(AppContext.BaseDirectory, "TestResults", "screenshots");

    /// <summary>
    /// Six payments in a minute on <paramref name="account"/>, ending just before <paramref name="now"/>: the example
    /// policy's velocity rule (<c>burst</c>: more than 5 in 60 s) freezes the account on the sixth, 480.75 USD (<c>v6</c>).
    /// </summary>
    public static IEnumerable<string> VelocityBurst(string account, DateTimeOffset now) =>
        Enumerable.Range(1, 6).Select(i => JsonSerializer.Serialize(new
        {
            type = "transaction",
            id = "v" + i.ToString(CultureInfo.InvariantCulture),
            at = RiskEngine.Pipeline.RecordWriter.FormatTime(now.AddSeconds(-60 + i * 5).AddTicks(-(now.Ticks % TimeSpan.TicksPerSecond))),
            account,
            amount = i == 6 ? 480.75m : 100m,
            currency = "USD",
            country = "US",
            device = "dev-V1",
        }));

    [Fact]
    public async Task An_agent_looks_up_a_frozen_account_sees_the_reason_and_amount_and_unfreezes_it_in_the_browser()
    {
        if (!File.Exists(Chromium) || !File.Exists(Path.Combine(ChromeDriverDirectory, ChromeDriver)))
        {
            Assert.Fail($"the browser test needs Debian's chromium ({Chromium}) and chromium-driver ({Path.Combine(ChromeDriverDirectory, ChromeDriver)}): " +
                "run the tests with ./test.sh, which installs them (or: apt-get install chromium chromium-driver)");
        }

        // The real server on a loopback port, with a decide key (the payment platform) and a support key (the agent).
        var keys = P("keys.json");
        await File.WriteAllTextAsync(keys, JsonSerializer.Serialize(new object[]
        {
            new { name = "platform", roles = new[] { "decide" }, sha256 = RiskEngine.Server.Auth.ApiKeyStore.Hash(DecideKey) },
            new { name = "support-desk", roles = new[] { "support" }, sha256 = RiskEngine.Server.Auth.ApiKeyStore.Hash(SupportKey) },
        }));
        using var server = WorkerProcess.StartServer("--urls", "http://127.0.0.1:0", "--data", P("data"), "--keys", keys,
            "--policy", Sample("policy.example.json"), "--output", P("out.jsonl"));
        Assert.True(await server.WaitUntilAsync(() => ConsoleUrl().IsMatch(server.Log), TimeSpan.FromSeconds(60)), server.Log);
        var console = new Uri(ConsoleUrl().Match(server.Log).Groups[1].Value); // the URL the server prints at start
        using var http = new HttpClient { BaseAddress = new Uri(console, "/") };

        // The payment platform's events freeze acct-V: the sixth payment in a minute, 480.75 USD.
        using (var events = new HttpRequestMessage(HttpMethod.Post, "/v1/events"))
        {
            events.Headers.Authorization = new AuthenticationHeaderValue("Bearer", DecideKey);
            events.Content = new StringContent(string.Join('\n', VelocityBurst("acct-V", DateTimeOffset.UtcNow)) + "\n");
            events.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
            using var decided = await http.SendAsync(events);
            var body = await decided.Content.ReadAsStringAsync();
            Assert.True(decided.IsSuccessStatusCode, body);
            Assert.Contains("\"type\":\"account.frozen\"", body, StringComparison.Ordinal);
        }

        using var browser = StartBrowser();
        try
        {
            var wait = new WebDriverWait(browser, Deadline);
            browser.Navigate().GoToUrl(console);
            wait.Until(d => d.FindElement(By.TagName("body")).GetAttribute("data-ready") == "true");
            Assert.Equal("RiskEngine support console", browser.Title);

            // The agent signs in with the support key and looks the account up.
            browser.FindElement(By.Id("key")).SendKeys(SupportKey);
            browser.FindElement(By.Id("agent")).SendKeys("agent-42");
            browser.FindElement(By.Id("account")).SendKeys("acct-V");
            browser.FindElement(By.Id("find")).Click();
            wait.Until(d => Text(d, "status") == "Frozen");
            Assert.Equal("acct-V", Text(browser, "accountId"));
            Assert.Equal("an unusually high number of transactions in a short time (velocity.count)", Text(browser, "reason"));
            Assert.Equal("480.75 USD", Text(browser, "caseAmount"));
            Assert.Equal("transaction v6", Text(browser, "caseWhat"));
            Assert.Equal("US", Text(browser, "caseCountry"));
            Assert.Contains("VelocityFreezeRule/burst", Text(browser, "caseRule"), StringComparison.Ordinal);
            Assert.Equal("yes", Text(browser, "selfService"));
            var timeline = browser.FindElements(By.CssSelector("#timeline tbody tr"));
            Assert.Equal(6, timeline.Count);
            Assert.Contains("velocity.count", timeline[0].Text, StringComparison.Ordinal); // newest first: the freeze
            Assert.True(browser.FindElement(By.Id("unfreeze")).Enabled);
            Assert.False(browser.FindElement(By.Id("hold")).Enabled); // already frozen
            Screenshot(browser, "console-frozen.png");

            // It unfreezes the account with a reason; the page shows it active.
            browser.FindElement(By.Id("actionReason")).SendKeys("called the customer back, payments were theirs");
            browser.FindElement(By.Id("unfreeze")).Click();
            wait.Until(d => Text(d, "status") == "Active" && Text(d, "message") == "Account unfrozen.");
            Assert.Equal("—", Text(browser, "reason"));
            Assert.False(browser.FindElement(By.Id("caseSection")).Displayed);
            Assert.False(browser.FindElement(By.Id("unfreeze")).Enabled);
            Assert.True(browser.FindElement(By.Id("hold")).Enabled);
            Assert.Contains("agent-42", browser.FindElements(By.CssSelector("#timeline tbody tr"))[0].Text, StringComparison.Ordinal);
            // The support log names the agent as typed and the API key that did it.
            var logged = Assert.Single(browser.FindElements(By.CssSelector("#supportLog tbody tr"))).FindElements(By.TagName("td")).Select(c => c.Text).ToArray();
            Assert.Equal(("agent-42", "support-desk", "Unfreeze", "called the customer back, payments were theirs"), (logged[1], logged[2], logged[3], logged[4]));
            Assert.Equal("Key", browser.FindElement(By.CssSelector("#supportLog th[data-i18n='key']")).Text);

            // 简体中文: the labels, the status and the messages are translated.
            browser.FindElement(By.CssSelector("#language option[value='zh-CN']")).Click();
            wait.Until(d => Text(d, "find") == "查询");
            Assert.Equal("正常", Text(browser, "status"));
            Assert.Equal("账户已解冻。", Text(browser, "message"));
            Assert.Equal("状态", browser.FindElement(By.CssSelector("dt[data-i18n='status']")).Text);
            Assert.Equal("密钥", browser.FindElement(By.CssSelector("#supportLog th[data-i18n='key']")).Text);
            Assert.Equal("zh-CN", browser.FindElement(By.TagName("html")).GetAttribute("lang"));
            Screenshot(browser, "console.png");
            // Nothing the page did was refused (a CSP violation or a failed request is a severe console entry).
            Assert.Empty(browser.Manage().Logs.GetLog(LogType.Browser).Where(l => l.Level == LogLevel.Severe).Select(l => l.Message));
        }
        catch (Exception e) when (e is WebDriverException or Xunit.Sdk.XunitException)
        {
            Screenshot(browser, "console-failure.png");
            throw new InvalidOperationException($"{e.Message}\n--- browser log:\n{BrowserLog(browser)}\n--- server log:\n{server.Log}", e);
        }

        // The server agrees: the account is not frozen, and the outbox (--output) has the unfrozen event with the note.
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/v1/accounts/acct-V"))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", SupportKey);
            using var status = await http.SendAsync(request);
            Assert.False((bool)JsonNode.Parse(await status.Content.ReadAsStringAsync())!["frozen"]!);
        }
        List<JsonObject> records = [];
        Assert.True(await server.WaitUntilAsync(() =>
        {
            records = File.Exists(P("out.jsonl")) ? ContractExampleTests.Lines(File.ReadAllText(P("out.jsonl"))) : [];
            return records.Any(r => (string)r["type"]! == "account.unfrozen");
        }, Deadline), string.Join('\n', records));
        var unfrozen = Assert.Single(records, r => (string)r["type"]! == "account.unfrozen");
        Assert.Equal("acct-V", (string)unfrozen["account"]!);
        Assert.Equal("agent-42", (string)unfrozen["by"]!);
        Assert.Equal("called the customer back, payments were theirs", (string)unfrozen["note"]!);
        Assert.Equal("velocity.count", (string)unfrozen["reason"]!);
        Assert.Equal(480.75m, (decimal)unfrozen["case"]!["amount"]!);
    }

    private static string Text(IWebDriver driver, string id) => driver.FindElement(By.Id(id)).Text;

    private static ChromeDriver StartBrowser()
    {
        var service = ChromeDriverService.CreateDefaultService(ChromeDriverDirectory, ChromeDriver);
        service.SuppressInitialDiagnosticInformation = true;
        service.HideCommandPromptWindow = true;
        var options = new ChromeOptions { BinaryLocation = Chromium };
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,1100",
            "--lang=en-US", "--no-first-run", "--disable-extensions", "--disable-background-networking");
        options.SetLoggingPreference(LogType.Browser, LogLevel.All);
        return new ChromeDriver(service, options, TimeSpan.FromSeconds(30));
    }

    private void Screenshot(ChromeDriver browser, string name)
    {
        try
        {
            Directory.CreateDirectory(ScreenshotFolder);
            var path = Path.Combine(ScreenshotFolder, name);
            browser.GetScreenshot().SaveAsFile(path);
            output.WriteLine($"screenshot: {path}");
        }
        catch (WebDriverException e)
        {
            output.WriteLine($"no screenshot {name}: {e.Message}");
        }
    }

    private static string BrowserLog(ChromeDriver browser)
    {
        try
        {
            return string.Join('\n', browser.Manage().Logs.GetLog(LogType.Browser).Select(l => $"{l.Level} {l.Message}"));
        }
        catch (WebDriverException e)
        {
            return e.Message;
        }
    }
}

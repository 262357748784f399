using RiskEngine.Tests.Contract;

namespace RiskEngine.Tests.Wallet;

/// <summary>
/// samples/events.wallet.jsonl under samples/policy.wallet.json gives samples/expected.wallet.jsonl (hand-checked:
/// a refunded payment frees its share of the daily cap, a second reversal is a duplicate, an unknown one is refused,
/// a report freezes for support only, a second report freezes nothing new, support lifts it).
/// </summary>
public sealed class WalletSampleTests
{
    private static string Sample(string name) => Path.Combine(AppContext.BaseDirectory, "samples", name);

    [Fact]
    public async Task Replay_of_the_wallet_sample_prints_the_expected_records()
    {
        var outFile = Path.GetTempFileName();
        try
        {
            var code = await RiskEngine.Cli.Program.Build()
                .Parse(["replay", "--policy", Sample("policy.wallet.json"), "--input", Sample("events.wallet.jsonl"), "--output", outFile])
                .InvokeAsync();
            Assert.Equal(0, code);
            ContractExampleTests.AssertMatches(ContractExampleTests.Lines(await File.ReadAllTextAsync(Sample("expected.wallet.jsonl"))),
                ContractExampleTests.Lines(await File.ReadAllTextAsync(outFile)));
        }
        finally
        {
            File.Delete(outFile);
        }
    }
}

using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using RiskEngine.Decisions;
using RiskEngine.Domain;
using RiskEngine.Events;
using RiskEngine.Rules;
using RiskEngine.State;

namespace RiskEngine.Benchmarks;

/// <summary>The pieces of a decision alone: the NRules step, the state store, policy compilation.</summary>
[MemoryDiagnoser]
public class ComponentBenchmarks
{
    private PolicyRuleSet _rules = null!;
    private TransactionAttempt _tx = null!;
    private InMemoryRiskStateStore _store = null!;
    private AccountId[] _accounts = null!;
    private Decision _decision = null!;
    private long _n;

    [GlobalSetup]
    public void Setup()
    {
        _rules = PolicyRuleSet.Compile(BenchmarkPolicies.Load(BenchmarkPolicies.Default()));
        _tx = new TransactionAttempt(EventId.Create("e"), DateTimeOffset.UnixEpoch, AccountId.Create("a"), Money.Create(10m, "USD"), CountryCode.Create("US"), DeviceId.Create("d"));
        _store = new InMemoryRiskStateStore();
        _accounts = Enumerable.Range(0, 10_000).Select(i => AccountId.Create($"a{i}")).ToArray();
        _decision = new Decision(EventId.Create("e"), _accounts[0], DateTimeOffset.UnixEpoch, Outcome.Allow, [], "v", []);
    }

    [Benchmark(Description = "NRules step: insert one transaction fact, fire, retract")]
    public int RulesOnly()
    {
        var asset = _rules.Policy.Assets[_tx.Amount.Currency];
        var fact = new TransactionFact
        {
            Attempt = _tx,
            Currency = "USD",
            CurrencySupported = true,
            CapsApply = true,
            Amount = 10m,
            PerTransactionCap = asset.PerTransaction,
            DailyUsed = 100m,
            DailyCap = asset.Daily,
            MonthlyUsed = 1000m,
            MonthlyCap = asset.Monthly,
            ChallengeAbove = asset.ChallengeAbove,
            VelocityCounts = [2],
            VelocityAmounts = [0m],
        };
        _rules.Fire(fact);
        return fact.Hits.Count;
    }

    [Benchmark(Description = "in-memory store: load (copy) + commit")]
    public CommitStatus StoreOnly()
    {
        var account = _accounts[_n++ % _accounts.Length];
        var snapshot = _store.LoadAccountAsync(account).AsTask().Result;
        snapshot.State.HasLoggedIn = true;
        return _store.CommitAsync(new AccountCommit(account, snapshot.Version, snapshot.State, null, null, default)).AsTask().Result;
    }

    [Benchmark(Description = "compile the default policy")]
    public PolicyRuleSet CompileDefault() => PolicyRuleSet.Compile(_rules.Policy);
}

/// <summary>Decision cost as the policy grows: 10, 100 and 1,000 velocity entries (and up to 249 region entries).</summary>
[MemoryDiagnoser]
public class PolicyScaleBenchmarks
{
    private IRiskEngine _engine = null!;
    private ServiceProvider _provider = null!;
    private long _n;

    [Params(10, 100, 1000)]
    public int Entries { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var policy = BenchmarkPolicies.Grown(Entries);
        policy["idempotencyWindow"] = "60s";
        _provider = new ServiceCollection().AddRiskEngine(o =>
        {
            o.PolicyJson = policy.ToJsonString();
            o.MaxFutureSkew = null;
        }).BuildServiceProvider();
        _engine = _provider.GetRequiredService<IRiskEngine>();
    }

    [GlobalCleanup]
    public void Cleanup() => _provider.Dispose();

    [Benchmark(Description = "transaction decision")]
    public async Task<Outcome> Decide()
    {
        var n = _n++;
        var tx = new TransactionAttempt(EventId.Create($"s{n}"), DateTimeOffset.UnixEpoch.AddSeconds(n), AccountId.Create($"a{n % 10_000}"),
            Money.Create(10m, "USD"), CountryCode.Create("US"), DeviceId.Create("d"));
        return (await _engine.EvaluateTransactionAsync(tx)).Decision!.Outcome;
    }
}

/// <summary>The account-state codec every store uses, alone: one busy account (a month of payments, devices, a login, TOTP, a support log).</summary>
[MemoryDiagnoser]
public class CodecBenchmarks
{
    private readonly System.Buffers.ArrayBufferWriter<byte> _buffer = new(4096);
    private AccountState _state = null!;
    private byte[] _encoded = null!;

    [GlobalSetup]
    public void Setup()
    {
        var t0 = new DateTimeOffset(2026, 11, 27, 10, 0, 0, TimeSpan.Zero);
        _state = new AccountState
        {
            HasLoggedIn = true,
            LastLogin = new LoginPlace(t0, 31.2304, -121.4737, "CN"),
            LatestEventAt = t0,
            Totp = new TotpState("CfDJ8-envelope-of-a-secret", Confirmed: true, LastAcceptedStep: 59_000_000, Failures: [t0]) { ConfirmedAt = t0.AddDays(-30) },
        };
        for (var i = 0; i < 40; i++) _state.Allowed.Add(new AmountEntry(t0.AddHours(-18 * i), i % 3 == 0 ? "USD" : "CNY", 12.5m + i, AmountEntry.KeyOf($"tx-{i}"), Channel: i % 2 == 0 ? "card" : null));
        for (var i = 0; i < 10; i++) _state.Attempts.Add(new AmountEntry(t0.AddMinutes(-i), "USD", 99.99m));
        _state.Allowed.Reverse();
        _state.Attempts.Reverse();
        _state.KnownDevices.AddRange(["dev-1", "dev-2", "web-3"]);
        _state.KnownCountries.AddRange(["US", "CN"]);
        _state.LoginFailures.AddRange([t0.AddMinutes(-3), t0.AddMinutes(-1)]);
        _state.SupportLog.Add(new SupportAction(t0.AddDays(-1), "agent-7", "totp.reset", "phone lost; identity checked by video call"));
        _encoded = AccountStateCodec.Encode(_state);
    }

    [Benchmark(Description = "codec: encode a busy account")]
    public int Encode()
    {
        _buffer.ResetWrittenCount();
        AccountStateCodec.Encode(_state, _buffer);
        return _buffer.WrittenCount;
    }

    [Benchmark(Description = "codec: decode a busy account")]
    public AccountState Decode() => AccountStateCodec.Decode(_encoded);
}

using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using RiskEngine.Domain;
using RiskEngine.Events;
using RiskEngine.Policies;
using RiskEngine.State;

namespace RiskEngine.Benchmarks;

/// <summary>
/// One decision through <see cref="IRiskEngine"/> with the in-memory store, against a hand-written evaluation of the
/// same transaction checks (the floor: no rules engine, no store, no idempotency).
/// </summary>
[MemoryDiagnoser]
public class DecisionBenchmarks
{
    private const int Accounts = 10_000;
    private static readonly DateTimeOffset Start = new(2026, 11, 27, 0, 0, 0, TimeSpan.Zero);
    private IRiskEngine _engine = null!;
    private IRiskEngine _freezing = null!;
    private ServiceProvider _freezingProvider = null!;
    private ServiceProvider _provider = null!;
    private RiskPolicy _policy = null!;
    private AccountId[] _accounts = null!;
    private EventId[] _ids = null!;
    private AccountState _state = null!;
    private long _n;

    [GlobalSetup]
    public void Setup()
    {
        var policy = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "policy.example.json")))!;
        policy["idempotencyWindow"] = "60s"; // keep the de-duplication table at a steady size during long runs
        _provider = new ServiceCollection().AddRiskEngine(o =>
        {
            o.PolicyJson = policy.ToJsonString();
            o.MaxFutureSkew = null;
        }).BuildServiceProvider();
        _engine = _provider.GetRequiredService<IRiskEngine>();
        var freezing = BenchmarkPolicies.Default();
        freezing["idempotencyWindow"] = "60s";
        freezing["velocity"] = new JsonArray(new JsonObject { ["id"] = "value", ["window"] = "60s", ["maxAmount"] = 1, ["currency"] = "USD", ["then"] = "freeze" });
        _freezingProvider = new ServiceCollection().AddRiskEngine(o =>
        {
            o.PolicyJson = freezing.ToJsonString();
            o.MaxFutureSkew = null;
        }).BuildServiceProvider();
        _freezing = _freezingProvider.GetRequiredService<IRiskEngine>();
        _policy = _engine.Policy;
        _accounts = Enumerable.Range(0, Accounts).Select(i => AccountId.Create($"acct-{i}")).ToArray();
        _ids = Enumerable.Range(0, 1 << 20).Select(i => EventId.Create($"ev-{i}")).ToArray();
        _state = new AccountState();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _provider.Dispose();
        _freezingProvider.Dispose();
    }

    private (AccountId, EventId, DateTimeOffset) Next()
    {
        var n = _n++;
        // A new event id each time (ids recycle after 2^20, long after the 60 s de-duplication window).
        return (_accounts[n % Accounts], EventId.Create(_ids[n & ((1 << 20) - 1)].Value + "-" + (n >> 20)), Start.AddMilliseconds(n * 10));
    }

    [Benchmark(Baseline = true, Description = "hand-written checks (floor)")]
    public bool HandWritten()
    {
        var (account, _, at) = Next();
        var asset = _policy.Assets[CurrencyCode.Create("USD")];
        decimal daily = 0;
        foreach (var a in _state.Allowed) if (a.At > at.AddDays(-1)) daily += a.Amount;
        var region = _policy.Regions.IsUnavailable(CountryCode.Create("US"));
        return account.Value.Length > 0 && 10m <= asset.PerTransaction && daily + 10m <= asset.Daily && !region;
    }

    [Benchmark(Description = "transaction, allow path")]
    public async Task<RiskEngine.Decisions.Outcome> TransactionAllow()
    {
        var (account, id, at) = Next();
        var tx = new TransactionAttempt(id, at, account, Money.Create(10m, "USD"), CountryCode.Create("US"), DeviceId.Create("dev-1"));
        return (await _engine.EvaluateTransactionAsync(tx)).Decision!.Outcome;
    }

    [Benchmark(Description = "transaction, deny path (region)")]
    public async Task<RiskEngine.Decisions.Outcome> TransactionDeny()
    {
        var (account, id, at) = Next();
        var tx = new TransactionAttempt(id, at, account, Money.Create(10m, "USD"), CountryCode.Create("KP"), DeviceId.Create("dev-1"));
        return (await _engine.EvaluateTransactionAsync(tx)).Decision!.Outcome;
    }

    [Benchmark(Description = "transaction, freeze path (velocity)")]
    public async Task<RiskEngine.Decisions.Outcome> TransactionFreeze()
    {
        var (_, id, at) = Next();
        // A fresh account each time, under a value limit that any attempt exceeds: every call freezes.
        var tx = new TransactionAttempt(id, at, AccountId.Create("f" + id.Value), Money.Create(10m, "USD"), CountryCode.Create("US"), DeviceId.Create("dev-1"));
        return (await _freezing.EvaluateTransactionAsync(tx)).Decision!.Outcome;
    }

    [Benchmark(Description = "login, known device")]
    public async Task<RiskEngine.Decisions.Outcome> Login()
    {
        var (account, id, at) = Next();
        var login = new LoginAttempt(id, at, account, true, DeviceId.Create("dev-1"), CountryCode.Create("US"));
        return (await _engine.EvaluateLoginAsync(login)).Decision!.Outcome;
    }

    [Benchmark(Description = "parse one event (JSON)")]
    public object? Parse() => EventParser.Parse("""{"type":"transaction","id":"e01","at":"2026-11-27T10:00:00Z","account":"acct-A","amount":100,"currency":"USD","country":"US","device":"dev-A1"}"""u8).Event;
}

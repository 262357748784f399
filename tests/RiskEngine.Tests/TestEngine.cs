using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using RiskEngine.Decisions;
using RiskEngine.Domain;
using RiskEngine.Events;
using RiskEngine.Policies;
using RiskEngine.State;
using RiskEngine.TwoFactor;
using Microsoft.AspNetCore.DataProtection;

namespace RiskEngine.Tests;

/// <summary>An engine on the example policy (optionally edited), a fake clock and an in-memory store.</summary>
internal sealed class TestEngine : IAsyncDisposable
{
    public static readonly DateTimeOffset T0 = new(2026, 11, 27, 10, 0, 0, TimeSpan.Zero);
    private readonly ServiceProvider _provider;
    private int _next;

    public TestEngine(Action<JsonObject>? editPolicy = null, IRiskStateStore? store = null, ISecretProtector? protector = null, Action<IServiceCollection>? services = null)
    {
        var policy = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "samples", "policy.example.json")))!.AsObject();
        editPolicy?.Invoke(policy);
        Time = new FakeTimeProvider(T0);
        var collection = new ServiceCollection()
            .AddSingleton<TimeProvider>(Time)
            .AddSingleton<IRiskEventSink>(Sink)
            // Real Data Protection crypto with an in-memory key ring: nothing written to the test machine's disk.
            .AddSingleton<ISecretProtector>(protector ?? new DataProtectionSecretProtector(new EphemeralDataProtectionProvider()));
        if (store is not null) collection.AddSingleton(store);
        services?.Invoke(collection);
        collection.AddRiskEngine(o => o.PolicyJson = policy.ToJsonString());
        _provider = collection.BuildServiceProvider();
        Engine = _provider.GetRequiredService<IRiskEngine>();
        Store = _provider.GetRequiredService<IRiskStateStore>();
        Policies = _provider.GetRequiredService<IPolicyProvider>();
        TwoFactor = _provider.GetRequiredService<ITwoFactorService>();
        Passwords = _provider.GetRequiredService<RiskEngine.Passwords.IPasswordChecker>();
    }

    public RiskEngine.Passwords.IPasswordChecker Passwords { get; }

    public ITwoFactorService TwoFactor { get; }

    public IPolicyProvider Policies { get; }

    public FakeTimeProvider Time { get; }
    public IRiskEngine Engine { get; }
    public IRiskStateStore Store { get; }
    public RecordingSink Sink { get; } = new();

    public EventId NextId() => EventId.Create($"ev-{Interlocked.Increment(ref _next)}");

    public TransactionAttempt Tx(string account, decimal amount, string currency = "USD", string country = "US", TimeSpan? after = null, bool totp = false) =>
        new(NextId(), T0 + (after ?? TimeSpan.Zero), AccountId.Create(account), Money.Create(amount, currency), CountryCode.Create(country), DeviceId.Create("dev-1"))
        {
            TotpVerified = totp,
        };

    public LoginAttempt Login(string account, bool ok, TimeSpan after, string device = "dev-1", string country = "US", GeoPoint? at = null, string? ip = null, bool totp = false) =>
        new(NextId(), T0 + after, AccountId.Create(account), ok, DeviceId.Create(device), CountryCode.Create(country))
        {
            Location = at,
            Ip = ip is null ? null : System.Net.IPAddress.Parse(ip),
            TotpVerified = totp,
        };

    /// <summary>Decides as a live engine would: the clock has reached the event's time.</summary>
    public async Task<Decision> Decide(RiskEvent e)
    {
        if (e.At > Time.GetUtcNow()) Time.SetUtcNow(e.At);
        return (await Engine.EvaluateAsync(e)).GetDecisionOrThrow();
    }

    public ValueTask DisposeAsync() => _provider.DisposeAsync();
}

internal sealed class RecordingSink : IRiskEventSink
{
    public List<AccountEvent> Events { get; } = [];

    public ValueTask PublishAsync(AccountEvent accountEvent, CancellationToken cancellationToken)
    {
        lock (Events) Events.Add(accountEvent);
        return ValueTask.CompletedTask;
    }
}

internal static class DecisionAssert
{
    public static void Is(Decision d, Outcome outcome, params string[] codes)
    {
        Assert.True(d.Outcome == outcome, $"expected {outcome}, got {d.Outcome} ({string.Join(", ", d.Reasons.Select(r => r.Code))})");
        foreach (var c in codes) Assert.True(d.HasReason(c), $"expected reason {c}, got {string.Join(", ", d.Reasons.Select(r => r.Code))}");
        if (codes.Length == 0 && outcome == Outcome.Allow) Assert.Empty(d.Reasons);
    }
}

using System.Reflection;
using RiskEngine.State;

namespace RiskEngine.Tests.State;

/// <summary>The binary state every store keeps: a faithful round trip, the JSON of earlier versions still read, bad bytes refused.</summary>
public sealed class AccountStateCodecTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 27, 10, 0, 0, TimeSpan.Zero);

    /// <summary>Every property set to something other than its default, offsets and fractions included.</summary>
    internal static AccountState Full()
    {
        var s = new AccountState
        {
            Freeze = new FreezeState("velocity.count", new DateTimeOffset(2026, 11, 27, 18, 0, 0, TimeSpan.FromHours(8)), "ev-9") { EventType = "transaction", Amount = 120.5m, Currency = "USD", Country = "US" },
            HasLoggedIn = true,
            LastLogin = new LoginPlace(T0.AddTicks(1234567), 31.2304, -121.4737, "CN"),
            LockedUntil = T0.AddMinutes(15),
            LatestEventAt = new DateTimeOffset(2026, 11, 27, 5, 30, 0, TimeSpan.FromMinutes(-330)),
            Totp = new TotpState("CfDJ8-envelope", Confirmed: true, LastAcceptedStep: 59_000_000, Failures: [T0, T0.AddSeconds(1)]) { Algorithm = "SHA256", Digits = 8, Period = 60, ConfirmedAt = T0.AddDays(-3), RecoveryHashes = ["ab12", "cd34"] },
        };
        s.Allowed.AddRange([new AmountEntry(T0.AddDays(-29), "USD", 1234.5678m), new AmountEntry(T0, "CNY", 0.01m, AmountEntry.KeyOf("tx-9"), Reversed: true, Channel: "card"), new AmountEntry(T0.AddTicks(1), "BTC", 123456789012345.12345678m)]);
        s.Attempts.AddRange([new AmountEntry(T0.AddSeconds(-5), "USD", -0m), new AmountEntry(T0, "USD", 79228162514264337593543950335m)]);
        s.Limits["USD"] = new ArrangedLimit(50_000m, T0, new DateTimeOffset(2026, 12, 27, 10, 0, 0, TimeSpan.FromHours(8)), 1234.56m);
        s.Limits["CNY"] = new ArrangedLimit(0.5m, T0.AddDays(-1), T0.AddDays(1));
        s.KnownDevices.AddRange(["dev-1", "设备-二", "Ã©", "é"]);
        s.KnownCountries.AddRange(["US", "CN"]);
        s.PaymentDevices.Add("web-3");
        s.PaymentCountries.Add("GB");
        s.LoginFailures.AddRange([T0.AddMinutes(-3), T0.AddMinutes(-1)]);
        s.Lockouts.Add(T0.AddHours(-2));
        s.StepUps.Add(T0.AddMinutes(-2));
        s.SupportLog.Add(new SupportAction(T0.AddDays(-1), "agent-7", "totp.reset", "phone lost; identity checked by video call"));
        s.SupportLog.Add(new SupportAction(T0.AddHours(-1), "agent-8", "unfreeze", "identity checked") { Key = "support-desk" });
        return s;
    }

    [Fact]
    public void Every_property_survives_a_round_trip()
    {
        var full = Full();
        foreach (var p in typeof(AccountState).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var value = p.GetValue(full);
            Assert.False(value is null || value.Equals(p.PropertyType.IsValueType ? Activator.CreateInstance(p.PropertyType) : null) || value is System.Collections.ICollection { Count: 0 },
                $"the sample leaves {p.Name} at its default: set it, and encode it in AccountStateCodec");
        }
        foreach (var p in typeof(SupportAction).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            Assert.True(full.SupportLog.Exists(a => p.GetValue(a) is { } v && !v.Equals(p.PropertyType.IsValueType ? Activator.CreateInstance(p.PropertyType) : null)),
                $"the sample leaves SupportAction.{p.Name} at its default in every entry: set it, and encode it in AccountStateCodec");
        }
        var decoded = AccountStateCodec.Decode(AccountStateCodec.Encode(full));
        Assert.Equal(Json(full), Json(decoded));
        Assert.Equal(full.SupportLog, decoded.SupportLog);
        Assert.Equal(full.Freeze!.At.Offset, decoded.Freeze!.At.Offset);
        Assert.Equal(["dev-1", "设备-二", "Ã©", "é"], decoded.KnownDevices); // equal bytes or chars never confuse two strings
        Assert.Equal(-0m, decoded.Attempts[0].Amount);
    }

    [Fact]
    public void A_support_log_round_trips_with_and_without_api_key_names()
    {
        foreach (var keys in new[] { new string?[] { null }, [null, null], ["support-desk"], [null, "support-desk", "ops-密钥"] })
        {
            var s = new AccountState();
            for (var i = 0; i < keys.Length; i++) s.SupportLog.Add(new SupportAction(T0.AddMinutes(i), "agent-" + i, "unfreeze", "r" + i) { Key = keys[i] });
            var decoded = AccountStateCodec.Decode(AccountStateCodec.Encode(s));
            Assert.Equal(s.SupportLog, decoded.SupportLog);
            Assert.Equal(keys, decoded.SupportLog.Select(a => a.Key));
            Assert.Equal(Json(s), Json(AccountStateCodec.Decode(StateJson.SerializeState(s))));
        }
    }

    [Fact]
    public void A_support_log_without_keys_encodes_as_before_and_an_earlier_encoding_still_decodes()
    {
        var s = new AccountState();
        s.SupportLog.Add(new SupportAction(T0, "agent-7", "totp.reset", "phone lost"));
        // Bytes written before keys were recorded: format 1, flags SupportLog (4096), six empty lists, one entry.
        byte[] earlier = [1, 0x80, 0x20, 0, 0, 0, 0, 0, 0, 1, .. Ticks(T0), 0, 7, .. "agent-7"u8, 10, .. "totp.reset"u8, 10, .. "phone lost"u8];
        Assert.Equal(earlier, AccountStateCodec.Encode(s)); // no key: not one byte more than before
        var decoded = AccountStateCodec.Decode(earlier);
        var entry = Assert.Single(decoded.SupportLog);
        Assert.Equal(new SupportAction(T0, "agent-7", "totp.reset", "phone lost"), entry);
        Assert.Null(entry.Key);

        // JSON of earlier versions, whose entries have no key.
        var json = """{"supportLog":[{"at":"2026-11-27T10:00:00+00:00","by":"agent-7","action":"totp.reset","reason":"phone lost"}]}"""u8;
        Assert.Null(Assert.Single(AccountStateCodec.Decode(json).SupportLog).Key);
    }

    [Fact]
    public void A_freeze_with_the_engine_s_clock_is_format_2_and_a_freeze_without_it_is_format_1_as_before()
    {
        var frozen = new AccountState { Freeze = new FreezeState("velocity.count", T0.AddMinutes(4), "e6") { EventType = "transaction", Amount = 1m, Currency = "USD", Country = "US" } };
        var before = AccountStateCodec.Encode(frozen);
        Assert.Equal(1, before[0]); // what earlier versions wrote, and can still read
        Assert.Null(AccountStateCodec.Decode(before).Freeze!.Clock);

        frozen.Freeze = frozen.Freeze with { Clock = new DateTimeOffset(2026, 11, 27, 18, 0, 0, TimeSpan.FromHours(8)) };
        var now = AccountStateCodec.Encode(frozen);
        Assert.Equal(2, now[0]); // an earlier version refuses it ("unknown format 2") instead of misreading it
        var decoded = AccountStateCodec.Decode(now);
        Assert.Equal(frozen.Freeze, decoded.Freeze);
        Assert.Equal(TimeSpan.FromHours(8), decoded.Freeze!.Clock!.Value.Offset);
        Assert.Equal(Json(frozen), Json(AccountStateCodec.Decode(StateJson.SerializeState(frozen))));

        // Format 1 never carries the clock: the same bytes marked format 1 are refused, not read without it.
        Assert.Equal("account state of format 1 has unknown fields", Assert.Throws<FormatException>(() => AccountStateCodec.Decode([1, .. now.AsSpan(1)])).Message);
        for (var n = 0; n < now.Length; n++) Assert.Throws<FormatException>(() => AccountStateCodec.Decode(now.AsSpan(0, n)));
    }

    /// <summary>A time as the codec writes it outside windows: UTC ticks as an unsigned varint.</summary>
    private static byte[] Ticks(DateTimeOffset t)
    {
        var bytes = new List<byte>();
        for (var v = (ulong)t.UtcTicks; ; v >>= 7)
        {
            if (v < 0x80) { bytes.Add((byte)v); break; }
            bytes.Add((byte)(v | 0x80));
        }
        return [.. bytes];
    }

    [Fact]
    public void An_empty_state_is_a_few_bytes_and_a_typical_one_a_few_dozen()
    {
        Assert.Equal(8, AccountStateCodec.Encode(new AccountState()).Length); // format, flags, six empty lists
        var typical = new AccountState { LatestEventAt = T0 };
        typical.Allowed.Add(new AmountEntry(T0, "USD", 25.99m));
        typical.Attempts.Add(new AmountEntry(T0, "USD", 25.99m));
        Assert.InRange(AccountStateCodec.Encode(typical).Length, 10, 60);
    }

    [Fact]
    public void The_json_that_earlier_versions_stored_is_still_read()
    {
        var full = Full();
        Assert.Equal(Json(full), Json(AccountStateCodec.Decode(StateJson.SerializeState(full))));
    }

    [Fact]
    public void Truncated_or_corrupted_bytes_are_refused_with_a_format_error()
    {
        var bytes = AccountStateCodec.Encode(Full());
        for (var n = 0; n < bytes.Length; n++) Assert.Throws<FormatException>(() => AccountStateCodec.Decode(bytes.AsSpan(0, n)));
        Assert.Throws<FormatException>(() => AccountStateCodec.Decode([.. bytes, 0]));
        Assert.Throws<FormatException>(() => AccountStateCodec.Decode([9, 0]));
    }

    private static string Json(AccountState s) => System.Text.Encoding.UTF8.GetString(StateJson.SerializeState(s));
}

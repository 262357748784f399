using System.Buffers;

namespace RiskEngine.State;

/// <summary>
/// The binary form of <see cref="AccountState"/> that every store keeps, in the binary encoding the stores share with
/// the SQLite package's rows: varints, times as UTC ticks (window entries as deltas in time order) with the offset kept
/// where it is ever shown, decimals as mantissa and scale. A few dozen bytes for a typical account and no JSON on the
/// hot path. <see cref="Decode"/> also reads format 1 and the JSON that earlier versions stored, so existing data needs
/// no migration. Thread-safe (stateless).
/// </summary>
public static class AccountStateCodec
{
    // The first byte: never '{' (0x7B), which means the JSON of earlier versions. Format 2 is format 1 with fields an
    // earlier build cannot read (a freeze's engine clock), so that build refuses the state ("unknown format 2") instead
    // of misreading it; a state without them is still written as format 1, byte for byte as before.
    private const byte Format = 1;
    private const byte Format2 = 2;

    [Flags]
    private enum Has : ushort
    {
        Freeze = 1,
        LoggedIn = 2,
        LastLogin = 4,
        LockedUntil = 8,
        Totp = 16,
        LatestEventAt = 32,
        Limits = 64,
        TotpConfirmed = 128,
        TotpConfirmedAt = 256,
        FreezeCase = 512,
        StepUps = 1024,
        RecoveryHashes = 2048,
        SupportLog = 4096,
        PaymentPlaces = 8192,
        SupportKeys = 16384, // each support log entry ends with its API key name ("": none); encodings before it have no key
        FreezeClock = 32768, // format 2 only: the freeze ends with the engine's clock when it froze the account
    }

    /// <summary>Encodes <paramref name="state"/>.</summary>
    public static byte[] Encode(AccountState state)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        Encode(state, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Encodes <paramref name="state"/> into <paramref name="output"/>.</summary>
    public static void Encode(AccountState state, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(output);
        var w = new CompactWriter(output);
        var has = (state.Freeze is not null ? Has.Freeze : 0) | (state.HasLoggedIn ? Has.LoggedIn : 0) | (state.LastLogin is not null ? Has.LastLogin : 0)
            | (state.LockedUntil is not null ? Has.LockedUntil : 0) | (state.Totp is not null ? Has.Totp : 0) | (state.LatestEventAt is not null ? Has.LatestEventAt : 0)
            | (state.Limits.Count > 0 ? Has.Limits : 0) | (state.Totp is { Confirmed: true } ? Has.TotpConfirmed : 0)
            | (state.Totp is { ConfirmedAt: not null } ? Has.TotpConfirmedAt : 0)
            | (state.Freeze is { EventType: not null } ? Has.FreezeCase : 0)
            | (state.StepUps.Count > 0 ? Has.StepUps : 0)
            | (state.Totp is { RecoveryHashes.Count: > 0 } ? Has.RecoveryHashes : 0)
            | (state.SupportLog.Count > 0 ? Has.SupportLog : 0)
            | (state.PaymentDevices.Count > 0 || state.PaymentCountries.Count > 0 ? Has.PaymentPlaces : 0)
            | (state.SupportLog.Exists(static a => a.Key is not null) ? Has.SupportKeys : 0)
            | (state.Freeze is { Clock: not null } ? Has.FreezeClock : 0);
        w.Byte((has & Has.FreezeClock) != 0 ? Format2 : Format);
        w.UVar((ulong)has);
        if (state.Freeze is { } f)
        {
            w.String(f.Reason);
            w.Time(f.At);
            w.String(f.Event);
            if (f.EventType is { } type)
            {
                w.String(type);
                w.Byte(f.Amount is null ? (byte)0 : (byte)1);
                if (f.Amount is { } amount) w.Decimal(amount);
                w.String(f.Currency ?? "");
                w.String(f.Country ?? "");
            }
            if (f.Clock is { } clock) w.Time(clock);
        }
        w.Amounts(state.Allowed);
        w.Amounts(state.Attempts);
        if (state.Limits.Count > 0)
        {
            w.UVar((ulong)state.Limits.Count);
            foreach (var (currency, limit) in state.Limits)
            {
                w.String(currency);
                w.Decimal(limit.Amount);
                w.Time(limit.From);
                w.Time(limit.Until);
                w.Decimal(limit.UsedBefore);
            }
        }
        w.Strings(state.KnownDevices);
        w.Strings(state.KnownCountries);
        if (state.LastLogin is { } l)
        {
            w.Time(l.At);
            w.Double(l.Latitude);
            w.Double(l.Longitude);
            w.String(l.Country);
        }
        w.Times(state.LoginFailures);
        if (state.LockedUntil is { } u) w.Time(u);
        w.Times(state.Lockouts);
        if (state.Totp is { } t)
        {
            w.String(t.ProtectedSecret);
            w.SVar(t.LastAcceptedStep);
            w.Times(t.Failures);
            w.String(t.Algorithm);
            w.UVar((ulong)t.Digits);
            w.UVar((ulong)t.Period);
            if (t.ConfirmedAt is { } confirmedAt) w.Time(confirmedAt);
            if (t.RecoveryHashes.Count > 0) w.Strings(t.RecoveryHashes);
        }
        if (state.LatestEventAt is { } latest) w.Time(latest);
        if (state.StepUps.Count > 0) w.Times(state.StepUps);
        if (state.PaymentDevices.Count > 0 || state.PaymentCountries.Count > 0)
        {
            w.Strings(state.PaymentDevices);
            w.Strings(state.PaymentCountries);
        }
        if (state.SupportLog.Count > 0)
        {
            w.UVar((ulong)state.SupportLog.Count);
            foreach (var a in state.SupportLog)
            {
                w.Time(a.At);
                w.String(a.By);
                w.String(a.Action);
                w.String(a.Reason);
                if ((has & Has.SupportKeys) != 0) w.String(a.Key ?? "");
            }
        }
    }

    /// <summary>Decodes what <see cref="Encode(AccountState)"/> wrote, or the JSON that earlier versions stored.</summary>
    public static AccountState Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty) throw new FormatException("account state is empty");
        if (bytes[0] == (byte)'{') return StateJson.DeserializeState(bytes);
        var s = new AccountState();
        DecodeInto(bytes, s);
        return s;
    }

    /// <summary>Decodes binary state into <paramref name="s"/>, which must be empty (new, or reset).</summary>
    internal static void DecodeInto(ReadOnlySpan<byte> bytes, AccountState s)
    {
        if (bytes.IsEmpty || bytes[0] is not (Format or Format2)) throw new FormatException($"account state has unknown format {(bytes.IsEmpty ? "(empty)" : bytes[0])}");
        var r = new CompactReader(bytes[1..], CompactErrors.AccountState);
        var flags = r.UVar();
        var known = bytes[0] == Format2 ? (ulong)ushort.MaxValue : (ulong)ushort.MaxValue & ~(ulong)Has.FreezeClock;
        if ((flags & ~known) != 0) throw new FormatException($"account state of format {bytes[0]} has unknown fields");
        var has = (Has)flags;
        s.HasLoggedIn = (has & Has.LoggedIn) != 0;
        if ((has & Has.Freeze) != 0)
        {
            s.Freeze = new FreezeState(r.SharedString(), r.Time(), r.SharedString());
            if ((has & Has.FreezeCase) != 0)
            {
                var type = r.SharedString();
                decimal? amount = r.Byte() switch { 0 => null, 1 => r.Decimal(), _ => throw new FormatException("account state has an invalid freeze case") };
                var currency = r.SharedString();
                var country = r.SharedString();
                s.Freeze = s.Freeze with { EventType = type, Amount = amount, Currency = currency.Length == 0 ? null : currency, Country = country.Length == 0 ? null : country };
            }
            if ((has & Has.FreezeClock) != 0) s.Freeze = s.Freeze with { Clock = r.Time() };
        }
        r.Amounts(s.Allowed);
        r.Amounts(s.Attempts);
        if ((has & Has.Limits) != 0)
        {
            for (var n = r.Count(); n > 0; n--) s.Limits[r.SharedString()] = new ArrangedLimit(r.Decimal(), r.Time(), r.Time(), r.Decimal());
        }
        r.Strings(s.KnownDevices);
        r.Strings(s.KnownCountries);
        if ((has & Has.LastLogin) != 0) s.LastLogin = new LoginPlace(r.Time(), r.Double(), r.Double(), r.SharedString());
        r.Times(s.LoginFailures);
        if ((has & Has.LockedUntil) != 0) s.LockedUntil = r.Time();
        r.Times(s.Lockouts);
        if ((has & Has.Totp) != 0)
        {
            var secret = r.SharedString();
            var step = r.SVar();
            var failures = new List<DateTimeOffset>();
            r.Times(failures);
            s.Totp = new TotpState(secret, (has & Has.TotpConfirmed) != 0, step, failures) { Algorithm = r.SharedString(), Digits = (int)r.UVar(), Period = (int)r.UVar() };
            if ((has & Has.TotpConfirmedAt) != 0) s.Totp = s.Totp with { ConfirmedAt = r.Time() };
            if ((has & Has.RecoveryHashes) != 0) r.Strings(s.Totp.RecoveryHashes);
        }
        if ((has & Has.LatestEventAt) != 0) s.LatestEventAt = r.Time();
        if ((has & Has.StepUps) != 0) r.Times(s.StepUps);
        if ((has & Has.PaymentPlaces) != 0)
        {
            r.Strings(s.PaymentDevices);
            r.Strings(s.PaymentCountries);
        }
        if ((has & Has.SupportLog) != 0)
        {
            var keys = (has & Has.SupportKeys) != 0;
            for (var n = r.Count(); n > 0; n--)
            {
                var action = new SupportAction(r.Time(), r.SharedString(), r.SharedString(), r.SharedString());
                if (keys && r.SharedString() is { Length: > 0 } key) action = action with { Key = key };
                s.SupportLog.Add(action);
            }
        }
        if (!r.End) throw new FormatException("account state has trailing bytes");
    }
}

/// <summary>The parts of <see cref="AccountStateCodec"/>'s encoding made of several primitives: times, and the lists of a state.</summary>
file static class StateParts
{
    /// <summary>A time: UTC ticks, then the offset in minutes.</summary>
    public static void Time(this CompactWriter w, DateTimeOffset t)
    {
        w.UVar((ulong)t.UtcTicks);
        w.SVar((long)t.Offset.TotalMinutes);
    }

    public static void Amounts(this CompactWriter w, List<AmountEntry> list)
    {
        w.UVar((ulong)list.Count);
        long previous = 0;
        foreach (var a in list)
        {
            w.SVar(a.At.UtcTicks - previous); // in time order: small deltas
            previous = a.At.UtcTicks;
            w.SVar((long)a.At.Offset.TotalMinutes);
            w.String(a.Currency);
            w.Decimal(a.Amount);
            w.UVar(a.EventKey);
            w.Byte(a.Reversed ? (byte)1 : (byte)0);
            w.String(a.Channel ?? "");
        }
    }

    public static void Times(this CompactWriter w, List<DateTimeOffset> list)
    {
        w.UVar((ulong)list.Count);
        long previous = 0;
        foreach (var t in list)
        {
            w.SVar(t.UtcTicks - previous);
            previous = t.UtcTicks;
            w.SVar((long)t.Offset.TotalMinutes);
        }
    }

    public static void Strings(this CompactWriter w, List<string> list)
    {
        w.UVar((ulong)list.Count);
        foreach (var s in list) w.String(s);
    }

    public static DateTimeOffset Time(this ref CompactReader r) => At((long)r.UVar(), r.SVar());

    public static void Amounts(this ref CompactReader r, List<AmountEntry> list)
    {
        var n = r.Count();
        list.Capacity = Math.Max(list.Capacity, n);
        long ticks = 0;
        for (var i = 0; i < n; i++)
        {
            ticks += r.SVar();
            var at = At(ticks, r.SVar());
            var currency = r.SharedString();
            var amount = r.Decimal();
            var key = r.UVar();
            var flags = r.Byte();
            if (flags > 1) throw new FormatException("account state has an invalid entry flag");
            var channel = r.SharedString();
            list.Add(new AmountEntry(at, currency, amount, key, flags == 1, channel.Length == 0 ? null : channel));
        }
    }

    public static void Times(this ref CompactReader r, List<DateTimeOffset> list)
    {
        var n = r.Count();
        list.Capacity = Math.Max(list.Capacity, n);
        long ticks = 0;
        for (var i = 0; i < n; i++)
        {
            ticks += r.SVar();
            list.Add(At(ticks, r.SVar()));
        }
    }

    public static void Strings(this ref CompactReader r, List<string> list)
    {
        var n = r.Count();
        list.Capacity = Math.Max(list.Capacity, n);
        for (var i = 0; i < n; i++) list.Add(r.SharedString());
    }

    private static DateTimeOffset At(long utcTicks, long offsetMinutes)
    {
        if (utcTicks < DateTimeOffset.MinValue.UtcTicks || utcTicks > DateTimeOffset.MaxValue.UtcTicks || Math.Abs(offsetMinutes) > 14 * 60)
            throw new FormatException("account state has an invalid time");
        var offset = TimeSpan.FromMinutes(offsetMinutes);
        return new DateTimeOffset(new DateTime(utcTicks + offset.Ticks, DateTimeKind.Unspecified), offset);
    }
}

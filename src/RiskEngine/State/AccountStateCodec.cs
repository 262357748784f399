using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace RiskEngine.State;

/// <summary>
/// The binary form of <see cref="AccountState"/> that every store keeps: varints, times as UTC ticks (window entries
/// as deltas in time order) with the offset kept where it is ever shown, decimals as mantissa and scale. A few dozen
/// bytes for a typical account and no JSON on the hot path. <see cref="Decode"/> also reads the JSON that earlier
/// versions stored, so existing data needs no migration. Thread-safe (stateless).
/// </summary>
public static class AccountStateCodec
{
    private const byte Format = 1; // never '{' (0x7B): that first byte means the JSON of earlier versions

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
        var w = new Writer(output);
        var has = (state.Freeze is not null ? Has.Freeze : 0) | (state.HasLoggedIn ? Has.LoggedIn : 0) | (state.LastLogin is not null ? Has.LastLogin : 0)
            | (state.LockedUntil is not null ? Has.LockedUntil : 0) | (state.Totp is not null ? Has.Totp : 0) | (state.LatestEventAt is not null ? Has.LatestEventAt : 0)
            | (state.Limits.Count > 0 ? Has.Limits : 0) | (state.Totp is { Confirmed: true } ? Has.TotpConfirmed : 0)
            | (state.Totp is { ConfirmedAt: not null } ? Has.TotpConfirmedAt : 0)
            | (state.Freeze is { EventType: not null } ? Has.FreezeCase : 0)
            | (state.StepUps.Count > 0 ? Has.StepUps : 0)
            | (state.Totp is { RecoveryHashes.Count: > 0 } ? Has.RecoveryHashes : 0)
            | (state.SupportLog.Count > 0 ? Has.SupportLog : 0)
            | (state.PaymentDevices.Count > 0 || state.PaymentCountries.Count > 0 ? Has.PaymentPlaces : 0)
            | (state.SupportLog.Exists(static a => a.Key is not null) ? Has.SupportKeys : 0);
        w.Byte(Format);
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
            w.Var(t.LastAcceptedStep);
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
        if (bytes.IsEmpty || bytes[0] != Format) throw new FormatException($"account state has unknown format {(bytes.IsEmpty ? "(empty)" : bytes[0])}");
        var r = new Reader(bytes[1..]);
        var has = (Has)r.UVar();
        s.HasLoggedIn = (has & Has.LoggedIn) != 0;
        if ((has & Has.Freeze) != 0)
        {
            s.Freeze = new FreezeState(r.String(), r.Time(), r.String());
            if ((has & Has.FreezeCase) != 0)
            {
                var type = r.String();
                decimal? amount = r.Byte() switch { 0 => null, 1 => r.Decimal(), _ => throw new FormatException("account state has an invalid freeze case") };
                var currency = r.String();
                var country = r.String();
                s.Freeze = s.Freeze with { EventType = type, Amount = amount, Currency = currency.Length == 0 ? null : currency, Country = country.Length == 0 ? null : country };
            }
        }
        r.Amounts(s.Allowed);
        r.Amounts(s.Attempts);
        if ((has & Has.Limits) != 0)
        {
            for (var n = r.Count(); n > 0; n--) s.Limits[r.String()] = new ArrangedLimit(r.Decimal(), r.Time(), r.Time(), r.Decimal());
        }
        r.Strings(s.KnownDevices);
        r.Strings(s.KnownCountries);
        if ((has & Has.LastLogin) != 0) s.LastLogin = new LoginPlace(r.Time(), r.Double(), r.Double(), r.String());
        r.Times(s.LoginFailures);
        if ((has & Has.LockedUntil) != 0) s.LockedUntil = r.Time();
        r.Times(s.Lockouts);
        if ((has & Has.Totp) != 0)
        {
            var secret = r.String();
            var step = r.Var();
            var failures = new List<DateTimeOffset>();
            r.Times(failures);
            s.Totp = new TotpState(secret, (has & Has.TotpConfirmed) != 0, step, failures) { Algorithm = r.String(), Digits = (int)r.UVar(), Period = (int)r.UVar() };
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
                var action = new SupportAction(r.Time(), r.String(), r.String(), r.String());
                if (keys && r.String() is { Length: > 0 } key) action = action with { Key = key };
                s.SupportLog.Add(action);
            }
        }
        if (!r.AtEnd) throw new FormatException("account state has trailing bytes");
    }

    private ref struct Writer(IBufferWriter<byte> output)
    {
        public readonly void Byte(byte b)
        {
            output.GetSpan(1)[0] = b;
            output.Advance(1);
        }

        public readonly void UVar(ulong v)
        {
            var span = output.GetSpan(10);
            var i = 0;
            while (v >= 0x80)
            {
                span[i++] = (byte)(v | 0x80);
                v >>= 7;
            }
            span[i++] = (byte)v;
            output.Advance(i);
        }

        public readonly void Var(long v) => UVar((ulong)((v << 1) ^ (v >> 63))); // zig-zag: small negatives stay short

        public readonly void String(string s)
        {
            var n = Encoding.UTF8.GetByteCount(s);
            UVar((ulong)n);
            Encoding.UTF8.GetBytes(s, output.GetSpan(n));
            output.Advance(n);
        }

        public readonly void Double(double d)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(output.GetSpan(8), d);
            output.Advance(8);
        }

        public readonly void Decimal(decimal d)
        {
            Span<int> bits = stackalloc int[4];
            System.Decimal.GetBits(d, bits);
            UVar((ulong)(uint)bits[3] >> 16); // scale in bits 16..23, sign in bit 31
            UVar((uint)bits[0] | ((ulong)(uint)bits[1] << 32));
            UVar((uint)bits[2]);
        }

        public readonly void Time(DateTimeOffset t)
        {
            UVar((ulong)t.UtcTicks);
            Var((long)t.Offset.TotalMinutes);
        }

        public readonly void Amounts(List<AmountEntry> list)
        {
            UVar((ulong)list.Count);
            long previous = 0;
            foreach (var a in list)
            {
                Var(a.At.UtcTicks - previous); // in time order: small deltas
                previous = a.At.UtcTicks;
                Var((long)a.At.Offset.TotalMinutes);
                String(a.Currency);
                Decimal(a.Amount);
                UVar(a.EventKey);
                Byte(a.Reversed ? (byte)1 : (byte)0);
                String(a.Channel ?? "");
            }
        }

        public readonly void Times(List<DateTimeOffset> list)
        {
            UVar((ulong)list.Count);
            long previous = 0;
            foreach (var t in list)
            {
                Var(t.UtcTicks - previous);
                previous = t.UtcTicks;
                Var((long)t.Offset.TotalMinutes);
            }
        }

        public readonly void Strings(List<string> list)
        {
            UVar((ulong)list.Count);
            foreach (var s in list) String(s);
        }
    }

    private ref struct Reader(ReadOnlySpan<byte> bytes)
    {
        private readonly ReadOnlySpan<byte> _bytes = bytes;
        private int _at;

        public readonly bool AtEnd => _at == _bytes.Length;

        public ulong UVar()
        {
            ulong v = 0;
            for (var shift = 0; shift < 70; shift += 7)
            {
                if (_at >= _bytes.Length) throw new FormatException("account state is truncated");
                var b = _bytes[_at++];
                v |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80) return v;
            }
            throw new FormatException("account state has an overlong number");
        }

        public long Var()
        {
            var v = UVar();
            return (long)(v >> 1) ^ -(long)(v & 1);
        }

        public int Count()
        {
            var n = UVar();
            if (n > (ulong)(_bytes.Length - _at)) throw new FormatException("account state has an impossible count");
            return (int)n;
        }

        public string String()
        {
            var n = Count();
            var s = SharedStrings.Get(_bytes.Slice(_at, n));
            _at += n;
            return s;
        }

        public byte Byte()
        {
            if (_at >= _bytes.Length) throw new FormatException("account state is truncated");
            return _bytes[_at++];
        }

        public double Double()
        {
            if (_bytes.Length - _at < 8) throw new FormatException("account state is truncated");
            var d = BinaryPrimitives.ReadDoubleLittleEndian(_bytes[_at..]);
            _at += 8;
            return d;
        }

        public decimal Decimal()
        {
            var flags = UVar();
            var low = UVar();
            var high = UVar();
            var scale = (byte)(flags & 0xFF);
            if (scale > 28 || high > uint.MaxValue) throw new FormatException("account state has an invalid amount");
            return new decimal((int)(uint)low, (int)(uint)(low >> 32), (int)(uint)high, (flags & 0x8000) != 0, scale);
        }

        public DateTimeOffset Time() => At((long)UVar(), Var());

        public void Amounts(List<AmountEntry> list)
        {
            var n = Count();
            list.Capacity = Math.Max(list.Capacity, n);
            long ticks = 0;
            for (var i = 0; i < n; i++)
            {
                ticks += Var();
                var at = At(ticks, Var());
                var currency = String();
                var amount = Decimal();
                var key = UVar();
                var flags = Byte();
                if (flags > 1) throw new FormatException("account state has an invalid entry flag");
                var channel = String();
                list.Add(new AmountEntry(at, currency, amount, key, flags == 1, channel.Length == 0 ? null : channel));
            }
        }

        public void Times(List<DateTimeOffset> list)
        {
            var n = Count();
            list.Capacity = Math.Max(list.Capacity, n);
            long ticks = 0;
            for (var i = 0; i < n; i++)
            {
                ticks += Var();
                list.Add(At(ticks, Var()));
            }
        }

        public void Strings(List<string> list)
        {
            var n = Count();
            list.Capacity = Math.Max(list.Capacity, n);
            for (var i = 0; i < n; i++) list.Add(String());
        }

        private static DateTimeOffset At(long utcTicks, long offsetMinutes)
        {
            if (utcTicks < DateTimeOffset.MinValue.UtcTicks || utcTicks > DateTimeOffset.MaxValue.UtcTicks || Math.Abs(offsetMinutes) > 14 * 60)
                throw new FormatException("account state has an invalid time");
            var offset = TimeSpan.FromMinutes(offsetMinutes);
            return new DateTimeOffset(new DateTime(utcTicks + offset.Ticks, DateTimeKind.Unspecified), offset);
        }
    }

    /// <summary>
    /// Short strings decoded again and again (currencies, countries, reason codes, devices) come from a small shared
    /// table instead of a new string each time a state is read.
    /// </summary>
    private static class SharedStrings
    {
        private const int Slots = 4096;
        private static readonly string?[] Table = new string?[Slots];

        public static string Get(ReadOnlySpan<byte> utf8)
        {
            if (utf8.IsEmpty) return "";
            if (utf8.Length > 24) return Encoding.UTF8.GetString(utf8);
            var slot = (int)(System.IO.Hashing.XxHash3.HashToUInt64(utf8) % Slots);
            var cached = Volatile.Read(ref Table[slot]);
            if (cached is not null && Matches(cached, utf8)) return cached;
            var s = Encoding.UTF8.GetString(utf8);
            Volatile.Write(ref Table[slot], s);
            return s;
        }

        private static bool Matches(string s, ReadOnlySpan<byte> utf8)
        {
            if (s.Length == utf8.Length)
            {
                var i = 0;
                for (; i < s.Length && s[i] < 0x80; i++) if (s[i] != utf8[i]) return false; // ASCII: byte for char
                if (i == s.Length) return true;
            }
            return Encoding.UTF8.GetByteCount(s) == utf8.Length && Encoding.UTF8.GetBytes(s).AsSpan().SequenceEqual(utf8);
        }
    }
}

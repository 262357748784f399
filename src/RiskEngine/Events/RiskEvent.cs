using System.Globalization;
using System.Net;
using RiskEngine.Domain;

namespace RiskEngine.Events;

/// <summary>An input event: something an account did or had done to it. All fields are validated value types.</summary>
/// <param name="Id">Unique per producer; the idempotency key.</param>
/// <param name="At">When it happened; the decision time.</param>
/// <param name="Account">The account concerned.</param>
public abstract record RiskEvent(EventId Id, DateTimeOffset At, AccountId Account)
{
    /// <summary>
    /// The name of the API key that authenticated the server request that carried this event (never the key itself):
    /// the HTTP server stamps it on every event it takes, and support actions record it in the account's support log.
    /// Not part of the wire contract: the parser never sets it (a line from a file or stream has none), nor its
    /// canonical form, so a retry under another key is still a re-delivery.
    /// </summary>
    public string? Key { get; init; }

    /// <summary>
    /// A hash of the canonical payload (<see cref="Canonical"/>), used to tell a re-delivery (same id, same payload)
    /// from a conflicting event that reuses an id. Field order and JSON formatting do not matter; values do. Short,
    /// because every decided event keeps one for the idempotency window.
    /// </summary>
    public string Fingerprint()
    {
        // XXH128 over the canonical text: fast, and 128 bits make an accidental collision between a re-delivery and
        // a conflicting event impractical. Not a MAC: ids are not secrets, and producers are trusted to be themselves.
        // The built-in events stream their fields into the hash; other subclasses are hashed through Canonical().
        var hash = CanonicalHash.Rent();
        if (!TryWrite(hash)) hash.Field(Canonical());
        return hash.Finish();
    }

    /// <summary>
    /// The payload in a canonical text form: every field that defines the event, in a fixed order, each written as
    /// <c>LENGTH:VALUE;</c> (<c>-;</c> when absent), so no two payloads share a text however their values are split.
    /// </summary>
    public abstract string Canonical();

    /// <summary>Writes the event's canonical fields; false for an event type that defines only <see cref="Canonical"/>.</summary>
    private protected virtual bool TryWrite(CanonicalSink sink) => false;

    /// <summary>The canonical text of a built-in event.</summary>
    private protected string CanonicalText()
    {
        var text = new CanonicalText();
        TryWrite(text);
        return text.ToString();
    }

    /// <summary>The fields every event has: type, id, time, account.</summary>
    private protected void WriteCommon(CanonicalSink sink, string type)
    {
        sink.Field(type);
        sink.Field(Id.Value);
        sink.Field(At.UtcTicks);
        sink.Field(Account.Value);
    }
}

/// <summary>A payment or transfer attempt.</summary>
public sealed record TransactionAttempt(
    EventId Id,
    DateTimeOffset At,
    AccountId Account,
    Money Amount,
    CountryCode Origin,
    DeviceId Device) : RiskEvent(Id, At, Account)
{
    /// <summary>The account's country of residence, when known.</summary>
    public CountryCode? Residence { get; init; }

    /// <summary>The counterparty's country, when known.</summary>
    public CountryCode? Counterparty { get; init; }

    /// <summary>The request's IP address, when known, held in canonical form (see <see cref="CanonicalIp"/>).</summary>
    public IPAddress? Ip { get; init => field = CanonicalIp.Of(value); }

    /// <summary>True when the caller verified a TOTP code for this attempt through RiskEngine.</summary>
    public bool TotpVerified { get; init; }

    /// <summary>The payment channel (<c>card</c>, <c>bank</c>, <c>wallet</c>, …), when the caller names one: the policy's <c>channels</c> caps apply to it.</summary>
    public string? Channel { get; init; }

    /// <inheritdoc />
    public override string Canonical() => CanonicalText();

    private protected override bool TryWrite(CanonicalSink sink)
    {
        WriteCommon(sink, "transaction");
        sink.Amount(Amount.Amount);
        sink.Field(Amount.Currency.Value);
        sink.Field(Origin.Value);
        sink.Field(Device.Value);
        sink.Field(Residence?.Value);
        sink.Field(Counterparty?.Value);
        sink.Field(Ip);
        sink.Field(TotpVerified ? "totp" : null);
        // Only when present: a transaction without a channel keeps the fingerprint it had before channels existed,
        // so a re-delivery across the upgrade is still recognised.
        if (Channel is not null) sink.Field(Channel);
        return true;
    }
}

/// <summary>A sign-in attempt.</summary>
/// <param name="PasswordOk">Did the password (first factor) check pass.</param>
public sealed record LoginAttempt(
    EventId Id,
    DateTimeOffset At,
    AccountId Account,
    bool PasswordOk,
    DeviceId Device,
    CountryCode Country) : RiskEvent(Id, At, Account)
{
    /// <summary>The request's IP address, when known, held in canonical form (see <see cref="CanonicalIp"/>).</summary>
    public IPAddress? Ip { get; init => field = CanonicalIp.Of(value); }

    /// <summary>Where the sign-in came from, when known.</summary>
    public GeoPoint? Location { get; init; }

    /// <summary>True when the caller verified a TOTP code for this attempt through RiskEngine.</summary>
    public bool TotpVerified { get; init; }

    /// <inheritdoc />
    public override string Canonical() => CanonicalText();

    private protected override bool TryWrite(CanonicalSink sink)
    {
        WriteCommon(sink, "login");
        sink.Field(PasswordOk ? "ok" : "failed");
        sink.Field(Device.Value);
        sink.Field(Country.Value);
        sink.Field(Ip);
        sink.Field(Location?.Latitude);
        sink.Field(Location?.Longitude);
        sink.Field(TotpVerified ? "totp" : null);
        return true;
    }
}

/// <summary>The user arranges, in advance and confirmed with TOTP, a higher limit for a large transaction.</summary>
/// <param name="Until">The arranged limit applies until this instant (exclusive).</param>
public sealed record LimitArrangement(
    EventId Id,
    DateTimeOffset At,
    AccountId Account,
    Money Amount,
    DateTimeOffset Until) : RiskEvent(Id, At, Account)
{
    /// <summary>True when the caller verified a TOTP code for this arrangement through RiskEngine.</summary>
    public bool TotpVerified { get; init; }

    /// <inheritdoc />
    public override string Canonical() => CanonicalText();

    private protected override bool TryWrite(CanonicalSink sink)
    {
        WriteCommon(sink, "limit");
        sink.Amount(Amount.Amount);
        sink.Field(Amount.Currency.Value);
        sink.Field(Until.UtcTicks);
        sink.Field(TotpVerified ? "totp" : null);
        return true;
    }
}

/// <summary>The user cancels the limit they arranged in a currency (a <c>limit</c> event with <c>cancel: true</c>).</summary>
public sealed record LimitCancellation(
    EventId Id,
    DateTimeOffset At,
    AccountId Account,
    CurrencyCode Currency) : RiskEvent(Id, At, Account)
{
    /// <inheritdoc />
    public override string Canonical() => CanonicalText();

    private protected override bool TryWrite(CanonicalSink sink)
    {
        WriteCommon(sink, "limit-cancel");
        sink.Field(Currency.Value);
        return true;
    }
}

/// <summary>A support agent lifts a freeze.</summary>
/// <param name="By">The agent's id.</param>
/// <param name="Reason">Why, for the audit trail.</param>
public sealed record SupportUnfreeze(
    EventId Id,
    DateTimeOffset At,
    AccountId Account,
    string By,
    string Reason) : RiskEvent(Id, At, Account)
{
    /// <inheritdoc />
    public override string Canonical() => CanonicalText();

    private protected override bool TryWrite(CanonicalSink sink)
    {
        WriteCommon(sink, "unfreeze");
        sink.Field(By);
        sink.Field(Reason);
        return true;
    }
}

/// <summary>
/// A payment failed downstream or was refunded: its amount stops counting towards the daily and monthly caps
/// (velocity windows keep the attempt: it happened).
/// </summary>
/// <param name="Transaction">The id of an earlier allowed <c>transaction</c> of the same account.</param>
public sealed record TransactionReversal(
    EventId Id,
    DateTimeOffset At,
    AccountId Account,
    EventId Transaction) : RiskEvent(Id, At, Account)
{
    /// <summary>Why, as the payment system says (e.g. <c>refund</c>, <c>network</c>); free text, optional.</summary>
    public string? Reason { get; init; }

    /// <inheritdoc />
    public override string Canonical() => CanonicalText();

    private protected override bool TryWrite(CanonicalSink sink)
    {
        WriteCommon(sink, "reversal");
        sink.Field(Transaction.Value);
        sink.Field(Reason);
        return true;
    }
}

/// <summary>The user (or support on their behalf) reports activity they did not do: the account is frozen.</summary>
/// <param name="By"><c>user</c>, or the support agent's id.</param>
public sealed record ActivityReport(
    EventId Id,
    DateTimeOffset At,
    AccountId Account,
    string By) : RiskEvent(Id, At, Account)
{
    /// <summary>The event the user does not recognise, when they name one.</summary>
    public EventId? Event { get; init; }

    /// <summary>What the user or agent wrote; free text, optional.</summary>
    public string? Note { get; init; }

    /// <inheritdoc />
    public override string Canonical() => CanonicalText();

    private protected override bool TryWrite(CanonicalSink sink)
    {
        WriteCommon(sink, "report");
        sink.Field(By);
        sink.Field(Event?.Value);
        sink.Field(Note);
        return true;
    }
}

/// <summary>One form per address, so a per-IP throttle cannot be dodged by writing the same address another way.</summary>
public static class CanonicalIp
{
    /// <summary>IPv4-mapped IPv6 becomes IPv4; an IPv6 zone (a local interface name, not another host) is dropped.</summary>
    public static IPAddress? Of(IPAddress? ip)
    {
        if (ip is null) return null;
        if (ip.IsIPv4MappedToIPv6) return ip.MapToIPv4();
        if (ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && ip.ScopeId != 0) return new IPAddress(ip.GetAddressBytes());
        return ip;
    }
}

/// <summary>A point on Earth in decimal degrees.</summary>
public readonly record struct GeoPoint(double Latitude, double Longitude)
{
    private const double EarthRadiusKm = 6371.0088;

    /// <summary>Great-circle distance by the haversine formula, in kilometres.</summary>
    public double DistanceKm(GeoPoint other)
    {
        static double Rad(double deg) => deg * Math.PI / 180.0;
        var dLat = Rad(other.Latitude - Latitude);
        var dLon = Rad(other.Longitude - Longitude);
        var a = Math.Sin(dLat / 2) * Math.Sin(dLat / 2) +
                Math.Cos(Rad(Latitude)) * Math.Cos(Rad(other.Latitude)) * Math.Sin(dLon / 2) * Math.Sin(dLon / 2);
        return 2 * EarthRadiusKm * Math.Asin(Math.Min(1, Math.Sqrt(a)));
    }
}

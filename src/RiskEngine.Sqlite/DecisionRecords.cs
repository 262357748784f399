using RiskEngine.Decisions;
using RiskEngine.Domain;
using RiskEngine.State;

namespace RiskEngine.Sqlite;

/// <summary>
/// One row of the <c>decisions</c> table as the store holds it in memory: the idempotency records of one batch,
/// encoded back to back. The in-memory index points into it, so a record costs its encoding plus an index entry.
/// </summary>
internal sealed class DecisionArena(long rowId, byte[] bytes, string[] policies)
{
    public long RowId { get; } = rowId;

    public byte[] Bytes { get; } = bytes;

    public string[] Policies { get; } = policies;
}

/// <summary>Where one idempotency record is: its arena, offset, and when the engine's clock may forget it.</summary>
internal readonly record struct DecisionRef(DecisionArena Arena, int Offset, long Until);

/// <summary>
/// The binary form of idempotency records. A row: <c>[format=1][policy count][policy versions][record count]
/// [records]</c>; a record: event id, fingerprint (16 bytes when it is Base64 of 16 bytes, else text), until (UTC
/// ticks), account, time (UTC ticks and offset), outcome, policy index, and then either nothing (a plain decision:
/// no reasons, no events, which is most allows) or the decision's JSON (<see cref="StateJson.SerializeDecision"/>),
/// so a stored decision reads back exactly as the earlier JSON rows did.
/// </summary>
internal static class DecisionRecords
{
    private const byte Format = 1;
    private const byte RawFingerprint = 0, TextFingerprint = 1;
    private const byte Plain = 0, Json = 1;

    public static void WriteHeader(CompactWriter w, IReadOnlyCollection<string> policies, int count)
    {
        w.Byte(Format);
        w.UVar((ulong)policies.Count);
        foreach (var p in policies) w.String(p);
        w.UVar((ulong)count);
    }

    public static bool IsPlain(Decision d) => d.Reasons.Count == 0 && d.Events.Count == 0;

    /// <summary>Writes one record; <paramref name="policyIndex"/> is the decision's policy in the row's table (plain decisions only).</summary>
    public static void Write(CompactWriter w, string eventId, string fingerprint, long until, Decision d, int policyIndex)
    {
        WriteHead(w, eventId, fingerprint, until, d.Account.Value, d.At);
        w.Byte((byte)d.Outcome);
        w.UVar((ulong)policyIndex);
        if (IsPlain(d))
        {
            w.Byte(Plain);
        }
        else
        {
            w.Byte(Json);
            w.Bytes(StateJson.SerializeDecision(d));
        }
    }

    /// <summary>Writes a record an earlier version stored as JSON (migration): the JSON is kept as it was.</summary>
    public static void WriteJson(CompactWriter w, string eventId, string fingerprint, long until, string account, long atTicks, ReadOnlySpan<byte> json)
    {
        WriteHead(w, eventId, fingerprint, until, account, new DateTimeOffset(atTicks, TimeSpan.Zero));
        w.Byte(0);
        w.UVar(0);
        w.Byte(Json);
        w.Bytes(json);
    }

    private static void WriteHead(CompactWriter w, string eventId, string fingerprint, long until, string account, DateTimeOffset at)
    {
        w.String(eventId);
        Span<byte> hash = stackalloc byte[16];
        Span<char> text = stackalloc char[24];
        if (fingerprint.Length == 24 && Convert.TryFromBase64String(fingerprint, hash, out var n) && n == 16
            && Convert.TryToBase64Chars(hash, text, out var chars) && chars == 24 && text.SequenceEqual(fingerprint))
        {
            w.Byte(RawFingerprint);
            w.Raw(hash);
        }
        else
        {
            w.Byte(TextFingerprint);
            w.String(fingerprint);
        }
        w.SVar(until);
        w.String(account);
        w.SVar(at.UtcTicks);
        w.SVar((long)at.Offset.TotalMinutes);
    }

    /// <summary>Reads a row's policy table and returns the reader positioned at its first record, with the record count.</summary>
    public static (string[] Policies, int Count, int Start) ReadHeader(ReadOnlySpan<byte> bytes)
    {
        var r = Reader(bytes, 0);
        if (r.Byte() != Format) throw new InvalidDataException("unknown format of a stored decisions row");
        var policies = new string[r.Count()];
        for (var i = 0; i < policies.Length; i++) policies[i] = r.String();
        var count = r.Count();
        return (policies, count, r.Position);
    }

    /// <summary>The event id and until of the record at <paramref name="offset"/>, and the offset of the next one.</summary>
    public static (string EventId, long Until, int Next) Index(ReadOnlySpan<byte> bytes, int offset)
    {
        var r = Reader(bytes, offset);
        var id = r.String();
        SkipFingerprint(ref r);
        var until = r.SVar();
        r.SkipString(); // account
        r.SVar();
        r.SVar();
        r.Byte();
        r.UVar();
        if (r.Byte() == Json) r.Bytes();
        return (id, until, r.Position);
    }

    /// <summary>The account and time (UTC ticks) of a record, for support's history view.</summary>
    public static (string Account, long AtTicks) Head(DecisionRef d)
    {
        var r = Reader(d.Arena.Bytes, d.Offset);
        r.SkipString();
        SkipFingerprint(ref r);
        r.SVar();
        var account = r.String();
        return (account, r.SVar());
    }

    public static StoredDecision Read(DecisionRef d)
    {
        var r = Reader(d.Arena.Bytes, d.Offset);
        var id = r.String();
        string fingerprint;
        if (r.Byte() == RawFingerprint) fingerprint = Convert.ToBase64String(r.Raw(16));
        else fingerprint = r.String();
        r.SVar();
        var account = r.String();
        var ticks = r.SVar();
        var offset = TimeSpan.FromMinutes(r.SVar());
        var outcome = (Outcome)r.Byte();
        var policy = (int)r.UVar();
        if (r.Byte() == Json) return new StoredDecision(fingerprint, StateJson.DeserializeDecision(r.Bytes()));
        var at = new DateTimeOffset(ticks + offset.Ticks, offset);
        return new StoredDecision(fingerprint, new Decision(EventId.Create(id), AccountId.Create(account), at, outcome, [], d.Arena.Policies[policy], []));
    }

    private static CompactReader Reader(ReadOnlySpan<byte> bytes, int at) => new(bytes, CompactErrors.StoredRow) { Position = at };

    private static void SkipFingerprint(ref CompactReader r)
    {
        if (r.Byte() == RawFingerprint) r.Raw(16);
        else r.SkipString();
    }
}

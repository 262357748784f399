using System.Buffers;
using Microsoft.Data.Sqlite;
using RiskEngine.Decisions;
using RiskEngine.Domain;
using RiskEngine.Sqlite;
using RiskEngine.State;

namespace RiskEngine.Tests.State;

/// <summary>
/// The bytes on disk and in Redis do not move: account states, SQLite journal rows, decision rows and IP rows are
/// compared byte for byte with hex written by the code before the two binary codecs became one (captured from
/// <c>AccountStateCodec</c>'s own writer and the SQLite package's <c>RowWriter</c>, since replaced by
/// <see cref="CompactWriter"/>), and read back from it.
/// </summary>
public sealed class BinaryFormatGoldenTests() : ScratchFolder("riskengine-golden-")
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 27, 10, 0, 0, TimeSpan.Zero);

    protected override void Cleanup() => SqliteConnection.ClearAllPools();

    /// <summary>States that reach every branch of the encoding, its edges included (lengths at varint boundaries, times out of order, extreme numbers).</summary>
    private static IEnumerable<(string Name, AccountState State)> States()
    {
        yield return ("empty", new AccountState());
        yield return ("full", AccountStateCodecTests.Full());
        var keyless = new AccountState();
        keyless.SupportLog.Add(new SupportAction(T0, "agent-7", "totp.reset", "phone lost"));
        yield return ("keyless support log", keyless);
        var edges = new AccountState
        {
            Freeze = new FreezeState(new string('r', 128), DateTimeOffset.MinValue, "") { EventType = "login" },
            LastLogin = new LoginPlace(DateTimeOffset.MaxValue, double.Epsilon, -0.0, ""),
            LockedUntil = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.FromHours(14)),
            LatestEventAt = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.FromHours(-14)),
            Totp = new TotpState(new string('s', 300), Confirmed: false, LastAcceptedStep: -1, Failures: []) { Digits = 6, Period = 30 },
        };
        edges.Allowed.Add(new AmountEntry(T0, "USD", decimal.MaxValue, ulong.MaxValue));
        edges.Allowed.Add(new AmountEntry(T0.AddDays(-400), "EUR", decimal.MinValue)); // out of order: a negative delta
        edges.Attempts.Add(new AmountEntry(T0, "JPY", 0.0000000000000000000000000001m, Channel: new string('c', 42)));
        edges.Limits["EUR"] = new ArrangedLimit(-1m, DateTimeOffset.MinValue, DateTimeOffset.MaxValue, decimal.MinValue);
        edges.KnownDevices.AddRange([new string('x', 41), new string('x', 42), new string('y', 127), new string('y', 128), new string('界', 50), ""]);
        edges.LoginFailures.AddRange([T0, T0.AddYears(-5), T0.AddTicks(1)]);
        edges.Lockouts.AddRange(Enumerable.Range(0, 130).Select(i => T0.AddSeconds(i)));
        edges.StepUps.Add(new DateTimeOffset(2026, 6, 1, 12, 0, 0, TimeSpan.FromMinutes(345)));
        edges.PaymentCountries.Add("DE");
        yield return ("edges", edges);
    }

    [Fact]
    public void Account_states_encode_to_the_bytes_of_the_previous_codec_and_read_back_from_them()
    {
        var states = States().ToList();
        Assert.Equal(GoldenStates.Length, states.Count);
        for (var i = 0; i < states.Count; i++)
        {
            var (name, state) = states[i];
            Golden(GoldenStates[i], AccountStateCodec.Encode(state), $"the {name} state");
            var golden = Convert.FromHexString(GoldenStates[i]);
            var decoded = AccountStateCodec.Decode(golden);
            Assert.Equal(StateJson.SerializeState(state), StateJson.SerializeState(decoded));
            Assert.Equal(golden, AccountStateCodec.Encode(decoded));
        }
    }

    /// <summary>A freeze with the engine's clock (format 2), and the same freeze as format 1 wrote it before the clock existed.</summary>
    [Fact]
    public void A_format_2_state_encodes_to_its_golden_bytes_and_format_1_bytes_still_read()
    {
        var state = new AccountState
        {
            Freeze = new FreezeState("velocity.count", T0.AddMinutes(4), "e6") { EventType = "transaction", Amount = 1.5m, Currency = "USD", Country = "US", Clock = T0 },
            LatestEventAt = T0.AddMinutes(4),
        };
        Golden(GoldenFormat2, AccountStateCodec.Encode(state), "the format 2 state");
        var decoded = AccountStateCodec.Decode(Convert.FromHexString(GoldenFormat2));
        Assert.Equal(StateJson.SerializeState(state), StateJson.SerializeState(decoded));

        var legacy = AccountStateCodec.Decode(Convert.FromHexString(GoldenFormat1Freeze));
        Assert.Equal(state.Freeze with { Clock = null }, legacy.Freeze);
        Assert.Equal(state.LatestEventAt, legacy.LatestEventAt);
        Golden(GoldenFormat1Freeze, AccountStateCodec.Encode(legacy), "the format 1 state");
    }

    // The row primitives: every kind of value, at the edges of a varint's length and of the short-string path.
    private static readonly ulong[] Unsigned = [0, 1, 127, 128, 16_383, 16_384, uint.MaxValue, ulong.MaxValue];
    private static readonly long[] Signed = [0, -1, 1, -64, 64, -65, long.MinValue, long.MaxValue];
    private static readonly string[] Strings = ["", "a", new string('x', 41), new string('x', 42), new string('y', 127), new string('y', 128), "设备-二", new string('界', 50)];
    private static readonly byte[] Blob = [.. Enumerable.Range(0, 200).Select(i => (byte)i)];

    [Fact]
    public void Row_primitives_encode_to_the_bytes_of_the_previous_row_writer_and_read_back_from_them()
    {
        var buffer = new ArrayBufferWriter<byte>(16);
        var w = new CompactWriter(buffer);
        foreach (var v in Unsigned) w.UVar(v);
        foreach (var v in Signed) w.SVar(v);
        foreach (var s in Strings) w.String(s);
        w.Byte(0);
        w.Byte(255);
        w.Bytes([]);
        w.Bytes(Blob);
        w.Raw([9, 8, 7]);
        Golden(GoldenPrimitives, buffer.WrittenSpan, "the row primitives");

        var r = new CompactReader(Convert.FromHexString(GoldenPrimitives), CompactErrors.StoredRow);
        foreach (var v in Unsigned) Assert.Equal(v, r.UVar());
        foreach (var v in Signed) Assert.Equal(v, r.SVar());
        foreach (var s in Strings) Assert.Equal(s, r.String());
        Assert.Equal(0, r.Byte());
        Assert.Equal(255, r.Byte());
        Assert.True(r.Bytes().IsEmpty);
        Assert.Equal(Blob, r.Bytes().ToArray());
        Assert.Equal([9, 8, 7], r.Raw(3).ToArray());
        Assert.True(r.End);
    }

    private static Decision Plain(int i) => new(EventId.Create($"e{i}"), AccountId.Create("a1"), T0.AddSeconds(i), Outcome.Allow, [], "sha256:08b0a40c6b85cb99", []);

    private static Decision Denied(int i) => new(EventId.Create($"e{i}"), AccountId.Create("a2"), T0.AddSeconds(i).ToOffset(TimeSpan.FromHours(8)), Outcome.Deny,
        [new RuleHit("VelocityRule/burst", "velocity.count", "too many payments", Outcome.Deny)], "sha256:08b0a40c6b85cb99", []);

    private const string RawFingerprint = "AAECAwQFBgcICQoLDA0ODw=="; // Base64 of 16 bytes: stored as the bytes

    [Fact]
    public void Decision_records_encode_to_the_bytes_of_the_previous_row_writer_and_read_back_from_them()
    {
        var buffer = new ArrayBufferWriter<byte>(16);
        var w = new CompactWriter(buffer);
        DecisionRecords.WriteHeader(w, ["sha256:08b0a40c6b85cb99", "v2"], 3);
        var offsets = new List<int> { buffer.WrittenCount };
        DecisionRecords.Write(w, "e1", RawFingerprint, T0.AddDays(7).UtcTicks, Plain(1), 0);
        offsets.Add(buffer.WrittenCount);
        DecisionRecords.Write(w, "e2", "not-base64", T0.AddDays(7).UtcTicks, Denied(2), 0);
        offsets.Add(buffer.WrittenCount);
        DecisionRecords.WriteJson(w, "e3", RawFingerprint, T0.AddDays(1).UtcTicks, "a3", T0.UtcTicks, StateJson.SerializeDecision(Plain(3)));
        Golden(GoldenDecisions, buffer.WrittenSpan, "a decisions row");

        var bytes = Convert.FromHexString(GoldenDecisions);
        var (policies, count, at) = DecisionRecords.ReadHeader(bytes);
        Assert.Equal(["sha256:08b0a40c6b85cb99", "v2"], policies);
        Assert.Equal(3, count);
        var arena = new DecisionArena(1, bytes, policies);
        (string Id, string Fingerprint, Decision Decision)[] expected = [("e1", RawFingerprint, Plain(1)), ("e2", "not-base64", Denied(2)), ("e3", RawFingerprint, Plain(3))];
        for (var i = 0; i < count; i++)
        {
            Assert.Equal(offsets[i], at);
            var (id, until, next) = DecisionRecords.Index(bytes, at);
            Assert.Equal(expected[i].Id, id);
            var stored = DecisionRecords.Read(new DecisionRef(arena, at, until));
            Assert.Equal(expected[i].Fingerprint, stored.Fingerprint);
            Assert.Equal(StateJson.SerializeDecision(expected[i].Decision), StateJson.SerializeDecision(stored.Decision));
            at = next;
        }
        Assert.Equal(bytes.Length, at);
    }

    [Fact]
    public void Bad_bytes_are_refused_as_before_format_errors_for_states_and_invalid_data_for_rows()
    {
        // Account state: FormatException, as AccountStateCodecTests expects of every prefix.
        Assert.Equal("account state is truncated", Assert.Throws<FormatException>(() => AccountStateCodec.Decode([1])).Message);
        Assert.Equal("account state has an overlong number", Assert.Throws<FormatException>(() => AccountStateCodec.Decode([1, .. Enumerable.Repeat((byte)0xFF, 10), 0])).Message);
        Assert.Equal("account state has an impossible count", Assert.Throws<FormatException>(() => AccountStateCodec.Decode([1, 0, 5])).Message);

        // Rows: InvalidDataException, whatever the cut.
        Assert.Equal("a stored row ends early", Assert.Throws<InvalidDataException>(() => DecisionRecords.ReadHeader([1])).Message);
        Assert.Equal("malformed varint in a stored row", Assert.Throws<InvalidDataException>(() => DecisionRecords.ReadHeader([1, .. Enumerable.Repeat((byte)0xFF, 10), 0])).Message);
        Assert.Equal("malformed count in a stored row", Assert.Throws<InvalidDataException>(() => DecisionRecords.ReadHeader([1, 5, 0])).Message);
        var row = Convert.FromHexString(GoldenDecisions);
        for (var n = 0; n < row.Length; n++)
        {
            var cut = row[..n];
            Assert.Throws<InvalidDataException>(() =>
            {
                var (_, count, at) = DecisionRecords.ReadHeader(cut);
                for (var i = 0; i < count; i++) at = DecisionRecords.Index(cut, at).Next;
            });
        }
        Assert.Throws<InvalidDataException>(() => RowCompression.Decompress([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]));
    }

    /// <summary>One batch: three accounts (one in the full sample state), a plain and a denied decision, an IP failure, two output records, a position.</summary>
    private static async Task CommitAsync(SqliteRiskStateStore store)
    {
        await using var batch = await store.BeginBatchAsync();
        var full = AccountStateCodecTests.Full();
        var accounts = new (string Account, AccountState State, Decision? Decision, IpFailure? Ip)[]
        {
            ("a1", full, Plain(1), null),
            ("a2", new AccountState { HasLoggedIn = true, LatestEventAt = T0 }, Denied(2), new IpFailure("198.51.100.7", T0.AddSeconds(2), TimeSpan.FromMinutes(10), T0.AddMinutes(10))),
            ("a3", new AccountState(), null, null),
        };
        foreach (var (account, state, decision, ip) in accounts)
        {
            var id = AccountId.Create(account);
            var snapshot = await batch.LoadAccountAsync(id);
            var commit = new AccountCommit(id, snapshot.Version, state, decision is null ? null : decision.Outcome == Outcome.Allow ? RawFingerprint : "fp-text", decision, T0.AddDays(7))
            {
                Clock = T0.AddSeconds(3),
                IpFailure = ip,
            };
            Assert.Equal(CommitStatus.Committed, await batch.StageAsync(commit));
        }
        await batch.CommitAsync(new JournalEntry(
            [new JournalRecord(1, OutputChannel.Output, "{\"a\":1}"u8.ToArray()), new JournalRecord(2, OutputChannel.DeadLetter, new byte[300])],
            new JournalPosition("in.jsonl", 1234, 3)));
    }

    private static byte[] Blob1(string path, string sql)
    {
        using var db = new SqliteConnection($"Data Source={path};Pooling=false");
        db.Open();
        using var cmd = db.CreateCommand();
#pragma warning disable CA2100 // test constants
        cmd.CommandText = sql;
#pragma warning restore CA2100
        return (byte[])cmd.ExecuteScalar()!;
    }

    [Fact]
    public async Task Sqlite_journal_decisions_and_ip_rows_are_the_bytes_the_previous_code_wrote_and_read_back()
    {
        var plain = P("plain.db");
        using (var store = new SqliteRiskStateStore(plain, new SqliteStoreOptions { CompressJournal = false }))
        {
            await store.MarkPublishedAsync(OutputChannel.Output, 1, 42); // carried by the next journal row
            await CommitAsync(store);
            Golden(GoldenJournal, Blob1(plain, "SELECT batch FROM journal"), "the journal row");
            Golden(GoldenDecisionsRow, Blob1(plain, "SELECT records FROM decisions"), "the stored decisions row");
        }
        // Closed: written back, the live IP windows in one row.
        Golden(GoldenIps, Blob1(plain, "SELECT entries FROM ip_failures"), "the IP row");

        // A compressed journal row holds the same body.
        var compressed = P("compressed.db");
        using (var store = new SqliteRiskStateStore(compressed))
        {
            await store.MarkPublishedAsync(OutputChannel.Output, 1, 42);
            await CommitAsync(store);
            var row = Blob1(compressed, "SELECT batch FROM journal");
            var golden = Convert.FromHexString(GoldenJournal);
            Assert.Equal(golden[0], row[0]);
            Assert.NotEqual(0, row[1]);
            Assert.Equal(golden[2..], RowCompression.Decompress(row.AsSpan(2)));
        }

        // A database holding those rows (the journal replayed, as after a crash) reads back what was committed.
        var image = P("image.db");
        File.Copy(plain, image);
        using (var db = new SqliteConnection($"Data Source={image};Pooling=false"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "DELETE FROM accounts; DELETE FROM ip_failures; DELETE FROM outbox; INSERT INTO journal (id, batch) VALUES (1, $b)";
            cmd.Parameters.AddWithValue("$b", Convert.FromHexString(GoldenJournal));
            cmd.ExecuteNonQuery();
        }
        using var reopened = new SqliteRiskStateStore(image);
        var a1 = await reopened.LoadAccountAsync(AccountId.Create("a1"));
        Assert.Equal(AccountStateCodec.Encode(AccountStateCodecTests.Full()), AccountStateCodec.Encode(a1.State));
        Assert.Equal(1, a1.Version);
        Assert.Equal(1, await reopened.CountIpFailuresAsync("198.51.100.7", T0, T0.AddMinutes(5)));
        Assert.Equal(new JournalPosition("in.jsonl", 1234, 3), await reopened.LoadPositionAsync("in.jsonl"));
        Assert.Equal((1L, 42L), await reopened.PublishedAsync(OutputChannel.Output));
        Assert.Equal(2, await reopened.LastSequenceAsync());
        var denied = await reopened.FindDecisionAsync(AccountId.Create("a2"), EventId.Create("e2"));
        Assert.Equal("fp-text", denied!.Fingerprint);
        Assert.Equal(StateJson.SerializeDecision(Denied(2)), StateJson.SerializeDecision(denied.Decision));
        Assert.Equal(RawFingerprint, (await reopened.FindDecisionAsync(AccountId.Create("a1"), EventId.Create("e1")))!.Fingerprint);
        Assert.Equal(300, Assert.Single(await reopened.UnpublishedAsync(OutputChannel.DeadLetter)).Bytes.Length);
    }

    private static void Golden(string expected, ReadOnlySpan<byte> actual, string what) =>
        Assert.True(Convert.ToHexString(actual) == expected, $"{what} no longer encodes to the earlier bytes:\n{Convert.ToHexString(actual)}");

    // ---- hex written by the code before the codecs were merged (AccountStateCodec's Writer, RowWriter) ----

    private static readonly string[] GoldenStates =
    [
        // empty
        "0100000000000000",
        // full
        "01FFFF010E76656C6F636974792E636F756E7480A0D697D38DD3EF08C0070465762D390B7472616E73616374696F6E0101B5090003555344"
        + "0255530380C0D6CFECE89ADF11000355534404CEC2F105000000008080D6DFB9B20B0003434E590201008FF5E6C8A6EF91802F0104636172"
        + "6402000342544308CEF4CAEFE6CE93DB429D050000000280FED4FFA59BA6DF11000355534400000000000080C2D72F000355534400FFFFFF"
        + "FFFFFFFFFFFF01FFFFFFFF0F000000020355534400D086030080A0D697D38DD3EF080080A0DBE9D1F7D8EF08C00702C0C4070003434E5901"
        + "050080A0AFC4C0F4D2EF080080A0FDEAE5A6D3EF080000000004056465762D310AE8AEBEE5A4872DE4BA8C04C383C2A902C3A90202555302"
        + "434E87CDA198D38DD3EF080097FF907EFB3A3F405F07CE19515E5EC002434E0280F8DDFA989BA6DF110080B0B4F8080080D49ADBF48DD3EF"
        + "0800018080E6F68D97A6DF11000E4366444A382D656E76656C6F70658093A2380280C0ACAFA69BA6DF110080DAC409000653484132353608"
        + "3C80A0E19D9BC2D2EF0800020461623132046364333480F0E7A5D98ED3EF089305018090F8B69D9BA6DF110001057765622D330102474202"
        + "80A0AFC4C0F4D2EF0800076167656E742D370A746F74702E72657365742A70686F6E65206C6F73743B206964656E7469747920636865636B"
        + "656420627920766964656F2063616C6C0080D0C489CD8CD3EF0800076167656E742D3808756E667265657A65106964656E74697479206368"
        + "65636B65640C737570706F72742D6465736B",
        // keyless support log
        "0180200000000000000180A0D697D38DD3EF0800076167656E742D370A746F74702E72657365740A70686F6E65206C6F7374",
        // edges
        "01FD4C8001727272727272727272727272727272727272727272727272727272727272727272727272727272727272727272727272727272"
        + "7272727272727272727272727272727272727272727272727272727272727272727272727272727272727272727272727272727272727272"
        + "727272727272727272727272727272727272727272000000056C6F67696E0000000280C0ACAFA69BA6DF11000355534400FFFFFFFFFFFFFF"
        + "FFFF01FFFFFFFF0FFFFFFFFFFFFFFFFFFF010000FFFFDFD3C8949D010003455552808002FFFFFFFFFFFFFFFFFF01FFFFFFFF0F0000000180"
        + "C0ACAFA69BA6DF1100034A50591C010000002A63636363636363636363636363636363636363636363636363636363636363636363636363"
        + "6363636363010345555280800201000000FFFFDCA1DF8E8AE52B00808002FFFFFFFFFFFFFFFFFF01FFFFFFFF0F0629787878787878787878"
        + "78787878787878787878787878787878787878787878787878787878787878782A7878787878787878787878787878787878787878787878"
        + "787878787878787878787878787878787878787F797979797979797979797979797979797979797979797979797979797979797979797979"
        + "7979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979"
        + "7979797979797979797979797979797979797979797979797979797979797979797979800179797979797979797979797979797979797979"
        + "7979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979"
        + "79797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979799601E7"
        + "958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958C"
        + "E7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE795"
        + "8CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958C0000FFFFDCA1DF8E8AE52B0001000000000000"
        + "000000000000000080000380C0ACAFA69BA6DF1100FFFFDBE490B8CD05008280DCE490B8CD050080A0E9E1B58A92EF08900D820180C0ACAF"
        + "A69BA6DF110080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC40900"
        + "80DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080"
        + "DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DA"
        + "C4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4"
        + "090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC409"
        + "0080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC40900"
        + "80DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080"
        + "DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DA"
        + "C4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4"
        + "090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC409"
        + "0080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC40900"
        + "80DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC4090080DAC40900AC0273737373737373737373737373737373737373"
        + "7373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373"
        + "7373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373"
        + "7373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373"
        + "7373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373"
        + "7373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373"
        + "7301000453484131061E80E0D6EDE0A792EF088F0D0180A89EC6A3E9DFDE11B2050001024445",
    ];

    // Format 2 (FreezeClock, 0x8000 in the flags): format 1's bytes with the engine's clock after the freeze case.
    private const string GoldenFormat2 =
        "02A184020E76656C6F636974792E636F756E7480D08A90DC8DD3EF08000265360B7472616E73616374696F6E01010F000355534402555380A0D697D38DD3EF080000000000000080D08A90DC8DD3EF0800";

    // The same state without the clock, as format 1 wrote it (and still writes it).
    private const string GoldenFormat1Freeze =
        "01A1040E76656C6F636974792E636F756E7480D08A90DC8DD3EF08000265360B7472616E73616374696F6E01010F000355534402555300000000000080D08A90DC8DD3EF0800";

    private const string GoldenPrimitives =
        "00017F8001FF7F808001FFFFFFFF0FFFFFFFFFFFFFFFFFFF010001027F80018101FFFFFFFFFFFFFFFFFF01FEFFFFFFFFFFFFFFFF01000161"
        + "2978787878787878787878787878787878787878787878787878787878787878787878787878787878782A78787878787878787878787878"
        + "78787878787878787878787878787878787878787878787878787878787F7979797979797979797979797979797979797979797979797979"
        + "7979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979"
        + "7979797979797979797979797979797979797979797979797979797979797979797979797979797979797979798001797979797979797979"
        + "7979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979"
        + "7979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979"
        + "797979797979790AE8AEBEE5A4872DE4BA8C9601E7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958C"
        + "E7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE795"
        + "8CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7958CE7"
        + "958C00FF00C801000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F202122232425262728292A2B2C2D2E2F30"
        + "3132333435363738393A3B3C3D3E3F404142434445464748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F606162636465666768"
        + "696A6B6C6D6E6F707172737475767778797A7B7C7D7E7F808182838485868788898A8B8C8D8E8F909192939495969798999A9B9C9D9E9FA0"
        + "A1A2A3A4A5A6A7A8A9AAABACADAEAFB0B1B2B3B4B5B6B7B8B9BABBBCBDBEBFC0C1C2C3C4C5C6C7090807";

    private const string GoldenDecisions =
        "0102177368613235363A303862306134306336623835636239390276320302653100000102030405060708090A0B0C0D0E0F80C0CEBDABFB"
        + "A8DF11026131809AF1B8A69BA6DF1100000000026532010A6E6F742D62617365363480C0CEBDABFBA8DF1102613280F4B5C2A69BA6DF11C0"
        + "07020001E7017B226576656E74223A226532222C226163636F756E74223A226132222C226174223A22323032362D31312D32375431383A30"
        + "303A30322B30383A3030222C226F7574636F6D65223A322C22726561736F6E73223A5B7B2272756C65223A2256656C6F6369747952756C65"
        + "2F6275727374222C22636F6465223A2276656C6F636974792E636F756E74222C226D657373616765223A22746F6F206D616E79207061796D"
        + "656E7473222C226F7574636F6D65223A327D5D2C22706F6C696379223A227368613235363A30386230613430633662383563623939222C22"
        + "6576656E7473223A6E756C6C7D02653300000102030405060708090A0B0C0D0E0F80C0FAD5CBCDA6DF1102613380C0ACAFA69BA6DF110000"
        + "000188017B226576656E74223A226533222C226163636F756E74223A226131222C226174223A22323032362D31312D32375431303A30303A"
        + "30332B30303A3030222C226F7574636F6D65223A302C22726561736F6E73223A5B5D2C22706F6C696379223A227368613235363A30386230"
        + "613430633662383563623939222C226576656E7473223A6E756C6C7D";

    private const string GoldenJournal =
        "010080CEFACBA69BA6DF110108696E2E6A736F6E6CA413060004010002540302613102C20401FFFF010E76656C6F636974792E636F756E74"
        + "80A0D697D38DD3EF08C0070465762D390B7472616E73616374696F6E0101B50900035553440255530380C0D6CFECE89ADF11000355534404"
        + "CEC2F105000000008080D6DFB9B20B0003434E590201008FF5E6C8A6EF91802F01046361726402000342544308CEF4CAEFE6CE93DB429D05"
        + "0000000280FED4FFA59BA6DF11000355534400000000000080C2D72F000355534400FFFFFFFFFFFFFFFFFF01FFFFFFFF0F00000002035553"
        + "4400D086030080A0D697D38DD3EF080080A0DBE9D1F7D8EF08C00702C0C4070003434E5901050080A0AFC4C0F4D2EF080080A0FDEAE5A6D3"
        + "EF080000000004056465762D310AE8AEBEE5A4872DE4BA8C04C383C2A902C3A90202555302434E87CDA198D38DD3EF080097FF907EFB3A3F"
        + "405F07CE19515E5EC002434E0280F8DDFA989BA6DF110080B0B4F8080080D49ADBF48DD3EF0800018080E6F68D97A6DF11000E4366444A38"
        + "2D656E76656C6F70658093A2380280C0ACAFA69BA6DF110080DAC4090006534841323536083C80A0E19D9BC2D2EF08000204616231320463"
        + "64333480F0E7A5D98ED3EF089305018090F8B69D9BA6DF110001057765622D33010247420280A0AFC4C0F4D2EF0800076167656E742D370A"
        + "746F74702E72657365742A70686F6E65206C6F73743B206964656E7469747920636865636B656420627920766964656F2063616C6C0080D0"
        + "C489CD8CD3EF0800076167656E742D3808756E667265657A65106964656E7469747920636865636B65640C737570706F72742D6465736B02"
        + "61320212012200000000000080A0D697D38DD3EF080002613302080100000000000000010C3139382E35312E3130302E3780F4B5C2A69BA6"
        + "DF118084B0E8F99AA6DF1180B0B289D39BA6DF11020002077B2261223A317D0102AC02000000000000000000000000000000000000000000"
        + "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        + "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        + "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        + "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        + "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";

    private const string GoldenDecisionsRow =
        "0101177368613235363A303862306134306336623835636239390202653100000102030405060708090A0B0C0D0E0F80C0CEBDABFBA8DF11"
        + "026131809AF1B8A69BA6DF1100000000026532010766702D7465787480C0CEBDABFBA8DF1102613280F4B5C2A69BA6DF11C007020001E701"
        + "7B226576656E74223A226532222C226163636F756E74223A226132222C226174223A22323032362D31312D32375431383A30303A30322B30"
        + "383A3030222C226F7574636F6D65223A322C22726561736F6E73223A5B7B2272756C65223A2256656C6F6369747952756C652F6275727374"
        + "222C22636F6465223A2276656C6F636974792E636F756E74222C226D657373616765223A22746F6F206D616E79207061796D656E7473222C"
        + "226F7574636F6D65223A327D5D2C22706F6C696379223A227368613235363A30386230613430633662383563623939222C226576656E7473"
        + "223A6E756C6C7D";

    private const string GoldenIps =
        "01010C3139382E35312E3130302E3780F4B5C2A69BA6DF1180B0B289D39BA6DF11";
}

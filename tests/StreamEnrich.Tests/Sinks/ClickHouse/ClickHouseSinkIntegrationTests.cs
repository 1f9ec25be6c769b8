using System.Globalization;
using Microsoft.Extensions.Logging;
using StreamEnrich.Configuration;
using StreamEnrich.Records;
using StreamEnrich.Sinks.ClickHouse;
using StreamEnrich.Tests.Fixtures;
using Record = StreamEnrich.Records.Record;

namespace StreamEnrich.Tests.Sinks.ClickHouse;

/// <summary>Round trips through a real ClickHouse server (18.16 from Debian unless STREAMENRICH_CLICKHOUSE_URL says otherwise).</summary>
[Collection("ClickHouse")]
public sealed class ClickHouseSinkIntegrationTests(ClickHouseServerFixture server)
{
    private const string AllTypesDdl =
        "i8 Int8, i16 Int16, i32 Int32, i64 Int64, u8 UInt8, u16 UInt16, u32 UInt32, u64 UInt64, f32 Float32, f64 Float64, " +
        "d32 Decimal(9, 2), d64 Decimal(18, 4), d128 Decimal(38, 10), s String, fs FixedString(4), d Date, dt DateTime, " +
        "dtb DateTime('Europe/Berlin'), u UUID, e8 Enum8('a' = -1, 'b' = 2), e16 Enum16('x' = 1000, 'y' = 1001), " +
        "n Nullable(Int32), ns Nullable(String), arr Array(Int32), arr2 Array(Array(String)), an Array(Nullable(UInt8)), " +
        "lc LowCardinality(String), tup Tuple(Int8, String), c Int32 DEFAULT 42, cs String DEFAULT 'dflt', m Int64 MATERIALIZED i32 * 2";

    private static Value S(string s) => Value.FromString(s);
    private static Value U8(string s) => Value.FromUtf8(System.Text.Encoding.UTF8.GetBytes(s));

    internal static ClickHouseSinkOptions Options(Uri url, string table, Action<ClickHouseSinkOptions>? configure = null)
    {
        var o = new ClickHouseSinkOptions
        {
            Url = url.ToString(), Table = table, RetryBackoff = TimeSpan.FromMilliseconds(50),
            RetryMaxBackoff = TimeSpan.FromMilliseconds(300), Timeout = TimeSpan.FromSeconds(20),
        };
        configure?.Invoke(o);
        return o;
    }

    internal static async Task<(ClickHouseSink Sink, RecordLayout Layout)> PrepareAsync(ClickHouseSinkOptions o, ILogger? logger = null)
    {
        var sink = new ClickHouseSink(o, logger ?? new ListLogger(), TimeProvider.System);
        await sink.PrepareAsync(CancellationToken.None);
        var layout = new RecordLayout();
        sink.BindColumns(layout);
        layout.Freeze();
        return (sink, layout);
    }

    /// <summary>A row of a table <c>(id UInt32, name String)</c>.</summary>
    internal static Record Row(RecordLayout layout, int id, string name) => Row(layout, ("id", Value.FromInt(id)), ("name", Value.FromString(name)));

    /// <summary>
    /// One insert into a table <c>(id UInt32, name String)</c> with endless retries (the default) that must fail at once
    /// (a permanent cause): asserts that it is not retried and returns the error.
    /// </summary>
    internal static async Task<ClickHouseSinkException> InsertFailingAtOnceAsync(ClickHouseSinkOptions options)
    {
        options.MaxRetries = -1;
        options.Schema["id"] = "UInt32";
        options.Schema["name"] = "String";
        var logger = new ListLogger();
        using var sink = new ClickHouseSink(options, logger, TimeProvider.System, SchemaSource.InlineWhenGiven);
        await sink.PrepareAsync(CancellationToken.None);
        var layout = new RecordLayout();
        sink.BindColumns(layout);
        layout.Freeze();

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var e = await Assert.ThrowsAsync<ClickHouseSinkException>(() => sink.InsertAsync([Row(layout, 1, "x")], cts.Token));
        Assert.Contains("not retried", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(logger.Warnings, w => w.Contains("Retrying", StringComparison.Ordinal));
        return e;
    }

    private static Record Row(RecordLayout layout, params (string Field, Value Value)[] fields)
    {
        var r = layout.NewRecord();
        foreach (var (f, v) in fields) r[layout.Slot(f)] = v;
        return r;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task InsertAsync_AllTypes_ReadBackExactly(bool compress)
    {
        var table = await server.CreateUniqueTableAsync(AllTypesDdl, "MergeTree ORDER BY tuple()", "allow_experimental_low_cardinality_type=1");
        var (sink, layout) = await PrepareAsync(Options(server.Url, table, o => o.Compress = compress));
        using var sinkLease = sink;
        Assert.DoesNotContain(sink.Columns, c => c.Name == "m"); // MATERIALIZED is never inserted

        var full = Row(layout,
            ("i8", Value.FromInt(-128)), ("i16", U8("32767")), ("i32", Value.FromInt(int.MinValue)), ("i64", Value.FromInt(long.MaxValue)),
            ("u8", Value.FromInt(255)), ("u16", Value.FromFloat(65535)), ("u32", Value.FromInt(uint.MaxValue)), ("u64", Value.FromUInt(ulong.MaxValue)),
            ("f32", Value.FromFloat(1.5)), ("f64", Value.FromFloat(-0.1)),
            ("d32", S("-1234567.89")), ("d64", Value.FromDecimal(12345678901234.5678m)),
            ("d128", U8("-1234567890123456789012345678.0123456789")),
            ("s", S("tab\there 'q' é")), ("fs", S("ab")), ("d", S("2100-02-28")), ("dt", S("2020-01-02T03:04:05Z")),
            ("dtb", S("2020-07-01 12:00:00")),
            ("u", S("00112233-4455-6677-8899-aabbccddeeff")), ("e8", S("b")), ("e16", Value.FromInt(1001)),
            ("n", Value.Null), ("ns", U8("x")), ("arr", Value.FromArray([Value.FromInt(1), Value.FromInt(-2), Value.FromInt(3)])),
            ("arr2", Value.FromArray([Value.FromArray([S("a")]), Value.FromArray([])])),
            ("an", Value.FromArray([Value.Null, Value.FromInt(7)])), ("lc", S("lowcard")),
            ("tup", Value.FromArray([Value.FromInt(5), S("t")])), ("c", Value.FromInt(1)), ("cs", S("given")));
        var empty = Row(layout, ("i32", Value.FromInt(1))); // everything else missing → defaults

        var result = await sink.InsertAsync([full, empty], CancellationToken.None);
        Assert.Equal(2, result.RowsInserted);
        Assert.Equal(1, result.Attempts);
        Assert.True(full.IsActive && empty.IsActive);

        // SELECT * leaves out the MATERIALIZED column m.
        var tsv = await server.QueryAsync($"SELECT * FROM default.{table} ORDER BY i32 FORMAT TabSeparated");
        var lines = tsv.TrimEnd('\n').Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.Equal(
            "-128\t32767\t-2147483648\t9223372036854775807\t255\t65535\t4294967295\t18446744073709551615\t1.5\t-0.1\t" +
            "-1234567.89\t12345678901234.5678\t-1234567890123456789012345678.0123456789\ttab\\there \\'q\\' é\tab\\0\\0\t2100-02-28\t" +
            "2020-01-02 03:04:05\t2020-07-01 12:00:00\t00112233-4455-6677-8899-aabbccddeeff\tb\ty\t\\N\tx\t[1,-2,3]\t[['a'],[]]\t[NULL,7]\t" +
            "lowcard\t(5,'t')\t1\tgiven",
            lines[0]);
        Assert.Equal(
            "0\t0\t1\t0\t0\t0\t0\t0\t0\t0\t0.00\t0.0000\t0.0000000000\t\t\\0\\0\\0\\0\t0000-00-00\t0000-00-00 00:00:00\t0000-00-00 00:00:00\t" +
            "00000000-0000-0000-0000-000000000000\ta\tx\t\\N\t\\N\t[]\t[]\t[]\t\t(0,'')\t42\tdflt",
            lines[1]);
        // Berlin wall-clock 12:00 in July is 10:00 UTC: the column's zone was applied to text without an offset.
        Assert.Equal("1593597600\n", await server.QueryAsync($"SELECT toUInt32(dtb) FROM default.{table} WHERE i32 = {int.MinValue}"));
        Assert.Equal("-2147483648\t-4294967296\n", await server.QueryAsync($"SELECT i32, m FROM default.{table} WHERE i32 < 0"));
    }

    [Fact]
    public async Task InsertAsync_RowBinaryReadBack_DecodesToTheSameValues()
    {
        var table = await server.CreateUniqueTableAsync("a Int64, b Nullable(String), c Array(Decimal(18, 3)), d UUID, e DateTime, f Enum8('p' = 1, 'q' = 2)");
        var (sink, layout) = await PrepareAsync(Options(server.Url, table));
        using var sinkLease = sink;
        var guid = Guid.NewGuid();
        var r = Row(layout, ("a", Value.FromInt(-5)), ("b", S("hi")), ("c", Value.FromArray([Value.FromDecimal(1.5m), S("-2.125")])),
            ("d", Value.FromGuid(guid)), ("e", Value.FromTimestampNanos(1_600_000_000_000_000_000)), ("f", S("q")));
        await sink.InsertAsync([r], CancellationToken.None);

        using var http = new HttpClient();
        var bytes = await http.GetByteArrayAsync(new Uri(server.Url, "?query=" + Uri.EscapeDataString($"SELECT a, b, c, d, e, f FROM default.{table} FORMAT RowBinary")));
        var reader = new RowBinaryReader(bytes);
        Assert.Equal(Value.FromInt(-5), reader.Read(ClickHouseType.Parse("Int64")));
        Assert.Equal(S("hi"), reader.Read(ClickHouseType.Parse("Nullable(String)")));
        var c = reader.Read(ClickHouseType.Parse("Array(Decimal(18, 3))"));
        Assert.Equal(["1.500", "-2.125"], c.AsArray.ToArray().Select(v => v.AsDecimal.ToString()));
        Assert.Equal(guid, reader.Read(ClickHouseType.Parse("UUID")).AsGuid);
        Assert.Equal(1_600_000_000_000_000_000, reader.Read(ClickHouseType.Parse("DateTime")).AsTimestampNanos);
        Assert.Equal(S("q"), reader.Read(ClickHouseType.Parse("Enum8('p' = 1, 'q' = 2)")));
        Assert.True(reader.AtEnd);
    }

    [Fact]
    public async Task InsertAsync_BadRow_FailsOnlyThatRowNamingTheColumn()
    {
        var table = await server.CreateUniqueTableAsync("id UInt32, level UInt8, name String");
        var (sink, layout) = await PrepareAsync(Options(server.Url, table));
        using var sinkLease = sink;
        var good1 = Row(layout, ("id", Value.FromInt(1)), ("level", Value.FromInt(3)), ("name", S("a")));
        var bad = Row(layout, ("id", Value.FromInt(2)), ("level", Value.FromInt(300)), ("name", S("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")));
        var nul = Row(layout, ("id", Value.FromInt(3)), ("level", Value.Null), ("name", S("c")));
        var good2 = Row(layout, ("id", Value.FromInt(4)), ("level", Value.FromInt(4)), ("name", S("d")));
        var filtered = Row(layout, ("id", Value.FromInt(5)), ("level", Value.FromInt(5)), ("name", S("e")));
        filtered.Filter();

        var result = await sink.InsertAsync([good1, bad, nul, good2, filtered], CancellationToken.None);

        Assert.Equal((2, 2), (result.RowsInserted, result.RowsFailed));
        Assert.Equal(RecordStatus.Failed, bad.Status);
        Assert.Equal("sink", bad.FailedStage);
        Assert.Equal("column 'level' (UInt8), field 'level' = 300: 300 is out of range for UInt8 (0..255)", bad.FailureReason);
        Assert.Contains("column 'level' (UInt8)", nul.FailureReason, StringComparison.Ordinal);
        Assert.Contains("null is not allowed in non-Nullable UInt8", nul.FailureReason, StringComparison.Ordinal);
        Assert.Equal("1\t3\ta\n4\t4\td\n", await server.QueryAsync($"SELECT * FROM default.{table} ORDER BY id"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task InsertAsync_MergedChunks_SendsTheirBuffersInOrderWithoutCopying(bool compress)
    {
        var table = await server.CreateUniqueTableAsync("id UInt32, name String");
        var (sink, layout) = await PrepareAsync(Options(server.Url, table, o => o.Compress = compress));
        using var sinkLease = sink;
        var chunks = Enumerable.Range(0, 3)
            .Select(c => Enumerable.Range(c * 1000, 1000).Select(i => Row(layout, ("id", Value.FromInt(i)), ("name", S("n" + i)))).ToArray())
            .Select(records => sink.Encode(records))
            .ToList();
        var chunkWriters = chunks.SelectMany(c => c.Writers).ToList();

        RowBinaryRows? batch = null;
        foreach (var c in chunks) batch = sink.Merge(batch, c);

        // The batch is the chunks' own buffers side by side: nothing was copied into a batch-sized buffer.
        Assert.Equal(chunkWriters, batch!.Writers);
        Assert.Equal(3000, batch.Rows);
        Assert.Equal(chunks.Sum(c => c.Bytes), batch.Bytes);
        var result = await sink.InsertAsync([batch], CancellationToken.None);
        Assert.Equal(3000, result.RowsInserted);
        if (!compress) Assert.Equal(batch.Bytes, result.BytesSent);
        // One insert, every row, in chunk order.
        Assert.Equal("3000\t0\t2999\t1\n", await server.QueryAsync(
            $"SELECT count(), min(id), max(id), countIf(name = concat('n', toString(id))) = count() FROM default.{table}"));

        // Released buffers go back to the pool and are handed out again.
        batch.Release();
        var again = sink.Encode([Row(layout, ("id", Value.FromInt(1)), ("name", S("x")))]);
        Assert.Contains(again.Writers[0], chunkWriters);
        again.Release();
    }

    [Fact]
    public async Task Split_MergedChunks_TwoInsertsOfTheirOwnBuffersCarryEveryRowOnce()
    {
        var table = await server.CreateUniqueTableAsync("id UInt32, name String");
        var (sink, layout) = await PrepareAsync(Options(server.Url, table));
        using var sinkLease = sink;
        var chunks = Enumerable.Range(0, 4)
            .Select(c => Enumerable.Range(c * 1000, 1000).Select(i => Row(layout, ("id", Value.FromInt(i)), ("name", S("n" + i)))).ToArray())
            .Select(records => sink.Encode(records))
            .ToList();
        // A row that cannot be encoded is counted with its chunk's piece.
        chunks.Add(sink.Encode([Row(layout, ("id", Value.FromInt(4000)), ("name", S("n4000"))), Row(layout, ("id", S("not a number")), ("name", S("x")))]));
        var writers = chunks.SelectMany(c => c.Writers).ToList();
        RowBinaryRows? batch = null;
        foreach (var c in chunks) batch = sink.Merge(batch, c);
        Assert.Equal(5, batch!.Pieces);

        var parts = batch.Split([2, 5]).Cast<RowBinaryRows>().ToArray();

        Assert.Equal([2000, 2001], parts.Select(p => p.Rows));
        Assert.Equal([0, 1], parts.Select(p => p.FailedRows));
        Assert.Equal(batch.Bytes, parts.Sum(p => p.Bytes));
        Assert.Equal(writers, parts.SelectMany(p => p.Writers)); // the same buffers, nothing copied
        var results = await Task.WhenAll(parts.Select(p => sink.InsertAsync([p], CancellationToken.None)));
        Assert.Equal([2000, 2001], results.Select(r => r.RowsInserted));
        Assert.Equal("4001\t4001\t0\t4000\n", await server.QueryAsync($"SELECT count(), uniqExact(id), min(id), max(id) FROM default.{table}"));
        batch.Release(); // gave its buffers to the parts: releasing it returns nothing twice
        foreach (var p in parts) p.Release();
        var again = sink.Encode([Row(layout, ("id", Value.FromInt(1)), ("name", S("x")))]);
        Assert.Contains(again.Writers[0], writers);
        again.Release();
    }

    [Fact]
    public async Task PrepareAsync_StaleInlineSchema_InsertsByTheLiveTableAndWarnsWithEveryDifference()
    {
        // The table grew a column and changed a type since sink.schema was written. RowBinary is positional: inserting by the
        // inline schema would misalign every row, so the live table must win.
        var table = await server.CreateUniqueTableAsync("id UInt32, price Decimal(12, 2), added String DEFAULT 'd', m UInt64 MATERIALIZED id");
        var logger = new ListLogger();
        var (sink, layout) = await PrepareAsync(Options(server.Url, table, o =>
        {
            o.Schema["id"] = "UInt64";
            o.Schema["price"] = "Decimal(12,2)"; // same type, other spacing: not a difference
            o.Schema["gone"] = "String";
        }), logger);
        using var sinkLease = sink;

        Assert.Equal(["id", "price", "added"], sink.Columns.Select(c => c.Name));
        var warning = Assert.Single(logger.Warnings);
        Assert.Contains("column 'id' is UInt32 in the table but UInt64 in sink.schema", warning, StringComparison.Ordinal);
        Assert.Contains("column 'added' String is not in sink.schema", warning, StringComparison.Ordinal);
        Assert.Contains("sink.schema has column 'gone'", warning, StringComparison.Ordinal);
        Assert.DoesNotContain("price", warning.Split("Update sink.schema")[0], StringComparison.Ordinal);
        Assert.Contains("{ id: UInt32, price: Decimal(12, 2), added: String }", warning, StringComparison.Ordinal);

        await sink.InsertAsync([Row(layout, ("id", Value.FromInt(7)), ("price", S("1.50")))], CancellationToken.None);
        Assert.Equal("7\t1.50\td\t7\n", await server.QueryAsync($"SELECT id, price, added, m FROM default.{table}"));

        // A preview sink (dry-run, tests) takes the inline schema as written, without asking the server.
        using var preview = new ClickHouseSink(Options(new Uri("http://127.0.0.1:1/"), table, o => o.Schema["id"] = "UInt64"),
            new ListLogger(), TimeProvider.System, SchemaSource.InlineWhenGiven);
        await preview.PrepareAsync(CancellationToken.None);
        Assert.Equal("UInt64", Assert.Single(preview.Columns).Type.Text);
    }

    [Fact]
    public async Task PrepareAsync_InlineSchemaMatchingTheTable_NoWarning()
    {
        var table = await server.CreateUniqueTableAsync("id UInt32, name String");
        var logger = new ListLogger();
        var (sink, _) = await PrepareAsync(Options(server.Url, table, o => { o.Schema["id"] = "UInt32"; o.Schema["name"] = "String"; }), logger);
        sink.Dispose();
        Assert.Empty(logger.Warnings);
    }

    [Fact]
    public async Task InsertAsync_ColumnsMapping_ReadsTheMappedNestedField()
    {
        var table = await server.CreateUniqueTableAsync("user_id UInt64, kind String");
        var (sink, layout) = await PrepareAsync(Options(server.Url, table, o => o.Columns["user_id"] = "user.id"));
        using var sinkLease = sink;
        Assert.True(layout.TryGetSlot("user.id", out _));
        await sink.InsertAsync([Row(layout, ("user.id", Value.FromInt(77)), ("kind", S("k")))], CancellationToken.None);
        Assert.Equal("77\tk\n", await server.QueryAsync($"SELECT * FROM default.{table}"));
    }

    [Fact]
    public async Task InsertAsync_MissingFieldWithServerOnlyDefaultOnOldServer_FailsRowSayingFieldRequired()
    {
        var table = await server.CreateUniqueTableAsync("id UInt32, at DateTime DEFAULT now()");
        var (sink, layout) = await PrepareAsync(Options(server.Url, table));
        using var sinkLease = sink;
        if (sink.ServerVersion >= ClickHouseSink.RowBinaryWithDefaultsSince)
        {
            // Newer server: the server computes now() for the missing field.
            var r1 = Row(layout, ("id", Value.FromInt(1)));
            Assert.Equal(1, (await sink.InsertAsync([r1], CancellationToken.None)).RowsInserted);
            Assert.Equal("1\n", await server.QueryAsync($"SELECT count() FROM default.{table} WHERE at > now() - 600"));
            return;
        }
        var missing = Row(layout, ("id", Value.FromInt(1)));
        var given = Row(layout, ("id", Value.FromInt(2)), ("at", S("2021-01-01 00:00:00")));
        var result = await sink.InsertAsync([missing, given], CancellationToken.None);
        Assert.Equal(1, result.RowsInserted);
        Assert.Contains("field 'at' is missing", missing.FailureReason, StringComparison.Ordinal);
        Assert.Contains("RowBinaryWithDefaults", missing.FailureReason, StringComparison.Ordinal);
        Assert.Contains("The field is required here", missing.FailureReason, StringComparison.Ordinal);
        Assert.Equal("2\t2021-01-01 00:00:00\n", await server.QueryAsync($"SELECT * FROM default.{table}"));
    }

    [Fact]
    public async Task PrepareAsync_UnknownTable_ThrowsWithServerMessageAndHint()
    {
        using var sink = new ClickHouseSink(Options(server.Url, "no_such_table_xyz"), new ListLogger(), TimeProvider.System);
        var e = await Assert.ThrowsAsync<ClickHouseSinkException>(() => sink.PrepareAsync(CancellationToken.None));
        Assert.Equal(60, e.Code);
        Assert.Contains("no_such_table_xyz doesn't exist", e.Message, StringComparison.Ordinal);
        Assert.Contains("Hint: create the table first", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PrepareAsync_WrongPassword_ThrowsAuthErrorWithHint()
    {
        using var sink = new ClickHouseSink(Options(server.Url, "whatever", o => o.Password = "wrong-password"), new ListLogger(), TimeProvider.System);
        var e = await Assert.ThrowsAsync<ClickHouseSinkException>(() => sink.PrepareAsync(CancellationToken.None));
        Assert.True(e.Code is 193 or 516, $"code {e.Code}: {e.Message}");
        Assert.Contains("Hint: check sink.user and sink.password", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InsertAsync_SettingsAreSentWithTheInsert()
    {
        var table = await server.CreateUniqueTableAsync("id UInt32");
        var (sink, layout) = await PrepareAsync(Options(server.Url, table, o => o.Settings["no_such_setting_xyz"] = "1"));
        using var sinkLease = sink;
        var e = await Assert.ThrowsAsync<ClickHouseSinkException>(() => sink.InsertAsync([Row(layout, ("id", Value.FromInt(1)))], CancellationToken.None));
        Assert.Equal(115, e.Code); // UNKNOWN_SETTING: proves the setting reached the server, and that it is not retried
        Assert.Contains("no_such_setting_xyz", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InsertAsync_TableDroppedAfterPrepare_ThrowsPermanentWithoutRetrying()
    {
        var table = await server.CreateUniqueTableAsync("id UInt32");
        var logger = new ListLogger();
        var (sink, layout) = await PrepareAsync(Options(server.Url, table), logger);
        using var sinkLease = sink;
        await server.QueryAsync($"DROP TABLE default.{table}");
        var e = await Assert.ThrowsAsync<ClickHouseSinkException>(() => sink.InsertAsync([Row(layout, ("id", Value.FromInt(1)))], CancellationToken.None));
        Assert.Equal(60, e.Code);
        Assert.Contains("UNKNOWN_TABLE", e.Message, StringComparison.Ordinal);
        Assert.Empty(logger.Warnings); // permanent: no retry was logged
    }

    [Fact]
    public async Task InsertAsync_ServerKilledAndRestarted_RetriesUntilInserted()
    {
        await using var dedicated = await ClickHouseServerFixture.StartDedicatedAsync();
        var table = await dedicated.CreateUniqueTableAsync("id UInt32, s String", "MergeTree ORDER BY id");
        var logger = new ListLogger();
        var (sink, layout) = await PrepareAsync(Options(dedicated.Url, table), logger);
        using var sinkLease = sink;
        await dedicated.StopAsync();

        var rows = Enumerable.Range(0, 1000).Select(i => Row(layout, ("id", Value.FromInt(i)), ("s", S("v" + i)))).ToArray();
        var insert = sink.InsertAsync(rows, CancellationToken.None);
        await Task.Delay(1500);
        Assert.False(insert.IsCompleted, "the insert must keep retrying while the server is down");
        await dedicated.StartAsync();
        var result = await insert.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(1000, result.RowsInserted);
        Assert.True(result.Attempts > 1, $"attempts {result.Attempts}");
        Assert.NotEmpty(logger.Warnings);
        Assert.Contains("Cannot reach ClickHouse", logger.Warnings[0], StringComparison.Ordinal);
        Assert.Equal("1000\t499500\n", await dedicated.QueryAsync($"SELECT count(), sum(id) FROM default.{table}"));
    }

    [Fact]
    public async Task BeginDrain_InsertWaitingOutALongBackoff_RetriesAtLeastEverySecondAndLandsWhenTheServerIsBack()
    {
        await using var dedicated = await ClickHouseServerFixture.StartDedicatedAsync();
        var table = await dedicated.CreateUniqueTableAsync("id UInt32", "MergeTree ORDER BY id");
        var logger = new ListLogger();
        // A backoff of up to an hour: what a long outage grows to (30 s by default), made long enough that a retry
        // before the drain cannot happen by chance within the test.
        var (sink, layout) = await PrepareAsync(Options(dedicated.Url, table, o =>
        {
            o.RetryBackoff = TimeSpan.FromHours(1);
            o.RetryMaxBackoff = TimeSpan.FromHours(1);
        }), logger);
        using var sinkLease = sink;
        await dedicated.StopAsync();

        var rows = Enumerable.Range(0, 100).Select(i => Row(layout, ("id", Value.FromInt(i)))).ToArray();
        var insert = sink.InsertAsync(rows, CancellationToken.None);
        await WaitForWarningsAsync(logger, 1);
        Assert.DoesNotContain("shutting down", Warning(logger, 0), StringComparison.Ordinal);

        sink.BeginDrain(); // SIGTERM: the wait in progress ends, the retry fails again (still down), the next wait is short
        await WaitForWarningsAsync(logger, 2);
        var second = Warning(logger, 1);
        Assert.Contains("(shutting down: retried at least every second until the shutdown timeout)", second, StringComparison.Ordinal);
        var delayMs = long.Parse(System.Text.RegularExpressions.Regex.Match(second, @"Retrying in (\d+) ms").Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.InRange(delayMs, 0, 1000);
        Assert.False(insert.IsCompleted, "the server is still down");

        await dedicated.StartAsync();
        var result = await insert.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(100, result.RowsInserted);
        Assert.Equal("100\n", await dedicated.QueryAsync($"SELECT count() FROM default.{table}"));
    }

    private static string Warning(ListLogger logger, int i)
    {
        lock (logger.Warnings) return logger.Warnings[i];
    }

    private static async Task WaitForWarningsAsync(ListLogger logger, int count)
    {
        for (var waited = 0; ; waited += 20)
        {
            lock (logger.Warnings) if (logger.Warnings.Count >= count) return;
            Assert.True(waited < 20_000, $"expected {count} retry warning(s) within 20 s");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task InsertAsync_ServerDownAndMaxRetriesZero_ThrowsAfterOneAttempt()
    {
        await using var dedicated = await ClickHouseServerFixture.StartDedicatedAsync();
        var table = await dedicated.CreateUniqueTableAsync("id UInt32");
        var (sink, layout) = await PrepareAsync(Options(dedicated.Url, table, o => o.MaxRetries = 0));
        using var sinkLease = sink;
        await dedicated.StopAsync();
        var e = await Assert.ThrowsAsync<ClickHouseSinkException>(() => sink.InsertAsync([Row(layout, ("id", Value.FromInt(1)))], CancellationToken.None));
        Assert.Contains("failed after 1 attempts", e.Message, StringComparison.Ordinal);
        Assert.IsType<ClickHouseTransportException>(e.InnerException);
    }
}

internal sealed class ListLogger : ILogger
{
    public List<string> Warnings { get; } = [];
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => true;
    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (logLevel >= LogLevel.Warning) lock (Warnings) Warnings.Add(formatter(state, exception));
    }
}

using StreamEnrich.Configuration;
using StreamEnrich.Records;
using StreamEnrich.Sinks.ClickHouse;
using Record = StreamEnrich.Records.Record;

namespace StreamEnrich.Tests.Sinks.ClickHouse;

public sealed class ClickHouseColumnPlanTests
{
    private static readonly ClickHouseSinkOptions Opts = new() { Url = "http://localhost:8123", Table = "t" };

    // Exactly what ClickHouse 18.16 printed for `a Int32 DEFAULT 5, b String DEFAULT 'x\'y', c DateTime DEFAULT now(), ...`.
    private static readonly ClickHouseColumnInfo[] Described =
    [
        new("a", "Int32", "DEFAULT", "CAST(5, 'Int32')"),
        new("b", "String", "DEFAULT", "'x\\'y'"),
        new("c", "DateTime", "DEFAULT", "now()"),
        new("e", "Date", "DEFAULT", "toDate('2020-01-02')"),
        new("f", "Float64", "DEFAULT", "-1.5"),
        new("g", "Array(Int8)", "DEFAULT", "CAST([], 'Array(Int8)')"),
        new("k", "Decimal(10, 2)", "DEFAULT", "CAST(1.25, 'Decimal(10, 2)')"),
        new("p", "UInt8", "", ""),
        new("h", "Int32", "MATERIALIZED", "CAST(a + 1, 'Int32')"),
        new("i", "Int32", "ALIAS", "CAST(a * 2, 'Int32')"),
        new("x", "String", "EPHEMERAL", ""),
    ];

    [Fact]
    public void Build_SkipsComputedColumns_AndClassifiesDefaults()
    {
        var cols = ClickHouseColumnPlan.Build(Described, Opts, TimeZoneInfo.Utc);
        Assert.Equal(["a", "b", "c", "e", "f", "g", "k", "p"], cols.Select(c => c.Name));
        Assert.Equal(new byte[] { 5, 0, 0, 0 }, cols[0].DefaultBytes);
        Assert.Equal(new byte[] { 3, (byte)'x', (byte)'\'', (byte)'y' }, cols[1].DefaultBytes);
        Assert.Equal(MissingFieldMode.ServerDefault, cols[2].MissingMode);
        Assert.Equal(new byte[] { 0x57, 0x47 }, cols[3].DefaultBytes); // 2020-01-02 = day 18263
        Assert.Equal(BitConverter.GetBytes(-1.5), cols[4].DefaultBytes);
        Assert.Equal(new byte[] { 0 }, cols[5].DefaultBytes);
        Assert.Equal(new byte[] { 125, 0, 0, 0, 0, 0, 0, 0 }, cols[6].DefaultBytes);
        Assert.Equal(MissingFieldMode.TypeDefault, cols[7].MissingMode);
        Assert.Equal(new byte[] { 0 }, cols[7].DefaultBytes);
    }

    [Fact]
    public void Build_MappingNamesUnknownColumn_ThrowsListingColumns()
    {
        var o = new ClickHouseSinkOptions { Url = "http://x:1", Table = "t", Columns = { ["nope"] = "f" } };
        var e = Assert.Throws<ClickHouseSinkException>(() => ClickHouseColumnPlan.Build(Described, o, TimeZoneInfo.Utc));
        Assert.Contains("sink.columns maps column 'nope'", e.Message, StringComparison.Ordinal);
        Assert.Contains("columns: a, b, c", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_UnsupportedType_ThrowsNamingColumn()
    {
        var e = Assert.Throws<ClickHouseSinkException>(() =>
            ClickHouseColumnPlan.Build([new ClickHouseColumnInfo("j", "JSON", "", "")], Opts, TimeZoneInfo.Utc));
        Assert.Contains("Column 'j'", e.Message, StringComparison.Ordinal);
        Assert.Contains("Unsupported ClickHouse type 'JSON'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("now()")]
    [InlineData("a + 1")]
    [InlineData("toDate(now())")]
    [InlineData("concat('a', 'b')")]
    public void TryParseConstant_NonConstant_False(string expr) => Assert.False(ClickHouseColumnPlan.TryParseConstant(expr, out _));

    [Fact]
    public void EncodeRow_RowBinaryWithDefaults_PrefixesEachColumn()
    {
        var cols = ClickHouseColumnPlan.Build(
            [new("id", "UInt8", "", ""), new("at", "DateTime", "DEFAULT", "now()"), new("n", "Int8", "DEFAULT", "7")], Opts, TimeZoneInfo.Utc);
        var layout = new RecordLayout();
        foreach (var c in cols) c.Slot = layout.Slot(c.FieldPath);
        layout.Freeze();
        var r = layout.NewRecord();
        r[layout.Slot("id")] = Value.FromInt(9);
        using var w = new RowBinaryWriter(16);
        Assert.Null(ClickHouseSink.EncodeRow(r, cols, withDefaults: true, w, new Version(24, 3)));
        // id: 0 + value; at: 1 (server computes now()); n: 0 + constant default 7 (we know it, so we send it)
        Assert.Equal(new byte[] { 0, 9, 1, 0, 7 }, w.WrittenSpan.ToArray());

        w.Reset();
        var reason = ClickHouseSink.EncodeRow(r, cols, withDefaults: false, w, new Version(18, 16, 1));
        Assert.Contains("field 'at' is missing", reason, StringComparison.Ordinal);
        Assert.Contains("this server is 18.16.1", reason, StringComparison.Ordinal);
        Assert.Equal(0, w.Position); // rolled back
    }

    [Fact]
    public async Task PreviewRow_InlineSchema_RendersJsonOrTheConversionError()
    {
        var o = new ClickHouseSinkOptions
        {
            Url = "http://127.0.0.1:1", Table = "events",
            Schema = { ["id"] = "UInt64", ["amount"] = "Decimal(10, 2)", ["at"] = "DateTime64(3)", ["tags"] = "Array(LowCardinality(String))", ["ip"] = "IPv4" },
        };
        using var sink = new ClickHouseSink(o, new ListLogger(), TimeProvider.System, SchemaSource.InlineWhenGiven);
        await sink.PrepareAsync(CancellationToken.None); // inline schema: no server contacted
        var layout = new RecordLayout();
        sink.BindColumns(layout);
        layout.Freeze();
        var r = layout.NewRecord();
        r[layout.Slot("id")] = Value.FromInt(1);
        r[layout.Slot("amount")] = Value.FromFloat(12.5);
        r[layout.Slot("at")] = Value.FromString("2024-05-01T12:00:00.123456Z");
        r[layout.Slot("tags")] = Value.FromArray([Value.FromString("a")]);
        r[layout.Slot("ip")] = Value.FromString("10.0.0.1");

        Assert.Null(sink.PreviewRow(r, out var json));
        Assert.Equal("""{"id":1,"amount":12.50,"at":"2024-05-01T12:00:00.123Z","tags":["a"],"ip":"10.0.0.1"}""", json);

        r[layout.Slot("amount")] = Value.FromFloat(0.001);
        var error = sink.PreviewRow(r, out _);
        Assert.StartsWith("column 'amount' (Decimal(10, 2)), field 'amount' = 0.001:", error, StringComparison.Ordinal);
    }
}

using StreamEnrich.Configuration;
using StreamEnrich.Records;
using StreamEnrich.Sinks.ClickHouse;
using Record = StreamEnrich.Records.Record;

namespace StreamEnrich.Tests.Sinks.ClickHouse;

/// <summary>
/// Guards the hot path against allocation per value and string materialisation. Allocation is deterministic, so it is
/// asserted; speed is not (it is measured by the benchmark, `streamenrich bench`, not by a timed test).
/// </summary>
public sealed class ClickHouseSinkAllocationTests
{
    [Fact]
    public void EncodeRow_TenColumnWebEvent_AllocatesNothingPerRow()
    {
        var o = new ClickHouseSinkOptions { Url = "http://127.0.0.1:1", Table = "t" };
        var cols = ClickHouseColumnPlan.Build(
        [
            new("ts", "DateTime64(3)", "", ""), new("user_id", "UInt64", "", ""), new("session", "String", "", ""),
            new("url", "String", "", ""), new("status", "UInt16", "", ""), new("latency", "Float64", "", ""),
            new("country", "LowCardinality(String)", "", ""), new("kind", "Enum8('view' = 1, 'click' = 2)", "", ""),
            new("price", "Decimal(18, 4)", "", ""), new("ref", "Nullable(String)", "", ""),
        ], o, TimeZoneInfo.Utc);
        var layout = new RecordLayout();
        foreach (var c in cols) c.Slot = layout.Slot(c.FieldPath);
        layout.Freeze();
        var payload = "sess-0123456789https://example.com/products/12345?ref=abcDEview"u8.ToArray();
        var records = new Record[10_000];
        for (var i = 0; i < records.Length; i++)
        {
            var r = layout.NewRecord();
            r[0] = Value.FromTimestampNanos(1_700_000_000_000_000_000 + i * 1_000_000L);
            r[1] = Value.FromInt(i * 7919L);
            r[2] = Value.FromUtf8(payload, 0, 15);
            r[3] = Value.FromUtf8(payload, 15, 42);
            r[4] = Value.FromInt(200);
            r[5] = Value.FromFloat(12.5 + i);
            r[6] = Value.FromUtf8(payload, 57, 2);
            r[7] = Value.FromUtf8(payload, 59, 4);
            r[8] = Value.FromDecimal(new DecimalValue(129_900 + i, 4));
            r[9] = i % 2 == 0 ? Value.Null : Value.FromUtf8(payload, 0, 4);
            records[i] = r;
        }
        using var w = new RowBinaryWriter(4 << 20);
        void Pass()
        {
            w.Reset();
            foreach (var r in records) Assert.Null(ClickHouseSink.EncodeRow(r, cols, false, w, null));
        }
        Pass(); // warm up (JIT, buffer growth)
        var before = GC.GetAllocatedBytesForCurrentThread();
        const int passes = 20;
        for (var p = 0; p < passes; p++) Pass();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 10_000, $"encoding allocated {allocated} bytes for {passes * records.Length} rows");
    }
}

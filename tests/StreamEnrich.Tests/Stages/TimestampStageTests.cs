using System.Text;
using StreamEnrich.Records;
using Record = StreamEnrich.Records.Record;
using StreamEnrich.Stages.Timestamp;
using static StreamEnrich.Tests.Stages.TestStageContext;

namespace StreamEnrich.Tests.Stages;

public class Iso8601Tests
{
    [Theory]
    [InlineData("1970-01-01T00:00:00Z", 0L, true)]
    [InlineData("2024-05-01T12:34:56Z", 1714566896000000000L, true)]
    [InlineData("2024-05-01T12:34:56.123456789Z", 1714566896123456789L, true)]
    [InlineData("2024-05-01T12:34:56.1Z", 1714566896100000000L, true)]
    [InlineData("2024-05-01t12:34:56,5z", 1714566896500000000L, true)]
    [InlineData("2024-05-01T14:34:56+02:00", 1714566896000000000L, true)]
    [InlineData("2024-05-01T10:04:56-0230", 1714566896000000000L, true)]
    [InlineData("2024-05-01T13:34:56+01", 1714566896000000000L, true)]
    [InlineData("2024-05-01 12:34:56", 1714566896000000000L, false)]
    [InlineData("2024-05-01T12:34", 1714566840000000000L, false)]
    [InlineData("2024-05-01", 1714521600000000000L, false)]
    [InlineData("1969-12-31T23:59:59.999999999Z", -1L, true)]
    public void TryParse_ValidForms_ExactNanos(string text, long nanos, bool hasOffset)
    {
        Assert.True(Iso8601.TryParse(Encoding.UTF8.GetBytes(text), out var n, out var o));
        Assert.Equal(nanos, n);
        Assert.Equal(hasOffset, o);
    }

    [Theory]
    [InlineData("2024-13-01T00:00:00Z")]
    [InlineData("2024-02-30T00:00:00Z")]
    [InlineData("2024-05-01T24:00:00Z")]
    [InlineData("2024-05-01T12:60:00Z")]
    [InlineData("2024-05-01T12:00:00.1234567891Z")]
    [InlineData("2024-05-01T12:00:00.Z")]
    [InlineData("2024-05-01T12:00:00Zjunk")]
    [InlineData("2024-05-01X12:00:00")]
    [InlineData("2024-5-1")]
    [InlineData("1600-01-01")]
    [InlineData("")]
    public void TryParse_Invalid_ReturnsFalse(string text)
    {
        Assert.False(Iso8601.TryParse(Encoding.UTF8.GetBytes(text), out _, out _));
    }
}

public class TimestampStageTests
{
    private static (TestStageContext Ctx, Record Record) Run(TimestampStageOptions options, Value input, string stageName = "ts-stage")
    {
        var ctx = new TestStageContext(stageName);
        var stage = ctx.Build("timestamp", options);
        var r = ctx.NewRecord(("ts", input));
        stage.Process(r);
        return (ctx, r);
    }

    private static long Nanos(int y, int mo, int d, int h, int mi, int s, int offsetHours = 0) =>
        (new DateTimeOffset(y, mo, d, h, mi, s, TimeSpan.FromHours(offsetHours)).UtcTicks - DateTimeOffset.UnixEpoch.Ticks) * 100;

    public static TheoryData<string, Value, long> Epochs => new()
    {
        { "epoch_s", Value.FromInt(1714566896), 1714566896000000000L },
        { "epoch_s", Value.FromFloat(1714566896.5), 1714566896500000000L },
        { "epoch_s", Value.FromString("1714566896.123456789"), 1714566896123456789L },
        { "epoch_ms", Value.FromInt(1714566896123), 1714566896123000000L },
        { "epoch_ms", Utf8("1714566896123"), 1714566896123000000L },
        { "epoch_us", Value.FromInt(1714566896123456), 1714566896123456000L },
        { "epoch_ns", Value.FromInt(1714566896123456789), 1714566896123456789L },
        { "epoch_ns", Value.FromString("1714566896123456789"), 1714566896123456789L },
        { "epoch_ms", Value.FromDecimal(new DecimalValue(17145668961235, 1)), 1714566896123500000L },
    };

    [Theory]
    [MemberData(nameof(Epochs))]
    public void Process_EpochFormats_ConvertExactly(string format, Value input, long expected)
    {
        var (ctx, r) = Run(new TimestampStageOptions { Field = "ts", Formats = [format] }, input);
        Assert.Null(r.FailureReason);
        Assert.Equal(Value.FromTimestampNanos(expected), ctx.Get(r, "ts"));
    }

    [Fact]
    public void Process_DefaultFormats_IsoThenEpochMillis()
    {
        var (ctx, r) = Run(new TimestampStageOptions { Field = "ts", Target = "event_time" }, Utf8("2024-05-01T12:34:56.000000001Z"));
        Assert.Equal(1714566896000000001L, ctx.Get(r, "event_time").AsTimestampNanos);
        Assert.Equal(ValueKind.String, ctx.Get(r, "ts").Kind); // source untouched when target differs
        (ctx, r) = Run(new TimestampStageOptions { Field = "ts" }, Value.FromInt(1714566896123));
        Assert.Equal(1714566896123000000L, ctx.Get(r, "ts").AsTimestampNanos);
    }

    [Fact]
    public void Process_Pattern_WithAndWithoutOffset()
    {
        var (ctx, r) = Run(new TimestampStageOptions { Field = "ts", Formats = ["dd/MM/yyyy HH:mm:ss"] }, Utf8("01/05/2024 12:34:56"));
        Assert.Equal(Nanos(2024, 5, 1, 12, 34, 56), ctx.Get(r, "ts").AsTimestampNanos);
        (ctx, r) = Run(new TimestampStageOptions { Field = "ts", Formats = ["yyyy-MM-dd HH:mm:ss zzz"] }, Value.FromString("2024-05-01 14:34:56 +02:00"));
        Assert.Equal(Nanos(2024, 5, 1, 12, 34, 56), ctx.Get(r, "ts").AsTimestampNanos);
    }

    [Fact]
    public void Process_TimezoneAppliesOnlyWithoutOffset()
    {
        var berlin = new TimestampStageOptions { Field = "ts", Timezone = "Europe/Berlin" };
        var (ctx, r) = Run(berlin, Value.FromString("2024-07-01T12:00:00")); // CEST, +02:00
        Assert.Equal(Nanos(2024, 7, 1, 10, 0, 0), ctx.Get(r, "ts").AsTimestampNanos);
        (ctx, r) = Run(berlin, Value.FromString("2024-01-15T12:00:00.25")); // CET, +01:00
        Assert.Equal(Nanos(2024, 1, 15, 11, 0, 0) + 250_000_000, ctx.Get(r, "ts").AsTimestampNanos);
        (ctx, r) = Run(berlin, Value.FromString("2024-07-01T12:00:00Z"));
        Assert.Equal(Nanos(2024, 7, 1, 12, 0, 0), ctx.Get(r, "ts").AsTimestampNanos);
        (ctx, r) = Run(new TimestampStageOptions { Field = "ts", Timezone = "America/New_York", Formats = ["yyyy-MM-dd HH:mm"] }, Value.FromString("2024-07-01 08:00"));
        Assert.Equal(Nanos(2024, 7, 1, 12, 0, 0), ctx.Get(r, "ts").AsTimestampNanos);
    }

    [Fact]
    public void Process_DstAmbiguousAndNonexistentLocalTimes_FollowDocumentedRule()
    {
        var berlin = new TimestampStageOptions { Field = "ts", Timezone = "Europe/Berlin" };
        // 2024-10-27 02:30 happens twice in Berlin (CEST then CET): read as standard time (CET, +01:00), the later instant.
        var (ctx, r) = Run(berlin, Value.FromString("2024-10-27T02:30:00"));
        Assert.Equal(Nanos(2024, 10, 27, 1, 30, 0), ctx.Get(r, "ts").AsTimestampNanos);
        // 2024-03-31 02:30 does not exist (clocks jump 02:00 -> 03:00): read with the standard offset, i.e. 03:30 CEST.
        (ctx, r) = Run(berlin, Value.FromString("2024-03-31T02:30:00"));
        Assert.Equal(Nanos(2024, 3, 31, 3, 30, 0, offsetHours: 2), ctx.Get(r, "ts").AsTimestampNanos);
    }

    [Fact]
    public void Process_Unparseable_FailsNamingFieldValueAndFormats()
    {
        var (_, r) = Run(new TimestampStageOptions { Field = "ts", Formats = ["iso8601", "epoch_s"] }, Value.FromString("last tuesday"), "parse-ts");
        Assert.Equal(RecordStatus.Failed, r.Status);
        Assert.Equal("parse-ts", r.FailedStage);
        Assert.Equal("timestamp 'ts': cannot parse 'last tuesday' (string) with any of the formats [iso8601, epoch_s].", r.FailureReason);
        (_, r) = Run(new TimestampStageOptions { Field = "ts", Formats = ["iso8601"] }, Value.FromInt(5));
        Assert.Equal("timestamp 'ts': cannot parse 5 (integer) with any of the formats [iso8601].", r.FailureReason);
        (_, r) = Run(new TimestampStageOptions { Field = "ts", Formats = ["epoch_s"] }, Value.FromInt(long.MaxValue / 10));
        Assert.Equal(RecordStatus.Failed, r.Status); // overflow is a failure, not a wrapped value
    }

    [Fact]
    public void Process_MissingOrNull_StaysUnlessRequired()
    {
        var (ctx, r) = Run(new TimestampStageOptions { Field = "ts" }, Value.Null);
        Assert.True(r.IsActive);
        Assert.Equal(ValueKind.Null, ctx.Get(r, "ts").Kind);
        (_, r) = Run(new TimestampStageOptions { Field = "ts", Required = true }, Value.Missing);
        Assert.Equal("timestamp 'ts' is <missing>; expected a time in one of the formats [iso8601, epoch_ms].", r.FailureReason);
    }

    [Fact]
    public void Process_Concurrently_EachRecordParsedIndependently()
    {
        var ctx = new TestStageContext();
        var stage = ctx.Build("timestamp", new TimestampStageOptions { Field = "ts", Timezone = "Europe/Berlin", Formats = ["iso8601", "epoch_s"] });
        var start = new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Unspecified);
        var records = Enumerable.Range(0, 5000).Select(i => ctx.NewRecord(("ts", i % 2 == 0
            ? Utf8(start.AddHours(i * 7).ToString("yyyy-MM-dd'T'HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture))
            : Value.FromInt(1_700_000_000 + i)))).ToArray();
        Parallel.ForEach(records, r => stage.Process(r));
        var berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
        for (var i = 0; i < records.Length; i++)
        {
            var expected = i % 2 == 0
                ? (TimeZoneInfo.ConvertTimeToUtc(start.AddHours(i * 7), berlin).Ticks - DateTime.UnixEpoch.Ticks) * 100
                : (1_700_000_000L + i) * 1_000_000_000L;
            Assert.Equal(expected, ctx.Get(records[i], "ts").AsTimestampNanos);
        }
    }

    [Fact]
    public void Process_AlreadyTimestamp_PassesThrough()
    {
        var (ctx, r) = Run(new TimestampStageOptions { Field = "ts", Formats = ["epoch_s"] }, Value.FromTimestampNanos(123));
        Assert.Equal(123, ctx.Get(r, "ts").AsTimestampNanos);
    }

    [Fact]
    public void Process_IsoUtf8WithZone_DoesNotAllocate()
    {
        var ctx = new TestStageContext();
        var stage = ctx.Build("timestamp", new TimestampStageOptions { Field = "ts", Target = "out", Timezone = "Europe/Berlin" });
        var r = ctx.NewRecord(("ts", Utf8("2024-05-01T12:34:56.123")));
        stage.Process(r);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++) stage.Process(r);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(Nanos(2024, 5, 1, 10, 34, 56) + 123_000_000, ctx.Get(r, "out").AsTimestampNanos);
    }

    [Fact]
    public void Validate_BadZoneAndFormats_AreReported()
    {
        var errors = TestStageContext.Validate(new TimestampStageOptions { Field = "ts", Timezone = "Mars/Olympus", Formats = [] });
        Assert.Contains(errors, e => e.Property == "Timezone" && e.Message == "unknown time zone 'Mars/Olympus'.");
        Assert.Contains(errors, e => e.Property == "Formats" && e.Message == "timestamp needs at least one format.");
        Assert.Contains(TestStageContext.Validate(new TimestampStageOptions { Field = "ts", Formats = ["%"] }),
            e => e.Message == "'%' is neither a known format nor a valid date pattern.");
        Assert.Empty(TestStageContext.Validate(new TimestampStageOptions { Field = "ts", Timezone = "Europe/Berlin" }));
    }
}

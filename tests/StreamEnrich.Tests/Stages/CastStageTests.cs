using StreamEnrich.Records;
using StreamEnrich.Stages.Cast;
using static StreamEnrich.Tests.Stages.TestStageContext;

namespace StreamEnrich.Tests.Stages;

public class CastStageTests
{
    private static (Value Result, string? Failure) Cast(string type, Value input)
    {
        var ctx = new TestStageContext("cast-stage");
        var stage = ctx.Build("cast", new CastStageOptions { Fields = new() { ["f"] = type } });
        var r = ctx.NewRecord(("f", input));
        stage.Process(r);
        return (ctx.Get(r, "f"), r.FailureReason);
    }

    private static void AssertCast(string type, Value input, Value expected)
    {
        var (result, failure) = Cast(type, input);
        Assert.Null(failure);
        Assert.Equal(expected.Kind, result.Kind);
        Assert.Equal(expected, result);
    }

    public static TheoryData<string, Value, Value> Conversions => new()
    {
        { "int", Value.FromString("42"), Value.FromInt(42) },
        { "int", Utf8(" -7 "), Value.FromInt(-7) },
        { "int", Value.FromFloat(3.0), Value.FromInt(3) },
        { "int", Value.FromString("12.0"), Value.FromInt(12) },
        { "int", Value.FromDecimal(5.00m), Value.FromInt(5) },
        { "int", Value.True, Value.FromInt(1) },
        { "int", Value.FromString("18446744073709551615"), Value.FromUInt(ulong.MaxValue) },
        { "float", Value.FromString("1.5e3"), Value.FromFloat(1500) },
        { "float", Utf8("-0.25"), Value.FromFloat(-0.25) },
        { "float", Value.FromInt(2), Value.FromFloat(2) },
        { "float", Value.FromDecimal(1.25m), Value.FromFloat(1.25) },
        { "bool", Value.FromString("TRUE"), Value.True },
        { "bool", Utf8("yes"), Value.True },
        { "bool", Value.FromString("No"), Value.False },
        { "bool", Value.FromString("0"), Value.False },
        { "bool", Value.FromInt(1), Value.True },
        { "decimal(2)", Value.FromString("19.99"), Value.FromDecimal(new DecimalValue(1999, 2)) },
        { "decimal(2)", Value.FromString("19.9"), Value.FromDecimal(new DecimalValue(1990, 2)) },
        { "decimal(2)", Value.FromFloat(0.1), Value.FromDecimal(new DecimalValue(10, 2)) },
        { "decimal(3)", Value.FromInt(-4), Value.FromDecimal(new DecimalValue(-4000, 3)) },
        { "decimal(0)", Value.FromDecimal(new DecimalValue(500, 2)), Value.FromDecimal(new DecimalValue(5, 0)) },
        { "string", Value.FromInt(42), Value.FromString("42") },
        { "string", Value.FromFloat(0.5), Value.FromString("0.5") },
        { "string", Value.True, Value.FromString("true") },
        { "timestamp", Value.FromString("2024-05-01T12:00:00.123456789+02:00"), Value.FromTimestampNanos(1714557600123456789) },
        { "timestamp", Utf8("2024-05-01 10:00:00"), Value.FromTimestampNanos(1714557600000000000) },
        { "date", Value.FromString("2024-05-01"), Value.FromDate(19844) },
        { "date", Value.FromTimestampNanos(1714557600123456789), Value.FromDate(19844) },
        { "date", Value.FromTimestampNanos(-1), Value.FromDate(-1) },
        { "uuid", Value.FromString("0f8fad5b-d9cb-469f-a165-70867728950e"), Value.FromGuid(Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e")) },
        { "uuid", Utf8("{0F8FAD5B-D9CB-469F-A165-70867728950E}"), Value.FromGuid(Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e")) },
    };

    [Theory]
    [MemberData(nameof(Conversions))]
    public void Process_ConvertibleValue_Converts(string type, Value input, Value expected) => AssertCast(type, input, expected);

    [Theory]
    [InlineData("int", "abc", "cast 'f': cannot convert 'abc' (string) to int.")]
    [InlineData("int", "1.5", "cast 'f': cannot convert '1.5' (string) to int (not an integer in the Int64 range).")]
    [InlineData("float", "1,5", "cast 'f': cannot convert '1,5' (string) to float.")]
    [InlineData("bool", "maybe", "cast 'f': cannot convert 'maybe' (string) to bool.")]
    [InlineData("decimal(2)", "1.234", "cast 'f': cannot convert '1.234' (string) to decimal(2) (it has more than 2 decimal places or is too large; decimals are never rounded).")]
    [InlineData("timestamp", "yesterday", "cast 'f': cannot convert 'yesterday' (string) to timestamp (expected an ISO-8601 string such as 2024-05-01T12:00:00Z; for epoch numbers or other formats use the timestamp stage).")]
    [InlineData("date", "2024-02-30", "cast 'f': cannot convert '2024-02-30' (string) to date.")]
    [InlineData("uuid", "not-a-uuid", "cast 'f': cannot convert 'not-a-uuid' (string) to uuid.")]
    public void Process_UnconvertibleString_FailsNamingFieldValueAndTarget(string type, string input, string reason)
    {
        var (result, failure) = Cast(type, Value.FromString(input));
        Assert.Equal(reason, failure);
        Assert.Equal(Value.FromString(input), result); // left unchanged for the dead-letter copy
    }

    [Fact]
    public void Process_NonIntegralFloatToInt_Fails()
    {
        Assert.Equal("cast 'f': cannot convert 2.5 (float) to int (not an integer in the Int64 range).", Cast("int", Value.FromFloat(2.5)).Failure);
        Assert.Equal("cast 'f': cannot convert 1E+20 (float) to int (not an integer in the Int64 range).", Cast("int", Value.FromFloat(1e20)).Failure);
        Assert.Equal("cast 'f': cannot convert 2 (integer) to bool.", Cast("bool", Value.FromInt(2)).Failure);
        Assert.Equal("cast 'f': cannot convert 5 (integer) to timestamp (expected an ISO-8601 string such as 2024-05-01T12:00:00Z; for epoch numbers or other formats use the timestamp stage).",
            Cast("timestamp", Value.FromInt(5)).Failure);
    }

    [Fact]
    public void Process_FailedRecord_ReportsStageName()
    {
        var ctx = new TestStageContext("my-cast");
        var stage = ctx.Build("cast", new CastStageOptions { Fields = new() { ["a"] = "int", ["b"] = "int" } });
        var r = ctx.NewRecord(("a", Value.FromString("1")), ("b", Value.FromString("x")));
        stage.Process(r);
        Assert.Equal(RecordStatus.Failed, r.Status);
        Assert.Equal("my-cast", r.FailedStage);
        Assert.Equal(Value.FromInt(1), ctx.Get(r, "a"));
    }

    [Theory]
    [InlineData("int")]
    [InlineData("decimal(2)")]
    [InlineData("uuid")]
    public void Process_NullAndMissing_StayAsTheyAre(string type)
    {
        Assert.Equal((Value.Null, null), Cast(type, Value.Null));
        Assert.Equal((Value.Missing, null), Cast(type, Value.Missing));
    }

    [Fact]
    public void Process_CommonConversions_DoNotAllocate()
    {
        var ctx = new TestStageContext();
        var stage = ctx.Build("cast", new CastStageOptions { Fields = new() { ["i"] = "int", ["f"] = "float", ["b"] = "bool", ["t"] = "timestamp" } });
        var r = ctx.NewRecord();
        var i = Utf8("12345");
        var f = Utf8("3.25");
        var b = Utf8("true");
        var t = Utf8("2024-05-01T12:00:00.5Z");
        void Run()
        {
            r.Fields[ctx.Field("i")] = i;
            r.Fields[ctx.Field("f")] = f;
            r.Fields[ctx.Field("b")] = b;
            r.Fields[ctx.Field("t")] = t;
            stage.Process(r);
        }
        Run();
        Assert.True(r.IsActive);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var k = 0; k < 100; k++) Run();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Validate_UnknownType_ListsAccepted()
    {
        var error = Assert.Single(TestStageContext.Validate(new CastStageOptions { Fields = new() { ["x"] = "decimal(99)" } }));
        Assert.Equal("cast of 'x': unknown type 'decimal(99)'.", error.Message);
        Assert.Equal($"Use one of: {CastTarget.Accepted}.", error.Hint);
        Assert.Single(TestStageContext.Validate(new CastStageOptions()));
    }
}

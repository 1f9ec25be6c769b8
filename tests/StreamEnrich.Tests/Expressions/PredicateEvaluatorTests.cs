using StreamEnrich.Records;
using static StreamEnrich.Tests.Expressions.PredicateParserTests;
using static StreamEnrich.Tests.Stages.TestStageContext;

namespace StreamEnrich.Tests.Expressions;

public class PredicateEvaluatorTests
{
    [Theory]
    [InlineData("x == null", true)]
    [InlineData("x != null", false)]
    [InlineData("null == x", true)]
    [InlineData("x == 1", false)]
    [InlineData("x != 1", true)]
    [InlineData("x < 1", false)]
    [InlineData("x <= 1", false)]
    [InlineData("x > 1", false)]
    [InlineData("x >= 1", false)]
    [InlineData("x in [1, 2]", false)]
    [InlineData("x in [1, null]", true)]
    [InlineData("x not in [1, 2]", true)]
    [InlineData("x contains 'a'", false)]
    [InlineData("x == y", true)]
    public void Evaluate_MissingAndNull_FollowNullSemantics(string predicate, bool expected)
    {
        Assert.Equal(expected, Eval(predicate, ("x", Value.Missing), ("y", Value.Null)));
        Assert.Equal(expected, Eval(predicate, ("x", Value.Null), ("y", Value.Missing)));
    }

    [Fact]
    public void Evaluate_Exists_TrueForNullFalseForMissing()
    {
        Assert.True(Eval("exists(x)", ("x", Value.Null)));
        Assert.False(Eval("exists(x)", ("x", Value.Missing)));
    }

    [Theory]
    [InlineData("x == 3", true)]
    [InlineData("x == 3.0", true)]
    [InlineData("x < 3.5", true)]
    [InlineData("x > 2.99", true)]
    [InlineData("x in [2.0, 3.0]", true)]
    public void Evaluate_IntAgainstFloat_ComparesNumerically(string predicate, bool expected)
    {
        Assert.Equal(expected, Eval(predicate, ("x", Value.FromInt(3))));
        Assert.Equal(expected, Eval(predicate, ("x", Value.FromFloat(3.0))));
        Assert.Equal(expected, Eval(predicate, ("x", Value.FromDecimal(3.00m))));
    }

    [Fact]
    public void Evaluate_LargeIntegers_CompareExactly()
    {
        Assert.True(Eval("x < 9007199254740993", ("x", Value.FromInt(9007199254740992))));
        Assert.True(Eval("x > 9223372036854775807", ("x", Value.FromUInt(ulong.MaxValue))));
        Assert.True(Eval("x == 18446744073709551615", ("x", Value.FromUInt(ulong.MaxValue))));
    }

    [Fact]
    public void Evaluate_NaN_IsNotEqualToItselfOrOrdered()
    {
        Assert.False(Eval("x == y", ("x", Value.FromFloat(double.NaN)), ("y", Value.FromFloat(double.NaN))));
        Assert.False(Eval("x < 1", ("x", Value.FromFloat(double.NaN))));
    }

    [Theory]
    [InlineData("x == '3'")]
    [InlineData("x == true")]
    public void Evaluate_MismatchedKinds_AreNotEqualAndNotOrdered(string predicate)
    {
        Assert.False(Eval(predicate, ("x", Value.FromInt(3))));
        Assert.True(Eval(predicate.Replace("==", "!=", StringComparison.Ordinal), ("x", Value.FromInt(3))));
        Assert.False(Eval(predicate.Replace("==", "<", StringComparison.Ordinal), ("x", Value.FromInt(3))));
        Assert.False(Eval(predicate.Replace("==", ">", StringComparison.Ordinal), ("x", Value.FromInt(3))));
    }

    [Fact]
    public void Evaluate_StringOrdering_IsOrdinalByCodePoint()
    {
        Assert.True(Eval("s < 'b'", ("s", Utf8("B"))));       // 'B' (0x42) < 'b' (0x62)
        Assert.True(Eval("s > 'z'", ("s", Utf8("é"))));       // U+00E9 after ASCII
        Assert.True(Eval("s > 'z'", ("s", Value.FromString("é"))));
        Assert.False(Eval("s == 'Hello'", ("s", Utf8("hello"))));
    }

    [Fact]
    public void Evaluate_FieldAgainstField_MixedUtf8AndString()
    {
        Assert.True(Eval("a == b", ("a", Utf8("same")), ("b", Value.FromString("same"))));
        Assert.True(Eval("a < b", ("a", Value.FromString("abc")), ("b", Utf8("abd"))));
        Assert.True(Eval("a contains b", ("a", Utf8("xxabcxx")), ("b", Value.FromString("abc"))));
        Assert.True(Eval("a starts_with b", ("a", Value.FromString("abc")), ("b", Value.FromString("ab"))));
    }

    [Fact]
    public void Evaluate_TimestampAgainstIsoLiteral_ComparesInstants()
    {
        var ts = Value.FromDateTimeOffset(new DateTimeOffset(2024, 5, 1, 12, 0, 0, TimeSpan.Zero));
        Assert.True(Eval("t == '2024-05-01T12:00:00Z'", ("t", ts)));
        Assert.True(Eval("t == '2024-05-01T14:00:00+02:00'", ("t", ts)));
        Assert.True(Eval("t > '2024-05-01T11:59:59.999999999'", ("t", ts)));
        Assert.True(Eval("t >= '2024-05-01'", ("t", ts)));
        Assert.False(Eval("t < '2024-05-01'", ("t", ts)));
        Assert.False(Eval("t == 'not a time'", ("t", ts)));
    }

    [Fact]
    public void Evaluate_DateAndUuidAgainstLiterals_Compare()
    {
        var day = Value.FromDate(new DateOnly(2024, 2, 29).DayNumber - new DateOnly(1970, 1, 1).DayNumber);
        Assert.True(Eval("d == '2024-02-29'", ("d", day)));
        Assert.True(Eval("d < '2024-03-01'", ("d", day)));
        var g = Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e");
        Assert.True(Eval("u == '0f8fad5b-d9cb-469f-a165-70867728950e'", ("u", Value.FromGuid(g))));
        Assert.True(Eval("u in ['0F8FAD5B-D9CB-469F-A165-70867728950E']", ("u", Value.FromGuid(g))));
        Assert.False(Eval("u == '00000000-0000-0000-0000-000000000000'", ("u", Value.FromGuid(g))));
    }

    [Fact]
    public void Evaluate_StringOperatorsOnNonStrings_AreFalse()
    {
        Assert.False(Eval("x contains '1'", ("x", Value.FromInt(123))));
        Assert.True(Eval("not x contains '1'", ("x", Value.FromInt(123))));
    }

    [Fact]
    public void Evaluate_Bools_Compare()
    {
        Assert.True(Eval("b == true", ("b", Value.True)));
        Assert.True(Eval("b != true", ("b", Value.False)));
        Assert.True(Eval("b < true", ("b", Value.False)));
    }

    [Fact]
    public void Evaluate_ManyTimes_DoesNotAllocate()
    {
        var layout = new RecordLayout();
        var node = StreamEnrich.Expressions.Predicate.Compile(
            "event == 'purchase' and amount > 10 and country in ['DE', 'AT'] and name starts_with 'A' and exists(user.id) and ts > '2024-01-01T00:00:00Z'",
            layout.Slot);
        var fields = new Value[layout.Count];
        fields[layout.Slot("event")] = Utf8("purchase");
        fields[layout.Slot("amount")] = Value.FromFloat(12.5);
        fields[layout.Slot("country")] = Utf8("AT");
        fields[layout.Slot("name")] = Value.FromString("Anna");
        fields[layout.Slot("user.id")] = Value.FromInt(1);
        fields[layout.Slot("ts")] = Value.FromTimestampNanos(1_800_000_000_000_000_000);
        Assert.True(node.Evaluate(fields));
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++) node.Evaluate(fields);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}

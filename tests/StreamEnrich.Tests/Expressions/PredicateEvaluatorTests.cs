using StreamEnrich.Expressions;
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
    [InlineData("x == '3'", "cannot compare x = 3 (integer) with '3' (string) ('x == '3'')")]
    [InlineData("x != '3'", "cannot compare x = 3 (integer) with '3' (string) ('x != '3'')")]
    [InlineData("x < '3'", "cannot compare x = 3 (integer) with '3' (string) ('x < '3'')")]
    [InlineData("x == true", "cannot compare x = 3 (integer) with true (bool) ('x == true')")]
    [InlineData("'3' >= x", "cannot compare '3' (string) with x = 3 (integer) (''3' >= x')")]
    public void Evaluate_MismatchedKinds_CannotBeEvaluatedAndSayWhy(string predicate, string why)
    {
        // No implicit conversion, and no silent false either: the record fails with this reason.
        Assert.Equal(why, Invalid(predicate, ("x", Value.FromInt(3))));
    }

    [Fact]
    public void Evaluate_TextHoldingANumber_IsNotANumber()
    {
        // The case this guards: a number that arrives as JSON text, or from a CSV lookup column.
        Assert.Equal("cannot compare amount = '15' (string) with 10 (integer) ('amount > 10')", Invalid("amount > 10", ("amount", Utf8("15"))));
        Assert.True(Eval("amount > '10'", ("amount", Utf8("15")))); // text with text: ordinal
        Assert.True(Eval("amount > 10", ("amount", Value.FromInt(15))));
    }

    [Fact]
    public void Evaluate_InvalidTest_StopsAndOrAndNot()
    {
        var x = ("x", Value.FromInt(3));
        Assert.Contains("'x > 'a''", Invalid("x > 'a' and x == 3", x));
        Assert.Contains("'x > 'a''", Invalid("x == 3 and x > 'a'", x));
        Assert.Contains("'x > 'a''", Invalid("x > 'a' or x == 3", x));
        Assert.Contains("'x > 'a''", Invalid("not x > 'a'", x));
        // Short-circuits: the test that is never reached cannot make the record fail.
        Assert.False(Eval("x == 4 and x > 'a'", x));
        Assert.True(Eval("x == 3 or x > 'a'", x));
        Assert.True(Eval("not exists(y) or y > 'a'", x));
    }

    [Fact]
    public void Evaluate_InListOfMixedKinds_NeedsOneComparableItem()
    {
        Assert.True(Eval("x in ['a', 3]", ("x", Value.FromInt(3))));
        Assert.False(Eval("x in ['a', 4]", ("x", Value.FromInt(3))));
        Assert.True(Eval("x not in ['a', 4]", ("x", Value.FromInt(3))));
        Assert.Equal("cannot compare x = 3 (integer) with the items of ['a', 'b'] ('x in [...]')", Invalid("x in ['a', 'b']", ("x", Value.FromInt(3))));
        Assert.False(Eval("x in ['a', 'b']", ("x", Value.Null))); // null is no error
    }

    [Fact]
    public void Evaluate_BareNonBooleanField_CannotBeACondition()
    {
        Assert.Equal("active = 'true' (string) is not a boolean, so it cannot be a condition by itself (compare it: 'active == ...')",
            Invalid("active", ("active", Utf8("true"))));
        Assert.True(Eval("active", ("active", Value.True)));
        Assert.False(Eval("active", ("active", Value.Null)));
        Assert.False(Eval("active", ("other", Value.True))); // missing
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
        Assert.Contains("cannot compare t = ", Invalid("t == 'not a time'", ("t", ts)));
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
    public void Evaluate_StringOperatorsOnNonStrings_CannotBeEvaluated()
    {
        Assert.Equal("'contains' needs text on both sides, got x = 123 (integer) and '1' (string)", Invalid("x contains '1'", ("x", Value.FromInt(123))));
        Assert.Contains("'contains' needs text", Invalid("not x contains '1'", ("x", Value.FromInt(123))));
        Assert.False(Eval("x contains '1'", ("x", Value.Null)));
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
        Assert.Equal(Truth.True, node.Evaluate(fields));
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++) node.Evaluate(fields);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}

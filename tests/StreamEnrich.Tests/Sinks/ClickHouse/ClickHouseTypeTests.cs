using StreamEnrich.Sinks.ClickHouse;

namespace StreamEnrich.Tests.Sinks.ClickHouse;

public sealed class ClickHouseTypeTests
{
    [Theory]
    [InlineData("Int8", "Int8")]
    [InlineData("UInt256", "UInt256")]
    [InlineData("Float32", "Float32")]
    [InlineData("String", "String")]
    [InlineData("Date32", "Date32")]
    [InlineData("UUID", "Uuid")]
    [InlineData("Bool", "Bool")]
    [InlineData("IPv6", "IPv6")]
    [InlineData("Nothing", "Nothing")]
    public void Parse_SimpleTypes_Kind(string text, string kind) => Assert.Equal(kind, ClickHouseType.Parse(text).Kind.ToString());

    [Theory]
    [InlineData("Decimal(9, 2)", 9, 2, 4)]
    [InlineData("Decimal(18,4)", 18, 4, 8)]
    [InlineData("Decimal(38, 10)", 38, 10, 16)]
    [InlineData("Decimal(50, 3)", 50, 3, 32)]
    [InlineData("Decimal32(3)", 9, 3, 4)]
    [InlineData("Decimal64(5)", 18, 5, 8)]
    [InlineData("Decimal128(1)", 38, 1, 16)]
    [InlineData("Decimal256(7)", 76, 7, 32)]
    public void Parse_Decimals_PrecisionScaleSize(string text, int p, int s, int size)
    {
        var t = ClickHouseType.Parse(text);
        Assert.Equal((ClickHouseTypeKind.Decimal, p, s, size), (t.Kind, t.Precision, t.Scale, t.Size));
    }

    [Fact]
    public void Parse_DateTimes_PrecisionAndZone()
    {
        Assert.Null(ClickHouseType.Parse("DateTime").TimeZone);
        Assert.Equal("Europe/Moscow", ClickHouseType.Parse("DateTime('Europe/Moscow')").TimeZone);
        var t = ClickHouseType.Parse("DateTime64(3, 'UTC')");
        Assert.Equal((ClickHouseTypeKind.DateTime64, 3, "UTC"), (t.Kind, t.Precision, t.TimeZone));
        Assert.Equal(9, ClickHouseType.Parse("DateTime64(9)").Precision);
    }

    [Fact]
    public void Parse_FixedString_Length() => Assert.Equal(16, ClickHouseType.Parse("FixedString(16)").Size);

    [Fact]
    public void Parse_Enum_QuotesEscapesAndNegativeValues()
    {
        var t = ClickHouseType.Parse(@"Enum8('a\'b' = -1, 'c''d' = 2, 'e\\f' = 3, 'g,h=' = -128)");
        Assert.Equal(ClickHouseTypeKind.Enum8, t.Kind);
        Assert.Equal(new KeyValuePair<string, int>[] { new("a'b", -1), new("c'd", 2), new(@"e\f", 3), new("g,h=", -128) }, t.EnumValues);
        Assert.Equal(ClickHouseTypeKind.Enum16, ClickHouseType.Parse("Enum16('x' = 1000)").Kind);
    }

    [Fact]
    public void Parse_Composites_Nested()
    {
        var t = ClickHouseType.Parse("Map(LowCardinality(String), Array(Nullable(Decimal(10, 2))))");
        Assert.Equal(ClickHouseTypeKind.Map, t.Kind);
        Assert.Equal(ClickHouseTypeKind.LowCardinality, t.Arguments[0].Kind);
        Assert.Equal(ClickHouseTypeKind.String, t.Arguments[0].Inner.Kind);
        Assert.Equal(2, t.Arguments[1].Inner.Inner.Scale);
        Assert.Equal("Map(LowCardinality(String), Array(Nullable(Decimal(10, 2))))", t.Text);
    }

    [Fact]
    public void Parse_Tuples_UnnamedAndNamed()
    {
        var u = ClickHouseType.Parse("Tuple(Int8, String)");
        Assert.False(u.IsNamedTuple);
        Assert.Equal(2, u.Arguments.Count);
        var n = ClickHouseType.Parse("Tuple(a Int32, `b c` Array(String), d Nullable(String))");
        Assert.True(n.IsNamedTuple);
        Assert.Equal(new[] { "a", "b c", "d" }, n.ElementNames);
        Assert.Equal(ClickHouseTypeKind.Array, n.Arguments[1].Kind);
    }

    [Theory]
    [InlineData("JSON", "Unsupported ClickHouse type 'JSON'")]
    [InlineData("Array(Object('json'))", "Unsupported ClickHouse type 'Object'")]
    [InlineData("FixedString", "FixedString needs a length")]
    [InlineData("Decimal(9, 12)", "decimal scale must be 0..9")]
    [InlineData("Int32 x", "unexpected")]
    [InlineData("Nullable(Int32", "expected ')'")]
    public void Parse_Unknown_ThrowsNamingTheType(string text, string message)
    {
        var e = Assert.Throws<FormatException>(() => ClickHouseType.Parse(text));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.Contains(text, e.Message, StringComparison.Ordinal);
    }
}

using StreamEnrich.Records;
using StreamEnrich.Sinks.ClickHouse;

namespace StreamEnrich.Tests.Sinks.ClickHouse;

/// <summary>Byte-level checks of every type against the RowBinary spec; expected bytes written out by hand.</summary>
public sealed class RowBinaryEncoderTests
{
    private static byte[] Encode(string type, Value v)
    {
        var enc = ValueEncoder.Create(ClickHouseType.Parse(type));
        using var w = new RowBinaryWriter(16);
        var err = enc.Write(v, w);
        Assert.Null(err);
        return w.WrittenSpan.ToArray();
    }

    private static string Fail(string type, Value v)
    {
        var enc = ValueEncoder.Create(ClickHouseType.Parse(type));
        using var w = new RowBinaryWriter(16);
        var err = enc.Write(v, w);
        Assert.NotNull(err);
        return err!;
    }

    private static Value S(string s) => Value.FromString(s);
    private static Value U8(string s) => Value.FromUtf8(System.Text.Encoding.UTF8.GetBytes(s));

    [Theory]
    [InlineData("Int8", -2L, new byte[] { 0xFE })]
    [InlineData("Int16", -2L, new byte[] { 0xFE, 0xFF })]
    [InlineData("Int32", 0x01020304L, new byte[] { 0x04, 0x03, 0x02, 0x01 })]
    [InlineData("Int64", -1L, new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF })]
    [InlineData("UInt8", 255L, new byte[] { 0xFF })]
    [InlineData("UInt16", 0x1234L, new byte[] { 0x34, 0x12 })]
    [InlineData("UInt32", 4294967295L, new byte[] { 0xFF, 0xFF, 0xFF, 0xFF })]
    [InlineData("UInt64", 1L, new byte[] { 1, 0, 0, 0, 0, 0, 0, 0 })]
    public void Write_Integers_LittleEndian(string type, long value, byte[] expected) =>
        Assert.Equal(expected, Encode(type, Value.FromInt(value)));

    [Fact]
    public void Write_UInt64Max_AllOnes() =>
        Assert.Equal(Enumerable.Repeat((byte)0xFF, 8), Encode("UInt64", Value.FromUInt(ulong.MaxValue)));

    [Fact]
    public void Write_Int128AndUInt256_SignExtendedLittleEndian()
    {
        Assert.Equal(Enumerable.Repeat((byte)0xFF, 16), Encode("Int128", Value.FromInt(-1)));
        var u = new byte[32]; u[0] = 2; u[1] = 1;
        Assert.Equal(u, Encode("UInt256", S("258")));
    }

    [Fact]
    public void Write_IntegerFromStringAndIntegralFloat_Parsed()
    {
        Assert.Equal(new byte[] { 0x85, 0xFF }, Encode("Int16", U8("-123")));
        Assert.Equal(new byte[] { 7, 0, 0, 0 }, Encode("UInt32", Value.FromFloat(7.0)));
    }

    [Fact]
    public void Write_Floats_Ieee754LittleEndian()
    {
        Assert.Equal(new byte[] { 0x00, 0x00, 0xC0, 0x3F }, Encode("Float32", Value.FromFloat(1.5)));
        Assert.Equal(new byte[] { 0, 0, 0, 0, 0, 0, 0xF8, 0xBF }, Encode("Float64", Value.FromFloat(-1.5)));
        Assert.Equal(new byte[] { 0, 0, 0, 0, 0, 0, 0xF0, 0x7F }, Encode("Float64", S("inf")));
    }

    [Fact]
    public void Write_Decimals_UnscaledLittleEndian()
    {
        // 12.34 at scale 2 → 1234 = 0x04D2
        Assert.Equal(new byte[] { 0xD2, 0x04, 0, 0 }, Encode("Decimal(9, 2)", Value.FromDecimal(12.34m)));
        Assert.Equal(new byte[] { 0xD2, 0x04, 0, 0, 0, 0, 0, 0 }, Encode("Decimal64(3)", S("1.234")));
        // -1.5 at scale 1 → -15 in 16 bytes two's complement
        var neg = Enumerable.Repeat((byte)0xFF, 16).ToArray(); neg[0] = 0xF1;
        Assert.Equal(neg, Encode("Decimal128(1)", Value.FromDecimal(-1.5m)));
        // a float goes through its shortest round-trip text: 0.1 → exactly 10 at scale 2
        Assert.Equal(new byte[] { 10, 0, 0, 0 }, Encode("Decimal32(2)", Value.FromFloat(0.1)));
        var d256 = Enumerable.Repeat((byte)0xFF, 32).ToArray(); d256[0] = 0xFE;
        Assert.Equal(d256, Encode("Decimal256(0)", Value.FromInt(-2)));
    }

    [Fact]
    public void Write_Strings_VarintLengthThenBytes()
    {
        Assert.Equal(new byte[] { 3, (byte)'a', (byte)'b', (byte)'c' }, Encode("String", S("abc")));
        Assert.Equal(new byte[] { 3, (byte)'a', (byte)'b', (byte)'c' }, Encode("String", U8("abc")));
        Assert.Equal(new byte[] { 2, 0xC3, 0xA9 }, Encode("String", S("é")));
        var longText = new string('x', 200);
        var bytes = Encode("String", S(longText));
        Assert.Equal(new byte[] { 0xC8, 0x01 }, bytes[..2]); // 200 as LEB128
        Assert.Equal(202, bytes.Length);
        Assert.Equal(new byte[] { 0 }, Encode("LowCardinality(String)", S("")));
        Assert.Equal(new byte[] { 1, (byte)'z' }, Encode("LowCardinality(String)", S("z")));
    }

    [Fact]
    public void Write_FixedString_PadsWithZeros_RejectsLonger()
    {
        Assert.Equal(new byte[] { (byte)'a', (byte)'b', 0, 0 }, Encode("FixedString(4)", S("ab")));
        Assert.Contains("longer than FixedString(2)", Fail("FixedString(2)", S("abc")), StringComparison.Ordinal);
    }

    [Fact]
    public void Write_Dates_DaysSinceEpoch()
    {
        // 2020-01-01 = day 18262 = 0x4756
        Assert.Equal(new byte[] { 0x56, 0x47 }, Encode("Date", S("2020-01-01")));
        Assert.Equal(new byte[] { 0x56, 0x47 }, Encode("Date", Value.FromDate(18262)));
        Assert.Equal(new byte[] { 0x56, 0x47 }, Encode("Date", Value.FromTimestampNanos(18262L * 86_400_000_000_000 + 5)));
        // 1969-12-31 = -1 in Date32
        Assert.Equal(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF }, Encode("Date32", S("1969-12-31")));
    }

    [Fact]
    public void Write_DateTime_SecondsSinceEpochUInt32()
    {
        // 2020-01-01T00:00:00Z = 1577836800 = 0x5E0BE100
        var expected = new byte[] { 0x00, 0xE1, 0x0B, 0x5E };
        Assert.Equal(expected, Encode("DateTime", S("2020-01-01 00:00:00")));
        Assert.Equal(expected, Encode("DateTime('UTC')", S("2020-01-01T01:00:00+01:00")));
        Assert.Equal(expected, Encode("DateTime", Value.FromInt(1577836800)));
        Assert.Equal(expected, Encode("DateTime", Value.FromTimestampNanos(1577836800_999_999_999)));
        Assert.Equal(expected, Encode("DateTime", U8("1577836800")));
    }

    [Fact]
    public void Write_DateTime_ZoneOfColumnAppliesToTextWithoutOffset()
    {
        // 2020-01-01 00:00:00 in Europe/Berlin (UTC+1) = 1577833200 = 0x5E0BD2F0
        Assert.Equal(new byte[] { 0xF0, 0xD2, 0x0B, 0x5E }, Encode("DateTime('Europe/Berlin')", S("2020-01-01 00:00:00")));
    }

    [Fact]
    public void Write_DateTime64_TicksOfPrecision()
    {
        // 1577836800.123 s at precision 3 → 1577836800123 ticks
        var ms = BitConverter.GetBytes(1577836800123L);
        Assert.Equal(ms, Encode("DateTime64(3)", S("2020-01-01T00:00:00.123Z")));
        Assert.Equal(ms, Encode("DateTime64(3, 'UTC')", Value.FromTimestampNanos(1577836800_123_456_789)));
        Assert.Equal(ms, Encode("DateTime64(3)", Value.FromDecimal(1577836800.123m)));
        Assert.Equal(BitConverter.GetBytes(1577836800_123_456_789L), Encode("DateTime64(9)", Value.FromTimestampNanos(1577836800_123_456_789)));
        Assert.Equal(BitConverter.GetBytes(1577836800_123_456_789L), Encode("DateTime64(9)", S("2020-01-01 00:00:00.123456789")));
        Assert.Equal(new byte[] { 0x80, 0x81, 0x55, 0x7C, 0xFF, 0xFF, 0xFF, 0xFF }, Encode("DateTime64(0)", S("1900-01-01T00:00:00Z"))); // -2208988800 = 0xFFFFFFFF7C558180
    }

    [Fact]
    public void Write_Uuid_TwoLittleEndianHalvesHighFirst()
    {
        // Verified against ClickHouse 18.16: SELECT toUUID('00112233-4455-6677-8899-aabbccddeeff') FORMAT RowBinary
        var expected = new byte[] { 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00, 0xFF, 0xEE, 0xDD, 0xCC, 0xBB, 0xAA, 0x99, 0x88 };
        Assert.Equal(expected, Encode("UUID", S("00112233-4455-6677-8899-aabbccddeeff")));
        Assert.Equal(expected, Encode("UUID", Value.FromGuid(Guid.Parse("00112233-4455-6677-8899-aabbccddeeff"))));
    }

    [Fact]
    public void Write_IPs_IPv4UInt32LittleEndian_IPv6NetworkOrder()
    {
        Assert.Equal(new byte[] { 4, 3, 2, 1 }, Encode("IPv4", S("1.2.3.4")));
        var v6 = new byte[16]; v6[0] = 0x20; v6[1] = 0x01; v6[2] = 0x0d; v6[3] = 0xb8; v6[15] = 1;
        Assert.Equal(v6, Encode("IPv6", S("2001:db8::1")));
        var mapped = new byte[16]; mapped[10] = 0xFF; mapped[11] = 0xFF; mapped[12] = 1; mapped[13] = 2; mapped[14] = 3; mapped[15] = 4;
        Assert.Equal(mapped, Encode("IPv6", S("1.2.3.4")));
        Assert.Contains("not an IPv4 address", Fail("IPv4", S("1.2.3.256")), StringComparison.Ordinal);
    }

    [Fact]
    public void Write_Enum8_ByNameOrNumber()
    {
        const string t = "Enum8('a\\'b' = -1, 'c' = 2)";
        Assert.Equal(new byte[] { 0xFF }, Encode(t, S("a'b")));
        Assert.Equal(new byte[] { 2 }, Encode(t, Value.FromInt(2)));
        Assert.Equal(new byte[] { 0xFE, 0xFF }, Encode("Enum16('x' = -2)", S("x")));
        Assert.Contains("is not a value of", Fail(t, S("zzz")), StringComparison.Ordinal);
        Assert.Contains("is not a value of", Fail(t, Value.FromInt(3)), StringComparison.Ordinal);
    }

    [Fact]
    public void Write_Bool_OneByte()
    {
        Assert.Equal(new byte[] { 1 }, Encode("Bool", Value.True));
        Assert.Equal(new byte[] { 0 }, Encode("Bool", S("false")));
    }

    [Fact]
    public void Write_Nullable_PrefixByte()
    {
        Assert.Equal(new byte[] { 1 }, Encode("Nullable(Int32)", Value.Null));
        Assert.Equal(new byte[] { 0, 5, 0, 0, 0 }, Encode("Nullable(Int32)", Value.FromInt(5)));
        Assert.Equal(new byte[] { 0, 1, (byte)'q' }, Encode("LowCardinality(Nullable(String))", S("q")));
    }

    [Fact]
    public void Write_Arrays_CountThenElements()
    {
        Assert.Equal(new byte[] { 0 }, Encode("Array(Int8)", Value.FromArray([])));
        Assert.Equal(new byte[] { 2, 1, 0xFF }, Encode("Array(Int8)", Value.FromArray([Value.FromInt(1), Value.FromInt(-1)])));
        var nested = Value.FromArray([Value.FromArray([Value.FromInt(7)]), Value.FromArray([])]);
        Assert.Equal(new byte[] { 2, 1, 7, 0 }, Encode("Array(Array(UInt8))", nested));
        Assert.Equal(new byte[] { 2, 1, 0, 3 }, Encode("Array(Nullable(UInt8))", Value.FromArray([Value.Null, Value.FromInt(3)])));
    }

    [Fact]
    public void Write_Map_CountThenKeyValuePairs()
    {
        var m = Value.FromMap([new("a", Value.FromInt(1)), new("bc", Value.FromInt(2))]);
        Assert.Equal(new byte[] { 2, 1, (byte)'a', 1, 0, 0, 0, 2, (byte)'b', (byte)'c', 2, 0, 0, 0 }, Encode("Map(String, UInt32)", m));
        Assert.Equal(new byte[] { 1, 9, 0, 1 }, Encode("Map(UInt16, UInt8)", Value.FromMap([new("9", Value.FromInt(1))])));
    }

    [Fact]
    public void Write_Tuple_ElementsInOrder_FromListOrNamedObject()
    {
        Assert.Equal(new byte[] { 1, 1, (byte)'x' }, Encode("Tuple(Int8, String)", Value.FromArray([Value.FromInt(1), S("x")])));
        // named tuple from an object: order of the type, missing element gets its default
        var obj = Value.FromMap([new("b", S("x")), new("a", Value.FromInt(-1))]);
        Assert.Equal(new byte[] { 0xFF, 1, (byte)'x', 0, 0 }, Encode("Tuple(a Int8, b String, c UInt16)", obj));
    }

    [Fact]
    public void WriteDefault_TypeDefaults_MatchClickHouse()
    {
        static byte[] Default(string type)
        {
            using var w = new RowBinaryWriter(16);
            ValueEncoder.Create(ClickHouseType.Parse(type)).WriteDefault(w);
            return w.WrittenSpan.ToArray();
        }
        Assert.Equal(new byte[] { 0, 0, 0, 0 }, Default("Int32"));
        Assert.Equal(new byte[] { 0 }, Default("String"));
        Assert.Equal(new byte[] { 0 }, Default("Array(String)"));
        Assert.Equal(new byte[] { 1 }, Default("Nullable(String)"));
        Assert.Equal(new byte[] { 0xFD }, Default("Enum8('x' = 5, 'y' = -3)")); // smallest value, as the server does
        Assert.Equal(new byte[3], Default("FixedString(3)"));
    }

    // ---- conversion failures ----

    [Fact]
    public void Write_OutOfRange_Fails()
    {
        Assert.Contains("out of range for UInt8", Fail("UInt8", Value.FromInt(256)), StringComparison.Ordinal);
        Assert.Contains("out of range for Int8", Fail("Int8", S("-129")), StringComparison.Ordinal);
        Assert.Contains("out of range for Int64", Fail("Int64", Value.FromUInt(ulong.MaxValue)), StringComparison.Ordinal);
        Assert.Contains("is not an integer", Fail("Int32", Value.FromFloat(1.5)), StringComparison.Ordinal);
    }

    [Fact]
    public void Write_NullIntoNonNullable_Fails() =>
        Assert.Contains("null is not allowed in non-Nullable Int32", Fail("Int32", Value.Null), StringComparison.Ordinal);

    [Fact]
    public void Write_BadDate_Fails()
    {
        Assert.Contains("is not a date", Fail("Date", S("2020-02-30")), StringComparison.Ordinal);
        Assert.Contains("is not a date-time", Fail("DateTime", S("yesterday")), StringComparison.Ordinal);
        Assert.Contains("out of range", Fail("DateTime", Value.FromInt(-1)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Decimal(9, 2)")]
    [InlineData("Decimal(12, 2)")]
    [InlineData("Decimal(18, 4)")]
    [InlineData("Decimal(18, 0)")]
    [InlineData("Decimal(18, 18)")]
    [InlineData("Decimal(4, 2)")]
    [InlineData("Decimal32(9)")]
    public void Write_DecimalFromIntOrDouble_ShortPathWritesWhatTheExactPathWrites(string type)
    {
        // The long-arithmetic path for Decimal32/64 must agree with the Int128 one, bytes and errors, on every input.
        var enc = (DecimalEncoder)ValueEncoder.Create(ClickHouseType.Parse(type));
        var random = new Random(5);
        var values = new List<Value>();
        foreach (var d in new[] { 0.0, -0.0, 0.1, 19.99, -19.99, 1e-9, 123456789.12, 99.995, 1e15, -1e17, 9.999999999999999e17, 1e18, 1e300, 5e-324, double.NaN, double.PositiveInfinity })
            values.Add(Value.FromFloat(d));
        foreach (var l in new[] { 0L, 1, -1, 99, 100, 999_999_999, 1_000_000_000, long.MaxValue, long.MinValue, 99_999_999_999_999, 10_000_000_000_000_000 })
            values.Add(Value.FromInt(l));
        for (var i = 0; i < 20_000; i++)
        {
            var digits = random.Next(0, 7);
            var magnitude = Math.Pow(10, random.Next(0, 19));
            values.Add(Value.FromFloat(Math.Round((random.NextDouble() - 0.5) * magnitude, digits)));
            values.Add(Value.FromInt(random.NextInt64(-(long)magnitude, (long)magnitude + 1)));
        }
        foreach (var v in values)
        {
            using var fast = new RowBinaryWriter(64);
            using var exact = new RowBinaryWriter(64);
            var fastError = enc.Write(v, fast);
            var exactError = enc.WriteExact(v, exact);
            Assert.True(fastError == exactError, $"{v}: '{fastError}' vs '{exactError}'");
            Assert.True(fast.WrittenSpan.SequenceEqual(exact.WrittenSpan), $"{v}: bytes differ");
        }
    }

    [Fact]
    public void Write_DecimalDigitLoss_Fails()
    {
        Assert.Contains("more than 2 fractional digits would be lost", Fail("Decimal(9, 2)", Value.FromDecimal(1.234m)), StringComparison.Ordinal);
        Assert.Contains("integer digits", Fail("Decimal(4, 2)", Value.FromInt(100)), StringComparison.Ordinal);
        Assert.Contains("would be lost", Fail("Decimal(9, 2)", Value.FromFloat(0.125)), StringComparison.Ordinal);
    }

    [Fact]
    public void Write_WrongKind_SaysWhichKindAndType()
    {
        Assert.Equal("object values cannot be converted to Int32", Fail("Int32", Value.FromMap([])));
        Assert.Equal("list values cannot be converted to String", Fail("String", Value.FromArray([])));
        Assert.Equal("integer values cannot be converted to Array(Int8)", Fail("Array(Int8)", Value.FromInt(1)));
    }

    [Fact]
    public void Write_NestedFailure_NamesTheElement() =>
        Assert.Contains("element [1]: 300 is out of range for UInt8", Fail("Array(UInt8)", Value.FromArray([Value.FromInt(1), Value.FromInt(300)])), StringComparison.Ordinal);
}

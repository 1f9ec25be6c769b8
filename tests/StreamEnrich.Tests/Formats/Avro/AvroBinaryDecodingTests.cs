using StreamEnrich.Formats.Avro;
using StreamEnrich.Records;

namespace StreamEnrich.Tests.Formats.Avro;

/// <summary>Byte sequences written out by hand from the specification's "Binary Encoding" section, decoded to the expected values.</summary>
public sealed class AvroBinaryDecodingTests
{
    private static Value Read(string schema, params byte[] bytes) => AvroValueReader.Compile(AvroSchema.Parse(schema)).ReadAll(bytes);

    private static AvroException Fails(string schema, params byte[] bytes) => Assert.Throws<AvroException>(() => Read(schema, bytes));

    private static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    [Fact]
    public void Read_Null_NoBytes() => Assert.Equal(Value.Null, Read("\"null\""));

    [Theory]
    [InlineData("00", false)]
    [InlineData("01", true)]
    public void Read_Boolean_OneByte(string hex, bool expected) => Assert.Equal(Value.FromBool(expected), Read("\"boolean\"", Hex(hex)));

    [Fact]
    public void Read_BooleanByteAboveOne_Rejected() => Assert.Contains("boolean byte must be 0 or 1", Fails("\"boolean\"", 2).Message);

    [Theory] // zig-zag table of the specification plus the 7-bit boundaries and the 32-bit extremes
    [InlineData("00", 0)]
    [InlineData("01", -1)]
    [InlineData("02", 1)]
    [InlineData("03", -2)]
    [InlineData("7E", 63)]
    [InlineData("7F", -64)]
    [InlineData("8001", 64)]
    [InlineData("8101", -65)]
    [InlineData("FEFFFFFF0F", int.MaxValue)]
    [InlineData("FFFFFFFF0F", int.MinValue)]
    public void Read_Int_ZigZagVarint(string hex, int expected) => Assert.Equal(Value.FromInt(expected), Read("\"int\"", Hex(hex)));

    [Theory]
    [InlineData("FEFFFFFF1F")] // 2^32 - 2 after zig-zag: beyond 32 bits
    [InlineData("8080808080 01")] // six bytes
    public void Read_IntBeyond32Bits_Rejected(string hex) => Assert.Contains("does not fit 32 bits", Fails("\"int\"", Hex(hex)).Message);

    [Theory]
    [InlineData("7E", 63L)]
    [InlineData("7F", -64L)]
    [InlineData("8001", 64L)]
    [InlineData("8101", -65L)]
    [InlineData("FEFFFFFF1F", 4294967295L)]
    [InlineData("FEFFFFFFFFFFFFFFFF01", long.MaxValue)]
    [InlineData("FFFFFFFFFFFFFFFFFF01", long.MinValue)]
    public void Read_Long_ZigZagVarint(string hex, long expected) => Assert.Equal(Value.FromInt(expected), Read("\"long\"", Hex(hex)));

    [Theory]
    [InlineData("FFFFFFFFFFFFFFFFFF02")] // 10th byte carries more than the 64th bit
    [InlineData("FFFFFFFFFFFFFFFFFFFF01")] // 11 bytes
    public void Read_LongBeyond64Bits_Rejected(string hex) => Assert.Contains("does not fit 64 bits", Fails("\"long\"", Hex(hex)).Message);

    [Fact]
    public void Read_TruncatedVarint_ReportsOffset()
    {
        var e = Fails("\"long\"", 0x80, 0x80);
        Assert.Contains("truncated at byte 0", e.Message);
        Assert.Equal(0, e.Offset);
    }

    [Theory]
    [InlineData("0000C03F", 1.5)]
    [InlineData("0000C0BF", -1.5)]
    [InlineData("0000807F", double.PositiveInfinity)]
    [InlineData("000080FF", double.NegativeInfinity)]
    [InlineData("00000000", 0.0)]
    public void Read_Float_LittleEndianIeee(string hex, double expected) => Assert.Equal(expected, Read("\"float\"", Hex(hex)).AsFloat);

    [Fact]
    public void Read_FloatNaN_IsNaN() => Assert.True(double.IsNaN(Read("\"float\"", Hex("0000C07F")).AsFloat));

    [Theory]
    [InlineData("000000000000F83F", 1.5)]
    [InlineData("000000000000F07F", double.PositiveInfinity)]
    [InlineData("000000000000F0FF", double.NegativeInfinity)]
    [InlineData("FFFFFFFFFFFFEF7F", double.MaxValue)]
    public void Read_Double_LittleEndianIeee(string hex, double expected) => Assert.Equal(expected, Read("\"double\"", Hex(hex)).AsFloat);

    [Fact]
    public void Read_DoubleNaN_IsNaN() => Assert.True(double.IsNaN(Read("\"double\"", Hex("000000000000F87F")).AsFloat));

    [Fact]
    public void Read_TruncatedDouble_Rejected() => Assert.Contains("expected double", Fails("\"double\"", 0, 0, 0).Message);

    [Fact]
    public void Read_String_SpecExampleFoo()
    {
        var bytes = Hex("06666F6F");
        var v = AvroValueReader.Compile(AvroSchema.Parse("\"string\"")).ReadAll(bytes);
        Assert.True(v.IsUtf8);
        Assert.Equal("foo", v.AsString);
    }

    [Fact]
    public void Read_EmptyString_Empty() => Assert.Equal("", Read("\"string\"", 0).AsString);

    [Fact]
    public void Read_StringInvalidUtf8_Rejected() => Assert.Contains("not valid UTF-8", Fails("\"string\"", Hex("04C328")).Message);

    [Fact]
    public void Read_StringLengthBeyondData_Rejected() => Assert.Contains("exceeds the 1 remaining bytes", Fails("\"string\"", Hex("0861")).Message);

    [Fact]
    public void Read_StringNegativeLength_Rejected() => Assert.Contains("negative string length -1", Fails("\"string\"", Hex("01")).Message);

    [Fact]
    public void Read_HugeLength_RejectedWithoutAllocating() =>
        Assert.Contains("exceeds", Fails("\"bytes\"", Hex("FEFFFFFFFFFFFFFFFF01")).Message);

    [Fact]
    public void Read_Bytes_SliceOfBuffer()
    {
        var v = Read("\"bytes\"", Hex("04 01FF"));
        Assert.Equal(ValueKind.Bytes, v.Kind);
        Assert.Equal(new byte[] { 1, 0xFF }, v.RawBytes.ToArray());
        Assert.Equal(0, Read("\"bytes\"", 0).RawBytes.Length);
    }

    [Fact]
    public void Read_Fixed_ExactSize() =>
        Assert.Equal(new byte[] { 1, 2, 3 }, Read("{\"type\":\"fixed\",\"name\":\"F\",\"size\":3}", 1, 2, 3).RawBytes.ToArray());

    [Fact]
    public void Read_Enum_SymbolByIndex()
    {
        const string schema = "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\",\"C\"]}";
        Assert.Equal(Value.FromString("C"), Read(schema, 4));
        Assert.Contains("enum index 3 out of range", Fails(schema, 6).Message);
        Assert.Contains("enum index -1 out of range", Fails(schema, 1).Message);
    }

    [Fact]
    public void Read_ArraySpecExample_3_27()
    {
        var v = Read("{\"type\":\"array\",\"items\":\"long\"}", Hex("04 06 36 00"));
        Assert.Equal([Value.FromInt(3), Value.FromInt(27)], v.AsArray.ToArray());
    }

    [Fact]
    public void Read_ArrayNegativeBlockCountWithByteSize_SameItems()
    {
        // -2 items (zig-zag 03), block size 2 bytes, items 3 and 27, then a second block of 1 item, then end.
        var v = Read("{\"type\":\"array\",\"items\":\"long\"}", Hex("03 04 06 36 02 08 00"));
        Assert.Equal([Value.FromInt(3), Value.FromInt(27), Value.FromInt(4)], v.AsArray.ToArray());
    }

    [Fact]
    public void Skip_ArrayWithByteSizedBlock_JumpsOverBlock()
    {
        // Record {a: array<long>, b: int}; only b declared, so the array is skipped using the block byte size.
        var layout = Layout("b");
        var schema = AvroSchema.Parse("{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":{\"type\":\"array\",\"items\":\"long\"}},{\"name\":\"b\",\"type\":\"int\"}]}");
        var plan = AvroDecodingPlan.Compile(schema, null, layout);
        var slots = new Value[layout.Count];
        var bytes = Hex("03 04 06 36 00 54");
        Assert.Equal(bytes.Length, plan.Decode(bytes, 0, bytes.Length, slots));
        Assert.Equal(Value.FromInt(42), slots[layout.Slot("b")]);
    }

    [Fact]
    public void Read_EmptyArrayAndMap_Empty()
    {
        Assert.Equal(0, Read("{\"type\":\"array\",\"items\":\"long\"}", 0).AsArray.Length);
        Assert.Equal(0, Read("{\"type\":\"map\",\"values\":\"long\"}", 0).AsMap.Length);
    }

    [Fact]
    public void Read_ArrayBlockCountBeyondData_Rejected() =>
        Assert.Contains("exceeds what the 1 remaining bytes can hold", Fails("{\"type\":\"array\",\"items\":\"long\"}", Hex("C8 01 02")).Message);

    [Fact]
    public void Read_ArrayOfManyNulls_Bounded()
    {
        // 2^40 nulls take no bytes: refused instead of looping or allocating.
        Assert.Contains("zero-byte items", Fails("{\"type\":\"array\",\"items\":\"null\"}", Hex("8080808080 40 00")).Message);
        Assert.Equal(3, Read("{\"type\":\"array\",\"items\":\"null\"}", Hex("06 00")).AsArray.Length);
    }

    [Fact]
    public void Read_Map_KeysAndValues()
    {
        // {"a": 1, "bc": -1}, second entry in a negative-count block with byte size.
        var v = Read("{\"type\":\"map\",\"values\":\"long\"}", Hex("02 02 61 02 01 08 04 6263 01 00"));
        Assert.Equal([new("a", Value.FromInt(1)), new("bc", Value.FromInt(-1))], v.AsMap.ToArray());
    }

    [Fact]
    public void Read_Union_BranchValue()
    {
        const string schema = "[\"null\",\"string\",\"long\"]";
        Assert.Equal(Value.Null, Read(schema, 0));
        Assert.Equal("a", Read(schema, 2, 2, 0x61).AsString);
        Assert.Equal(Value.FromInt(-1), Read(schema, 4, 1));
        Assert.Contains("union branch index 3 out of range", Fails(schema, 6).Message);
        Assert.Contains("union branch index -1 out of range", Fails(schema, 1).Message);
    }

    [Fact]
    public void ReadAll_TrailingBytes_Rejected() => Assert.Contains("1 trailing byte", Fails("\"int\"", 2, 2).Message);

    // ------------------------------------------------------------------ logical types

    [Theory]
    [InlineData("02FF", "-0.01")]
    [InlineData("0201", "0.01")]
    [InlineData("00", "0.00")]
    [InlineData("04 3039", "123.45")]
    [InlineData("04 CFC7", "-123.45")]
    public void Read_DecimalBytes_TwosComplementBigEndian(string hex, string expected)
    {
        var v = Read("{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":10,\"scale\":2}", Hex(hex));
        Assert.Equal(ValueKind.Decimal, v.Kind);
        Assert.Equal(expected, v.AsDecimal.ToString());
    }

    [Fact]
    public void Read_DecimalFixedMaxInt128_Exact()
    {
        var bytes = Hex("7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF");
        var v = Read("{\"type\":\"fixed\",\"name\":\"D\",\"size\":16,\"logicalType\":\"decimal\",\"precision\":38,\"scale\":0}", bytes);
        Assert.Equal(Int128.MaxValue, v.AsDecimal.Unscaled);
    }

    [Fact]
    public void Read_DecimalWiderThan128BitsButSignExtended_Accepted()
    {
        var v = Read("{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":10,\"scale\":0}", Hex("24 FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF85"));
        Assert.Equal("-123", v.AsDecimal.ToString());
    }

    [Fact]
    public void Read_DecimalBeyond128Bits_Rejected() =>
        Assert.Contains("does not fit 128 bits", Fails("{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":60,\"scale\":0}", Hex("22 01 00000000000000000000000000000000")).Message);

    [Fact]
    public void Read_UuidString_Guid()
    {
        var text = "12345678-1234-5678-9abc-def012345678"u8.ToArray();
        var v = Read("{\"type\":\"string\",\"logicalType\":\"uuid\"}", [(byte)(text.Length * 2), .. text]);
        Assert.Equal(ValueKind.Uuid, v.Kind);
        Assert.Equal(Guid.Parse("12345678-1234-5678-9abc-def012345678"), v.AsGuid);
    }

    [Fact]
    public void Read_UuidStringMalformed_Rejected() =>
        Assert.Contains("uuid", Fails("{\"type\":\"string\",\"logicalType\":\"uuid\"}", Hex("06 616263")).Message);

    [Fact]
    public void Read_UuidFixed16_Guid()
    {
        var v = Read("{\"type\":\"fixed\",\"name\":\"U\",\"size\":16,\"logicalType\":\"uuid\"}", Hex("123456781234567890ABCDEF01234567"));
        Assert.Equal(Guid.Parse("12345678-1234-5678-90ab-cdef01234567"), v.AsGuid);
    }

    [Theory]
    [InlineData("00", 0)]
    [InlineData("01", -1)]
    [InlineData("8CB502", 19782)] // 2024-02-29
    public void Read_Date_DaysSinceEpoch(string hex, int days)
    {
        var v = Read("{\"type\":\"int\",\"logicalType\":\"date\"}", Hex(hex));
        Assert.Equal(ValueKind.Date, v.Kind);
        Assert.Equal(days, v.AsDate);
    }

    [Fact]
    public void Read_DateBeyondYear9999_DecodedAndPrintable()
    {
        var v = Read("{\"type\":\"int\",\"logicalType\":\"date\"}", Hex("FEFFFFFF0F"));
        Assert.Equal(int.MaxValue, v.AsDate);
        Assert.Equal("2147483647 days from 1970-01-01", v.ToString()); // error messages and dry-run must not throw
    }

    [Fact]
    public void Read_TimeMillisAndMicros_IntOfUnits()
    {
        Assert.Equal(Value.FromInt(86399999), Read("{\"type\":\"int\",\"logicalType\":\"time-millis\"}", Hex("FE EF B2 52")));
        Assert.Equal(Value.FromInt(-1), Read("{\"type\":\"long\",\"logicalType\":\"time-micros\"}", 1));
    }

    [Theory]
    [InlineData("timestamp-millis", "02", 1_000_000L)]
    [InlineData("timestamp-micros", "02", 1_000L)]
    [InlineData("timestamp-nanos", "02", 1L)]
    [InlineData("local-timestamp-millis", "01", -1_000_000L)]
    [InlineData("local-timestamp-micros", "01", -1_000L)]
    [InlineData("local-timestamp-nanos", "FEFFFFFFFFFFFFFFFF01", long.MaxValue)]
    public void Read_Timestamps_Nanoseconds(string logical, string hex, long nanos)
    {
        var v = Read($"{{\"type\":\"long\",\"logicalType\":\"{logical}\"}}", Hex(hex));
        Assert.Equal(ValueKind.Timestamp, v.Kind);
        Assert.Equal(nanos, v.AsTimestampNanos);
    }

    [Theory]
    [InlineData("timestamp-millis")]
    [InlineData("local-timestamp-micros")]
    public void Read_TimestampBeyondNanosecondRange_Rejected(string logical) =>
        Assert.Contains("out of range", Fails($"{{\"type\":\"long\",\"logicalType\":\"{logical}\"}}", Hex("FEFFFFFFFFFFFFFFFF01")).Message);

    [Fact]
    public void Read_Duration_MonthsDaysMillis()
    {
        var v = Read("{\"type\":\"fixed\",\"name\":\"Dur\",\"size\":12,\"logicalType\":\"duration\"}", Hex("01000000 02000000 FFFFFFFF"));
        Assert.Equal("{months:1,days:2,millis:4294967295}", v.ToString());
    }

    // ------------------------------------------------------------------ records into slots

    private static RecordLayout Layout(params string[] paths)
    {
        var layout = new RecordLayout();
        foreach (var p in paths) layout.Slot(p);
        layout.Freeze();
        return layout;
    }

    private const string Nested = """
        {"type":"record","name":"Top","fields":[
          {"name":"id","type":"long"},
          {"name":"user","type":{"type":"record","name":"User","fields":[
            {"name":"name","type":"string"},
            {"name":"geo","type":["null",{"type":"record","name":"Geo","fields":[{"name":"city","type":"string"},{"name":"zip","type":"int"}]}]}]}},
          {"name":"tags","type":{"type":"array","items":"string"}},
          {"name":"last","type":"boolean"}]}
        """;

    // id=5, user={name:"ann", geo={city:"x", zip:7}}, tags=["t"], last=true
    private static readonly byte[] NestedData = Convert.FromHexString("0A" + "06616E6E" + "02" + "0278" + "0E" + "02" + "0274" + "00" + "01");

    [Fact]
    public void Decode_DottedPaths_NestedFieldsIntoSlots()
    {
        var layout = Layout("user.geo.city", "id", "last", "user.name");
        var plan = AvroDecodingPlan.Compile(AvroSchema.Parse(Nested), null, layout);
        var slots = new Value[layout.Count];

        Assert.Equal(NestedData.Length, plan.Decode(NestedData, 0, NestedData.Length, slots));

        Assert.Equal(Value.FromInt(5), slots[layout.Slot("id")]);
        Assert.Equal("ann", slots[layout.Slot("user.name")].AsString);
        Assert.Equal("x", slots[layout.Slot("user.geo.city")].AsString);
        Assert.Equal(Value.True, slots[layout.Slot("last")]);
    }

    [Fact]
    public void Decode_RecordDeclaredWholeAndByField_BothFilled()
    {
        var layout = Layout("user", "user.geo.zip");
        var plan = AvroDecodingPlan.Compile(AvroSchema.Parse(Nested), null, layout);
        var slots = new Value[layout.Count];
        plan.Decode(NestedData, 0, NestedData.Length, slots);
        Assert.Equal("{name:ann,geo:{city:x,zip:7}}", slots[layout.Slot("user")].ToString());
        Assert.Equal(Value.FromInt(7), slots[layout.Slot("user.geo.zip")]);
    }

    [Fact]
    public void Decode_NullUnionAroundRecord_SubFieldsNull()
    {
        var layout = Layout("user.geo.city", "user.geo", "last");
        var plan = AvroDecodingPlan.Compile(AvroSchema.Parse(Nested), null, layout);
        var slots = new Value[layout.Count];
        var data = Convert.FromHexString("0A" + "06616E6E" + "00" + "00" + "00");
        plan.Decode(data, 0, data.Length, slots);
        Assert.Equal(Value.Null, slots[layout.Slot("user.geo.city")]);
        Assert.Equal(Value.Null, slots[layout.Slot("user.geo")]);
        Assert.Equal(Value.False, slots[layout.Slot("last")]);
    }

    [Fact]
    public void Decode_UndeclaredFields_SkippedWithoutAllocating()
    {
        var layout = Layout("last");
        var plan = AvroDecodingPlan.Compile(AvroSchema.Parse(Nested), null, layout);
        var slots = new Value[layout.Count];
        plan.Decode(NestedData, 0, NestedData.Length, slots); // warm up
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++) plan.Decode(NestedData, 0, NestedData.Length, slots);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(Value.True, slots[layout.Slot("last")]);
        Assert.True(allocated < 1000, $"skipping must not allocate, allocated {allocated} bytes for 1000 messages");
    }

    [Fact]
    public void Decode_ScalarFieldsOnly_NoAllocationPerMessage()
    {
        var layout = Layout("id", "user.name", "user.geo.city", "user.geo.zip", "last");
        var plan = AvroDecodingPlan.Compile(AvroSchema.Parse(Nested), null, layout);
        var slots = new Value[layout.Count];
        plan.Decode(NestedData, 0, NestedData.Length, slots);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++) plan.Decode(NestedData, 0, NestedData.Length, slots);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 1000, $"scalar and string fields must not allocate, allocated {allocated} bytes for 1000 messages");
    }

    [Fact]
    public void Decode_DeeplyNestedRecursiveData_RejectedAtDepthLimit()
    {
        var schema = AvroSchema.Parse("{\"type\":\"record\",\"name\":\"N\",\"fields\":[{\"name\":\"next\",\"type\":[\"null\",\"N\"]}]}");
        var reader = AvroValueReader.Compile(schema);
        var shallow = Enumerable.Repeat((byte)2, 40).Append((byte)0).ToArray();
        var v = reader.ReadAll(shallow);
        var depth = 0;
        while (v.Kind == ValueKind.Map) { v = v.AsMap[0].Value; depth++; }
        Assert.Equal(41, depth);

        var deep = Enumerable.Repeat((byte)2, 100_000).Append((byte)0).ToArray();
        Assert.Contains("nested deeper than", Assert.Throws<AvroException>(() => reader.ReadAll(deep)).Message);
    }
}

public sealed class AvroCollectionGrowthTests
{
    [Theory]
    [InlineData("{\"type\":\"array\",\"items\":\"int\"}", 2)]
    [InlineData("{\"type\":\"map\",\"values\":\"int\"}", 4)]
    public void Read_ManyOneItemBlocks_LinearAllocation(string schema, int bytesPerBlock)
    {
        // 20,000 blocks of one item each: growth must be geometric, not one reallocation per block.
        const int blocks = 20_000;
        var data = new List<byte>();
        for (var i = 0; i < blocks; i++)
        {
            data.Add(2); // count 1
            if (bytesPerBlock == 4) { data.Add(2); data.Add((byte)'k'); } // map key "k"
            data.Add(4); // int 2
        }
        data.Add(0);
        var bytes = data.ToArray();
        var reader = AvroValueReader.Compile(AvroSchema.Parse(schema));
        reader.ReadAll(bytes);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var v = reader.ReadAll(bytes);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(blocks, v.Kind == ValueKind.Array ? v.AsArray.Length : v.AsMap.Length);
        Assert.True(allocated < 200L * bytes.Length, $"{allocated} bytes allocated for {bytes.Length} input bytes");
    }
}

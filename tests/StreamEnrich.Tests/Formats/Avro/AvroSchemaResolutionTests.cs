using StreamEnrich.Formats.Avro;
using StreamEnrich.Records;

namespace StreamEnrich.Tests.Formats.Avro;

/// <summary>Writer data read through a different reader schema (specification: "Schema Resolution").</summary>
public sealed class AvroSchemaResolutionTests
{
    private static Value Read(string writer, string reader, params byte[] data) =>
        AvroValueReader.Compile(AvroSchema.Parse(writer), AvroSchema.Parse(reader)).ReadAll(data);

    private static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    [Theory]
    [InlineData("\"int\"", "\"long\"", "7F", "-64")]
    [InlineData("\"int\"", "\"float\"", "FEFFFFFF0F", "2147483648")] // float rounding of int.MaxValue
    [InlineData("\"int\"", "\"double\"", "FEFFFFFF0F", "2147483647")]
    [InlineData("\"long\"", "\"float\"", "8001", "64")]
    [InlineData("\"long\"", "\"double\"", "FEFFFFFFFFFFFFFFFF01", "9.223372036854776E+18")]
    [InlineData("\"float\"", "\"double\"", "0000C03F", "1.5")]
    public void Read_NumericPromotion_ReaderType(string writer, string reader, string hex, string expected) =>
        Assert.Equal(expected, Read(writer, reader, Hex(hex)).ToString());

    [Fact]
    public void Read_IntPromotedToLong_IsInt() => Assert.Equal(ValueKind.Int, Read("\"int\"", "\"long\"", 2).Kind);

    [Fact]
    public void Read_IntPromotedToFloat_IsFloat() => Assert.Equal(ValueKind.Float, Read("\"int\"", "\"float\"", 2).Kind);

    [Fact]
    public void Read_StringAsBytes_AndBytesAsString()
    {
        var asBytes = Read("\"string\"", "\"bytes\"", Hex("04 6869"));
        Assert.Equal(ValueKind.Bytes, asBytes.Kind);
        Assert.Equal("hi"u8.ToArray(), asBytes.RawBytes.ToArray());
        var asString = Read("\"bytes\"", "\"string\"", Hex("04 6869"));
        Assert.Equal(ValueKind.String, asString.Kind);
        Assert.Equal("hi", asString.AsString);
        Assert.Throws<AvroException>(() => Read("\"bytes\"", "\"string\"", Hex("02 FF"))); // bytes that are not UTF-8
    }

    [Fact]
    public void Compile_LongToInt_NotAllowed()
    {
        var e = Assert.Throws<AvroSchemaException>(() => Read("\"long\"", "\"int\"", 2));
        Assert.Contains("Cannot resolve the writer's long against the reader's int", e.Message);
    }

    private const string WriterV1 = """
        {"type":"record","name":"User","namespace":"v1","fields":[
          {"name":"id","type":"int"},
          {"name":"dropped","type":{"type":"array","items":"string"}},
          {"name":"old_name","type":"string"},
          {"name":"color","type":{"type":"enum","name":"Color","symbols":["RED","PURPLE"]}}]}
        """;

    private const string ReaderV2 = """
        {"type":"record","name":"User","namespace":"v2","fields":[
          {"name":"color","type":{"type":"enum","name":"Color","symbols":["RED","GREEN"],"default":"GREEN"}},
          {"name":"name","aliases":["old_name"],"type":"string"},
          {"name":"id","type":"long"},
          {"name":"added","type":"string","default":"n/a"},
          {"name":"added_rec","type":{"type":"record","name":"Meta","fields":[{"name":"v","type":"int","default":3}]},"default":{}}]}
        """;

    // id=1, dropped=["x","y"], old_name="bo", color=PURPLE (index 1)
    private static readonly byte[] V1Data = Hex("02 04 0278 0279 00 04 626F 02");

    [Fact]
    public void Read_EvolvedRecord_ReaderOrderAliasesDefaultsAndEnumDefault()
    {
        var v = Read(WriterV1, ReaderV2, V1Data);
        Assert.Equal("{color:GREEN,name:bo,id:1,added:n/a,added_rec:{v:3}}", v.ToString());
    }

    [Fact]
    public void Decode_EvolvedRecordIntoSlots_DefaultsAndNestedDefaults()
    {
        var layout = new RecordLayout();
        foreach (var p in new[] { "id", "name", "color", "added", "added_rec.v", "dropped" }) layout.Slot(p);
        layout.Freeze();
        var plan = AvroDecodingPlan.Compile(AvroSchema.Parse(WriterV1), AvroSchema.Parse(ReaderV2), layout);
        var slots = new Value[layout.Count];
        Assert.Equal(V1Data.Length, plan.Decode(V1Data, 0, V1Data.Length, slots));
        Assert.Equal(Value.FromInt(1), slots[layout.Slot("id")]);
        Assert.Equal("bo", slots[layout.Slot("name")].AsString);
        Assert.Equal("GREEN", slots[layout.Slot("color")].AsString);
        Assert.Equal("n/a", slots[layout.Slot("added")].AsString);
        Assert.Equal(Value.FromInt(3), slots[layout.Slot("added_rec.v")]);
        Assert.True(slots[layout.Slot("dropped")].IsMissing, "a writer field absent from the reader schema is not read");
    }

    [Fact]
    public void Read_EnumSymbolMissingWithoutReaderDefault_DataError()
    {
        const string w = "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\"]}";
        const string r = "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"]}";
        Assert.Equal("A", Read(w, r, 0).AsString);
        var e = Assert.Throws<AvroException>(() => Read(w, r, 2));
        Assert.Contains("enum symbol 'B' is not in the reader enum 'E'", e.Message);
    }

    [Fact]
    public void Compile_ReaderFieldWithoutDefault_SchemaError()
    {
        var e = Assert.Throws<AvroSchemaException>(() => Read(
            "{\"type\":\"record\",\"name\":\"R\",\"fields\":[]}",
            "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"x\",\"type\":\"int\"}]}"));
        Assert.Contains("reader field 'x' is not in the writer schema and has no default", e.Message);
    }

    [Fact]
    public void Compile_RecordNamesDiffer_SchemaError() =>
        Assert.Throws<AvroSchemaException>(() => Read(
            "{\"type\":\"record\",\"name\":\"A\",\"fields\":[]}",
            "{\"type\":\"record\",\"name\":\"B\",\"fields\":[]}"));

    [Fact]
    public void Read_RecordRenamedWithAlias_Resolves() =>
        Assert.Equal("{x:1}", Read(
            "{\"type\":\"record\",\"name\":\"old.A\",\"fields\":[{\"name\":\"x\",\"type\":\"int\"}]}",
            "{\"type\":\"record\",\"name\":\"B\",\"aliases\":[\"old.A\"],\"fields\":[{\"name\":\"x\",\"type\":\"int\"}]}", 2).ToString());

    [Fact]
    public void Read_WriterUnionReaderUnion_BranchesMatchedByType()
    {
        const string w = "[\"null\",\"int\",\"string\"]";
        const string r = "[\"string\",\"long\",\"null\"]";
        Assert.Equal(Value.Null, Read(w, r, 0));
        Assert.Equal(Value.FromInt(-1), Read(w, r, 2, 1));
        Assert.Equal("a", Read(w, r, 4, 2, 0x61).AsString);
    }

    [Fact]
    public void Read_WriterUnionBranchUnknownToReader_ErrorOnlyWhenThatBranchIsRead()
    {
        const string w = "[\"null\",\"boolean\"]";
        const string r = "[\"null\",\"string\"]";
        Assert.Equal(Value.Null, Read(w, r, 0));
        var e = Assert.Throws<AvroException>(() => Read(w, r, 2, 1));
        Assert.Contains("union branch boolean", e.Message);
    }

    [Fact]
    public void Read_WriterPlainReaderUnion_FirstMatchingBranch()
    {
        Assert.Equal(Value.FromInt(5), Read("\"int\"", "[\"null\",\"long\"]", 10));
        Assert.Equal(5.0, Read("\"int\"", "[\"null\",\"double\",\"long\"]", 10).AsFloat); // promotions in reader order... exact match first
    }

    [Fact]
    public void Read_WriterUnionReaderPlain_EachBranchResolved()
    {
        Assert.Equal(Value.FromInt(3), Read("[\"int\",\"long\"]", "\"long\"", 0, 6));
        Assert.Equal(Value.FromInt(3), Read("[\"int\",\"long\"]", "\"long\"", 2, 6));
        Assert.Throws<AvroException>(() => Read("[\"null\",\"long\"]", "\"long\"", 0));
    }

    [Fact]
    public void Read_ArrayAndMapItemsPromoted()
    {
        Assert.Equal("[1.5]", Read("{\"type\":\"array\",\"items\":\"float\"}", "{\"type\":\"array\",\"items\":\"double\"}", Hex("02 0000C03F 00")).ToString());
        Assert.Equal("{a:1}", Read("{\"type\":\"map\",\"values\":\"int\"}", "{\"type\":\"map\",\"values\":\"long\"}", Hex("02 0261 02 00")).ToString());
    }

    [Fact]
    public void Compile_FixedSizeDiffers_SchemaError() =>
        Assert.Contains("size", Assert.Throws<AvroSchemaException>(() => Read(
            "{\"type\":\"fixed\",\"name\":\"F\",\"size\":2}", "{\"type\":\"fixed\",\"name\":\"F\",\"size\":3}")).Message);

    [Fact]
    public void Compile_DecimalScaleDiffers_SchemaError() =>
        Assert.Contains("scale", Assert.Throws<AvroSchemaException>(() => Read(
            "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":5,\"scale\":2}",
            "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":5,\"scale\":3}")).Message);

    [Fact]
    public void Read_ReaderAddsLogicalType_AppliedToWriterData() =>
        Assert.Equal(Value.FromTimestampNanos(1_000_000), Read("\"long\"", "{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}", 2));
}

/// <summary>Data/resolution-v1.avro read through Data/resolution-reader.avsc must give what python3-avro 1.11.1 gives (Data/resolution-expected.json).</summary>
public sealed class AvroResolutionFixtureTests
{
    [Fact]
    public void ReadValues_WriterV1ThroughReader_MatchesReferenceImplementation()
    {
        var reader = AvroSchema.Parse(File.ReadAllText(AvroTestData.Local("resolution-reader.avsc")));
        using var file = AvroContainerFileReader.Open(AvroTestData.Local("resolution-v1.avro"));
        var actual = file.ReadValues(reader).ToList();
        var expected = File.ReadAllLines(AvroTestData.Local("resolution-expected.json")).Where(l => l.Length > 0)
            .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(expected.Count, actual.Count);
        for (var k = 0; k < actual.Count; k++)
        {
            var map = actual[k].AsMap.ToArray().ToDictionary(kv => kv.Key, kv => kv.Value);
            var e = expected[k];
            Assert.Equal(["inner", "col", "u", "by", "s", "c", "b", "a", "added", "added2"], actual[k].AsMap.ToArray().Select(kv => kv.Key)); // reader order
            Assert.Equal(e.GetProperty("a").GetInt64(), map["a"].AsInt);
            Assert.Equal(ValueKind.Float, map["b"].Kind); // long promoted to double
            Assert.Equal(e.GetProperty("b").GetDouble(), map["b"].AsFloat);
            Assert.Equal(e.GetProperty("c").GetDouble(), map["c"].AsFloat);
            Assert.Equal(e.GetProperty("s").GetString(), map["s"].AsString);
            Assert.Equal(e.GetProperty("by").GetString(), System.Text.Encoding.Latin1.GetString(map["by"].RawBytes));
            var u = e.GetProperty("u");
            Assert.Equal(u.ValueKind switch { System.Text.Json.JsonValueKind.Null => "null", System.Text.Json.JsonValueKind.String => u.GetString(), _ => u.GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture) }, map["u"].ToString());
            Assert.Equal(e.GetProperty("col").GetString(), map["col"].AsString);
            Assert.Equal(e.GetProperty("inner").GetProperty("x").GetDouble(), map["inner"].AsMap[0].Value.AsFloat);
            Assert.Equal(ValueKind.Float, map["inner"].AsMap[0].Value.Kind);
            Assert.Equal(e.GetProperty("inner").GetProperty("y").GetString(), map["inner"].AsMap[1].Value.AsString);
            Assert.Equal(Value.Null, map["added"]);
            Assert.Equal("[1,2]", map["added2"].ToString());
        }
    }
}

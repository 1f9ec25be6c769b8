using System.Text.Json;
using StreamEnrich.Formats.Avro;
using StreamEnrich.Records;

namespace StreamEnrich.Tests.Formats.Avro;

/// <summary>JSON → Avro binary (the inputs of an Avro pipeline's tests), checked byte for byte and by decoding back.</summary>
public sealed class AvroJsonEncoderTests
{
    private static string Hex(string schema, string json)
    {
        var w = new AvroBinaryWriter();
        using var doc = JsonDocument.Parse(json);
        AvroJsonEncoder.Write(AvroSchema.Parse(schema), doc.RootElement, w);
        return Convert.ToHexString(w.Written);
    }

    private static string Error(string schema, string json) =>
        Assert.Throws<AvroException>(() => Hex(schema, json)).Message;

    /// <summary>Encodes, then decodes with the engine's decoder: the field values as <see cref="Value.ToString"/> renders them.</summary>
    private static Dictionary<string, string> RoundTrip(string schema, string json, params string[] fields)
    {
        var s = AvroSchema.Parse(schema);
        var w = new AvroBinaryWriter();
        using var doc = JsonDocument.Parse(json);
        AvroJsonEncoder.Write(s, doc.RootElement, w);
        var layout = new RecordLayout();
        foreach (var f in fields) layout.Slot(f);
        layout.Freeze();
        var record = layout.NewRecord();
        record.Payload = w.ToArray();
        new AvroDatumDecoder(s, null, layout).Decode(record);
        Assert.True(record.IsActive, record.FailureReason);
        return fields.ToDictionary(f => f, f => record[layout.Slot(f)].ToString());
    }

    [Theory]
    [InlineData("\"int\"", "-1", "01")]
    [InlineData("\"long\"", "64", "8001")]
    [InlineData("\"boolean\"", "true", "01")]
    [InlineData("\"string\"", "\"ab\"", "046162")]
    [InlineData("\"bytes\"", "\"\\u00ff\\u0001\"", "04FF01")]
    [InlineData("\"double\"", "1.5", "000000000000F83F")]
    [InlineData("\"float\"", "\"NaN\"", "0000C07F")]
    [InlineData("{\"type\":\"array\",\"items\":\"int\"}", "[1,2]", "04020400")]
    [InlineData("{\"type\":\"array\",\"items\":\"int\"}", "[]", "00")]
    [InlineData("{\"type\":\"map\",\"values\":\"int\"}", "{\"a\":1}", "0202610200")]
    [InlineData("{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\"]}", "\"B\"", "02")]
    [InlineData("{\"type\":\"fixed\",\"name\":\"F\",\"size\":2}", "\"\\u0001\\u0002\"", "0102")]
    public void Write_PrimitivesAndCollections_SpecBinaryEncoding(string schema, string json, string hex)
    {
        Assert.Equal(hex, Hex(schema, json));
    }

    [Theory]
    [InlineData("null", "00")]
    [InlineData("{\"string\": \"x\"}", "020278")]
    [InlineData("\"x\"", "020278")] // one non-null branch: a bare value is accepted
    public void Write_NullableUnion_NullWrappedOrBare(string json, string hex)
    {
        Assert.Equal(hex, Hex("[\"null\",\"string\"]", json));
    }

    [Fact]
    public void Write_UnionOfSeveralTypes_BranchChosenByName()
    {
        const string schema = "[\"null\",\"long\",{\"type\":\"record\",\"name\":\"ns.R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"}]}]";

        Assert.Equal("0202", Hex(schema, "{\"long\": 1}"));
        Assert.Equal("0402", Hex(schema, "{\"ns.R\": {\"a\": 1}}"));
        Assert.Equal("0402", Hex(schema, "{\"R\": {\"a\": 1}}"));
        var e = Error(schema, "1");
        Assert.Contains("null or {\"<branch>\": value} with <branch> one of long, ns.R", e);
    }

    [Fact]
    public void Write_RecordFieldLeftOut_DefaultUsedIncludingUnionDefault()
    {
        const string schema = """
            {"type":"record","name":"R","fields":[
              {"name":"a","type":"int"},
              {"name":"b","type":"string","default":"d"},
              {"name":"c","type":["null","int"],"default":null},
              {"name":"t","type":{"type":"array","items":"string"},"default":[]}]}
            """;

        Assert.Equal("02" + "0264" + "00" + "00", Hex(schema, "{\"a\": 1}"));
    }

    [Fact]
    public void Write_WebEventSchemaLogicalTypes_DecodeBackToTheSameValues()
    {
        var schema = File.ReadAllText(Path.Combine(RepoRoot(), "schemas", "web-event.avsc"));
        var values = RoundTrip(schema, """
            {"ts": "2026-11-20T10:15:30.123Z", "user_id": "1", "session": "3f0c6a52-8a1e-4c55-9d1b-2f7e7c1d9a10", "event": "page_view",
             "url": "u", "ip": "i", "ua": "a", "price": 19.99, "tags": ["sale"]}
            """, "ts", "session", "price", "tags");

        Assert.Equal("2026-11-20T10:15:30.123Z", values["ts"]);
        Assert.Equal("3f0c6a52-8a1e-4c55-9d1b-2f7e7c1d9a10", values["session"]);
        Assert.Equal("19.99", values["price"]);
        Assert.Equal("[sale]", values["tags"]);
        Assert.Equal("2025-11-20T10:15:30.123Z", RoundTrip(schema, """
            {"ts": 1763633730123, "user_id": "1", "session": "3f0c6a52-8a1e-4c55-9d1b-2f7e7c1d9a10", "event": "e", "url": "", "ip": "", "ua": "", "price": 0}
            """, "ts")["ts"]);
    }

    [Theory]
    [InlineData("{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}", "\"2026-11-20T11:15:30.000001+01:00\"", "2026-11-20T10:15:30.000001Z")]
    [InlineData("{\"type\":\"long\",\"logicalType\":\"local-timestamp-millis\"}", "\"2026-11-20T10:15:30.5\"", "2026-11-20T10:15:30.5Z")]
    [InlineData("{\"type\":\"int\",\"logicalType\":\"date\"}", "\"2026-11-20\"", "2026-11-20")]
    [InlineData("{\"type\":\"int\",\"logicalType\":\"date\"}", "1", "1970-01-02")]
    [InlineData("{\"type\":\"int\",\"logicalType\":\"time-millis\"}", "\"00:00:01.5\"", "1500")]
    [InlineData("{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":6,\"scale\":2}", "-12.5", "-12.50")]
    [InlineData("{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":6,\"scale\":2}", "\"1234.56\"", "1234.56")]
    [InlineData("{\"type\":\"fixed\",\"name\":\"D\",\"size\":4,\"logicalType\":\"decimal\",\"precision\":6,\"scale\":2}", "-0.01", "-0.01")]
    [InlineData("{\"type\":\"fixed\",\"name\":\"U\",\"size\":16,\"logicalType\":\"uuid\"}", "\"3f0c6a52-8a1e-4c55-9d1b-2f7e7c1d9a10\"", "3f0c6a52-8a1e-4c55-9d1b-2f7e7c1d9a10")]
    public void Write_LogicalTypes_ReadableFormsDecodeBack(string type, string json, string expected)
    {
        var schema = $"{{\"type\":\"record\",\"name\":\"R\",\"fields\":[{{\"name\":\"v\",\"type\":{type}}}]}}";
        Assert.Equal(expected, RoundTrip(schema, $"{{\"v\": {json}}}", "v")["v"]);
    }

    [Theory]
    [InlineData("{\"a\": \"x\"}", "field 'a': expected int, got the string \"x\".")]
    [InlineData("{}", "field 'a': missing; expected int (the field has no default).")]
    [InlineData("{\"a\": 1, \"zz\": 2}", "field 'zz': not in record 'R' (its fields: a, ts, n).")]
    [InlineData("{\"a\": 3000000000}", "field 'a': expected int, got the number 3000000000 (out of the 32-bit range).")]
    [InlineData("{\"a\": 1, \"ts\": \"2026-11-20T10:15:30\"}", "field 'ts': expected long (timestamp-millis: a number, or an ISO-8601 string like \"2026-11-20T10:15:30.123Z\"), got the string \"2026-11-20T10:15:30\" (an ISO-8601 timestamp needs its offset (Z or +hh:mm)).")]
    [InlineData("{\"a\": 1, \"ts\": \"yesterday\"}", "field 'ts': expected long (timestamp-millis: a number, or an ISO-8601 string like \"2026-11-20T10:15:30.123Z\"), got the string \"yesterday\".")]
    [InlineData("{\"a\": 1, \"n\": {\"x\": [1, \"b\"]}}", "field 'n.x[1]': expected int, got the string \"b\".")]
    public void Write_InputDoesNotFit_ErrorNamesFieldAndExpectedType(string json, string expected)
    {
        const string schema = """
            {"type":"record","name":"R","fields":[
              {"name":"a","type":"int"},
              {"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"},"default":0},
              {"name":"n","type":{"type":"record","name":"N","fields":[{"name":"x","type":{"type":"array","items":"int"}}]},"default":{"x":[]}}]}
            """;

        Assert.Equal(expected, Error(schema, json));
    }

    [Theory]
    [InlineData("{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":4,\"scale\":2}", "1.234", "more than 2 decimal place(s)")]
    [InlineData("{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":4,\"scale\":2}", "123.4", "more than 4 digit(s)")]
    [InlineData("{\"type\":\"string\",\"logicalType\":\"uuid\"}", "\"nope\"", "not a uuid in the 8-4-4-4-12 form")]
    [InlineData("{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"]}", "\"B\"", "not one of the symbols A")]
    [InlineData("\"bytes\"", "\"\\u0100\"", "bytes are written as a string of code points 0-255")]
    public void Write_BadLogicalOrEnumValue_Explains(string type, string json, string reason)
    {
        var schema = $"{{\"type\":\"record\",\"name\":\"R\",\"fields\":[{{\"name\":\"v\",\"type\":{type}}}]}}";
        var e = Error(schema, $"{{\"v\": {json}}}");
        Assert.StartsWith("field 'v': expected ", e);
        Assert.Contains(reason, e);
    }

    [Fact]
    public void ToConfluentMessage_HeaderThenDatum()
    {
        using var doc = JsonDocument.Parse("5");
        Assert.Equal("000000002A0A", Convert.ToHexString(AvroJsonEncoder.ToConfluentMessage(AvroSchema.Parse("\"int\""), 42, doc.RootElement)));
    }

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "StreamEnrich.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
    }
}

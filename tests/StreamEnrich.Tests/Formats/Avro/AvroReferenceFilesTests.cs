using System.Text.Json;
using StreamEnrich.Formats.Avro;
using StreamEnrich.Records;

namespace StreamEnrich.Tests.Formats.Avro;

/// <summary>The Apache Avro project's own test files, decoded by our implementation, must read exactly as the reference does.</summary>
public sealed class AvroReferenceFilesTests
{
    private static RecordLayout Layout(params string[] paths)
    {
        var layout = new RecordLayout();
        foreach (var p in paths) layout.Slot(p);
        layout.Freeze();
        return layout;
    }

    [Theory]
    [InlineData("weather.avro", "null")]
    [InlineData("weather-deflate.avro", "deflate")]
    public void ReadRecords_WeatherFiles_MatchWeatherJsonExactly(string file, string codec)
    {
        var expected = File.ReadAllLines(AvroTestData.Shared("weather.json")).Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var layout = Layout("station", "time", "temp");
        using var reader = AvroContainerFileReader.Open(AvroTestData.Shared(file));
        Assert.Equal(codec, reader.Codec);
        Assert.Equal("test.Weather", ((RecordSchema)reader.Schema).FullName);
        var plan = AvroDecodingPlan.Compile(reader.Schema, null, layout);

        var records = reader.ReadRecords(plan, layout).ToList();

        Assert.Equal(expected.Count, records.Count);
        for (var i = 0; i < records.Count; i++)
        {
            var r = records[i];
            Assert.True(r[layout.Slot("station")].IsUtf8, "strings must be UTF-8 slices of the block, not copies");
            Assert.Equal(expected[i].GetProperty("station").GetString(), r[layout.Slot("station")].AsString);
            Assert.Equal(ValueKind.Int, r[layout.Slot("time")].Kind);
            Assert.Equal(expected[i].GetProperty("time").GetInt64(), r[layout.Slot("time")].AsInt);
            Assert.Equal(expected[i].GetProperty("temp").GetInt64(), r[layout.Slot("temp")].AsInt);
        }
    }

    [Fact]
    public void ReadValues_WeatherDeflate_SameAsUncompressed()
    {
        using var plain = AvroContainerFileReader.Open(AvroTestData.Shared("weather.avro"));
        using var deflated = AvroContainerFileReader.Open(AvroTestData.Shared("weather-deflate.avro"));
        var a = plain.ReadValues().ToList();
        var b = deflated.ReadValues().ToList();
        Assert.Equal(5, a.Count);
        Assert.Equal(a, b);
        Assert.Equal("{station:011990-99999,time:-619524000000,temp:0}", a[0].ToString());
    }

    [Fact]
    public void ReadValues_SchemasSimpleData_MatchesReferenceReader()
    {
        using var reader = AvroContainerFileReader.Open(AvroTestData.Shared("schemas-simple-data.avro"));
        var schemaFromFile = AvroSchema.Parse(File.ReadAllText(AvroTestData.Shared("schemas-simple-schema.json")));
        Assert.Equal(schemaFromFile.ToCanonicalForm(), reader.Schema.ToCanonicalForm());
        Assert.Equal("null", reader.Codec); // no avro.codec entry means null

        // Expected values as read by python3-avro 1.11.1.
        var texts = reader.ReadValues(schemaFromFile).Select(v => v.AsMap[0].Value.AsString).ToList();

        Assert.Equal(["hello", "bonjour", "guten tag"], texts);
    }

    [Fact]
    public void ReadRecords_SchemasWithUnionData_MatchesReferenceReader()
    {
        // python3-avro 1.11.1 reads: {'data1': 'textValue', 'data2': None}, {'data1': 123, 'data2': {'d1': False}},
        // {'data1': 3, 'data2': {'d1': 'text value'}}
        using var reader = AvroContainerFileReader.Open(AvroTestData.Shared("schemas-withUnion-data.avro"));
        var schemaFromFile = AvroSchema.Parse(File.ReadAllText(AvroTestData.Shared("schemas-withUnion-schema.json")));
        var layout = Layout("data1", "data2.d1", "data2");
        var plan = AvroDecodingPlan.Compile(reader.Schema, schemaFromFile, layout);
        var records = reader.ReadRecords(plan, layout).ToList();

        Assert.Equal(3, records.Count);
        int d1 = layout.Slot("data1"), inner = layout.Slot("data2.d1"), whole = layout.Slot("data2");
        Assert.Equal(Value.FromString("textValue"), records[0][d1]);
        Assert.Equal(Value.Null, records[0][whole]);
        Assert.Equal(Value.Null, records[0][inner]);
        Assert.Equal(Value.FromInt(123), records[1][d1]);
        Assert.Equal(Value.False, records[1][inner]);
        Assert.Equal("{d1:false}", records[1][whole].ToString());
        Assert.Equal(Value.FromInt(3), records[2][d1]);
        Assert.Equal(Value.FromString("text value"), records[2][inner]);
    }

    [Fact]
    public void SingleObject_MessageV1_DecodesEveryField()
    {
        // python3-avro 1.11.1 reads the datum as {'id': 42, 'name': 'Bill', 'tags': ['dog_lover', 'cat_hater']}.
        var schema = AvroSchema.Parse(File.ReadAllText(AvroTestData.Shared("messageV1-test_schema.avsc")));
        var message = File.ReadAllBytes(AvroTestData.Shared("messageV1-test_message.bin"));
        var layout = Layout("id", "name", "tags");
        var reader = new AvroSingleObjectReader(layout);
        var fp = reader.Register(schema);

        Assert.Equal(AvroSingleObjectReader.ReadFingerprint(message), fp); // our CRC-64-AVRO of the canonical form equals the Java writer's
        var record = layout.NewRecord();
        reader.Decode(message, record.Fields);

        Assert.Equal(Value.FromInt(42), record[layout.Slot("id")]);
        Assert.Equal("Bill", record[layout.Slot("name")].AsString);
        var tags = record[layout.Slot("tags")];
        Assert.Equal(ValueKind.Array, tags.Kind);
        Assert.Equal(["dog_lover", "cat_hater"], tags.AsArray.ToArray().Select(t => t.AsString));
    }

    [Fact]
    public void CanonicalForm_MessageV1Schema_MatchesReference()
    {
        var schema = AvroSchema.Parse(File.ReadAllText(AvroTestData.Shared("messageV1-test_schema.avsc")));
        // As printed by python3-avro 1.11.1 (schema.canonical_form).
        Assert.Equal("{\"name\":\"org.apache.avro.TestMessage\",\"type\":\"record\",\"fields\":[{\"name\":\"id\",\"type\":\"long\"},{\"name\":\"name\",\"type\":\"string\"},{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":\"string\"}}]}",
            schema.ToCanonicalForm());
    }

    [Fact]
    public void Parse_InteropSchema_AllTypesParsed()
    {
        var schema = (RecordSchema)AvroSchema.Parse(File.ReadAllText(AvroTestData.Shared("schemas-interop.avsc")));
        Assert.Equal("org.apache.avro.Interop", schema.FullName);
        var types = schema.Fields.Select(f => f.Schema.Type).ToHashSet();
        foreach (var t in Enum.GetValues<AvroType>()) Assert.Contains(t, types);
    }
}

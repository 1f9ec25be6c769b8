using StreamEnrich.Formats.Avro;
using StreamEnrich.Records;

namespace StreamEnrich.Tests.Formats.Avro;

public sealed class AvroContainerFileReaderTests
{
    private static byte[] Weather() => File.ReadAllBytes(AvroTestData.Shared("weather.avro"));

    [Fact]
    public void Open_NotAContainer_ClearError()
    {
        var e = Assert.Throws<AvroException>(() => AvroContainerFileReader.Open(new MemoryStream("{\"a\":1}"u8.ToArray())));
        Assert.Contains("Not an Avro object container file", e.Message);
    }

    [Fact]
    public void Open_TruncatedHeader_ClearError()
    {
        var e = Assert.Throws<AvroException>(() => AvroContainerFileReader.Open(new MemoryStream(Weather()[..40])));
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void Open_DamagedSchemaInHeader_AvroException()
    {
        var bytes = Weather();
        var at = bytes.AsSpan().IndexOf("{\"type\":\"record\""u8);
        bytes[at] = (byte)'[';
        var e = Assert.Throws<AvroException>(() => AvroContainerFileReader.Open(new MemoryStream(bytes)));
        Assert.Contains("avro.schema entry is not a valid schema", e.Message);
    }

    [Fact]
    public void ReadValues_CorruptSyncMarker_Rejected()
    {
        var bytes = Weather();
        bytes[^1] ^= 0xFF; // the last block's trailing sync marker
        using var reader = AvroContainerFileReader.Open(new MemoryStream(bytes));
        var e = Assert.Throws<AvroException>(() => reader.ReadValues().ToList());
        Assert.Contains("sync marker", e.Message);
    }

    [Fact]
    public void ReadValues_TruncatedBlock_Rejected()
    {
        var bytes = Weather();
        using var reader = AvroContainerFileReader.Open(new MemoryStream(bytes[..^20]));
        var e = Assert.Throws<AvroException>(() => reader.ReadValues().ToList());
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void ReadValues_BlockLargerThanLimit_RefusedBeforeReading()
    {
        using var reader = AvroContainerFileReader.Open(new MemoryStream(Weather()), maxBlockBytes: 16);
        var e = Assert.Throws<AvroException>(() => reader.ReadValues().ToList());
        Assert.Contains("above the 16-byte limit", e.Message);
    }

    [Fact]
    public void ReadRecords_WithReaderSchema_ResolvedThroughSamePlan()
    {
        var layout = new RecordLayout();
        layout.Slot("temp");
        layout.Slot("station");
        layout.Freeze();
        var readerSchema = AvroSchema.Parse("""
            {"type":"record","name":"Weather","namespace":"test","fields":[
              {"name":"temp","type":"double"},{"name":"station","type":"bytes"}]}
            """);
        using var file = AvroContainerFileReader.Open(new MemoryStream(Weather()));
        var plan = AvroDecodingPlan.Compile(file.Schema, readerSchema, layout);
        var records = file.ReadRecords(plan, layout).ToList();
        Assert.Equal(5, records.Count);
        Assert.Equal(Value.FromFloat(-11), records[2][layout.Slot("temp")]); // int promoted to double
        Assert.Equal(ValueKind.Bytes, records[2][layout.Slot("station")].Kind); // string promoted to bytes
        Assert.Equal(2, records[2].Offset); // datum index in the file
    }

    [Fact]
    public void SingleObject_BadMarkerOrUnknownFingerprint_Rejected()
    {
        var layout = new RecordLayout();
        layout.Slot("id");
        layout.Freeze();
        var reader = new AvroSingleObjectReader(layout);
        reader.Register(AvroSchema.Parse(File.ReadAllText(AvroTestData.Shared("messageV1-test_schema.avsc"))));
        var message = File.ReadAllBytes(AvroTestData.Shared("messageV1-test_message.bin"));
        var slots = new Value[layout.Count];

        var badMarker = (byte[])message.Clone();
        badMarker[1] = 2;
        Assert.Contains("expected C3 01", Assert.Throws<AvroException>(() => reader.Decode(badMarker, slots)).Message);
        var otherSchema = (byte[])message.Clone();
        otherSchema[2] ^= 1;
        Assert.Contains("which no registered schema has", Assert.Throws<AvroException>(() => reader.Decode(otherSchema, slots)).Message);
        Assert.Contains("trailing", Assert.Throws<AvroException>(() => reader.Decode([.. message, 0], slots)).Message);
        var truncated = Assert.Throws<AvroException>(() => reader.Decode(message[..^3], slots)).Message;
        Assert.True(truncated.Contains("string length 9 exceeds the 7 remaining bytes", StringComparison.Ordinal), truncated);
    }
}

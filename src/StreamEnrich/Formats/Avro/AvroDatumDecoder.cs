using StreamEnrich.Records;

namespace StreamEnrich.Formats.Avro;

/// <summary>
/// Decodes bare Avro datums (no Confluent header, no registry) written with one known writer schema, e.g. the datums
/// of an object container file for <c>dry-run --input file.avro</c>. The optional reader schema resolves them as the
/// pipeline's <c>format.reader_schema</c> would. Thread-safe.
/// </summary>
internal sealed class AvroDatumDecoder : IRecordDecoder
{
    private const string Stage = "deserialize";
    private readonly AvroDecodingPlan _plan;

    /// <summary>Throws <see cref="AvroSchemaException"/> when the reader schema cannot read the writer's data.</summary>
    public AvroDatumDecoder(AvroSchema writer, AvroSchema? reader, RecordLayout layout) =>
        _plan = AvroDecodingPlan.Compile(writer, reader, layout);

    public void Decode(Record record)
    {
        if (record.Payload is not { } buffer)
        {
            record.Fail(Stage, "Avro datum is missing (null).");
            return;
        }
        try
        {
            var end = _plan.Decode(buffer, 0, buffer.Length, record.Fields);
            if (end != buffer.Length)
                record.Fail(Stage, $"Avro datum: {buffer.Length - end} trailing byte(s) after the datum at byte {end}.");
        }
        catch (AvroException e)
        {
            record.Fail(Stage, $"Avro datum: {e.Message}");
        }
    }
}

using StreamEnrich.Configuration;
using StreamEnrich.Formats;
using StreamEnrich.Formats.Avro;
using StreamEnrich.Formats.SchemaRegistry;
using StreamEnrich.Records;

namespace StreamEnrich.Pipeline;

/// <summary>The datums of an Avro object container file as messages, and the decoder that reads them.</summary>
internal sealed record AvroContainerInput(IReadOnlyList<byte[]?> Messages, AvroSchema WriterSchema, Func<RecordLayout, IRecordDecoder> Decoder);

/// <summary>The inputs of a pipeline test as Confluent wire-format Avro messages, and the decoder that reads them without a registry.</summary>
internal sealed record AvroTestInput(IReadOnlyList<byte[]?> Messages, Func<RecordLayout, IRecordDecoder> Decoder);

internal static partial class Adapters
{
    /// <summary>The schema id test messages are framed with (any id works: the decoder is handed the schema for it).</summary>
    public const int TestSchemaId = 1;

    /// <summary>
    /// Encodes the inputs of a <c>format: avro</c> pipeline's test: each object input with the test's writer schema
    /// (<c>tests[].schema</c>, else <c>format.reader_schema</c>) in Avro's JSON encoding, framed as a Confluent message
    /// with schema id <see cref="TestSchemaId"/>; a string input is taken as the raw message bytes. The decoder is the
    /// pipeline's real one (reader schema, keys) handed that schema instead of a registry.
    /// Throws <see cref="InvalidDataException"/> naming the input and the field when an input does not fit the schema.
    /// </summary>
    public static AvroTestInput EncodeAvroTestInputs(LoadedPipeline pipeline, PipelineTestCase test)
    {
        var format = pipeline.Options.Format;
        var schemaPath = test.Schema ?? format.ReaderSchema
            ?? throw new InvalidDataException("an Avro pipeline's test needs `schema:` (the writer schema .avsc its inputs are encoded with, relative to the pipeline file), or `format.reader_schema`.");
        var path = pipeline.ResolvePath(schemaPath);
        if (!File.Exists(path)) throw new InvalidDataException($"test schema {path} does not exist (`schema: {schemaPath}` is relative to the pipeline file).");
        var text = File.ReadAllText(path);
        AvroSchema writer;
        AvroSchema? reader;
        try
        {
            writer = AvroSchema.Parse(text);
            reader = format.ReaderSchema is { } readerPath ? AvroRecordDecoder.LoadReaderSchema(pipeline.ResolvePath(readerPath)) : null;
        }
        catch (AvroSchemaException e)
        {
            throw new InvalidDataException($"test schema {path}: {e.Message}", e);
        }
        var messages = new List<byte[]?>(test.Input.Count);
        for (var i = 0; i < test.Input.Count; i++)
        {
            if (test.Input[i] is string raw)
            {
                messages.Add(System.Text.Encoding.UTF8.GetBytes(raw));
                continue;
            }
            using var json = System.Text.Json.JsonDocument.Parse(DryRunner.ToMessage(test.Input[i]));
            try
            {
                messages.Add(AvroJsonEncoder.ToConfluentMessage(writer, TestSchemaId, json.RootElement));
            }
            catch (AvroException e)
            {
                throw new InvalidDataException($"input {i + 1} does not fit the test schema {schemaPath}: {e.Message}", e);
            }
        }
        var registry = new StaticSchemaRegistry(new Dictionary<int, string> { [TestSchemaId] = text });
        var options = new AvroRecordDecoderOptions { DecodeKeys = format.DecodeKeys, KeyPrefix = format.KeyPrefix, OutageMaxRetries = 0 };
        return new AvroTestInput(messages, layout => new AvroRecordDecoder(layout, registry, reader, options));
    }

    /// <summary>
    /// Reads an Avro object container file for dry-run: each datum becomes one message (its bare Avro bytes), decoded
    /// with the file's writer schema (no registry) and, for a <c>format: avro</c> pipeline with <c>reader_schema</c>,
    /// resolved to that reader schema. Throws <see cref="InvalidDataException"/> for a file that is not valid Avro.
    /// </summary>
    public static AvroContainerInput ReadAvroContainer(string path, LoadedPipeline pipeline)
    {
        var format = pipeline.Options.Format;
        AvroSchema? reader = null;
        try
        {
            if (format.Type == "avro" && format.ReaderSchema is { } readerPath)
                reader = AvroRecordDecoder.LoadReaderSchema(pipeline.ResolvePath(readerPath));
            using var file = AvroContainerFileReader.Open(path);
            var skipper = AvroValueReader.Compile(file.Schema);
            var messages = new List<byte[]?>();
            foreach (var block in file.Blocks())
            {
                var pos = 0;
                for (long i = 0; i < block.Count; i++)
                {
                    var start = pos;
                    skipper.Read(block.Data, ref pos, block.Data.Length);
                    messages.Add(block.Data.AsSpan(start, pos - start).ToArray());
                }
                if (pos != block.Data.Length)
                    throw new InvalidDataException($"{path}: the block at byte {block.FileOffset} has {block.Data.Length - pos} byte(s) after its {block.Count} datum(s).");
            }
            var writer = file.Schema;
            return new AvroContainerInput(messages, writer, layout => new AvroDatumDecoder(writer, reader, layout));
        }
        catch (AvroException e)
        {
            throw new InvalidDataException($"{path} is not a readable Avro object container file: {e.Message}", e);
        }
        catch (AvroSchemaException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }
}

using StreamEnrich.Configuration;
using StreamEnrich.Formats;
using StreamEnrich.Formats.Avro;
using StreamEnrich.Records;

namespace StreamEnrich.Pipeline;

/// <summary>The datums of an Avro object container file as messages, and the decoder that reads them.</summary>
internal sealed record AvroContainerInput(IReadOnlyList<byte[]?> Messages, AvroSchema WriterSchema, Func<RecordLayout, IRecordDecoder> Decoder);

internal static partial class Adapters
{
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

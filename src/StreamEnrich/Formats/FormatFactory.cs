using Microsoft.Extensions.Logging;
using StreamEnrich.Configuration;
using StreamEnrich.Formats.Avro;
using StreamEnrich.Records;

namespace StreamEnrich.Formats;

/// <summary>Builds the decoder for a pipeline's <c>format</c> section.</summary>
internal static class FormatFactory
{
    public static IRecordDecoder CreateAvro(LoadedPipeline pipeline, RecordLayout layout, ILoggerFactory loggers)
    {
        var format = pipeline.Options.Format;
        return AvroRecordDecoder.Create(format, layout, pipeline.Directory,
            new AvroRecordDecoderOptions { DecodeKeys = format.DecodeKeys, KeyPrefix = format.KeyPrefix },
            logger: loggers.CreateLogger("StreamEnrich.Formats.Avro"));
    }
}

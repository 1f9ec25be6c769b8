using Microsoft.Extensions.Logging;
using StreamEnrich.Configuration;
using StreamEnrich.Records;

namespace StreamEnrich.Formats;

internal static class FormatFactory
{
    public static IRecordDecoder CreateAvro(LoadedPipeline pipeline, RecordLayout layout, ILoggerFactory loggers) => throw new NotSupportedException("pending");
}

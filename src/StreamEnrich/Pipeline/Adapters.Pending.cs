using Microsoft.Extensions.Logging;
using StreamEnrich.Configuration;
using StreamEnrich.Records;

namespace StreamEnrich.Pipeline;

internal static partial class Adapters
{

    public static IReadOnlyList<byte[]?> ReadAvroContainerAsMessages(string path, LoadedPipeline pipeline) => throw new NotSupportedException("pending");

    public static Task<string> CreateTableDdlAsync(LoadedPipeline pipeline, string? engine, CancellationToken ct) => throw new NotSupportedException("pending");
}

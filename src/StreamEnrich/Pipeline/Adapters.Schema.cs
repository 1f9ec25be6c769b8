using StreamEnrich.Configuration;

namespace StreamEnrich.Pipeline;

internal static partial class Adapters
{
    /// <summary>A CREATE TABLE for the pipeline's output (not implemented yet).</summary>
    public static Task<string> CreateTableDdlAsync(LoadedPipeline pipeline, string? engine, CancellationToken ct) =>
        throw new InvalidOperationException("`streamenrich schema` is not implemented yet");
}

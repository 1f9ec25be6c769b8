using StreamEnrich.Configuration;
using StreamEnrich.Pipeline.Schema;

namespace StreamEnrich.Pipeline;

internal static partial class Adapters
{
    /// <summary>
    /// A CREATE TABLE for the pipeline's output (see <see cref="TableDdlGenerator"/>); <paramref name="engine"/> replaces
    /// <c>MergeTree</c>. Throws <see cref="InvalidOperationException"/> when nothing describes the input or the stages
    /// cannot be built.
    /// </summary>
    public static Task<string> CreateTableDdlAsync(LoadedPipeline pipeline, string? engine, CancellationToken ct) =>
        TableDdlGenerator.GenerateAsync(pipeline, engine, ct);
}

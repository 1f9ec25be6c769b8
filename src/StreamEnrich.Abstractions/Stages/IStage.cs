using StreamEnrich.Records;

namespace StreamEnrich.Stages;

/// <summary>
/// A synchronous per-record stage: rename, cast, filter, lookup... It changes the record's fields in place,
/// or calls <see cref="Record.Filter"/> / <see cref="Record.Fail"/>. It is only called for active records.
/// Must be thread-safe: the engine calls one instance from several threads (never for the same record).
/// Throwing is allowed: the engine turns an exception into a failure of that record naming the stage.
/// </summary>
public interface IRecordStage
{
    void Process(Record record);
}

/// <summary>
/// A stage that does I/O for a chunk of records at a time (HTTP, database lookups). Receives only active
/// records; must finish all of them (set fields, filter or fail each) before the task completes.
/// </summary>
public interface IAsyncChunkStage
{
    ValueTask ProcessAsync(IReadOnlyList<Record> records, CancellationToken cancellationToken);
}

/// <summary>What a stage may ask for while the pipeline is being built.</summary>
public interface IStageBuildContext
{
    /// <summary>The slot of a field, declaring it if new.</summary>
    int Field(string path);

    /// <summary>The pipeline's name (for messages and metrics).</summary>
    string PipelineName { get; }

    /// <summary>The stage's name as declared (or its type and index), used in failure reasons.</summary>
    string StageName { get; }

    /// <summary>Resolves a path relative to the pipeline file's folder.</summary>
    string ResolvePath(string path);

    /// <summary>Where a stage writes diagnostics.</summary>
    Microsoft.Extensions.Logging.ILogger Logger { get; }

    /// <summary>Time source (tests inject a fake one).</summary>
    TimeProvider Time { get; }

    /// <summary>
    /// The pipeline's record layout: still growing while the pipeline is built, frozen before the first record.
    /// Stages that must know every declared field (e.g. <c>keep</c>) read it on first use, not at build time.
    /// Null when the host does not expose it.
    /// </summary>
    Records.RecordLayout? Layout => null;
}

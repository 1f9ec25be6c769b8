using System.Threading.Tasks.Dataflow;
using StreamEnrich.Records;

namespace StreamEnrich.Pipeline;

/// <summary>Where records come from: Kafka in production, a file in dry-run and pipeline tests.</summary>
internal interface IChunkSource
{
    /// <summary>
    /// Feeds chunks into <paramref name="target"/> (with <c>SendAsync</c>: the target is bounded) until
    /// <paramref name="stop"/> is cancelled or the input ends, then calls <c>target.Complete()</c>.
    /// </summary>
    Task RunAsync(ITargetBlock<RecordChunk> target, Func<Record> newRecord, CancellationToken stop);

    /// <summary>Every record of the chunk is finished (inserted, filtered, dead-lettered or skipped): its offsets may be committed.</summary>
    void Complete(RecordChunk chunk);

    /// <summary>After the pipeline drained: commit what is finished and release the consumer.</summary>
    Task CloseAsync(CancellationToken cancellationToken);

    /// <summary>A one-line summary for the periodic status log (lag, paused, committed).</summary>
    string StatusLine();

    /// <summary>
    /// How long, in total, the source had records ready while the pipeline had no room for them (zero where not
    /// measured). Its share of an interval says the stages or ClickHouse, not the source, set the pace.
    /// </summary>
    TimeSpan WaitedForPipeline { get; }
}

/// <summary>Where records go: ClickHouse in production, a row preview in dry-run.</summary>
internal interface IRowSink
{
    /// <summary>
    /// Encodes the active records of a chunk as they will be sent. Called by the parallel workers (thread-safe).
    /// A record whose values cannot be converted to its column types is marked failed (stage <c>sink</c>) and left out.
    /// </summary>
    EncodedRows Encode(ReadOnlySpan<Record> records);

    /// <summary>
    /// Appends <paramref name="next"/> to <paramref name="batch"/> (null: start a new batch buffer), releases
    /// <paramref name="next"/>'s own buffers, and returns the batch. Called by the batcher, one chunk at a time.
    /// </summary>
    EncodedRows Merge(EncodedRows? batch, EncodedRows next);

    /// <summary>
    /// Inserts the encoded rows of a batch as one insert. Returns when the destination acknowledged them; retries
    /// transient failures itself; throws on permanent ones.
    /// </summary>
    Task<int> InsertAsync(IReadOnlyList<EncodedRows> parts, CancellationToken cancellationToken);

    /// <summary>
    /// The pipeline is shutting down and drains against a deadline: inserts waiting to retry should retry soon
    /// rather than after a long backoff. Called once, from any thread; inserts go on as before otherwise.
    /// </summary>
    void BeginDrain();
}

/// <summary>A sink that writes into a table: it learns the table's columns, then declares the fields they read.</summary>
internal interface ITableSink : IRowSink
{
    /// <summary>Reads the table's columns (DESCRIBE, or the inline schema); throws with the reason when it cannot.</summary>
    Task PrepareAsync(CancellationToken cancellationToken);

    /// <summary>Declares the field each column reads; before the layout is frozen.</summary>
    void BindColumns(RecordLayout layout);
}

/// <summary>The pipeline stopped on purpose because <c>on_error: fail</c> met a failed record.</summary>
internal sealed class PipelineStoppedException(string message) : Exception(message);

namespace StreamEnrich.Pipeline;

/// <summary>Counters of one pipeline, updated with Interlocked from every worker; read by the status log.</summary>
internal sealed class PipelineMetrics
{
    public long Consumed;
    public long ConsumedBytes;
    public long Inserted;
    public long InsertBatches;
    public long Filtered;
    public long DeadLettered;
    public long Skipped;

    public Snapshot Take() => new(
        Interlocked.Read(ref Consumed), Interlocked.Read(ref ConsumedBytes), Interlocked.Read(ref Inserted),
        Interlocked.Read(ref InsertBatches), Interlocked.Read(ref Filtered), Interlocked.Read(ref DeadLettered),
        Interlocked.Read(ref Skipped));

    public readonly record struct Snapshot(long Consumed, long ConsumedBytes, long Inserted, long InsertBatches, long Filtered, long DeadLettered, long Skipped);
}

using StreamEnrich.Records;

namespace StreamEnrich.Pipeline;

/// <summary>
/// The unit of work that flows through the dataflow: up to a few hundred records in consumption order.
/// Moving chunks instead of single records keeps dataflow overhead per message negligible; the source
/// tracks each chunk's offsets so they are committed only when the whole chunk is finished.
/// </summary>
internal sealed class RecordChunk(Record[] records, int count)
{
    public Record[] Records { get; } = records;
    public int Count { get; } = count;
    /// <summary>Sum of payload sizes, for byte-based batching.</summary>
    public long PayloadBytes { get; init; }
    /// <summary>Handle the source uses to mark this chunk's offsets finished.</summary>
    public object? OffsetHandle { get; set; }
    /// <summary>When the first message of the chunk was consumed (latency metrics).</summary>
    public long ConsumedAtTimestamp { get; init; }
    public ReadOnlySpan<Record> Span => Records.AsSpan(0, Count);
}

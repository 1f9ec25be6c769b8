namespace StreamEnrich.Sources.Kafka;

/// <summary>A point-in-time view of a <see cref="KafkaSource"/> for the periodic log line and metrics.</summary>
internal sealed record KafkaSourceMetrics(
    long MessagesConsumed,
    long BytesConsumed,
    bool Paused,
    long Pauses,
    long Rebalances,
    IReadOnlyList<KafkaPartitionMetrics> Partitions)
{
    /// <summary>Sum of the known per-partition lags.</summary>
    public long TotalLag => Partitions.Where(p => p.Lag >= 0).Sum(p => p.Lag);
}

/// <summary>One assigned partition. Offsets are -1 when not known yet.</summary>
/// <param name="Position">Offset after the last record handed to the pipeline.</param>
/// <param name="Committed">Last offset committed by this source (the next offset to read after a restart).</param>
/// <param name="HighWatermark">End of the partition as last seen by the consumer's fetches.</param>
/// <param name="Lag">HighWatermark - Position, or -1 when either is unknown.</param>
internal sealed record KafkaPartitionMetrics(string Topic, int Partition, long Position, long Committed, long HighWatermark, long Lag);

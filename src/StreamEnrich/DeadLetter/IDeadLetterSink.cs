using StreamEnrich.Records;

namespace StreamEnrich.DeadLetter;

/// <summary>
/// Where failed records go. <see cref="WriteAsync"/> returns only when every record is durably stored
/// (Kafka acknowledged it, or the file is flushed to disk); if it throws, none of the records may be counted
/// as finished, so the engine must not commit their offsets.
/// </summary>
internal interface IDeadLetterSink : IAsyncDisposable
{
    /// <summary>Stores the records (original key, value and headers, plus why and where they failed).</summary>
    Task WriteAsync(IReadOnlyList<Record> failed, CancellationToken ct);

    /// <summary>Where records go, for logs (e.g. <c>kafka topic web-dlq</c>, <c>file /var/dlq.jsonl</c>).</summary>
    string Description { get; }
}

/// <summary>Dead-lettering failed for good: the records are not stored and must not be committed past.</summary>
public sealed class DeadLetterException : Exception
{
    public DeadLetterException() { }
    public DeadLetterException(string message) : base(message) { }
    public DeadLetterException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>Header names written with every dead-lettered record (Kafka headers, and the same names in the JSON lines file).</summary>
internal static class DeadLetterHeaders
{
    public const string Stage = "streamenrich.error.stage";
    public const string Reason = "streamenrich.error.reason";
    public const string SourceTopic = "streamenrich.source.topic";
    public const string SourcePartition = "streamenrich.source.partition";
    public const string SourceOffset = "streamenrich.source.offset";
    public const string SourceTimestamp = "streamenrich.source.timestamp";
    public const string Pipeline = "streamenrich.pipeline";

    /// <summary>The failure reason, or a placeholder when a stage failed a record without saying why.</summary>
    public static string ReasonOf(Record r) => string.IsNullOrEmpty(r.FailureReason) ? "unknown" : r.FailureReason;

    public static string StageOf(Record r) => string.IsNullOrEmpty(r.FailedStage) ? "unknown" : r.FailedStage;
}

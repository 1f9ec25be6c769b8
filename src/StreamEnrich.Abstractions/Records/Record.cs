namespace StreamEnrich.Records;

/// <summary>Where a record is in its life: still flowing, filtered out on purpose, or failed.</summary>
public enum RecordStatus : byte
{
    /// <summary>Flowing through the pipeline; will be inserted.</summary>
    Active = 0,
    /// <summary>Removed on purpose by a stage (e.g. <c>filter</c>); its offset still counts as finished.</summary>
    Filtered,
    /// <summary>Could not be processed; goes to the dead-letter path (or is skipped / stops the pipeline per <c>on_error</c>).</summary>
    Failed,
}

/// <summary>One Kafka header as received.</summary>
public readonly record struct RecordHeader(string Key, byte[]? Value);

/// <summary>
/// One in-flight message: its Kafka origin and its fields, stored in slots whose positions were fixed when
/// the pipeline was built (<see cref="RecordLayout"/>), so stages never look fields up by name per message.
/// </summary>
public sealed class Record
{
    public Record(int fieldCount) => Fields = new Value[fieldCount];

    /// <summary>Field values indexed by slot (see <see cref="RecordLayout.Slot"/>).</summary>
    public Value[] Fields;

    public RecordStatus Status;
    /// <summary>The stage (or component: <c>deserialize</c>, <c>sink</c>) where the record failed.</summary>
    public string? FailedStage;
    /// <summary>Why it failed, in words fit for the dead-letter headers.</summary>
    public string? FailureReason;

    public string Topic = "";
    public int Partition;
    public long Offset;
    /// <summary>Kafka message timestamp, milliseconds since the epoch.</summary>
    public long TimestampMs;
    public byte[]? Key;
    /// <summary>The message value exactly as received (kept for the dead-letter path and UTF-8 string slices).</summary>
    public byte[]? Payload;
    public IReadOnlyList<RecordHeader>? Headers;

    public bool IsActive => Status == RecordStatus.Active;

    /// <summary>Marks the record failed at <paramref name="stage"/>; the first failure wins.</summary>
    public void Fail(string stage, string reason)
    {
        if (Status == RecordStatus.Failed) return;
        Status = RecordStatus.Failed;
        FailedStage = stage;
        FailureReason = reason;
    }

    /// <summary>Marks the record filtered out on purpose.</summary>
    public void Filter()
    {
        if (Status == RecordStatus.Active) Status = RecordStatus.Filtered;
    }

    public ref Value this[int slot] => ref Fields[slot];

    /// <summary>Clears the record for reuse (the engine pools records; nothing may keep a reference to a pooled one).</summary>
    public void Reset()
    {
        Array.Clear(Fields);
        Status = RecordStatus.Active;
        FailedStage = null;
        FailureReason = null;
        Topic = "";
        Partition = 0;
        Offset = 0;
        TimestampMs = 0;
        Key = null;
        Payload = null;
        Headers = null;
    }
}

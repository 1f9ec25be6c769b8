using StreamEnrich.Records;

namespace StreamEnrich.Formats;

/// <summary>
/// Decodes a message value (<see cref="Record.Payload"/>) into the record's field slots. Built after every
/// stage and the sink declared their fields, against the frozen <see cref="RecordLayout"/>: it fills only
/// declared fields and skips the rest of the message cheaply. Kafka metadata fields (<see cref="MetadataFields"/>)
/// are filled by the engine, not by decoders.
/// </summary>
internal interface IRecordDecoder
{
    /// <summary>
    /// Optional I/O before a chunk is decoded (e.g. fetching unknown schema ids from a registry). Called once
    /// per chunk; must not fail records itself unless the failure is specific to them.
    /// </summary>
    ValueTask PrepareAsync(IReadOnlyList<Record> records, CancellationToken cancellationToken) => default;

    /// <summary>
    /// Decodes one record. A payload that cannot be decoded is not an exception: call
    /// <c>record.Fail("deserialize", reason)</c> with a reason that says what is wrong and where (byte offset).
    /// Thread-safe: called from several workers at once.
    /// </summary>
    void Decode(Record record);
}

using StreamEnrich.Records;

namespace StreamEnrich.Pipeline;

/// <summary>
/// The unit of work that flows through the dataflow: up to a few hundred records in consumption order.
/// Moving chunks instead of single records keeps dataflow overhead per message negligible; the source
/// tracks each chunk's offsets so they are committed only when the whole chunk is finished.
/// <para>
/// Once its rows are encoded for the sink (<see cref="Seal"/>), a chunk lets go of its records and keeps only the
/// encoded rows and the failed records (for the dead-letter path): a batch waiting for ClickHouse then holds a few
/// hundred bytes per row, not the decoded records.
/// </para>
/// </summary>
internal sealed class RecordChunk(Record[] records, int count)
{
    private Record[]? _records = records;

    /// <summary>The records, until the chunk is sealed.</summary>
    public Record[] Records => _records ?? throw new InvalidOperationException("The chunk was sealed; its records were released.");
    public int Count { get; } = count;
    /// <summary>Sum of payload sizes, for byte-based batching.</summary>
    public long PayloadBytes { get; init; }
    /// <summary>
    /// The source had read everything there was when it handed this chunk over (every assigned partition at its end):
    /// the batcher may flush without waiting for <c>max_wait</c>. A chunk may be empty just to carry this signal.
    /// </summary>
    public bool CaughtUp { get; init; }
    /// <summary>Handle the source uses to mark this chunk's offsets finished.</summary>
    public object? OffsetHandle { get; set; }
    public ReadOnlySpan<Record> Span => Records.AsSpan(0, Count);

    /// <summary>The rows as the sink will send them (after <see cref="Seal"/>).</summary>
    public EncodedRows? Encoded { get; private set; }
    /// <summary>Records that failed anywhere (after <see cref="Seal"/>); null when none did.</summary>
    public List<Record>? Failed { get; private set; }
    /// <summary>Records filtered out on purpose (after <see cref="Seal"/>).</summary>
    public int Filtered { get; private set; }

    /// <summary>Hands the encoded rows over (to be merged into the batch's buffer); the chunk no longer holds them.</summary>
    public EncodedRows? TakeEncoded()
    {
        var e = Encoded;
        Encoded = null;
        return e;
    }

    /// <summary>Keeps the encoded rows and the failed records, and gives every other record back to <paramref name="pool"/>.</summary>
    public void Seal(EncodedRows encoded, RecordPool? pool)
    {
        Encoded = encoded;
        foreach (var r in Span)
        {
            if (r.Status == RecordStatus.Failed)
            {
                (Failed ??= []).Add(r);
                continue;
            }
            if (r.Status == RecordStatus.Filtered) Filtered++;
            pool?.Return(r);
        }
        _records = null;
    }
}

/// <summary>Rows of one chunk encoded by a sink, held until the batch they belong to is inserted.</summary>
internal abstract class EncodedRows
{
    public int Rows { get; protected init; }
    public long Bytes { get; protected init; }

    /// <summary>Gives pooled buffers back; called once the batch was inserted (or abandoned).</summary>
    public virtual void Release() { }

    /// <summary>How many pieces these rows can be split into, at the boundaries of the chunks merged into them (1: none).</summary>
    public virtual int Pieces => 1;

    /// <summary>
    /// Splits the rows into consecutive runs of pieces, run <c>i</c> ending before piece <paramref name="ends"/>[i] (the last
    /// end is <see cref="Pieces"/>); the buffers move to the results. Only when <see cref="Pieces"/> is above 1.
    /// </summary>
    public virtual EncodedRows[] Split(ReadOnlySpan<int> ends) => throw new NotSupportedException($"{GetType().Name} cannot be split");
}

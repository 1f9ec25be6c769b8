using System.Threading.Tasks.Dataflow;
using StreamEnrich.Configuration;

namespace StreamEnrich.Pipeline;

/// <summary>Chunks that are inserted together.</summary>
internal sealed class InsertBatch(List<RecordChunk> chunks, int records, long bytes, EncodedRows? merged)
{
    public List<RecordChunk> Chunks { get; } = chunks;
    public int Records { get; } = records;
    public long Bytes { get; } = bytes;
    /// <summary>The encoded rows of every chunk in one buffer, when the sink merges (else each chunk keeps its own).</summary>
    public EncodedRows? Merged { get; } = merged;
}

/// <summary>
/// Size-or-time batching as one block: collects chunks until the batch reaches <c>max_rows</c> records or
/// <c>max_bytes</c> of payload, or its first chunk is <c>max_wait</c> old, whichever comes first; flushes what it
/// holds when its input completes. With <c>flush_when_caught_up</c>, a batch that follows a full one (or is the first)
/// and holds at least a tenth of <c>max_rows</c> or <c>max_bytes</c> is also flushed when a chunk says the source has caught up
/// (<see cref="RecordChunk.CaughtUp"/>): the end of a backlog does not wait for <c>max_wait</c>, while a trickle (whose
/// batches never fill) still does, and a steady stream does not put a tiny part between its full ones. Both ends are bounded, so a slow sink holds the batcher, which holds the stages.
/// Chunks are never split: a batch may exceed <c>max_rows</c> by less than one chunk.
/// <para>
/// A batch flushed before it is full (the end of a backlog, <c>max_wait</c>, the last one) is sent as several inserts at
/// chunk boundaries when insert slots are idle and each part would hold at least <see cref="MinSplitRows"/> rows (and a
/// tenth of <c>max_rows</c>): ClickHouse then writes them on several cores instead of one while the pipeline has nothing
/// else to insert (<c>split_when_idle</c>). Full batches are never split, so a steady stream keeps its large parts.
/// </para>
/// <para>
/// With a <c>merge</c> function (the sink's), each chunk's encoded rows are appended to one buffer for the batch as the
/// chunk arrives and the chunk's own buffer is given back at once; a full batch is handed straight to the (bounded)
/// insert block, so the memory held is the batches being inserted plus the one filling.
/// </para>
/// </summary>
internal sealed class ChunkBatcher
{
    private readonly BufferBlock<RecordChunk> _input;
    private readonly ITargetBlock<InsertBatch> _output;
    private readonly Func<EncodedRows?, EncodedRows, EncodedRows>? _merge;
    private readonly BatchOptions _options;
    private readonly TimeProvider _time;
    private readonly Func<int>? _idleInsertSlots;

    /// <summary>The fewest rows a part of a split batch holds.</summary>
    public const int MinSplitRows = 10_000;

    /// <param name="idleInsertSlots">How many inserts could start now (none given: batches are never split).</param>
    public ChunkBatcher(BatchOptions options, int inputCapacity, ITargetBlock<InsertBatch> output,
        Func<EncodedRows?, EncodedRows, EncodedRows>? merge, TimeProvider time, CancellationToken ct, Func<int>? idleInsertSlots = null)
    {
        _options = options;
        _time = time;
        _merge = merge;
        _idleInsertSlots = idleInsertSlots;
        _input = new BufferBlock<RecordChunk>(new DataflowBlockOptions { BoundedCapacity = inputCapacity, CancellationToken = ct });
        _output = output;
        Completion = RunAsync(ct);
    }

    public ITargetBlock<RecordChunk> Target => _input;
    /// <summary>Completes when the input completed and the last batch was handed on (or faults with the cause).</summary>
    public Task Completion { get; }

    /// <summary>
    /// How long, in total, a full batch waited for the insert block to take it (every insert slot busy): ClickHouse,
    /// not the stages, set the pace for that time.
    /// </summary>
    public TimeSpan WaitedForInsert => TimeSpan.FromTicks(Interlocked.Read(ref _waitedForInsertTicks));
    private long _waitedForInsertTicks;

    private async Task RunAsync(CancellationToken ct)
    {
        var pending = new List<RecordChunk>();
        // Per pending chunk, how many pieces the merged rows held after it (where the batch can be split).
        var pieceEnds = new List<int>();
        var rows = 0;
        long bytes = 0;
        long firstAt = 0;
        EncodedRows? merged = null;
        var caughtUp = false;
        // The start counts as "after a full batch": a backlog smaller than one batch is inserted once it is read.
        var lastFlushFull = true;
        try
        {
            while (true)
            {
                if (pending.Count == 0)
                {
                    if (!await _input.OutputAvailableAsync(ct).ConfigureAwait(false)) break;
                }
                else
                {
                    var remaining = _options.MaxWait - _time.GetElapsedTime(firstAt);
                    if (remaining > TimeSpan.Zero)
                    {
                        using var waitCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                        var available = _input.OutputAvailableAsync(waitCts.Token);
                        var delay = Task.Delay(remaining, _time, waitCts.Token);
                        var first = await Task.WhenAny(available, delay).ConfigureAwait(false);
                        ct.ThrowIfCancellationRequested();
                        if (first == available && !await available.ConfigureAwait(false)) break;
                        waitCts.Cancel();
                    }
                }
                while (_input.TryReceive(out var chunk))
                {
                    caughtUp |= chunk.CaughtUp;
                    if (chunk.Count == 0)
                    {
                        chunk.TakeEncoded()?.Release(); // a marker that only carries CaughtUp
                        if (caughtUp) break;
                        continue;
                    }
                    if (pending.Count == 0) firstAt = _time.GetTimestamp();
                    pending.Add(chunk);
                    if (_merge != null && chunk.TakeEncoded() is { } encoded) merged = _merge(merged, encoded);
                    pieceEnds.Add(merged?.Pieces ?? 0);
                    rows += chunk.Count;
                    bytes += chunk.PayloadBytes;
                    if (rows >= _options.MaxRows || bytes >= _options.MaxBytes || caughtUp) break;
                }
                var full = rows >= _options.MaxRows || bytes >= _options.MaxBytes;
                // Only a batch of some size: in a steady stream the consumer catches up right after every full batch, and
                // flushing then would put a tiny part between every two full ones.
                var early = caughtUp && lastFlushFull && _options.FlushWhenCaughtUp
                    && (rows * 10L >= _options.MaxRows || bytes * 10 >= _options.MaxBytes);
                caughtUp = false; // the signal speaks of the rows received so far, not of later ones
                if (pending.Count > 0 && (full || early || _time.GetElapsedTime(firstAt) >= _options.MaxWait))
                {
                    lastFlushFull = full;
                    if (full) await FlushAsync(pending, rows, bytes, merged, ct).ConfigureAwait(false);
                    else await FlushPartialAsync(pending, pieceEnds, rows, bytes, merged, ct).ConfigureAwait(false);
                    pending = [];
                    pieceEnds = [];
                    rows = 0;
                    bytes = 0;
                    merged = null;
                }
            }
            await _input.Completion.ConfigureAwait(false); // an upstream fault must not look like a normal end
            if (pending.Count > 0) await FlushPartialAsync(pending, pieceEnds, rows, bytes, merged, ct).ConfigureAwait(false);
            _output.Complete();
        }
        catch (Exception ex)
        {
            merged?.Release();
            _output.Fault(ex);
            throw;
        }
    }

    /// <summary>Flushes a batch that is not full: as one insert, or split over the idle insert slots (see the class).</summary>
    private async Task FlushPartialAsync(List<RecordChunk> chunks, List<int> pieceEnds, int rows, long bytes, EncodedRows? merged, CancellationToken ct)
    {
        var minRows = Math.Max(MinSplitRows, _options.MaxRows / 10);
        var parts = _options.SplitWhenIdle && _idleInsertSlots is not null ? Math.Min(_idleInsertSlots(), rows / minRows) : 1;
        if (parts > 1 && merged is not null && merged.Pieces < parts) parts = 1; // buffers that cannot be cut there
        if (parts <= 1 || chunks.Count < parts)
        {
            await FlushAsync(chunks, rows, bytes, merged, ct).ConfigureAwait(false);
            return;
        }
        // Consecutive runs of chunks of about rows / parts each.
        var batches = new List<(List<RecordChunk> Chunks, int Rows, long Bytes, int PieceEnd)>(parts);
        var current = new List<RecordChunk>();
        int runRows = 0, seen = 0;
        long runBytes = 0;
        for (var i = 0; i < chunks.Count; i++)
        {
            var c = chunks[i];
            current.Add(c);
            runRows += c.Count;
            runBytes += c.PayloadBytes;
            seen += c.Count;
            var last = i == chunks.Count - 1;
            if (last || (batches.Count < parts - 1 && seen * (long)parts >= rows * (long)(batches.Count + 1)))
            {
                batches.Add((current, runRows, runBytes, pieceEnds[i]));
                current = [];
                runRows = 0;
                runBytes = 0;
            }
        }
        EncodedRows?[] split;
        if (merged is null) split = new EncodedRows?[batches.Count];
        else
        {
            Span<int> ends = stackalloc int[batches.Count];
            for (var b = 0; b < batches.Count; b++) ends[b] = batches[b].PieceEnd;
            split = merged.Split(ends);
        }
        for (var b = 0; b < batches.Count; b++)
        {
            try
            {
                await FlushAsync(batches[b].Chunks, batches[b].Rows, batches[b].Bytes, split[b], ct).ConfigureAwait(false);
            }
            catch
            {
                // This part and the ones after it were not handed on: their buffers go back here.
                for (var rest = b; rest < split.Length; rest++) split[rest]?.Release();
                throw;
            }
        }
        Interlocked.Increment(ref _splitFlushes);
    }

    /// <summary>How many batches were split over idle insert slots.</summary>
    public int SplitFlushes => Volatile.Read(ref _splitFlushes);
    private int _splitFlushes;

    private async Task FlushAsync(List<RecordChunk> chunks, int rows, long bytes, EncodedRows? merged, CancellationToken ct)
    {
        var send = _output.SendAsync(new InsertBatch(chunks, rows, bytes, merged), ct);
        if (!send.IsCompleted)
        {
            var started = _time.GetTimestamp();
            try { await send.ConfigureAwait(false); }
            finally { Interlocked.Add(ref _waitedForInsertTicks, _time.GetElapsedTime(started).Ticks); }
        }
        if (!await send.ConfigureAwait(false))
            throw new InvalidOperationException("The insert stage stopped accepting batches.");
    }
}

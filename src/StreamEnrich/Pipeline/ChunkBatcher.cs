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

    public ChunkBatcher(BatchOptions options, int inputCapacity, ITargetBlock<InsertBatch> output,
        Func<EncodedRows?, EncodedRows, EncodedRows>? merge, TimeProvider time, CancellationToken ct)
    {
        _options = options;
        _time = time;
        _merge = merge;
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
                    await FlushAsync(pending, rows, bytes, merged, ct).ConfigureAwait(false);
                    pending = [];
                    rows = 0;
                    bytes = 0;
                    merged = null;
                }
            }
            await _input.Completion.ConfigureAwait(false); // an upstream fault must not look like a normal end
            if (pending.Count > 0) await FlushAsync(pending, rows, bytes, merged, ct).ConfigureAwait(false);
            _output.Complete();
        }
        catch (Exception ex)
        {
            merged?.Release();
            _output.Fault(ex);
            throw;
        }
    }

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

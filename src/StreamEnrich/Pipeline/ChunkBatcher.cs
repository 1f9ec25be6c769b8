using System.Threading.Tasks.Dataflow;
using StreamEnrich.Configuration;

namespace StreamEnrich.Pipeline;

/// <summary>Chunks that are inserted together.</summary>
internal sealed class InsertBatch(List<RecordChunk> chunks, int records, long bytes)
{
    public List<RecordChunk> Chunks { get; } = chunks;
    public int Records { get; } = records;
    public long Bytes { get; } = bytes;
}

/// <summary>
/// Size-or-time batching as one block: collects chunks until the batch reaches <c>max_rows</c> records or
/// <c>max_bytes</c> of payload, or its first chunk is <c>max_wait</c> old, whichever comes first; flushes what it
/// holds when its input completes. Both ends are bounded, so a slow sink holds the batcher, which holds the stages.
/// Chunks are never split: a batch may exceed <c>max_rows</c> by less than one chunk.
/// </summary>
internal sealed class ChunkBatcher
{
    private readonly BufferBlock<RecordChunk> _input;
    private readonly BufferBlock<InsertBatch> _output;
    private readonly BatchOptions _options;
    private readonly TimeProvider _time;

    public ChunkBatcher(BatchOptions options, int inputCapacity, int outputCapacity, TimeProvider time, CancellationToken ct)
    {
        _options = options;
        _time = time;
        _input = new BufferBlock<RecordChunk>(new DataflowBlockOptions { BoundedCapacity = inputCapacity, CancellationToken = ct });
        _output = new BufferBlock<InsertBatch>(new DataflowBlockOptions { BoundedCapacity = outputCapacity, CancellationToken = ct });
        Completion = RunAsync(ct);
    }

    public ITargetBlock<RecordChunk> Target => _input;
    public ISourceBlock<InsertBatch> Source => _output;
    /// <summary>Completes when the input completed and the last batch was handed on (or faults with the cause).</summary>
    public Task Completion { get; }

    private async Task RunAsync(CancellationToken ct)
    {
        var pending = new List<RecordChunk>();
        var rows = 0;
        long bytes = 0;
        long firstAt = 0;
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
                    if (pending.Count == 0) firstAt = _time.GetTimestamp();
                    pending.Add(chunk);
                    rows += chunk.Count;
                    bytes += chunk.PayloadBytes;
                    if (rows >= _options.MaxRows || bytes >= _options.MaxBytes) break;
                }
                if (pending.Count > 0 && (rows >= _options.MaxRows || bytes >= _options.MaxBytes || _time.GetElapsedTime(firstAt) >= _options.MaxWait))
                {
                    await FlushAsync(pending, rows, bytes, ct).ConfigureAwait(false);
                    pending = [];
                    rows = 0;
                    bytes = 0;
                }
            }
            await _input.Completion.ConfigureAwait(false); // an upstream fault must not look like a normal end
            if (pending.Count > 0) await FlushAsync(pending, rows, bytes, ct).ConfigureAwait(false);
            _output.Complete();
        }
        catch (Exception ex)
        {
            ((IDataflowBlock)_output).Fault(ex);
            throw;
        }
    }

    private async Task FlushAsync(List<RecordChunk> chunks, int rows, long bytes, CancellationToken ct)
    {
        if (!await _output.SendAsync(new InsertBatch(chunks, rows, bytes), ct).ConfigureAwait(false))
            throw new InvalidOperationException("The insert stage stopped accepting batches.");
    }
}

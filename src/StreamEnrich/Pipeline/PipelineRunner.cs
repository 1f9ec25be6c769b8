using System.Globalization;
using System.Threading.Tasks.Dataflow;
using Microsoft.Extensions.Logging;
using StreamEnrich.Configuration;
using StreamEnrich.DeadLetter;
using StreamEnrich.Records;

namespace StreamEnrich.Pipeline;

/// <summary>Settings of the dataflow itself (the rest of a pipeline's options belong to its parts).</summary>
internal sealed record RunnerSettings(
    string Name,
    int Parallelism,
    int InsertConcurrency,
    BatchOptions Batch,
    OnError OnError,
    TimeSpan StatusInterval)
{
    public static RunnerSettings From(PipelineOptions o, TimeSpan statusInterval) =>
        new(o.Name ?? "pipeline", o.Parallelism, o.Sink.InsertConcurrency, o.Batch, o.OnError, statusInterval);
}

/// <summary>
/// Runs one pipeline as a TPL Dataflow graph, every block bounded:
/// <code>
/// source ─▶ decode + sync stages (parallel, ordered) ─▶ [async stage]* ─▶ batcher ─▶ insert (concurrent)
///                                                                                      │
///           commit ◀── source.Complete(chunk) ◀── dead-letter / skip / fail ◀─────────┘
/// </code>
/// A chunk's offsets are released to the source only after its rows are in ClickHouse and its failed records are
/// on the dead-letter path, so a commit never passes an unfinished message.
/// </summary>
internal sealed partial class PipelineRunner
{
    private readonly RunnerSettings _settings;
    private readonly ProcessingPlan _plan;
    private readonly IChunkSource _source;
    private readonly IRowSink _sink;
    private readonly IDeadLetterSink? _failed;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    public PipelineRunner(RunnerSettings settings, ProcessingPlan plan, IChunkSource source, IRowSink sink,
        IDeadLetterSink? failedSink, ILogger logger, TimeProvider time)
    {
        if (settings.OnError == OnError.DeadLetter && failedSink is null)
            throw new ArgumentException("on_error is dead_letter but no dead-letter sink was built.", nameof(failedSink));
        _settings = settings;
        _plan = plan;
        _source = source;
        _sink = sink;
        _failed = failedSink;
        _logger = logger;
        _time = time;
        _pool = new RecordPool(plan.Layout);
    }

    public PipelineMetrics Metrics { get; } = new();

    private readonly RecordPool _pool;

    public string Name => _settings.Name;

    /// <summary>The source's one-line state (lag, paused, rebalances).</summary>
    public string StatusLine() => _source.StatusLine();

    /// <summary>
    /// Runs until <paramref name="stop"/> is cancelled (then drains: everything consumed is inserted and committed)
    /// or the source ends. <paramref name="abort"/> cancels even the drain (inserts in flight are abandoned and not committed).
    /// Throws the first failure of any part.
    /// </summary>
    public async Task RunAsync(CancellationToken stop, CancellationToken abort)
    {
        using var failure = CancellationTokenSource.CreateLinkedTokenSource(abort);
        using var stopSource = CancellationTokenSource.CreateLinkedTokenSource(stop, failure.Token);
        var ct = failure.Token;
        var parallel = _settings.Parallelism;

        // The last step of every chunk encodes its rows for the sink and releases the records (RecordChunk.Seal), so
        // the batch that waits for ClickHouse holds encoded bytes only. With no async stage, decoding, every stage and
        // encoding run in one pass per chunk on the parallel workers.
        var steps = _plan.Steps;
        var lastIndex = steps.Count - 1;
        var decode = new TransformBlock<RecordChunk, RecordChunk>(async chunk =>
        {
            Interlocked.Add(ref Metrics.Consumed, chunk.Count);
            Interlocked.Add(ref Metrics.ConsumedBytes, chunk.PayloadBytes);
            await _plan.DecodeAsync(chunk, ct).ConfigureAwait(false);
            ((ProcessingPlan.SyncStep)steps[0]).Run(chunk);
            if (lastIndex == 0) Seal(chunk);
            return chunk;
        }, Options(parallel, ct));

        IPropagatorBlock<RecordChunk, RecordChunk> last = decode;
        var blocks = new List<IDataflowBlock> { decode };
        for (var i = 1; i < steps.Count; i++)
        {
            var step = steps[i];
            var isLast = i == lastIndex;
            TransformBlock<RecordChunk, RecordChunk> block = step switch
            {
                ProcessingPlan.AsyncStep a => new TransformBlock<RecordChunk, RecordChunk>(async chunk =>
                {
                    await a.RunAsync(chunk, ct).ConfigureAwait(false);
                    return chunk;
                }, Options(parallel, ct)),
                ProcessingPlan.SyncStep s => new TransformBlock<RecordChunk, RecordChunk>(chunk =>
                {
                    s.Run(chunk);
                    if (isLast) Seal(chunk);
                    return chunk;
                }, Options(parallel, ct)),
                _ => throw new InvalidOperationException(),
            };
            last.LinkTo(block, new DataflowLinkOptions { PropagateCompletion = true });
            last = block;
            blocks.Add(block);
        }

        var insert = new ActionBlock<InsertBatch>(batch => InsertAsync(batch, ct), new ExecutionDataflowBlockOptions
        {
            MaxDegreeOfParallelism = _settings.InsertConcurrency,
            BoundedCapacity = _settings.InsertConcurrency,
            CancellationToken = ct,
        });
        // Batches go straight into the bounded insert block: memory holds insert_concurrency batches plus the one filling.
        var batcher = new ChunkBatcher(_settings.Batch, inputCapacity: 2, insert, _sink.Merge, _time, ct,
            idleInsertSlots: () => _settings.InsertConcurrency - insert.InputCount - Volatile.Read(ref _insertsInFlight));
        last.LinkTo(batcher.Target, new DataflowLinkOptions { PropagateCompletion = true });

        // Any part failing stops the whole graph; the first real cause is what RunAsync throws.
        Exception? firstFailure = null;
        void OnFault(Task t)
        {
            if (t.Exception is { } ex && Interlocked.CompareExchange(ref firstFailure, ex.GetBaseException(), null) == null)
                failure.Cancel();
        }
        foreach (var b in blocks) _ = b.Completion.ContinueWith(OnFault, TaskScheduler.Default);
        _ = batcher.Completion.ContinueWith(OnFault, TaskScheduler.Default);
        _ = insert.Completion.ContinueWith(OnFault, TaskScheduler.Default);

        using var status = StartStatusLog(batcher, ct);
        // On stop the sink retries a failing insert promptly: the drain has a deadline (--shutdown-timeout).
        using var drain = stop.Register(static s => ((IRowSink)s!).BeginDrain(), _sink);
        var sourceTask = Task.Run(() => _source.RunAsync(decode, _pool.Rent, stopSource.Token), CancellationToken.None);
        _ = sourceTask.ContinueWith(OnFault, TaskScheduler.Default);

        try
        {
            await sourceTask.ConfigureAwait(false);
            // Every block, not just the last: a fault upstream must surface even if the completion that reached the
            // end looked normal.
            await Task.WhenAll(blocks.Select(b => b.Completion).Append(batcher.Completion).Append(insert.Completion)).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested && firstFailure == null)
        {
            // Aborted: reported below.
        }
        catch (Exception ex)
        {
            // The continuation that records faults may not have run yet; the first cause wins either way.
            Interlocked.CompareExchange(ref firstFailure, ex.GetBaseException(), null);
        }
        finally
        {
            failure.Cancel(); // stops the status log and anything left
            // The runner owns what was built for it: stages (lookup reload timers), decoder (registry client), sink (HTTP client).
            foreach (var stage in _plan.Stages)
            {
                if (stage.Sync is IDisposable d) d.Dispose();
                else if (stage.Async is IDisposable a) a.Dispose();
            }
            (_plan.Decoder as IDisposable)?.Dispose();
            (_sink as IDisposable)?.Dispose();
        }

        if (firstFailure != null)
        {
            LogStopped(_logger, Name, firstFailure.Message);
            throw new PipelineFailedException(Name, firstFailure);
        }
        if (abort.IsCancellationRequested)
            throw new OperationCanceledException($"Pipeline '{Name}' was aborted before it drained; unfinished messages were not committed and will be consumed again.");

        // The final commit and the consumer's close, and meanwhile the dead-letter producer's: every dead letter was
        // acknowledged before its offset counted as finished, so nothing waits on it (each librdkafka client takes tens
        // to hundreds of milliseconds to close).
        // Both are waited for; a failure of the consumer's close is the one reported if both fail.
        var closeDeadLetters = _failed is { } deadLetters ? Task.Run(() => deadLetters.DisposeAsync().AsTask()) : Task.CompletedTask;
        await Task.WhenAll(_source.CloseAsync(CancellationToken.None), closeDeadLetters).ConfigureAwait(false);
        LogDrained(Metrics.Take());
    }

    private static ExecutionDataflowBlockOptions Options(int parallel, CancellationToken ct) => new()
    {
        MaxDegreeOfParallelism = parallel,
        BoundedCapacity = parallel * 2,
        EnsureOrdered = true,
        SingleProducerConstrained = true,
        CancellationToken = ct,
    };

    /// <summary>Encodes a chunk's rows for the sink and lets go of its records; with on_error fail, stops at the first failure.</summary>
    private void Seal(RecordChunk chunk)
    {
        if (_settings.OnError == OnError.Fail) ThrowOnFailed(chunk.Span);
        var encoded = _sink.Encode(chunk.Span);
        if (_settings.OnError == OnError.Fail) ThrowOnFailed(chunk.Span); // conversion failures found while encoding
        chunk.Seal(encoded, _pool);
    }

    /// <summary>Inserts running now (for the batcher's split of a partial batch over idle slots).</summary>
    private int _insertsInFlight;

    private async Task InsertAsync(InsertBatch batch, CancellationToken ct)
    {
        Interlocked.Increment(ref _insertsInFlight);
        try
        {
            await InsertCoreAsync(batch, ct).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _insertsInFlight);
        }
    }

    private async Task InsertCoreAsync(InsertBatch batch, CancellationToken ct)
    {
        var parts = new List<EncodedRows>(batch.Merged is null ? batch.Chunks.Count : 1);
        if (batch.Merged is not null) parts.Add(batch.Merged);
        else foreach (var c in batch.Chunks) parts.Add(c.Encoded!);
        try
        {
            var inserted = await _sink.InsertAsync(parts, ct).ConfigureAwait(false);
            Interlocked.Add(ref Metrics.Inserted, inserted);
            Interlocked.Increment(ref Metrics.InsertBatches);
        }
        finally
        {
            foreach (var p in parts) p.Release();
        }

        List<Record>? failed = null;
        var filtered = 0;
        foreach (var c in batch.Chunks)
        {
            filtered += c.Filtered;
            if (c.Failed != null) (failed ??= []).AddRange(c.Failed);
        }
        Interlocked.Add(ref Metrics.Filtered, filtered);
        if (failed != null)
        {
            if (_settings.OnError == OnError.Skip)
            {
                Interlocked.Add(ref Metrics.Skipped, failed.Count);
                LogSkipped(_logger, Name, failed.Count, Describe(failed[0]));
            }
            else
            {
                await _failed!.WriteAsync(failed, ct).ConfigureAwait(false);
                Interlocked.Add(ref Metrics.DeadLettered, failed.Count);
            }
        }
        foreach (var chunk in batch.Chunks) _source.Complete(chunk);
    }

    private static void ThrowOnFailed(ReadOnlySpan<Record> records)
    {
        foreach (var r in records)
            if (r.Status == RecordStatus.Failed)
                throw new PipelineStoppedException($"on_error is fail and {Describe(r)}. Nothing from offset {r.Offset.ToString(CultureInfo.InvariantCulture)} of partition {r.Partition.ToString(CultureInfo.InvariantCulture)} on is committed; fix the cause or set on_error to dead_letter.");
    }

    internal static string Describe(Record r) =>
        $"message {r.Topic}[{r.Partition.ToString(CultureInfo.InvariantCulture)}]@{r.Offset.ToString(CultureInfo.InvariantCulture)} failed in '{r.FailedStage}': {r.FailureReason}";

    private IDisposable StartStatusLog(ChunkBatcher batcher, CancellationToken ct)
    {
        if (_settings.StatusInterval <= TimeSpan.Zero) return new CancellationTokenRegistration();
        // Shares of each interval: the source waiting for room in the pipeline, a full batch waiting for an insert slot
        // (together: who sets the pace), and the GC pausing threads (process-wide, shared by every pipeline).
        (TimeSpan Source, TimeSpan Insert, TimeSpan Gc) Waits() => (_source.WaitedForPipeline, batcher.WaitedForInsert, GC.GetTotalPauseDuration());
        var previous = Metrics.Take();
        var previousAt = _time.GetTimestamp();
        var previousWaits = Waits();
        return _time.CreateTimer(_ =>
        {
            if (ct.IsCancellationRequested) return;
            var now = Metrics.Take();
            var waits = Waits();
            var seconds = Math.Max(0.001, _time.GetElapsedTime(previousAt).TotalSeconds);
            double Percent(TimeSpan total, TimeSpan before) => Math.Clamp(100 * (total - before).TotalSeconds / seconds, 0, 100);
            LogRate(_logger, Name,
                (now.Consumed - previous.Consumed) / seconds, (now.Inserted - previous.Inserted) / seconds,
                now.Consumed, now.Inserted, now.Filtered, now.DeadLettered + now.Skipped, _source.StatusLine(),
                Percent(waits.Source, previousWaits.Source), Percent(waits.Insert, previousWaits.Insert),
                GC.GetTotalMemory(false) >> 20, Environment.WorkingSet >> 20, Percent(waits.Gc, previousWaits.Gc));
            previous = now;
            previousAt = _time.GetTimestamp();
            previousWaits = waits;
        }, null, _settings.StatusInterval, _settings.StatusInterval);
    }

    private void LogDrained(PipelineMetrics.Snapshot m) =>
        LogFinal(_logger, Name, m.Consumed, m.Inserted, m.Filtered, m.DeadLettered, m.Skipped);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Pipeline}: {ConsumedRate:F0} msg/s in, {InsertedRate:F0} rows/s out; total {Consumed} consumed, {Inserted} inserted, {Filtered} filtered, {Failed} failed; {Source}; waited for the pipeline {SourceWaitPercent:F0}%, batches for ClickHouse {InsertWaitPercent:F0}% of the time; memory {HeapMb} MB managed, {RssMb} MB resident, GC paused {GcPausePercent:F1}%")]
    private static partial void LogRate(ILogger logger, string pipeline, double consumedRate, double insertedRate, long consumed, long inserted, long filtered, long failed, string source, double sourceWaitPercent, double insertWaitPercent, long heapMb, long rssMb, double gcPausePercent);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Pipeline} drained: {Consumed} consumed, {Inserted} inserted, {Filtered} filtered, {DeadLettered} dead-lettered, {Skipped} skipped")]
    private static partial void LogFinal(ILogger logger, string pipeline, long consumed, long inserted, long filtered, long deadLettered, long skipped);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Pipeline}: skipped {Count} failed records (on_error: skip); first: {First}")]
    private static partial void LogSkipped(ILogger logger, string pipeline, int count, string first);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Pipeline} stopped: {Reason}")]
    private static partial void LogStopped(ILogger logger, string pipeline, string reason);
}

/// <summary>A pipeline stopped because one of its parts failed; <see cref="Exception.InnerException"/> is the cause.</summary>
internal sealed class PipelineFailedException(string pipeline, Exception cause)
    : Exception($"Pipeline '{pipeline}' stopped: {cause.Message}", cause)
{
    public string Pipeline { get; } = pipeline;
}

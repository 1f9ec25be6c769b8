using System.Text;
using System.Threading.Tasks.Dataflow;
using Microsoft.Extensions.Logging.Abstractions;
using StreamEnrich.Configuration;
using StreamEnrich.DeadLetter;
using StreamEnrich.Formats.Json;
using StreamEnrich.Pipeline;
using StreamEnrich.Records;
using StreamEnrich.Sources.File;
using StreamEnrich.Stages;

using Record = StreamEnrich.Records.Record;

namespace StreamEnrich.Tests.Pipeline;

public class PipelineRunnerTests
{
    /// <summary>Slot of field "v": the first field the test layout declares.</summary>
    private const int V = 0;

    private sealed class LambdaStage(Action<Record> action) : IRecordStage
    {
        public void Process(Record record) => action(record);
    }

    private sealed class RecordingSink(Func<IReadOnlyList<EncodedRows>, Task>? before = null) : IRowSink
    {
        public List<long> Offsets { get; } = [];
        public int Calls;
        /// <summary>Chunks whose records were not in consumption order.</summary>
        public int OutOfOrderBatches;

        public EncodedRows Encode(ReadOnlySpan<Record> records)
        {
            var offsets = new List<long>();
            long previous = -1;
            foreach (var r in records)
            {
                if (r.Offset <= previous) Interlocked.Increment(ref OutOfOrderBatches);
                previous = r.Offset;
                if (r.IsActive) offsets.Add(r.Offset);
            }
            return new Part(offsets);
        }

        public EncodedRows Merge(EncodedRows? batch, EncodedRows next) =>
            new Part([.. ((Part?)batch)?.Offsets ?? [], .. ((Part)next).Offsets]);

        /// <summary>Set when the runner said it is shutting down (<see cref="IRowSink.BeginDrain"/>).</summary>
        public TaskCompletionSource DrainBegun { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void BeginDrain() => DrainBegun.TrySetResult();

        public async Task<int> InsertAsync(IReadOnlyList<EncodedRows> parts, CancellationToken cancellationToken)
        {
            if (before != null) await before(parts);
            Interlocked.Increment(ref Calls);
            var n = 0;
            long previous = -1;
            lock (Offsets)
            {
                foreach (var p in parts.Cast<Part>())
                {
                    foreach (var o in p.Offsets)
                    {
                        if (o <= previous) Interlocked.Increment(ref OutOfOrderBatches);
                        previous = o;
                        Offsets.Add(o);
                        n++;
                    }
                }
            }
            return n;
        }

        private sealed class Part : EncodedRows
        {
            public Part(List<long> offsets)
            {
                Offsets = offsets;
                Rows = offsets.Count;
            }
            public List<long> Offsets { get; }
        }
    }

    private sealed class CollectingFailed : IDeadLetterSink
    {
        public List<Record> Records { get; } = [];
        public Task WriteAsync(IReadOnlyList<Record> failed, CancellationToken cancellationToken)
        {
            lock (Records) Records.AddRange(failed);
            return Task.CompletedTask;
        }
        public ValueTask DisposeAsync() => default;
        public string Description => "collected in memory";
    }

    /// <summary>A source that counts completions and can refuse to end until told.</summary>
    private sealed class CountingSource(IReadOnlyList<byte[]?> payloads, int chunkSize) : IChunkSource
    {
        private readonly MemoryChunkSource _inner = new("t", payloads, chunkSize);
        public long Completed => _inner.CompletedRecords;
        public bool Closed;
        public Task RunAsync(ITargetBlock<RecordChunk> target, Func<Record> newRecord, CancellationToken stop) => _inner.RunAsync(target, newRecord, stop);
        public void Complete(RecordChunk chunk) => _inner.Complete(chunk);
        public Task CloseAsync(CancellationToken cancellationToken) { Closed = true; return Task.CompletedTask; }
        public string StatusLine() => "";
        public TimeSpan WaitedForPipeline => TimeSpan.Zero;
    }

    private static (ProcessingPlan Plan, int ValueSlot) Plan(params Func<RecordLayout, IRecordStage>[] stages)
    {
        var layout = new RecordLayout();
        var slot = layout.Slot("v");
        var built = stages.Select((s, i) => new BuiltStage($"stage{i + 1}", "test", s(layout), null)).ToList();
        layout.Freeze();
        return (new ProcessingPlan(layout, new JsonRecordDecoder(layout), built), slot);
    }

    private static List<byte[]?> Messages(int n) => Enumerable.Range(0, n).Select(i => (byte[]?)Encoding.UTF8.GetBytes($"{{\"v\":{i}}}")).ToList();

    private static RunnerSettings Settings(OnError onError = OnError.DeadLetter, int maxRows = 1000, int parallelism = 4, TimeSpan? maxWait = null) =>
        new("test", parallelism, InsertConcurrency: 3, new BatchOptions { MaxRows = maxRows, MaxWait = maxWait ?? TimeSpan.FromMilliseconds(50) }, onError, TimeSpan.Zero);

    [Fact]
    public void SyncStep_EachStageOverTheChunk_FailedAndFilteredRecordsSkipLaterStages()
    {
        var seen = new List<(string Stage, long V)>();
        var (plan, slot) = Plan(
            l => new LambdaStage(r =>
            {
                seen.Add(("stage1", r.Fields[V].AsInt));
                if (r.Fields[V].AsInt == 1) r.Fail("stage1", "one fails");
                if (r.Fields[V].AsInt == 2) r.Filter();
            }),
            l => new LambdaStage(r =>
            {
                seen.Add(("stage2", r.Fields[V].AsInt));
                if (r.Fields[V].AsInt == 3) throw new InvalidOperationException("three throws");
            }),
            l => new LambdaStage(r => seen.Add(("stage3", r.Fields[V].AsInt))));
        var records = Enumerable.Range(0, 5).Select(i =>
        {
            var r = plan.Layout.NewRecord();
            r.Fields[slot] = Value.FromInt(i);
            return r;
        }).ToArray();
        var step = Assert.IsType<ProcessingPlan.SyncStep>(plan.Steps[0]);

        step.Run(new RecordChunk(records, records.Length));

        // Stage by stage over the chunk, in record order; a failed, filtered or throwing record goes no further.
        Assert.Equal(
            [("stage1", 0L), ("stage1", 1L), ("stage1", 2L), ("stage1", 3L), ("stage1", 4L),
             ("stage2", 0L), ("stage2", 3L), ("stage2", 4L),
             ("stage3", 0L), ("stage3", 4L)],
            seen);
        Assert.Equal(RecordStatus.Failed, records[1].Status);
        Assert.Equal(RecordStatus.Filtered, records[2].Status);
        Assert.Equal(RecordStatus.Failed, records[3].Status);
        Assert.Equal("stage2", records[3].FailedStage);
        Assert.Equal("InvalidOperationException: three throws", records[3].FailureReason);
        Assert.Equal(RecordStatus.Active, records[4].Status);
    }

    [Fact]
    public async Task RunAsync_ParallelStages_KeepsOrderAndInsertsEveryRecord()
    {
        var (plan, _) = Plan(l => new LambdaStage(r =>
        {
            // Uneven work so parallel workers finish out of order.
            if (r.Fields[V].AsInt % 7 == 0) Thread.SpinWait(20_000);
        }));
        var source = new CountingSource(Messages(10_000), chunkSize: 100);
        var sink = new RecordingSink();
        var runner = new PipelineRunner(Settings(maxRows: 1000), plan, source, sink, new CollectingFailed(), NullLogger.Instance, TimeProvider.System);

        await runner.RunAsync(CancellationToken.None, CancellationToken.None);

        Assert.Equal(10_000, sink.Offsets.Count);
        Assert.Equal(10_000, source.Completed);
        Assert.True(source.Closed, "the source is closed (final commit) after draining");
        Assert.Equal(0, sink.OutOfOrderBatches);
        // Batches may be inserted concurrently; across them every offset arrives exactly once.
        Assert.Equal(Enumerable.Range(0, 10_000).Select(i => (long)i), sink.Offsets.Order());
        Assert.Equal(10_000, runner.Metrics.Take().Inserted);
    }

    [Fact]
    public async Task RunAsync_Stopped_TellsTheSinkItIsDrainingSoAWaitingInsertRetriesNow()
    {
        var (plan, _) = Plan(l => new LambdaStage(_ => { }));
        var source = new CountingSource(Messages(500), chunkSize: 100);
        var insertStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        RecordingSink? sink = null;
        // The insert stands for one waiting out a long retry backoff: it goes on only when the sink hears of the drain.
        sink = new RecordingSink(async _ =>
        {
            insertStarted.TrySetResult();
            await sink!.DrainBegun.Task;
        });
        var runner = new PipelineRunner(Settings(), plan, source, sink, new CollectingFailed(), NullLogger.Instance, TimeProvider.System);
        using var stop = new CancellationTokenSource();

        var run = runner.RunAsync(stop.Token, CancellationToken.None);
        await insertStarted.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(sink.DrainBegun.Task.IsCompleted, "the sink is told only when the pipeline stops");
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(500, sink.Offsets.Count);
        Assert.Equal(500, source.Completed);
    }

    [Fact]
    public async Task RunAsync_StageThrows_RecordDeadLetteredWithStageNameAndOthersInserted()
    {
        var (plan, _) = Plan(l => new LambdaStage(r =>
        {
            if (r.Fields[V].AsInt == 3) throw new InvalidOperationException("boom on three");
        }));
        var failed = new CollectingFailed();
        var source = new CountingSource(Messages(10), 4);
        var sink = new RecordingSink();
        var runner = new PipelineRunner(Settings(), plan, source, sink, failed, NullLogger.Instance, TimeProvider.System);

        await runner.RunAsync(CancellationToken.None, CancellationToken.None);

        var dead = Assert.Single(failed.Records);
        Assert.Equal(3, dead.Offset);
        Assert.Equal("stage1", dead.FailedStage);
        Assert.Contains("boom on three", dead.FailureReason, StringComparison.Ordinal);
        Assert.Equal(9, sink.Offsets.Count);
        Assert.Equal(10, source.Completed);
        Assert.Equal(1, runner.Metrics.Take().DeadLettered);
    }

    [Fact]
    public async Task RunAsync_FilteredRecords_NotInsertedButCompleted()
    {
        var (plan, _) = Plan(l => new LambdaStage(r => { if (r.Fields[V].AsInt % 2 == 1) r.Filter(); }));
        var source = new CountingSource(Messages(100), 10);
        var sink = new RecordingSink();
        var runner = new PipelineRunner(Settings(), plan, source, sink, new CollectingFailed(), NullLogger.Instance, TimeProvider.System);

        await runner.RunAsync(CancellationToken.None, CancellationToken.None);

        Assert.Equal(50, sink.Offsets.Count);
        Assert.All(sink.Offsets, o => Assert.Equal(0, o % 2));
        Assert.Equal(100, source.Completed);
        Assert.Equal(50, runner.Metrics.Take().Filtered);
    }

    [Fact]
    public async Task RunAsync_OnErrorFail_StopsBeforeInsertingTheBatchAndCompletesNothingFromIt()
    {
        var (plan, _) = Plan();
        var messages = Messages(20);
        messages[5] = "{broken"u8.ToArray();
        var source = new CountingSource(messages, 20);
        var sink = new RecordingSink();
        var runner = new PipelineRunner(Settings(OnError.Fail), plan, source, sink, null, NullLogger.Instance, TimeProvider.System);

        var ex = await Assert.ThrowsAsync<PipelineFailedException>(() => runner.RunAsync(CancellationToken.None, CancellationToken.None));

        Assert.Contains("on_error is fail", ex.Message, StringComparison.Ordinal);
        Assert.Contains("@5", ex.Message, StringComparison.Ordinal);
        Assert.Empty(sink.Offsets);
        Assert.Equal(0, source.Completed);
        Assert.False(source.Closed, "a failed pipeline must not run the final commit");
    }

    [Fact]
    public async Task RunAsync_OnErrorSkip_CountsAndCompletesWithoutDeadLetterSink()
    {
        var (plan, _) = Plan();
        var messages = Messages(10);
        messages[2] = "nope"u8.ToArray();
        var source = new CountingSource(messages, 5);
        var sink = new RecordingSink();
        var runner = new PipelineRunner(Settings(OnError.Skip), plan, source, sink, null, NullLogger.Instance, TimeProvider.System);

        await runner.RunAsync(CancellationToken.None, CancellationToken.None);

        Assert.Equal(9, sink.Offsets.Count);
        Assert.Equal(10, source.Completed);
        Assert.Equal(1, runner.Metrics.Take().Skipped);
    }

    [Fact]
    public async Task RunAsync_SinkFailsPermanently_ThrowsCauseAndCompletesNothing()
    {
        var (plan, _) = Plan();
        var source = new CountingSource(Messages(50), 10);
        var sink = new RecordingSink(_ => throw new InvalidOperationException("Code: 60, Table default.x doesn't exist"));
        var runner = new PipelineRunner(Settings(), plan, source, sink, new CollectingFailed(), NullLogger.Instance, TimeProvider.System);

        var ex = await Assert.ThrowsAsync<PipelineFailedException>(() => runner.RunAsync(CancellationToken.None, CancellationToken.None));

        Assert.Contains("doesn't exist", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, source.Completed);
    }

    [Fact]
    public async Task RunAsync_MaxRows_SplitsIntoBatchesOfWholeChunks()
    {
        var (plan, _) = Plan();
        var source = new CountingSource(Messages(1000), 100);
        var sizes = new List<int>();
        var sink = new RecordingSink(parts => { lock (sizes) sizes.Add(parts.Sum(p => p.Rows)); return Task.CompletedTask; });
        var runner = new PipelineRunner(Settings(maxRows: 300, maxWait: TimeSpan.FromSeconds(30)), plan, source, sink, new CollectingFailed(), NullLogger.Instance, TimeProvider.System);

        await runner.RunAsync(CancellationToken.None, CancellationToken.None);

        Assert.Equal(1000, sizes.Sum());
        Assert.All(sizes, s => Assert.True(s <= 300, $"batch of {s} exceeds max_rows 300"));
        Assert.True(sizes.Count >= 4, $"expected at least 4 batches, got {sizes.Count}");
    }
}

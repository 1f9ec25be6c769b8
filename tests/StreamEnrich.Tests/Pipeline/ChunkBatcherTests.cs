using System.Threading.Tasks.Dataflow;
using StreamEnrich.Configuration;
using StreamEnrich.Pipeline;
using StreamEnrich.Records;

using Record = StreamEnrich.Records.Record;

namespace StreamEnrich.Tests.Pipeline;

public sealed class ChunkBatcherTests : IDisposable
{
    private readonly CancellationTokenSource _cts = new(TimeSpan.FromSeconds(30));

    public void Dispose() => _cts.Dispose();

    /// <summary>A batcher (input capacity 4) feeding an insert block with <paramref name="insertSlots"/> places (unbounded when null).</summary>
    private (ChunkBatcher Batcher, BufferBlock<InsertBatch> Output) Start(BatchOptions options, int? insertSlots = null,
        Func<EncodedRows?, EncodedRows, EncodedRows>? merge = null, Func<int>? idleInsertSlots = null)
    {
        var output = new BufferBlock<InsertBatch>(new DataflowBlockOptions { BoundedCapacity = insertSlots ?? DataflowBlockOptions.Unbounded });
        return (new ChunkBatcher(options, 4, output, merge, TimeProvider.System, _cts.Token, idleInsertSlots), output);
    }

    private static RecordChunk Chunk(int records, long bytes = 100, bool caughtUp = false) =>
        new(Enumerable.Range(0, records).Select(_ => new Record(0)).ToArray(), records) { PayloadBytes = bytes, CaughtUp = caughtUp };

    [Fact]
    public async Task Batcher_MaxWaitElapses_FlushesPartialBatch()
    {
        var (batcher, output) = Start(new BatchOptions { MaxRows = 1000, MaxWait = TimeSpan.FromMilliseconds(100) });
        await batcher.Target.SendAsync(Chunk(3));
        var batch = await output.ReceiveAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(3, batch.Records);
        batcher.Target.Complete();
        await batcher.Completion;
    }

    [Fact]
    public async Task Batcher_MaxBytesReached_FlushesWithoutWaiting()
    {
        var (batcher, output) = Start(new BatchOptions { MaxRows = 1000, MaxBytes = 1000, MaxWait = TimeSpan.FromHours(1) });
        await batcher.Target.SendAsync(Chunk(1, 600));
        await batcher.Target.SendAsync(Chunk(1, 600));
        var batch = await output.ReceiveAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(1200, batch.Bytes);
        Assert.Equal(2, batch.Chunks.Count);
    }

    [Fact]
    public async Task Batcher_InputCompletes_FlushesRemainderAndCompletes()
    {
        var (batcher, output) = Start(new BatchOptions { MaxRows = 1000, MaxWait = TimeSpan.FromHours(1) });
        await batcher.Target.SendAsync(Chunk(5));
        batcher.Target.Complete();
        var batch = await output.ReceiveAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(5, batch.Records);
        await batcher.Completion;
        await output.Completion.WaitAsync(TimeSpan.FromSeconds(5));
    }

    private sealed class CountedRows : EncodedRows
    {
        public CountedRows(int rows) => Rows = rows;
        public bool Released;
        public override void Release() => Released = true;
    }

    [Fact]
    public async Task Batcher_WithMerge_HandsOneMergedBufferAndReleasesChunkBuffers()
    {
        var merged = new List<CountedRows>();
        EncodedRows Merge(EncodedRows? batch, EncodedRows next)
        {
            ((CountedRows)next).Release();
            merged.Add((CountedRows)next);
            return new CountedRows((batch?.Rows ?? 0) + next.Rows);
        }
        var (batcher, output) = Start(new BatchOptions { MaxRows = 1000, MaxWait = TimeSpan.FromHours(1) }, merge: Merge);
        var chunks = new[] { Chunk(3), Chunk(4) };
        foreach (var c in chunks)
        {
            c.Seal(new CountedRows(c.Count), pool: null);
            await batcher.Target.SendAsync(c);
        }
        batcher.Target.Complete();
        var batch = await output.ReceiveAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(7, batch.Merged!.Rows);
        Assert.Equal(2, merged.Count);
        Assert.All(merged, m => Assert.True(m.Released, "a chunk's own buffer is given back once merged"));
        Assert.All(chunks, c => Assert.Null(c.Encoded));
    }

    private static RecordChunk CaughtUpChunk(int records) => Chunk(records, caughtUp: true);

    /// <summary>Nothing reaches <paramref name="output"/> for a while (max_wait is an hour in these tests, so a late
    /// timer cannot flush; a wrong early flush happens at once), then the input completes and the rest is flushed.</summary>
    private static async Task<InsertBatch> AssertHeldUntilCompleted(ChunkBatcher batcher, BufferBlock<InsertBatch> output)
    {
        await Task.Delay(300);
        Assert.Equal(0, output.Count);
        batcher.Target.Complete();
        return await output.ReceiveAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Batcher_WaitedForInsert_CountsTheTimeAFullBatchFoundNoInsertSlot()
    {
        var (batcher, output) = Start(new BatchOptions { MaxRows = 10, MaxWait = TimeSpan.FromHours(1) }, insertSlots: 1);
        await batcher.Target.SendAsync(Chunk(10));
        while (output.Count == 0) await Task.Delay(10);
        Assert.Equal(TimeSpan.Zero, batcher.WaitedForInsert); // the slot was free

        await batcher.Target.SendAsync(Chunk(10)); // full, but the slot is taken
        // Once the batcher took the chunk from its input it offers the batch (no await in between): it waits from here.
        var input = (BufferBlock<RecordChunk>)batcher.Target;
        while (input.Count > 0) await Task.Delay(10);
        await Task.Delay(500);
        await output.ReceiveAsync(TimeSpan.FromSeconds(5)); // frees the slot
        Assert.Equal(10, (await output.ReceiveAsync(TimeSpan.FromSeconds(5))).Records);
        for (var i = 0; i < 100 && batcher.WaitedForInsert == TimeSpan.Zero; i++) await Task.Delay(20); // added after the send completes
        Assert.True(batcher.WaitedForInsert >= TimeSpan.FromMilliseconds(400), $"waited {batcher.WaitedForInsert}");
    }

    [Fact]
    public async Task Batcher_CaughtUpAfterAFullBatch_FlushesTheRestWithoutWaiting()
    {
        var (batcher, output) = Start(new BatchOptions { MaxRows = 10, MaxWait = TimeSpan.FromHours(1) });
        await batcher.Target.SendAsync(Chunk(10));
        Assert.Equal(10, (await output.ReceiveAsync(TimeSpan.FromSeconds(5))).Records);
        await batcher.Target.SendAsync(Chunk(3));
        await batcher.Target.SendAsync(CaughtUpChunk(2));
        var rest = await output.ReceiveAsync(TimeSpan.FromSeconds(5)); // max_wait is an hour
        Assert.Equal(5, rest.Records);
        Assert.Equal(2, rest.Chunks.Count);
    }

    [Fact]
    public async Task Batcher_CaughtUpWithoutAFullBatchBefore_WaitsForMaxWait()
    {
        // A trickle: every chunk arrives with the source caught up; batches under a tenth of max_rows must still wait
        // for max_wait, from the start on.
        var (batcher, output) = Start(new BatchOptions { MaxRows = 100, MaxWait = TimeSpan.FromHours(1) });
        await batcher.Target.SendAsync(CaughtUpChunk(1));
        await batcher.Target.SendAsync(CaughtUpChunk(1));
        Assert.Equal(2, (await AssertHeldUntilCompleted(batcher, output)).Records);
    }

    [Fact]
    public async Task Batcher_CaughtUpInTheFirstBatch_FlushesWithoutWaiting()
    {
        // A backlog smaller than one batch (a restart, a quiet topic): inserted once it is read, not after max_wait.
        var (batcher, output) = Start(new BatchOptions { MaxRows = 100, MaxWait = TimeSpan.FromHours(1) });
        await batcher.Target.SendAsync(Chunk(30));
        await batcher.Target.SendAsync(CaughtUpChunk(20));
        var batch = await output.ReceiveAsync(TimeSpan.FromSeconds(5)); // max_wait is an hour
        Assert.Equal(50, batch.Records);
        // Only once: the next caught-up batch that did not follow a full one waits again.
        await batcher.Target.SendAsync(CaughtUpChunk(20));
        Assert.Equal(20, (await AssertHeldUntilCompleted(batcher, output)).Records);
    }

    [Fact]
    public async Task Batcher_EarlyFlush_HappensOncePerFullBatch()
    {
        var (batcher, output) = Start(new BatchOptions { MaxRows = 10, MaxWait = TimeSpan.FromHours(1) });
        await batcher.Target.SendAsync(Chunk(10));
        await output.ReceiveAsync(TimeSpan.FromSeconds(5));
        await batcher.Target.SendAsync(CaughtUpChunk(1));
        Assert.Equal(1, (await output.ReceiveAsync(TimeSpan.FromSeconds(5))).Records); // early: right after the full one
        // A second early flush in a row would turn a trickle into an insert per message.
        await batcher.Target.SendAsync(CaughtUpChunk(1));
        Assert.Equal(1, (await AssertHeldUntilCompleted(batcher, output)).Records);
    }

    [Fact]
    public async Task Batcher_CaughtUpAfterAFullBatchWithUnderATenth_WaitsForMoreOrMaxWait()
    {
        // A steady stream: the consumer catches up right after each full batch; a tiny part must not follow each one.
        var (batcher, output) = Start(new BatchOptions { MaxRows = 100, MaxWait = TimeSpan.FromHours(1) });
        await batcher.Target.SendAsync(Chunk(100));
        await output.ReceiveAsync(TimeSpan.FromSeconds(5));
        await batcher.Target.SendAsync(CaughtUpChunk(9));
        await Task.Delay(300);
        Assert.Equal(0, output.Count); // 9 rows < a tenth of max_rows
        await batcher.Target.SendAsync(CaughtUpChunk(1)); // 10 rows: now worth a part of its own
        Assert.Equal(10, (await output.ReceiveAsync(TimeSpan.FromSeconds(5))).Records);
    }

    [Fact]
    public async Task Batcher_EmptyCaughtUpMarker_FlushesPendingRowsAndIsNotInserted()
    {
        var (batcher, output) = Start(new BatchOptions { MaxRows = 10, MaxWait = TimeSpan.FromHours(1) });
        await batcher.Target.SendAsync(Chunk(10));
        await output.ReceiveAsync(TimeSpan.FromSeconds(5));
        await batcher.Target.SendAsync(Chunk(4));
        var marker = CaughtUpChunk(0);
        var markerRows = new CountedRows(0);
        marker.Seal(markerRows, pool: null);
        await batcher.Target.SendAsync(marker);
        var batch = await output.ReceiveAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(4, batch.Records);
        Assert.DoesNotContain(marker, batch.Chunks);
        Assert.True(markerRows.Released);
    }

    [Fact]
    public async Task Batcher_FlushWhenCaughtUpOff_WaitsForMaxWait()
    {
        var (batcher, output) = Start(new BatchOptions { MaxRows = 10, MaxWait = TimeSpan.FromHours(1), FlushWhenCaughtUp = false });
        await batcher.Target.SendAsync(Chunk(10));
        await output.ReceiveAsync(TimeSpan.FromSeconds(5));
        await batcher.Target.SendAsync(CaughtUpChunk(2));
        Assert.Equal(2, (await AssertHeldUntilCompleted(batcher, output)).Records);
    }

    /// <summary>Encoded rows made of pieces (one per chunk merged in), splittable like the ClickHouse sink's.</summary>
    private sealed class PieceRows : EncodedRows
    {
        public PieceRows(List<int> pieces)
        {
            PieceRowCounts = pieces;
            Rows = pieces.Sum();
        }

        public List<int> PieceRowCounts { get; }
        public bool Released;
        public bool GivenUp;
        public override void Release() => Released = true;
        public override int Pieces => PieceRowCounts.Count;

        public override EncodedRows[] Split(ReadOnlySpan<int> ends)
        {
            var parts = new EncodedRows[ends.Length];
            var start = 0;
            for (var i = 0; i < ends.Length; i++)
            {
                parts[i] = new PieceRows(PieceRowCounts.GetRange(start, ends[i] - start));
                start = ends[i];
            }
            Assert.Equal(Pieces, start);
            GivenUp = true;
            return parts;
        }

        public static EncodedRows Merge(EncodedRows? batch, EncodedRows next)
        {
            var pieces = new List<int>(((PieceRows?)batch)?.PieceRowCounts ?? []);
            pieces.AddRange(((PieceRows)next).PieceRowCounts);
            return new PieceRows(pieces);
        }
    }

    /// <summary>Sends <paramref name="count"/> sealed chunks of <paramref name="rows"/> rows; the last says "caught up" when asked.</summary>
    private static async Task<List<RecordChunk>> SendChunks(ChunkBatcher batcher, int count, int rows, bool lastCaughtUp)
    {
        var chunks = new List<RecordChunk>();
        for (var i = 0; i < count; i++)
        {
            var c = Chunk(rows, bytes: rows * 10L, caughtUp: lastCaughtUp && i == count - 1);
            c.Seal(new PieceRows([rows]), pool: null);
            chunks.Add(c);
            await batcher.Target.SendAsync(c);
        }
        return chunks;
    }

    private static async Task<List<InsertBatch>> ReceiveBatches(BufferBlock<InsertBatch> output, int rows)
    {
        var batches = new List<InsertBatch>();
        while (batches.Sum(b => b.Records) < rows) batches.Add(await output.ReceiveAsync(TimeSpan.FromSeconds(5)));
        return batches;
    }

    [Fact]
    public async Task Batcher_PartialBatchWithIdleInsertSlots_IsSplitInOrderAtChunkBoundaries()
    {
        var (batcher, output) = Start(new BatchOptions { MaxRows = 100_000, MaxWait = TimeSpan.FromHours(1) },
            merge: PieceRows.Merge, idleInsertSlots: () => 2);
        var chunks = await SendChunks(batcher, count: 60, rows: 500, lastCaughtUp: true); // 30,000 rows, then caught up

        var batches = await ReceiveBatches(output, 30_000);

        Assert.Equal(2, batches.Count);
        Assert.Equal([15_000, 15_000], batches.Select(b => b.Records));
        Assert.Equal(chunks, batches.SelectMany(b => b.Chunks)); // every chunk once, in order
        Assert.All(batches, b => Assert.Equal(b.Records, b.Merged!.Rows));
        Assert.All(batches, b => Assert.Equal(b.Chunks.Sum(c => c.PayloadBytes), b.Bytes));
        Assert.Equal([30, 30], batches.Select(b => b.Merged!.Pieces));
        Assert.Equal(1, batcher.SplitFlushes);
        batcher.Target.Complete();
        await batcher.Completion;
    }

    [Fact]
    public async Task Batcher_PartialBatch_IsSplitOverNoMoreSlotsThanIdleAndNoPartUnderTheMinimum()
    {
        // 3 idle slots, but 25,000 rows make only two parts of at least 10,000.
        var (batcher, output) = Start(new BatchOptions { MaxRows = 100_000, MaxWait = TimeSpan.FromHours(1) },
            merge: PieceRows.Merge, idleInsertSlots: () => 3);
        await SendChunks(batcher, count: 50, rows: 500, lastCaughtUp: true);
        var batches = await ReceiveBatches(output, 25_000);
        Assert.Equal(2, batches.Count);
        Assert.All(batches, b => Assert.True(b.Records >= ChunkBatcher.MinSplitRows, $"{b.Records} rows"));

        // 60,000 rows could make six parts; three slots are idle.
        await SendChunks(batcher, count: 120, rows: 500, lastCaughtUp: false);
        batcher.Target.Complete(); // the last flush is split too
        var last = await ReceiveBatches(output, 60_000);
        Assert.Equal([20_000, 20_000, 20_000], last.Select(b => b.Records));
        await batcher.Completion;
    }

    [Theory]
    [InlineData(1, true, 30_000, 100_000)]   // one idle slot
    [InlineData(2, false, 30_000, 100_000)]  // split_when_idle off
    [InlineData(2, true, 19_500, 100_000)]   // under two parts of 10,000
    [InlineData(2, true, 30_000, 200_000)]   // under two parts of a tenth of max_rows
    public async Task Batcher_PartialBatch_IsNotSplit(int idle, bool splitWhenIdle, int rows, int maxRows)
    {
        var (batcher, output) = Start(new BatchOptions { MaxRows = maxRows, MaxWait = TimeSpan.FromHours(1), SplitWhenIdle = splitWhenIdle },
            merge: PieceRows.Merge, idleInsertSlots: () => idle);
        await SendChunks(batcher, count: rows / 500, rows: 500, lastCaughtUp: true);
        var batches = await ReceiveBatches(output, rows);
        Assert.Single(batches);
        Assert.Equal(0, batcher.SplitFlushes);
        batcher.Target.Complete();
        await batcher.Completion;
    }

    [Fact]
    public async Task Batcher_FullBatch_IsNeverSplit()
    {
        var (batcher, output) = Start(new BatchOptions { MaxRows = 30_000, MaxWait = TimeSpan.FromHours(1) },
            merge: PieceRows.Merge, idleInsertSlots: () => 4);
        await SendChunks(batcher, count: 60, rows: 500, lastCaughtUp: false);
        var batch = await output.ReceiveAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(30_000, batch.Records);
        Assert.Equal(0, batcher.SplitFlushes);
    }
}

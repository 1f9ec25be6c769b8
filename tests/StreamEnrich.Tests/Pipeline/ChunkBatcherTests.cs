using System.Threading.Tasks.Dataflow;
using StreamEnrich.Configuration;
using StreamEnrich.Pipeline;
using StreamEnrich.Records;

using Record = StreamEnrich.Records.Record;

namespace StreamEnrich.Tests.Pipeline;

public class ChunkBatcherTests
{
    private static RecordChunk Chunk(int records, long bytes = 100) =>
        new(Enumerable.Range(0, records).Select(_ => new Record(0)).ToArray(), records) { PayloadBytes = bytes };

    [Fact]
    public async Task Batcher_MaxWaitElapses_FlushesPartialBatch()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var output = new BufferBlock<InsertBatch>();
        var batcher = new ChunkBatcher(new BatchOptions { MaxRows = 1000, MaxWait = TimeSpan.FromMilliseconds(100) }, 4, output, null, TimeProvider.System, cts.Token);
        await batcher.Target.SendAsync(Chunk(3));
        var batch = await output.ReceiveAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(3, batch.Records);
        batcher.Target.Complete();
        await batcher.Completion;
    }

    [Fact]
    public async Task Batcher_MaxBytesReached_FlushesWithoutWaiting()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var output = new BufferBlock<InsertBatch>();
        var batcher = new ChunkBatcher(new BatchOptions { MaxRows = 1000, MaxBytes = 1000, MaxWait = TimeSpan.FromHours(1) }, 4, output, null, TimeProvider.System, cts.Token);
        await batcher.Target.SendAsync(Chunk(1, 600));
        await batcher.Target.SendAsync(Chunk(1, 600));
        var batch = await output.ReceiveAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(1200, batch.Bytes);
        Assert.Equal(2, batch.Chunks.Count);
    }

    [Fact]
    public async Task Batcher_InputCompletes_FlushesRemainderAndCompletes()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var output = new BufferBlock<InsertBatch>();
        var batcher = new ChunkBatcher(new BatchOptions { MaxRows = 1000, MaxWait = TimeSpan.FromHours(1) }, 4, output, null, TimeProvider.System, cts.Token);
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
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var output = new BufferBlock<InsertBatch>();
        var merged = new List<CountedRows>();
        EncodedRows Merge(EncodedRows? batch, EncodedRows next)
        {
            ((CountedRows)next).Release();
            merged.Add((CountedRows)next);
            return new CountedRows((batch?.Rows ?? 0) + next.Rows);
        }
        var batcher = new ChunkBatcher(new BatchOptions { MaxRows = 1000, MaxWait = TimeSpan.FromHours(1) }, 4, output, Merge, TimeProvider.System, cts.Token);
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
}

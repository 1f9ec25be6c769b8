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
        var batcher = new ChunkBatcher(new BatchOptions { MaxRows = 1000, MaxWait = TimeSpan.FromMilliseconds(100) }, 4, 4, TimeProvider.System, cts.Token);
        await batcher.Target.SendAsync(Chunk(3));
        var batch = await batcher.Source.ReceiveAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(3, batch.Records);
        batcher.Target.Complete();
        await batcher.Completion;
    }

    [Fact]
    public async Task Batcher_MaxBytesReached_FlushesWithoutWaiting()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var batcher = new ChunkBatcher(new BatchOptions { MaxRows = 1000, MaxBytes = 1000, MaxWait = TimeSpan.FromHours(1) }, 4, 4, TimeProvider.System, cts.Token);
        await batcher.Target.SendAsync(Chunk(1, 600));
        await batcher.Target.SendAsync(Chunk(1, 600));
        var batch = await batcher.Source.ReceiveAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(1200, batch.Bytes);
        Assert.Equal(2, batch.Chunks.Count);
    }

    [Fact]
    public async Task Batcher_InputCompletes_FlushesRemainderAndCompletes()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var batcher = new ChunkBatcher(new BatchOptions { MaxRows = 1000, MaxWait = TimeSpan.FromHours(1) }, 4, 4, TimeProvider.System, cts.Token);
        await batcher.Target.SendAsync(Chunk(5));
        batcher.Target.Complete();
        var batch = await batcher.Source.ReceiveAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(5, batch.Records);
        await batcher.Completion;
        await batcher.Source.Completion.WaitAsync(TimeSpan.FromSeconds(5));
    }
}

using StreamEnrich.Records;
using StreamEnrich.Sources.Kafka;
using Record = StreamEnrich.Records.Record;

namespace StreamEnrich.Tests.Sources.Kafka;

public sealed class OffsetTrackerTests
{
    private static readonly PartitionKey P0 = new("t", 0);
    private static readonly PartitionKey P1 = new("t", 1);

    private static Record[] Records(PartitionKey p, long from, long to) =>
        [.. Enumerable.Range((int)from, (int)(to - from + 1)).Select(o => new Record(0) { Topic = p.Topic, Partition = p.Partition, Offset = o })];

    private static long Committable(OffsetTracker t, PartitionKey p) =>
        t.GetCommittable().Where(c => c.Partition == p).Select(c => c.Offset).DefaultIfEmpty(-1).Single();

    [Fact]
    public void Complete_OutOfOrder_CommitsOnlyContiguousPrefix()
    {
        var t = new OffsetTracker();
        t.Assign([P0]);
        var a = t.Register(Records(P0, 0, 9));
        var b = t.Register(Records(P0, 10, 19));
        var c = t.Register(Records(P0, 20, 29));

        t.Complete(c);
        t.Complete(b);
        Assert.Equal(-1, Committable(t, P0)); // chunk a is unfinished: nothing may be committed

        t.Complete(a);
        Assert.Equal(30, Committable(t, P0));
    }

    [Fact]
    public void Complete_MixedPartitionChunk_AdvancesEachPartitionIndependently()
    {
        var t = new OffsetTracker();
        t.Assign([P0, P1]);
        var a = t.Register([.. Records(P0, 0, 4), .. Records(P1, 0, 2)]);
        var b = t.Register(Records(P1, 3, 7));

        t.Complete(b);
        Assert.Empty(t.GetCommittable());
        t.Complete(a);
        Assert.Equal(5, Committable(t, P0));
        Assert.Equal(8, Committable(t, P1));
    }

    [Fact]
    public void Complete_OffsetGaps_CommitsAfterLastOffsetOfChunk()
    {
        var t = new OffsetTracker();
        t.Assign([P0]);
        var a = t.Register([.. Records(P0, 0, 1), .. Records(P0, 5, 6)]); // compacted / transaction markers
        t.Complete(a);
        Assert.Equal(7, Committable(t, P0));
    }

    [Fact]
    public void Complete_ChunkFromRevokedGeneration_IsIgnoredAfterReassignment()
    {
        var t = new OffsetTracker();
        t.Assign([P0]);
        var a = t.Register(Records(P0, 0, 9));
        var b = t.Register(Records(P0, 10, 19));
        t.Complete(a);

        var finished = t.Revoke([P0]);
        Assert.Equal(10, Assert.Single(finished).Offset);

        t.Assign([P0]); // the partition comes back; it is read again from the committed offset 10
        var again = t.Register(Records(P0, 10, 14));
        t.Complete(b); // stale: would wrongly claim 10..19 finished
        Assert.Empty(t.GetCommittable());

        t.Complete(again);
        Assert.Equal(15, Committable(t, P0));
    }

    [Fact]
    public void Revoke_NothingFinished_ReturnsNothingAndForgetsPartition()
    {
        var t = new OffsetTracker();
        t.Assign([P0]);
        var a = t.Register(Records(P0, 0, 9));
        Assert.Empty(t.Revoke([P0]));
        Assert.False(t.IsAssigned(P0));
        Assert.False(t.Complete(a));
        Assert.Empty(t.GetCommittable());
    }

    [Fact]
    public void MarkCommitted_SameOffset_NotReturnedAgain()
    {
        var t = new OffsetTracker();
        t.Assign([P0]);
        t.Complete(t.Register(Records(P0, 0, 9)));
        var c = Assert.Single(t.GetCommittable());
        t.MarkCommitted(c);
        Assert.Empty(t.GetCommittable());
        Assert.Equal(10, t.Snapshot().Single().Committed);
    }

    [Fact]
    public void Discard_NewestChunk_DoesNotBlockEarlierCommits()
    {
        var t = new OffsetTracker();
        t.Assign([P0]);
        var a = t.Register(Records(P0, 0, 9));
        var refused = t.Register(Records(P0, 10, 19));
        t.Discard(refused);
        t.Complete(a);
        Assert.Equal(10, Committable(t, P0));
        Assert.False(t.Complete(refused)); // a discarded chunk can never be completed
        Assert.Equal(10, Committable(t, P0));
    }

    [Fact]
    public void Complete_Twice_SecondIsNoOp()
    {
        var t = new OffsetTracker();
        t.Assign([P0]);
        var a = t.Register(Records(P0, 0, 9));
        Assert.True(t.Complete(a));
        Assert.False(t.Complete(a));
    }

    [Fact]
    public void Register_UnassignedPartition_IsNotTracked()
    {
        var t = new OffsetTracker();
        t.Assign([P0]);
        var a = t.Register([.. Records(P0, 0, 1), .. Records(P1, 0, 1)]);
        t.Complete(a);
        Assert.Equal(2, Committable(t, P0));
        Assert.DoesNotContain(t.GetCommittable(), c => c.Partition == P1);
    }

    [Fact]
    public async Task Complete_ConcurrentOutOfOrder_EndsAtLastOffset()
    {
        var t = new OffsetTracker();
        t.Assign([P0, P1]);
        var chunks = Enumerable.Range(0, 2000).Select(i => t.Register(Records(i % 2 == 0 ? P0 : P1, i / 2 * 10, i / 2 * 10 + 9))).ToArray();
        var shuffled = chunks.OrderBy(_ => Random.Shared.Next()).ToArray();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            for (var i = w; i < shuffled.Length; i += 4) t.Complete(shuffled[i]);
        })));
        Assert.Equal(10_000, Committable(t, P0));
        Assert.Equal(10_000, Committable(t, P1));
    }
}

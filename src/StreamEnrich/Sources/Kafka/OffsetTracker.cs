using StreamEnrich.Records;

namespace StreamEnrich.Sources.Kafka;

/// <summary>A topic partition, independent of the Kafka client's types.</summary>
internal readonly record struct PartitionKey(string Topic, int Partition)
{
    public override string ToString() => $"{Topic}[{Partition}]";
}

/// <summary>An offset ready to commit (the next offset to read: last finished + 1).</summary>
internal readonly record struct CommitOffset(PartitionKey Partition, long Generation, long Offset);

/// <summary>
/// Which offsets may be committed. Every emitted chunk registers, per partition, the range of offsets it
/// carries, in emission order. Chunks finish in any order; a partition's commit offset only moves past a range
/// when every range before it is finished too, so nothing unfinished is ever committed. Each assignment of a
/// partition gets a new generation number; completions of chunks registered under an older generation (the
/// partition was revoked since) are ignored.
/// Thread-safe: the poll thread registers and commits, pipeline threads complete.
/// </summary>
internal sealed class OffsetTracker
{
    private readonly Lock _lock = new();
    private readonly Dictionary<PartitionKey, PartitionState> _partitions = [];
    private long _generation;

    /// <summary>
    /// Starts tracking <paramref name="partitions"/> under a new generation (replacing older state); returns it.
    /// <paramref name="finishedUpTo"/> gives, for some partitions, an offset known finished but not committed
    /// (consumption restarts there); it is committed at the next commit.
    /// </summary>
    public long Assign(IEnumerable<PartitionKey> partitions, IReadOnlyDictionary<PartitionKey, long>? finishedUpTo = null)
    {
        lock (_lock)
        {
            var generation = ++_generation;
            foreach (var p in partitions)
            {
                var state = new PartitionState(generation);
                if (finishedUpTo is not null && finishedUpTo.TryGetValue(p, out var offset)) state.Committable = offset;
                _partitions[p] = state;
            }
            return generation;
        }
    }

    /// <summary>
    /// Stops tracking <paramref name="partitions"/> and returns what is finished but not yet committed for them
    /// (the caller commits it before the partitions go). Pending ranges are forgotten.
    /// </summary>
    public List<CommitOffset> Revoke(IEnumerable<PartitionKey> partitions)
    {
        var result = new List<CommitOffset>();
        lock (_lock)
        {
            foreach (var p in partitions)
            {
                if (!_partitions.Remove(p, out var state)) continue;
                if (state.Committable > state.Committed)
                    result.Add(new CommitOffset(p, state.Generation, state.Committable));
            }
        }
        return result;
    }

    /// <summary>The partitions tracked (assigned) now.</summary>
    public List<PartitionKey> Assigned()
    {
        lock (_lock) return [.. _partitions.Keys];
    }

    public bool IsAssigned(PartitionKey partition)
    {
        lock (_lock) return _partitions.ContainsKey(partition);
    }

    /// <summary>
    /// Registers the offsets of one chunk (records in consumption order; several partitions allowed) and returns
    /// the handle to pass to <see cref="Complete"/>. Records of partitions not assigned are not tracked.
    /// </summary>
    public ChunkOffsets Register(ReadOnlySpan<Record> records)
    {
        // Few partitions per chunk: a linear list beats a dictionary.
        var parts = new List<ChunkOffsets.Part>(4);
        lock (_lock)
        {
            foreach (var r in records)
            {
                var found = -1;
                for (var i = 0; i < parts.Count; i++)
                {
                    if (parts[i].Key.Partition == r.Partition && string.Equals(parts[i].Key.Topic, r.Topic, StringComparison.Ordinal))
                    {
                        found = i;
                        break;
                    }
                }
                if (found >= 0)
                {
                    var range = parts[found].Range;
                    if (r.Offset > range.Last) range.Last = r.Offset;
                    continue;
                }
                var key = new PartitionKey(r.Topic, r.Partition);
                if (!_partitions.TryGetValue(key, out var state))
                    continue;
                var newRange = new OffsetRange(r.Offset, r.Offset);
                newRange.Node = state.Pending.AddLast(newRange);
                parts.Add(new ChunkOffsets.Part(key, state.Generation, newRange));
            }
        }
        return new ChunkOffsets([.. parts]);
    }

    /// <summary>Marks every offset of the chunk finished. Returns false if already completed or entirely stale.</summary>
    public bool Complete(ChunkOffsets chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        if (Interlocked.Exchange(ref chunk.State, 1) != 0) return false;
        var any = false;
        lock (_lock)
        {
            foreach (var part in chunk.Parts)
            {
                if (!_partitions.TryGetValue(part.Key, out var state) || state.Generation != part.Generation)
                    continue; // revoked since: never commit it
                part.Range.Done = true;
                any = true;
                while (state.Pending.First is { Value.Done: true } first)
                {
                    state.Committable = first.Value.Last + 1;
                    state.Pending.RemoveFirst();
                }
            }
        }
        return any;
    }

    /// <summary>Forgets a chunk that was never handed over (its records will be read again).</summary>
    public void Discard(ChunkOffsets chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        if (Interlocked.Exchange(ref chunk.State, 2) != 0) return;
        lock (_lock)
        {
            foreach (var part in chunk.Parts)
            {
                if (_partitions.TryGetValue(part.Key, out var state) && state.Generation == part.Generation && part.Range.Node?.List is not null)
                    state.Pending.Remove(part.Range.Node);
                // Ranges registered after a discarded one cannot be committed past it anyway: the discarded chunk
                // is always the newest of its partitions (the poll loop stops emitting after a refused chunk).
            }
        }
    }

    /// <summary>Finished offsets not yet committed, per partition.</summary>
    public List<CommitOffset> GetCommittable()
    {
        var result = new List<CommitOffset>();
        lock (_lock)
        {
            foreach (var (key, state) in _partitions)
                if (state.Committable > state.Committed)
                    result.Add(new CommitOffset(key, state.Generation, state.Committable));
        }
        return result;
    }

    /// <summary>Records that <paramref name="offset"/> was committed (ignored if the partition moved to a newer generation).</summary>
    public void MarkCommitted(CommitOffset offset)
    {
        lock (_lock)
        {
            if (_partitions.TryGetValue(offset.Partition, out var state) && state.Generation == offset.Generation && offset.Offset > state.Committed)
                state.Committed = offset.Offset;
        }
    }

    /// <summary>Per assigned partition: the last committed offset (-1 if none by us) and the number of unfinished ranges.</summary>
    public List<(PartitionKey Partition, long Committed, int PendingRanges)> Snapshot()
    {
        lock (_lock)
            return [.. _partitions.Select(p => (p.Key, p.Value.Committed, p.Value.Pending.Count))];
    }

    private sealed class PartitionState(long generation)
    {
        public readonly long Generation = generation;
        public readonly LinkedList<OffsetRange> Pending = new();
        /// <summary>Next offset after the finished prefix; -1 while nothing is finished.</summary>
        public long Committable = -1;
        public long Committed = -1;
    }
}

/// <summary>A contiguous run of one partition's offsets carried by one chunk.</summary>
internal sealed class OffsetRange(long first, long last)
{
    public long First = first;
    public long Last = last;
    public bool Done;
    public LinkedListNode<OffsetRange>? Node;
}

/// <summary>The offsets one chunk carries; the chunk's <c>OffsetHandle</c>.</summary>
internal sealed class ChunkOffsets
{
    internal readonly record struct Part(PartitionKey Key, long Generation, OffsetRange Range);

    internal ChunkOffsets(Part[] parts) => Parts = parts;

    internal Part[] Parts { get; }

    /// <summary>0 = pending, 1 = completed, 2 = discarded.</summary>
    internal int State;
}

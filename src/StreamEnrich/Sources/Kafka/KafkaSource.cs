using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Threading.Tasks.Dataflow;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using StreamEnrich.Configuration;
using StreamEnrich.Pipeline;
using StreamEnrich.Records;
using StreamEnrich.Sources.Kafka.Native;

namespace StreamEnrich.Sources.Kafka;

/// <summary>
/// Reads one pipeline's topics with one consumer-group member and hands the messages to the pipeline as
/// <see cref="RecordChunk"/>s. Polls on a dedicated thread; when the pipeline is full it pauses its partitions
/// (still polling, so the group membership stays alive) and resumes when there is room again. Offsets are
/// committed only up to what the pipeline reported finished through <see cref="Complete"/>, per partition.
/// </summary>
internal sealed class KafkaSource : IDisposable, IConsumerEvents
{
    /// <summary>How long the poll loop waits for more messages before handing over a partial chunk.</summary>
    internal static readonly TimeSpan IdleFlush = TimeSpan.FromMilliseconds(5);
    /// <summary>A partial chunk never waits longer than this for more messages.</summary>
    internal static readonly TimeSpan MaxChunkAge = TimeSpan.FromMilliseconds(100);

    private readonly KafkaSourceOptions _options;
    private readonly string _pipeline;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    /// <summary>At most this many messages per native batch read.</summary>
    private const int MaxBatch = 512;

    private readonly NativeConsumer _consumer;
    private readonly OffsetTracker _tracker = new();
    private readonly Lock _commitLock = new();
    private readonly ConcurrentDictionary<PartitionKey, long> _positions = new();
    /// <summary>Records read but not yet added to a chunk (the rest of a batch, or read while paused).</summary>
    private readonly Queue<Record> _buffer = new();
    /// <summary>Finished offsets whose revocation commit was refused (eager protocol only; see <see cref="OnRevoked"/>).</summary>
    private readonly Dictionary<PartitionKey, long> _carryOver = [];
    private readonly bool _eager;
    /// <summary>How long a send may wait before the partitions are paused (short waits keep librdkafka's prefetch).</summary>
    private readonly TimeSpan _pauseAfter;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _threadExited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ManualResetEventSlim _closeRequested = new();

    /// <summary>Static assignment: partitions assigned so far, topics the brokers answered for (with partitions or "no such
    /// topic"), and when to look for more (0: never).</summary>
    private readonly HashSet<PartitionKey> _staticAssigned = [];
    private readonly HashSet<string> _staticTopicsAnswered = new(StringComparer.Ordinal);
    private long _nextDiscoveryAt;
    private int _missingTopicWarnings;
    /// <summary>Static assignment: how soon a missing topic is looked for again.</summary>
    private static readonly TimeSpan StaticRetry = TimeSpan.FromSeconds(2);

    /// <summary>Assigned partitions read to their end (an end-of-partition event and no message since); poll thread only.</summary>
    private readonly HashSet<PartitionKey> _atEnd = [];
    /// <summary>Chunks were emitted since the last one flagged <see cref="RecordChunk.CaughtUp"/>.</summary>
    private bool _emittedSinceCaughtUp;

    /// <summary>Idle polls that came back empty while a "caught up" signal could have been due (tests: it is told at once).</summary>
    internal long IdleWaitsBeforeCaughtUp { get; private set; }

    private Func<Record>? _newRecord;
    private Record[]? _building;
    private int _buildingCount;
    private long _buildingBytes;
    private long _buildingStartedAt;

    private volatile KafkaSourceException? _fatal;
    private volatile bool _paused;
    private bool _assignmentChanged;
    private long _messages;
    private long _bytes;
    private long _pauses;
    /// <summary>Stopwatch ticks the poll thread waited for room in the pipeline (a chunk ready, the pipeline full).</summary>
    private long _blockedTicks;
    private long _rebalances;
    private long _lastCommitAt;
    private int _started;
    private int _closed;

    public KafkaSource(KafkaSourceOptions options, string pipelineName, ILogger logger, TimeProvider time)
        : this(options, pipelineName, logger, time, wakeFetcher: true)
    {
    }

    /// <param name="wakeFetcher">Whether <see cref="FetchWaker"/> restarts librdkafka's fetching when its queue drains (tests turn it off to show the stall it prevents).</param>
    internal KafkaSource(KafkaSourceOptions options, string pipelineName, ILogger logger, TimeProvider time, bool wakeFetcher)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(pipelineName);
        _options = options;
        _pipeline = pipelineName;
        _logger = logger;
        _time = time;
        GroupId = options.GroupId ?? $"streamenrich-{pipelineName}";
        var config = BuildConfig(options, GroupId, pipelineName);
        _eager = !(config.TryGetValue("partition.assignment.strategy", out var strategy) && strategy.Contains("cooperative", StringComparison.OrdinalIgnoreCase));
        _pauseAfter = TimeSpan.FromSeconds(1);
        if (config.TryGetValue("max.poll.interval.ms", out var mpi) && int.TryParse(mpi, CultureInfo.InvariantCulture, out var mpiMs))
            _pauseAfter = TimeSpan.FromMilliseconds(Math.Clamp(mpiMs / 10, 10, 1000));
        _consumer = NativeConsumer.Create(config, this);
        _waker = wakeFetcher ? new FetchWaker(_consumer, config, _tracker.Assigned, logger, pipelineName) : null;
    }

    private readonly FetchWaker? _waker;

    /// <summary>How long, in total, the poll thread had a chunk ready while the pipeline had no room for it.</summary>
    public TimeSpan WaitedForPipeline => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _blockedTicks));

    /// <summary>Requests sent to restart librdkafka's fetching after its queue drained (<see cref="FetchWaker"/>).</summary>
    internal long FetchWakeups => _waker?.Wakeups ?? 0;

    public string GroupId { get; }

    /// <summary>The librdkafka configuration: throughput defaults, then the user's properties verbatim (they win).</summary>
    internal static Dictionary<string, string> BuildConfig(KafkaSourceOptions options, string groupId, string pipelineName)
    {
        var config = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["bootstrap.servers"] = options.Brokers,
            ["group.id"] = groupId,
            ["client.id"] = $"streamenrich-{pipelineName}",
            ["enable.auto.commit"] = "false",
            ["enable.auto.offset.store"] = "false",
            // End-of-partition events tell when every partition is read to its end (RecordChunk.CaughtUp).
            ["enable.partition.eof"] = "true",
            ["auto.offset.reset"] = options.StartFrom,
            // Memory: librdkafka holds the fetch responses its queued messages point into (fetch.max.bytes each) plus
            // its prefetch queue (queued.max.messages.kbytes below): bounded whatever the backlog. 4 MB responses
            // instead of 16 MB: glibc keeps freed 16 MB responses in its arenas, and peak RSS crept from ~260 to
            // 356-397 MB over a 5M-event backlog; with 4 MB it stayed at 300-327 MB, with fewer page faults and the
            // same CPU (bench, alternating runs, 1M and 5M). 1 MB per partition (Kafka's default) so that a response
            // carries several partitions, which the workers process in parallel.
            ["fetch.max.bytes"] = (4 * 1024 * 1024).ToString(CultureInfo.InvariantCulture),
            ["max.partition.fetch.bytes"] = (1024 * 1024).ToString(CultureInfo.InvariantCulture),
            // The prefetch queue's bound is its size in bytes (below), not a message count: librdkafka's default of
            // 100k messages would stop the fetcher long before the bytes limit for small messages.
            ["queued.min.messages"] = "1000000",
            // 8 MB instead of librdkafka's 64 MB: FetchWaker refills the queue as soon as it is half empty, so a small
            // queue keeps up, and the fetch buffers are reused instead of fresh memory being touched (each page fault
            // costs CPU). Bench, alternating runs: over 1M events median 2.32 vs 2.36 s at 32 MB, peak RSS 228 vs
            // 279 MB, page faults 65k vs 92k; over 100k median 0.48 vs 0.54 s (32 MB against 64 MB earlier: the same
            // time for ~50 MB less peak RSS).
            ["queued.max.messages.kbytes"] = "8192",
        };
        foreach (var (key, value) in options.Properties)
            config[key] = value;
        return config;
    }

    /// <summary>
    /// Subscribes and consumes until <paramref name="stopConsuming"/> is cancelled, then completes
    /// <paramref name="target"/>. Faults (with <see cref="KafkaSourceException"/> naming the cause) on a fatal
    /// consumer error or an authentication/authorization failure; the target is completed then too.
    /// </summary>
    public Task RunAsync(ITargetBlock<RecordChunk> target, Func<Record> newRecord, CancellationToken stopConsuming)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(newRecord);
        if (Interlocked.Exchange(ref _started, 1) != 0)
            throw new InvalidOperationException("KafkaSource.RunAsync was already called.");
        _newRecord = newRecord;
        var thread = new Thread(() => PollThread(target, stopConsuming))
        {
            IsBackground = true,
            Name = $"kafka-poll-{_pipeline}",
        };
        thread.Start();
        return _stopped.Task;
    }

    /// <summary>The pipeline finished every record of <paramref name="chunk"/> (inserted, filtered or dead-lettered).</summary>
    public void Complete(RecordChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        if (chunk.OffsetHandle is ChunkOffsets offsets)
            _tracker.Complete(offsets);
    }

    /// <summary>Commits, per partition, everything finished so far. Safe from any thread.</summary>
    public void CommitFinished()
    {
        lock (_commitLock)
            Commit(_tracker.GetCommittable(), "periodic");
    }

    /// <summary>
    /// After the pipeline has drained: final commit, then leave the group and close the consumer. Until then the
    /// poll thread keeps the (paused) consumer polled and commits periodically, so a long drain neither loses the
    /// group membership nor delays the commits.
    /// </summary>
    public async Task CloseAsync()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0) return;
        _closeRequested.Set();
        WakePollThread();
        if (Volatile.Read(ref _started) != 0)
            await _threadExited.Task.ConfigureAwait(false);
        await Task.Run(() =>
        {
            WaitForEarlyAssignment();
            CommitFinished();
            try
            {
                var error = _consumer.Close(); // leaves the group; the revoked handler commits once more
                if (error.IsError)
                    _logger.LogWarning("Pipeline {Pipeline}: closing the Kafka consumer failed: {Reason}", _pipeline, error.Reason);
            }
            catch (NativeKafkaException e)
            {
                _logger.LogWarning("Pipeline {Pipeline}: closing the Kafka consumer failed: {Reason}", _pipeline, e.Error.Reason);
            }
        }).ConfigureAwait(false);
    }

    public KafkaSourceMetrics GetMetrics()
    {
        var partitions = new List<KafkaPartitionMetrics>();
        foreach (var (key, committed, _) in _tracker.Snapshot())
        {
            var position = _positions.TryGetValue(key, out var p) ? p : -1;
            long high = -1;
            if (Volatile.Read(ref _closed) == 0)
            {
                try
                {
                    if (_consumer.TryGetWatermarks(key, out _, out var h)) high = h;
                }
                catch (ObjectDisposedException) { }
            }
            var lag = high >= 0 && position >= 0 ? Math.Max(0, high - position) : -1;
            partitions.Add(new KafkaPartitionMetrics(key.Topic, key.Partition, position, committed, high, lag));
        }
        partitions.Sort((a, b) => a.Topic == b.Topic ? a.Partition.CompareTo(b.Partition) : string.CompareOrdinal(a.Topic, b.Topic));
        return new KafkaSourceMetrics(Interlocked.Read(ref _messages), Interlocked.Read(ref _bytes), _paused,
            Interlocked.Read(ref _pauses), Interlocked.Read(ref _rebalances), partitions);
    }

    /// <summary>The poll thread waits in librdkafka for up to 100 ms at a time (while draining, for every message): it
    /// is woken so that it sees the close at once (bench, 8 runs each: the process exited 0.12-0.18 s after SIGTERM
    /// instead of 0.21-0.31 s, together with the dead-letter producer closed alongside the consumer).</summary>
    private void WakePollThread()
    {
        try
        {
            _consumer.Wake();
        }
        catch (ObjectDisposedException)
        {
            // closed already: nothing waits
        }
    }

    public void Dispose()
    {
        _closeRequested.Set();
        WakePollThread();
        if (Volatile.Read(ref _started) != 0 && !_threadExited.Task.Wait(TimeSpan.FromSeconds(30)))
            _logger.LogWarning("Pipeline {Pipeline}: the Kafka poll thread did not stop within 30 s", _pipeline);
        WaitForEarlyAssignment();
        _waker?.Dispose();
        _consumer.Dispose();
        _closeRequested.Dispose();
    }

    // ---------------------------------------------------------------- poll thread

    private void PollThread(ITargetBlock<RecordChunk> target, CancellationToken stop)
    {
        try
        {
            if (_options.IsStatic)
            {
                // Assigned already when AssignEarly ran; its failure (e.g. a listed partition that does not exist) surfaces here.
                if (_earlyAssign is { } early) early.GetAwaiter().GetResult();
                else FirstStaticAssignment();
            }
            else
            {
                _consumer.Subscribe(_options.AllTopics);
                _logger.LogInformation("Pipeline {Pipeline}: consuming {Topics} as group {Group} from {Brokers}",
                    _pipeline, string.Join(", ", _options.AllTopics), GroupId, _options.Brokers);
            }
            _lastCommitAt = _time.GetTimestamp();
            while (!stop.IsCancellationRequested)
            {
                ThrowIfFatal();
                if (_nextDiscoveryAt != 0 && _time.GetTimestamp() >= _nextDiscoveryAt) AssignStatic();
                if (_assignmentChanged) ResumeAssigned();
                var result = Next(_buildingCount == 0 ? 100 : (int)IdleFlush.TotalMilliseconds);
                if (result is not null)
                {
                    Add(result);
                    if (_buildingCount >= _options.ChunkSize) Emit(target, stop);
                }
                else if (_buildingCount > 0)
                {
                    Emit(target, stop, IsCaughtUp()); // nothing more right now: do not hold records back
                }
                else if (_emittedSinceCaughtUp && IsCaughtUp())
                {
                    EmitCaughtUpMarker(target, stop); // the last chunk was full: tell the batcher on its own
                }
                // Clock reads cost a syscall-free but measurable ~4% at full speed: check them every 16 messages
                // under load, and every time the consumer comes back empty.
                if (result is null || (_messages & 15) == 0)
                {
                    if (_buildingCount > 0 && _time.GetElapsedTime(_buildingStartedAt) >= MaxChunkAge)
                        Emit(target, stop);
                    MaybeCommit();
                }
            }
            _logger.LogInformation("Pipeline {Pipeline}: stopped consuming after {Messages} messages ({Wakeups} fetch wake-ups after librdkafka's prefetch queue filled); waiting for the pipeline to drain",
                _pipeline, _messages, FetchWakeups);
            target.Complete();
            _stopped.TrySetResult();
            Linger();
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            target.Complete();
            _stopped.TrySetResult();
            Linger();
        }
        catch (Exception e)
        {
            if (e is not KafkaSourceException)
                _logger.LogError(e, "Pipeline {Pipeline}: the Kafka source failed", _pipeline);
            target.Complete();
            _stopped.TrySetException(e);
        }
        finally
        {
            _threadExited.TrySetResult();
        }
    }

    /// <summary>
    /// Between the stop and <see cref="CloseAsync"/> (the pipeline drains): partitions paused, consumer polled so
    /// the membership stays alive, finished offsets committed as they come. Records polled now are dropped unregistered
    /// (never committed), so they are read again after a restart.
    /// </summary>
    private void Linger()
    {
        try
        {
            // Records of the unsent partial chunk and the pause buffer are dropped the same way.
            _building = null;
            _buildingCount = 0;
            _buffer.Clear();
            PauseAll();
            while (!_closeRequested.IsSet && _fatal is null)
            {
                if (_assignmentChanged) PauseAll();
                Poll(100, 1, keep: false);
                MaybeCommit();
            }
        }
        catch (Exception e) when (e is KafkaSourceException or NativeKafkaException)
        {
            _logger.LogWarning("Pipeline {Pipeline}: Kafka consumer error while draining: {Reason}", _pipeline, e.Message);
        }
    }

    /// <summary>The next record: from the buffer, else from a non-blocking batch read, else waiting up to
    /// <paramref name="timeoutMs"/> for one message (returned as soon as it arrives).</summary>
    private Record? Next(int timeoutMs)
    {
        if (_buffer.Count == 0)
        {
            // What librdkafka holds before this read: what its fetch decision sees (FetchWaker).
            _waker?.Observe(_consumer.QueuedMessages(), _messages > 0 ? _bytes / (double)_messages : 0);
            Poll(0, MaxBatch, keep: true);
            if (_buffer.Count == 0)
            {
                // The last chunk handed over was full and every partition is read to its end: say so now, not after an
                // idle wait (a backlog of a multiple of chunk_size messages ended with a 100 ms pause before the last insert).
                var signalPending = _emittedSinceCaughtUp && _buildingCount == 0;
                if (signalPending && IsCaughtUp()) return null;
                Poll(timeoutMs, 1, keep: true);
                if (signalPending && _buffer.Count == 0) IdleWaitsBeforeCaughtUp++;
            }
        }
        return _buffer.Count > 0 ? _buffer.Dequeue() : null;
    }

    /// <summary>Reads up to <paramref name="max"/> messages; with <paramref name="keep"/>, queues them as records in
    /// <see cref="_buffer"/>, otherwise drops them (draining). Consume errors are logged, or thrown when fatal.</summary>
    private void Poll(int timeoutMs, int max, bool keep)
    {
        var n = _consumer.Consume(timeoutMs, max);
        if (n == 0) return;
        try
        {
            var firstNew = _buffer.Count;
            // A batch holds runs of messages of one partition: leave _atEnd alone while the partition stays the same.
            string? runTopic = null;
            var runPartition = -1;
            for (var i = 0; i < n; i++)
            {
                var m = _consumer[i];
                if (m.Error != ErrorCode.NoError)
                {
                    if (m.IsPartitionEof)
                    {
                        var key = new PartitionKey(m.Topic, m.Partition);
                        if (_tracker.IsAssigned(key)) _atEnd.Add(key);
                        runPartition = -1; // a message after this event must take the partition out again
                        continue;
                    }
                    var e = m.GetError();
                    if (e.IsFatal || IsAuthFailure(e.Code))
                        throw Fatal(e, null);
                    _logger.LogWarning("Pipeline {Pipeline}: Kafka consume error: {Reason} ({Code}){Hint}",
                        _pipeline, e.Reason, e.Code, Hint(e.Code));
                    continue;
                }
                if (_atEnd.Count > 0 && (m.Partition != runPartition || !ReferenceEquals(m.Topic, runTopic)))
                {
                    runTopic = m.Topic;
                    runPartition = m.Partition;
                    _atEnd.Remove(new PartitionKey(runTopic, runPartition));
                }
                if (!keep) continue;
                var record = _newRecord!();
                record.Topic = m.Topic;
                record.Partition = m.Partition;
                record.Offset = m.Offset;
                record.TimestampMs = m.TimestampMs;
                record.Key = m.KeyArray();
                record.Payload = m.ValueArray();
                record.Headers = m.Headers();
                _buffer.Enqueue(record);
            }
            // A batch read while partitions were revoked may still hold messages of those partitions.
            if (_consumer.RebalancedDuringLastConsume && _buffer.Count > firstNew)
            {
                var all = _buffer.ToArray();
                _buffer.Clear();
                for (var i = 0; i < all.Length; i++)
                    if (i < firstNew || _tracker.IsAssigned(new PartitionKey(all[i].Topic, all[i].Partition)))
                        _buffer.Enqueue(all[i]);
            }
        }
        finally
        {
            _consumer.ReleaseBatch();
        }
    }

    private void Add(Record record)
    {
        if (_buildingCount == 0)
        {
            _building = new Record[_options.ChunkSize];
            _buildingBytes = 0;
            _buildingStartedAt = _time.GetTimestamp();
        }
        _building![_buildingCount++] = record;
        var value = record.Payload?.Length ?? 0;
        _buildingBytes += value;
        _messages++;
        _bytes += value + (record.Key?.Length ?? 0);
    }

    /// <summary>
    /// Every assigned partition was read to its end and nothing read is waiting in the buffer. A partition is at its end
    /// when its last end-of-partition event came after its last message, or when the next offset to read is the high
    /// watermark of the last fetch response: the end-of-partition event itself only comes with the next, empty fetch
    /// response, which the broker holds back for fetch.wait.max.ms (500 ms by default).
    /// </summary>
    private bool IsCaughtUp()
    {
        if (_buffer.Count > 0) return false;
        var assigned = _tracker.Assigned();
        if (assigned.Count == 0) return false;
        Dictionary<PartitionKey, long>? building = null;
        foreach (var key in assigned)
        {
            if (_atEnd.Contains(key)) continue;
            if (building is null)
            {
                building = [];
                for (var i = 0; i < _buildingCount; i++)
                {
                    var r = _building![i];
                    var k = new PartitionKey(r.Topic, r.Partition);
                    building[k] = Math.Max(building.GetValueOrDefault(k), r.Offset + 1);
                }
            }
            var next = Math.Max(_positions.TryGetValue(key, out var emitted) ? emitted : -1, building.GetValueOrDefault(key, -1));
            if (next < 0 || !_consumer.TryGetWatermarks(key, out _, out var high) || next < high) return false;
        }
        return true;
    }

    /// <summary>An empty chunk that only says "caught up" (<see cref="RecordChunk.CaughtUp"/>).</summary>
    private void EmitCaughtUpMarker(ITargetBlock<RecordChunk> target, CancellationToken stop)
    {
        _building = [];
        _buildingCount = 0;
        _buildingBytes = 0;
        Emit(target, stop, caughtUp: true);
    }

    /// <summary>Hands the chunk being built to the pipeline, pausing the partitions while it has no room.</summary>
    private void Emit(ITargetBlock<RecordChunk> target, CancellationToken stop, bool caughtUp = false)
    {
        _emittedSinceCaughtUp = !caughtUp;
        var chunk = new RecordChunk(_building!, _buildingCount)
        {
            PayloadBytes = _buildingBytes,
            CaughtUp = caughtUp,
        };
        _building = null;
        _buildingCount = 0;
        var offsets = _tracker.Register(chunk.Span); // before the send: the pipeline may complete it at once
        chunk.OffsetHandle = offsets;
        foreach (var part in offsets.Parts)
            _positions[part.Key] = part.Range.Last + 1;

        var send = target.SendAsync(chunk, stop);
        if (!send.IsCompleted)
        {
            // A short wait is normal under load: block without polling (librdkafka keeps prefetching into its own
            // bounded queue). Only a longer one pauses the partitions, because each pause drops that prefetch.
            var waitStarted = Stopwatch.GetTimestamp();
            if (!((IAsyncResult)send).AsyncWaitHandle.WaitOne(_pauseAfter))
                WaitWhilePaused(send, stop);
            Interlocked.Add(ref _blockedTicks, Stopwatch.GetTimestamp() - waitStarted);
        }

        bool accepted;
        try
        {
            accepted = send.GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            _tracker.Discard(offsets);
            throw;
        }
        if (!accepted)
        {
            _tracker.Discard(offsets);
            stop.ThrowIfCancellationRequested();
            throw new InvalidOperationException(
                $"Pipeline {_pipeline}: the pipeline stopped accepting records while the Kafka source was running (it completed or faulted).");
        }
    }

    private void WaitWhilePaused(Task<bool> send, CancellationToken stop)
    {
        PauseAll();
        var handle = ((IAsyncResult)send).AsyncWaitHandle;
        try
        {
            while (!handle.WaitOne(50))
            {
                ThrowIfFatal();
                // Keep polling: it keeps the group membership (max.poll.interval.ms) and serves rebalances.
                Poll(0, 1, keep: true); // a message fetched before the pause took effect is kept
                if (_assignmentChanged) PauseAll(); // newly assigned partitions start unpaused
                MaybeCommit();
            }
        }
        finally
        {
            ResumeAll(stop);
        }
    }

    /// <summary>
    /// With static assignment, assigns the partitions now, before <see cref="RunAsync"/>, so that librdkafka fills its
    /// prefetch queue while the pipeline is still being built (a lookup file loading, the sink reading its table).
    /// Nothing is consumed, paused or committed until RunAsync. A consumer group is never joined early: an instance
    /// whose pipeline then failed to build would make every member of the group rebalance twice, on every restart.
    /// </summary>
    public void AssignEarly()
    {
        if (!_options.IsStatic || _earlyAssign is not null || Volatile.Read(ref _started) != 0) return;
        // A thread of its own: the assignment waits for several broker round trips, and at start-up the thread pool's few
        // threads are needed for building the pipeline.
        _earlyAssign = Task.Factory.StartNew(FirstStaticAssignment, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    private Task? _earlyAssign;

    /// <summary>Messages librdkafka has fetched and not yet handed over (tests: prefetching before RunAsync).</summary>
    internal long PrefetchedMessages => _consumer.QueuedMessages();

    private void FirstStaticAssignment()
    {
        _logger.LogInformation("Pipeline {Pipeline}: consuming {Topics} from {Brokers} with static assignment ({Which}; no group membership, offsets committed as group {Group})",
            _pipeline, string.Join(", ", _options.AllTopics), _options.Brokers,
            _options.Partitions.Count == 0 ? "all partitions" : $"partitions {string.Join(",", _options.Partitions)}", GroupId);
        AssignStatic();
    }

    /// <summary>Waits for an early assignment still talking to the brokers (the consumer must not be closed under it); its failure is the poll thread's to report.</summary>
    private void WaitForEarlyAssignment()
    {
        try
        {
            _earlyAssign?.Wait(TimeSpan.FromSeconds(30));
        }
        catch (AggregateException)
        {
        }
    }

    /// <summary>
    /// Static assignment: reads the topics' partitions from the brokers and assigns those not assigned yet (the
    /// configured list, or all). Partitions found at the brokers' first answer for their topic start at the committed
    /// offset (else start_from); one that appears later (or whose topic did not exist yet) starts at its committed
    /// offset, else at its first offset. Schedules the next
    /// check: soon while a topic is missing, at partition_discovery_interval otherwise, never with a fixed list
    /// that is fully assigned.
    /// </summary>
    private void AssignStatic()
    {
        var added = new List<PartitionKey>();
        var later = new List<bool>();
        var missing = false;
        foreach (var topic in _options.AllTopics)
        {
            var known = _staticTopicsAnswered.Contains(topic);
            if (!_consumer.TryGetPartitions(topic, 10_000, out var ids, out var error))
            {
                missing = true;
                if (error.IsFatal || IsAuthFailure(error.Code)) throw Fatal(error, null);
                if (error.Code is ErrorCode.UnknownTopicOrPart or ErrorCode.Local_UnknownTopic)
                    _staticTopicsAnswered.Add(topic); // the brokers said it does not exist: whatever appears later is new
                if (_missingTopicWarnings++ % 10 == 0)
                {
                    if (_staticAssigned.Any(p => p.Topic == topic))
                        _logger.LogWarning("Pipeline {Pipeline}: could not check topic {Topic} for added partitions: {Reason} ({Code}); the assigned ones are read as before, checking again every {Seconds} s",
                            _pipeline, topic, error.Reason, error.Code, (int)StaticRetry.TotalSeconds);
                    else
                        _logger.LogWarning("Pipeline {Pipeline}: no partitions of topic {Topic} yet: {Reason} ({Code}); checking again every {Seconds} s.{Hint}",
                            _pipeline, topic, error.Reason, error.Code, (int)StaticRetry.TotalSeconds, Hint(error.Code));
                }
                continue;
            }
            if (_options.Partitions.Count > 0)
            {
                var absent = _options.Partitions.Where(p => Array.BinarySearch(ids, p) < 0).ToList();
                if (absent.Count > 0)
                    throw Fatal(new KafkaError(ErrorCode.Local_UnknownPartition,
                        $"source.partitions lists {string.Join(", ", absent)}, but topic {topic} has partitions {(ids.Length == 0 ? "none" : $"0..{ids[^1]}")}", false), null);
                ids = [.. _options.Partitions];
            }
            _staticTopicsAnswered.Add(topic);
            foreach (var id in ids)
            {
                var key = new PartitionKey(topic, id);
                if (!_staticAssigned.Add(key)) continue;
                added.Add(key);
                later.Add(known);
            }
        }

        // A partition (or topic) the brokers did not have at an earlier check was written after the pipeline started:
        // it starts at its committed offset, else at its first offset (start_from: latest must not skip it). Partitions
        // found at the first answer start at the committed offset, else where start_from says.
        long[]? committed = null;
        if (later.Contains(true))
        {
            try
            {
                committed = _consumer.Committed(added, 10_000);
            }
            catch (NativeKafkaException e)
            {
                // Without their committed offsets the added partitions cannot be started right: forget them and look
                // again soon; the partitions of a first answer (committed offset resolved by librdkafka) go ahead.
                var postponed = added.Where((_, i) => later[i]).ToList();
                foreach (var k in postponed) _staticAssigned.Remove(k);
                _logger.LogWarning("Pipeline {Pipeline}: found {Count} added partitions ({Partitions}) but could not read their committed offsets: {Reason}; trying again in {Seconds} s",
                    _pipeline, postponed.Count, Describe(postponed), e.Message, (int)StaticRetry.TotalSeconds);
                added = added.Where((_, i) => !later[i]).ToList();
                later = added.Select(_ => false).ToList();
                missing = true; // look again soon
            }
        }
        if (added.Count > 0)
        {
            var offsets = added.Select((_, i) => !later[i] ? NativeConsumer.OffsetUnset
                : committed![i] >= 0 ? committed[i] : NativeConsumer.OffsetEarliest).ToArray();
            ResolveStartOffsets(added, offsets, [.. Enumerable.Range(0, added.Count).Where(i => !later[i])]);
            _rebalances++;
            var generation = _tracker.Assign(added);
            _consumer.AddAssignment(added, offsets);
            _assignmentChanged = true;
            _logger.LogInformation("Pipeline {Pipeline}: {Verb} {Count} partitions (static, generation {Generation}): {Partitions}",
                _pipeline, later.Contains(true) ? "added" : "assigned", added.Count, generation, Describe(added));
        }

        var interval = missing ? StaticRetry
            : _options.Partitions.Count > 0 ? TimeSpan.Zero
            : _options.PartitionDiscoveryInterval;
        _nextDiscoveryAt = interval == TimeSpan.Zero ? 0 : _time.GetTimestamp() + (long)(interval.TotalSeconds * _time.TimestampFrequency);
    }

    /// <summary>
    /// Gives the partitions at <paramref name="first"/> (indexes into <paramref name="partitions"/> and
    /// <paramref name="offsets"/>) their start offset before they are assigned: the committed one, else the first or next
    /// one as start_from says. Left to librdkafka, a partition without a committed offset is looked up with a request on
    /// its leader's connection, one partition at a time, and a broker answers a connection's requests in order: once one
    /// partition has been read to its end, its next fetch waits up to fetch.wait.max.ms (500 ms by default) for new
    /// messages, and the lookups still to come wait behind it. Resolved here, before any fetch, all of them start at once.
    /// When the offsets cannot be read quickly, or the coordinator answers a partition with an error, librdkafka
    /// resolves them as before.
    /// </summary>
    private void ResolveStartOffsets(IReadOnlyList<PartitionKey> partitions, IList<long> offsets, List<int> first)
    {
        const int TimeoutMs = 3_000;
        if (first.Count == 0) return;
        var keys = first.Select(i => partitions[i]).ToList();
        long[] committed;
        try
        {
            // A partition answered with an error may have a committed offset: starting it at start_from could skip or repeat
            // messages, so then librdkafka resolves them all, as it would have.
            committed = _consumer.Committed(keys, TimeoutMs, out var partitionErrors);
            if (partitionErrors > 0)
            {
                _logger.LogDebug("Pipeline {Pipeline}: committed offsets of {Count} partitions not read before the assignment; librdkafka resolves them", _pipeline, partitionErrors);
                return;
            }
        }
        catch (NativeKafkaException e)
        {
            _logger.LogDebug("Pipeline {Pipeline}: committed offsets not read before the assignment ({Reason}); librdkafka resolves them", _pipeline, e.Message);
            return;
        }
        var unset = Enumerable.Range(0, keys.Count).Where(k => committed[k] < 0).ToList();
        var reset = _consumer.ListOffsets([.. unset.Select(k => keys[k])], _options.StartFrom == "latest", TimeoutMs, out var error);
        for (var k = 0; k < keys.Count; k++)
            if (committed[k] >= 0) offsets[first[k]] = committed[k];
        if (reset is null)
        {
            _logger.LogDebug("Pipeline {Pipeline}: {StartFrom} offsets not read before the assignment ({Reason}); librdkafka resolves them", _pipeline, _options.StartFrom, error.Reason);
            return;
        }
        for (var u = 0; u < unset.Count; u++) offsets[first[unset[u]]] = reset[u];
    }

    private void PauseAll()
    {
        _assignmentChanged = false;
        var assignment = _consumer.Assignment();
        if (!_paused)
        {
            _paused = true;
            _pauses++;
            _logger.LogDebug("Pipeline {Pipeline}: pipeline full, pausing {Count} partitions", _pipeline, assignment.Count);
        }
        if (assignment.Count > 0) _consumer.Pause(assignment);
    }

    /// <summary>
    /// After an assignment, outside a pause: resumes the assigned partitions. librdkafka keeps a partition's
    /// application pause across revocation and reassignment, so a partition revoked while the pipeline was full would
    /// otherwise come back paused and never be read again. A consumer that never paused has nothing to resume, and a
    /// resume is not free: it bumps the partitions' fetch version, which discards everything librdkafka prefetched
    /// (with an early static assignment, the whole prefetch queue, refetched after a stall of up to a second).
    /// </summary>
    private void ResumeAssigned()
    {
        _assignmentChanged = false;
        if (Interlocked.Read(ref _pauses) == 0) return;
        var assignment = _consumer.Assignment();
        if (assignment.Count > 0) _consumer.Resume(assignment);
    }

    private void ResumeAll(CancellationToken stop)
    {
        _paused = false;
        if (stop.IsCancellationRequested) return;
        var assignment = _consumer.Assignment();
        if (assignment.Count > 0) _consumer.Resume(assignment);
        _logger.LogDebug("Pipeline {Pipeline}: resumed {Count} partitions", _pipeline, assignment.Count);
    }

    private void MaybeCommit()
    {
        if (_time.GetElapsedTime(_lastCommitAt) < _options.CommitInterval) return;
        _lastCommitAt = _time.GetTimestamp();
        CommitFinished();
    }

    /// <summary>Commits <paramref name="offsets"/>; caller holds <see cref="_commitLock"/>. Returns the offsets not committed.</summary>
    private List<CommitOffset> Commit(List<CommitOffset> offsets, string why)
    {
        var failed = new List<CommitOffset>();
        if (offsets.Count == 0) return failed;
        CommitResult result;
        try
        {
            result = _consumer.Commit(offsets.Select(o => (o.Partition, o.Offset)).ToList());
        }
        catch (NativeKafkaException e)
        {
            result = new CommitResult(e.Error, new KafkaError[offsets.Count]);
        }
        if (result.PartitionErrors.Any(e => e.IsError))
        {
            for (var i = 0; i < offsets.Count; i++)
            {
                var o = offsets[i];
                var error = result.PartitionErrors[i];
                if (!error.IsError)
                {
                    _tracker.MarkCommitted(o);
                    continue;
                }
                failed.Add(o);
                _logger.LogWarning("Pipeline {Pipeline}: commit of {Topic}[{Partition}]@{Offset} failed: {Reason} (retried at the next commit)",
                    _pipeline, o.Partition.Topic, o.Partition.Partition, o.Offset, error.Reason);
            }
        }
        else if (result.Error.IsError)
        {
            if (result.Error.IsFatal) _fatal ??= Fatal(result.Error, null);
            failed.AddRange(offsets);
            _logger.LogWarning("Pipeline {Pipeline}: {Why} commit failed: {Reason} ({Code}); finished offsets are committed again later",
                _pipeline, why, result.Error.Reason, result.Error.Code);
        }
        else
        {
            foreach (var o in offsets) _tracker.MarkCommitted(o);
            if (_logger.IsEnabled(LogLevel.Debug))
                _logger.LogDebug("Pipeline {Pipeline}: committed ({Why}) {Offsets}", _pipeline, why,
                    string.Join(", ", offsets.Select(o => $"{o.Partition}@{o.Offset}")));
        }
        return failed;
    }

    // ---------------------------------------------------------------- callbacks (on the poll thread, or Close's)

    IReadOnlyList<long> IConsumerEvents.OnAssigned(IReadOnlyList<PartitionKey> partitions)
    {
        _rebalances++;
        var generation = _tracker.Assign(partitions, _carryOver);
        var start = partitions.Select(p => _carryOver.TryGetValue(p, out var o) ? o : NativeConsumer.OffsetUnset).ToList();
        if (_carryOver.Count > 0)
        {
            var resumed = partitions.Select((p, i) => (p, Offset: start[i])).Where(s => s.Offset != NativeConsumer.OffsetUnset).ToList();
            if (resumed.Count > 0)
                _logger.LogInformation("Pipeline {Pipeline}: resuming {Partitions} after the records finished before the rebalance",
                    _pipeline, string.Join(", ", resumed.Select(r => $"{r.p.Topic}[{r.p.Partition}]@{r.Offset}")));
            _carryOver.Clear(); // only valid for the assignment right after the revocation
        }
        // The others start at their committed offset, else at start_from: read here, before they are assigned (see
        // ResolveStartOffsets; the group's coordinator answers while the member waits in this callback).
        ResolveStartOffsets(partitions, start, [.. Enumerable.Range(0, start.Count).Where(i => start[i] == NativeConsumer.OffsetUnset)]);
        _assignmentChanged = true;
        _logger.LogInformation("Pipeline {Pipeline}: assigned {Count} partitions (generation {Generation}): {Partitions}",
            _pipeline, partitions.Count, generation, Describe(partitions));
        return start;
    }

    void IConsumerEvents.OnRevoked(IReadOnlyList<PartitionKey> partitions, bool lost)
    {
        _rebalances++;
        var keys = partitions.ToHashSet();
        lock (_commitLock)
        {
            var finished = _tracker.Revoke(keys);
            if (lost)
            {
                // The group already gave them to someone else: a commit would be refused, and must not be tried.
                _logger.LogWarning("Pipeline {Pipeline}: lost {Count} partitions: {Partitions} (the group went on without this member: session timeout, max.poll.interval.ms exceeded or a stale generation); records not committed are read again by their new owner",
                    _pipeline, partitions.Count, Describe(partitions));
            }
            else
            {
                // Some brokers (librdkafka's mock cluster) refuse commits while the group is rebalancing. With the eager
                // protocol every partition is revoked and the next assignment follows within the same rebalance, with
                // nobody owning the partition in between: if it comes back to us, we resume after what we finished.
                foreach (var f in Commit(finished, "revocation"))
                    if (_eager) _carryOver[f.Partition] = f.Offset;
                _logger.LogInformation("Pipeline {Pipeline}: revoked {Count} partitions: {Partitions}",
                    _pipeline, partitions.Count, Describe(partitions));
            }
        }
        foreach (var k in keys)
        {
            _positions.TryRemove(k, out _);
            _atEnd.Remove(k);
        }

        // Records of these partitions not handed over yet belong to the next owner now.
        if (_buffer.Count > 0)
        {
            var keep = _buffer.Where(r => !keys.Contains(new PartitionKey(r.Topic, r.Partition))).ToList();
            _buffer.Clear();
            foreach (var r in keep) _buffer.Enqueue(r);
        }
        if (_buildingCount > 0)
        {
            var n = 0;
            long bytes = 0;
            for (var i = 0; i < _buildingCount; i++)
            {
                var rec = _building![i];
                if (keys.Contains(new PartitionKey(rec.Topic, rec.Partition))) continue;
                _building[n++] = rec;
                bytes += rec.Payload?.Length ?? 0;
            }
            Array.Clear(_building!, n, _buildingCount - n);
            _buildingCount = n;
            _buildingBytes = bytes;
        }
    }

    void IConsumerEvents.OnError(KafkaError e)
    {
        if (e.IsFatal || IsAuthFailure(e.Code))
        {
            _fatal ??= Fatal(e, null);
            return;
        }
        if (e.Code is ErrorCode.Local_AllBrokersDown or ErrorCode.Local_Transport)
            _logger.LogWarning("Pipeline {Pipeline}: Kafka: {Reason} (retrying; check source.brokers '{Brokers}')", _pipeline, e.Reason, _options.Brokers);
        else
            _logger.LogWarning("Pipeline {Pipeline}: Kafka error: {Reason} ({Code}){Hint}", _pipeline, e.Reason, e.Code, Hint(e.Code));
    }

    void IConsumerEvents.OnLog(int syslogLevel, string facility, string message)
    {
        var level = syslogLevel switch
        {
            <= 3 => LogLevel.Error, // emergency, alert, critical, error
            4 => LogLevel.Warning,
            5 or 6 => LogLevel.Information, // notice, info
            _ => LogLevel.Debug,
        };
        if (_logger.IsEnabled(level))
            _logger.Log(level, "Pipeline {Pipeline}: librdkafka {Facility}: {Message}", _pipeline, facility, message);
    }

    private void ThrowIfFatal()
    {
        if (_fatal is { } fatal) throw fatal;
    }

    private static bool IsAuthFailure(ErrorCode code) => code is ErrorCode.SaslAuthenticationFailed or ErrorCode.Local_Authentication
        or ErrorCode.TopicAuthorizationFailed or ErrorCode.GroupAuthorizationFailed or ErrorCode.ClusterAuthorizationFailed;

    private KafkaSourceException Fatal(KafkaError e, Exception? inner)
    {
        var message = $"Pipeline {_pipeline}: the Kafka consumer stopped: {e.Reason} ({e.Code}).{Hint(e.Code)}";
        _logger.LogError("{Message}", message);
        return inner is null ? new KafkaSourceException(message) : new KafkaSourceException(message, inner);
    }

    private string Hint(ErrorCode code) => code switch
    {
        ErrorCode.SaslAuthenticationFailed or ErrorCode.Local_Authentication =>
            " Check security.protocol, sasl.mechanism, sasl.username and sasl.password under source.properties.",
        ErrorCode.TopicAuthorizationFailed =>
            $" Grant the consumer's principal Read (and Describe) on topic(s) {string.Join(", ", _options.AllTopics)}.",
        ErrorCode.GroupAuthorizationFailed => $" Grant the consumer's principal Read on consumer group '{GroupId}'.",
        ErrorCode.ClusterAuthorizationFailed => " The principal lacks a cluster-level permission.",
        ErrorCode.UnknownTopicOrPart or ErrorCode.Local_UnknownTopic or ErrorCode.Local_UnknownPartition =>
            $" Check that topic(s) {string.Join(", ", _options.AllTopics)} exist on {_options.Brokers}.",
        _ => "",
    };

    private static string Describe(IEnumerable<PartitionKey> partitions) =>
        string.Join(", ", partitions.GroupBy(p => p.Topic).Select(g => $"{g.Key}[{string.Join(",", g.Select(p => p.Partition).Order())}]"));
}

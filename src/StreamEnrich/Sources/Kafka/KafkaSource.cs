using System.Collections.Concurrent;
using System.Globalization;
using System.Threading.Tasks.Dataflow;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using StreamEnrich.Configuration;
using StreamEnrich.Pipeline;
using StreamEnrich.Records;

namespace StreamEnrich.Sources.Kafka;

/// <summary>
/// Reads one pipeline's topics with one consumer-group member and hands the messages to the pipeline as
/// <see cref="RecordChunk"/>s. Polls on a dedicated thread; when the pipeline is full it pauses its partitions
/// (still polling, so the group membership stays alive) and resumes when there is room again. Offsets are
/// committed only up to what the pipeline reported finished through <see cref="Complete"/>, per partition.
/// </summary>
internal sealed class KafkaSource : IDisposable
{
    /// <summary>How long the poll loop waits for more messages before handing over a partial chunk.</summary>
    internal static readonly TimeSpan IdleFlush = TimeSpan.FromMilliseconds(5);
    /// <summary>A partial chunk never waits longer than this for more messages.</summary>
    internal static readonly TimeSpan MaxChunkAge = TimeSpan.FromMilliseconds(100);

    private readonly KafkaSourceOptions _options;
    private readonly string _pipeline;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly IConsumer<byte[]?, byte[]?> _consumer;
    private readonly OffsetTracker _tracker = new();
    private readonly Lock _commitLock = new();
    private readonly ConcurrentDictionary<PartitionKey, long> _positions = new();
    private readonly Queue<ConsumeResult<byte[]?, byte[]?>> _buffer = new();
    /// <summary>Finished offsets whose revocation commit was refused (eager protocol only; see <see cref="OnRevoked"/>).</summary>
    private readonly Dictionary<PartitionKey, long> _carryOver = [];
    private readonly bool _eager;
    /// <summary>How long a send may wait before the partitions are paused (short waits keep librdkafka's prefetch).</summary>
    private readonly TimeSpan _pauseAfter;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _threadExited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ManualResetEventSlim _closeRequested = new();

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
    private long _rebalances;
    private long _lastCommitAt;
    private int _started;
    private int _closed;

    public KafkaSource(KafkaSourceOptions options, string pipelineName, ILogger logger, TimeProvider time)
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
        _consumer = new ConsumerBuilder<byte[]?, byte[]?>(config)
            .SetErrorHandler((_, e) => OnError(e))
            .SetLogHandler((_, m) => OnLog(m))
            .SetPartitionsAssignedHandler((_, partitions) => OnAssigned(partitions))
            .SetPartitionsRevokedHandler((_, partitions) => OnRevoked(partitions, lost: false))
            .SetPartitionsLostHandler((_, partitions) => OnRevoked(partitions, lost: true))
            .Build();
    }

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
            ["enable.partition.eof"] = "false",
            ["auto.offset.reset"] = options.StartFrom,
            // Memory: librdkafka holds up to one fetch response (fetch.max.bytes) plus its prefetch queue
            // (queued.max.messages.kbytes, 64 MB by default): bounded whatever the backlog. A smaller queue makes
            // librdkafka 2.0 back off fetching for about a second each time it fills (measured: -25% throughput at 32 MB).
            ["fetch.max.bytes"] = (16 * 1024 * 1024).ToString(CultureInfo.InvariantCulture),
            ["max.partition.fetch.bytes"] = (4 * 1024 * 1024).ToString(CultureInfo.InvariantCulture),
            // librdkafka 2.0 stops fetching for about a second whenever its prefetch queue passes queued.min.messages;
            // at 100k the queue runs dry during that pause (measured on the mock: ~120k msg/s instead of ~340k msg/s).
            // The memory bound is queued.max.messages.kbytes above.
            ["queued.min.messages"] = "1000000",
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
        if (Volatile.Read(ref _started) != 0)
            await _threadExited.Task.ConfigureAwait(false);
        await Task.Run(() =>
        {
            CommitFinished();
            try
            {
                _consumer.Close(); // leaves the group; the revoked handler commits once more
            }
            catch (KafkaException e)
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
                    var w = _consumer.GetWatermarkOffsets(new TopicPartition(key.Topic, key.Partition));
                    if (w.High.Value >= 0) high = w.High.Value;
                }
                catch (Exception e) when (e is KafkaException or ObjectDisposedException) { }
            }
            var lag = high >= 0 && position >= 0 ? Math.Max(0, high - position) : -1;
            partitions.Add(new KafkaPartitionMetrics(key.Topic, key.Partition, position, committed, high, lag));
        }
        partitions.Sort((a, b) => a.Topic == b.Topic ? a.Partition.CompareTo(b.Partition) : string.CompareOrdinal(a.Topic, b.Topic));
        return new KafkaSourceMetrics(Interlocked.Read(ref _messages), Interlocked.Read(ref _bytes), _paused,
            Interlocked.Read(ref _pauses), Interlocked.Read(ref _rebalances), partitions);
    }

    public void Dispose()
    {
        _closeRequested.Set();
        if (Volatile.Read(ref _started) != 0 && !_threadExited.Task.Wait(TimeSpan.FromSeconds(30)))
            _logger.LogWarning("Pipeline {Pipeline}: the Kafka poll thread did not stop within 30 s", _pipeline);
        _consumer.Dispose();
        _closeRequested.Dispose();
    }

    // ---------------------------------------------------------------- poll thread

    private void PollThread(ITargetBlock<RecordChunk> target, CancellationToken stop)
    {
        try
        {
            _consumer.Subscribe(_options.AllTopics);
            _logger.LogInformation("Pipeline {Pipeline}: consuming {Topics} as group {Group} from {Brokers}",
                _pipeline, string.Join(", ", _options.AllTopics), GroupId, _options.Brokers);
            _lastCommitAt = _time.GetTimestamp();
            while (!stop.IsCancellationRequested)
            {
                ThrowIfFatal();
                var result = _buffer.Count > 0
                    ? _buffer.Dequeue()
                    : Consume(_buildingCount == 0 ? TimeSpan.FromMilliseconds(100) : IdleFlush);
                if (result is not null)
                {
                    Add(result);
                    if (_buildingCount >= _options.ChunkSize) Emit(target, stop);
                }
                else if (_buildingCount > 0)
                {
                    Emit(target, stop); // nothing more right now: do not hold records back
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
            _logger.LogInformation("Pipeline {Pipeline}: stopped consuming after {Messages} messages; waiting for the pipeline to drain",
                _pipeline, _messages);
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
                Consume(TimeSpan.FromMilliseconds(100));
                MaybeCommit();
            }
        }
        catch (Exception e) when (e is KafkaSourceException or KafkaException)
        {
            _logger.LogWarning("Pipeline {Pipeline}: Kafka consumer error while draining: {Reason}", _pipeline, e.Message);
        }
    }

    private ConsumeResult<byte[]?, byte[]?>? Consume(TimeSpan timeout)
    {
        try
        {
            var r = _consumer.Consume(timeout);
            if (r is null || r.IsPartitionEOF) return null;
            return r;
        }
        catch (ConsumeException e)
        {
            if (e.Error.IsFatal || IsAuthFailure(e.Error.Code))
                throw Fatal(e.Error, e);
            _logger.LogWarning("Pipeline {Pipeline}: Kafka consume error: {Reason} ({Code}){Hint}",
                _pipeline, e.Error.Reason, e.Error.Code, Hint(e.Error.Code));
            return null;
        }
    }

    private void Add(ConsumeResult<byte[]?, byte[]?> r)
    {
        if (_buildingCount == 0)
        {
            _building = new Record[_options.ChunkSize];
            _buildingBytes = 0;
            _buildingStartedAt = _time.GetTimestamp();
        }
        var record = _newRecord!();
        var message = r.Message;
        record.Topic = r.Topic;
        record.Partition = r.Partition.Value;
        record.Offset = r.Offset.Value;
        record.TimestampMs = message.Timestamp.UnixTimestampMs;
        record.Key = message.Key;
        record.Payload = message.Value;
        if (message.Headers is { Count: > 0 } headers)
        {
            var list = new RecordHeader[headers.Count];
            for (var i = 0; i < list.Length; i++)
                list[i] = new RecordHeader(headers[i].Key, headers[i].GetValueBytes());
            record.Headers = list;
        }
        _building![_buildingCount++] = record;
        var size = (message.Value?.Length ?? 0) + (message.Key?.Length ?? 0);
        _buildingBytes += message.Value?.Length ?? 0;
        _messages++;
        _bytes += size;
    }

    /// <summary>Hands the chunk being built to the pipeline, pausing the partitions while it has no room.</summary>
    private void Emit(ITargetBlock<RecordChunk> target, CancellationToken stop)
    {
        var chunk = new RecordChunk(_building!, _buildingCount)
        {
            PayloadBytes = _buildingBytes,
        };
        _building = null;
        _buildingCount = 0;
        var offsets = _tracker.Register(chunk.Span); // before the send: the pipeline may complete it at once
        chunk.OffsetHandle = offsets;
        foreach (var part in offsets.Parts)
            _positions[part.Key] = part.Range.Last + 1;

        var send = target.SendAsync(chunk, stop);
        // A short wait is normal under load: block without polling (librdkafka keeps prefetching into its own
        // bounded queue). Only a longer one pauses the partitions, because each pause drops that prefetch.
        if (!send.IsCompleted && !((IAsyncResult)send).AsyncWaitHandle.WaitOne(_pauseAfter))
            WaitWhilePaused(send, stop);

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
                var r = Consume(TimeSpan.Zero);
                if (r is not null) _buffer.Enqueue(r); // fetched before the pause took effect
                if (_assignmentChanged) PauseAll(); // newly assigned partitions start unpaused
                MaybeCommit();
            }
        }
        finally
        {
            ResumeAll(stop);
        }
    }

    private void PauseAll()
    {
        _assignmentChanged = false;
        var assignment = _consumer.Assignment;
        if (!_paused)
        {
            _paused = true;
            _pauses++;
            _logger.LogDebug("Pipeline {Pipeline}: pipeline full, pausing {Count} partitions", _pipeline, assignment.Count);
        }
        if (assignment.Count > 0) _consumer.Pause(assignment);
    }

    private void ResumeAll(CancellationToken stop)
    {
        _paused = false;
        if (stop.IsCancellationRequested) return;
        var assignment = _consumer.Assignment;
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
        try
        {
            _consumer.Commit(offsets.Select(o => new TopicPartitionOffset(o.Partition.Topic, o.Partition.Partition, o.Offset)));
            foreach (var o in offsets) _tracker.MarkCommitted(o);
            if (_logger.IsEnabled(LogLevel.Debug))
                _logger.LogDebug("Pipeline {Pipeline}: committed ({Why}) {Offsets}", _pipeline, why,
                    string.Join(", ", offsets.Select(o => $"{o.Partition}@{o.Offset}")));
        }
        catch (TopicPartitionOffsetException e)
        {
            foreach (var r in e.Results)
            {
                var o = offsets.Find(x => x.Partition.Topic == r.Topic && x.Partition.Partition == r.Partition.Value);
                if (!r.Error.IsError)
                {
                    _tracker.MarkCommitted(o);
                    continue;
                }
                failed.Add(o);
                _logger.LogWarning("Pipeline {Pipeline}: commit of {Topic}[{Partition}]@{Offset} failed: {Reason} (retried at the next commit)",
                    _pipeline, r.Topic, r.Partition.Value, r.Offset.Value, r.Error.Reason);
            }
        }
        catch (KafkaException e)
        {
            if (e.Error.IsFatal) _fatal ??= Fatal(e.Error, e);
            failed.AddRange(offsets);
            _logger.LogWarning("Pipeline {Pipeline}: {Why} commit failed: {Reason} ({Code}); finished offsets are committed again later",
                _pipeline, why, e.Error.Reason, e.Error.Code);
        }
        return failed;
    }

    // ---------------------------------------------------------------- callbacks (on the poll thread, or Close's)

    private IEnumerable<TopicPartitionOffset> OnAssigned(List<TopicPartition> partitions)
    {
        _rebalances++;
        var generation = _tracker.Assign(partitions.Select(p => new PartitionKey(p.Topic, p.Partition.Value)), _carryOver);
        var start = partitions.Select(p => _carryOver.TryGetValue(new PartitionKey(p.Topic, p.Partition.Value), out var o)
            ? new TopicPartitionOffset(p, new Offset(o))
            : new TopicPartitionOffset(p, Offset.Unset)).ToList();
        if (_carryOver.Count > 0)
        {
            var resumed = start.Where(s => s.Offset != Offset.Unset).ToList();
            if (resumed.Count > 0)
                _logger.LogInformation("Pipeline {Pipeline}: resuming {Partitions} after the records finished before the rebalance",
                    _pipeline, string.Join(", ", resumed.Select(r => $"{r.Topic}[{r.Partition.Value}]@{r.Offset.Value}")));
            _carryOver.Clear(); // only valid for the assignment right after the revocation
        }
        _assignmentChanged = true;
        _logger.LogInformation("Pipeline {Pipeline}: assigned {Count} partitions (generation {Generation}): {Partitions}",
            _pipeline, partitions.Count, generation, Describe(partitions));
        return start;
    }

    private void OnRevoked(List<TopicPartitionOffset> partitions, bool lost)
    {
        _rebalances++;
        var keys = partitions.Select(p => new PartitionKey(p.Topic, p.Partition.Value)).ToHashSet();
        lock (_commitLock)
        {
            var finished = _tracker.Revoke(keys);
            if (lost)
            {
                // The group already gave them to someone else: a commit would be refused, and must not be tried.
                _logger.LogWarning("Pipeline {Pipeline}: lost {Count} partitions: {Partitions} (the group went on without this member: session timeout, max.poll.interval.ms exceeded or a stale generation); records not committed are read again by their new owner",
                    _pipeline, partitions.Count, Describe(partitions.Select(p => p.TopicPartition)));
            }
            else
            {
                // Some brokers (librdkafka's mock cluster) refuse commits while the group is rebalancing. With the eager
                // protocol every partition is revoked and the next assignment follows within the same rebalance, with
                // nobody owning the partition in between: if it comes back to us, we resume after what we finished.
                foreach (var f in Commit(finished, "revocation"))
                    if (_eager) _carryOver[f.Partition] = f.Offset;
                _logger.LogInformation("Pipeline {Pipeline}: revoked {Count} partitions: {Partitions}",
                    _pipeline, partitions.Count, Describe(partitions.Select(p => p.TopicPartition)));
            }
        }
        foreach (var k in keys) _positions.TryRemove(k, out _);

        // Records of these partitions not handed over yet belong to the next owner now.
        if (_buffer.Count > 0)
        {
            var keep = _buffer.Where(r => !keys.Contains(new PartitionKey(r.Topic, r.Partition.Value))).ToList();
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

    private void OnError(Error e)
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

    private void OnLog(LogMessage m)
    {
        var level = m.Level switch
        {
            SyslogLevel.Emergency or SyslogLevel.Alert or SyslogLevel.Critical or SyslogLevel.Error => LogLevel.Error,
            SyslogLevel.Warning => LogLevel.Warning,
            SyslogLevel.Notice or SyslogLevel.Info => LogLevel.Information,
            _ => LogLevel.Debug,
        };
        if (_logger.IsEnabled(level))
            _logger.Log(level, "Pipeline {Pipeline}: librdkafka {Facility}: {Message}", _pipeline, m.Facility, m.Message);
    }

    private void ThrowIfFatal()
    {
        if (_fatal is { } fatal) throw fatal;
    }

    private static bool IsAuthFailure(ErrorCode code) => code is ErrorCode.SaslAuthenticationFailed or ErrorCode.Local_Authentication
        or ErrorCode.TopicAuthorizationFailed or ErrorCode.GroupAuthorizationFailed or ErrorCode.ClusterAuthorizationFailed;

    private KafkaSourceException Fatal(Error e, Exception? inner)
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

    private static string Describe(IEnumerable<TopicPartition> partitions) =>
        string.Join(", ", partitions.GroupBy(p => p.Topic).Select(g => $"{g.Key}[{string.Join(",", g.Select(p => p.Partition.Value).Order())}]"));
}

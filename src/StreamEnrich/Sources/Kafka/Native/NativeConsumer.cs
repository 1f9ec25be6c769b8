using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Text;
using Confluent.Kafka;
using StreamEnrich.Records;
using static StreamEnrich.Sources.Kafka.Native.LibRdKafka;

namespace StreamEnrich.Sources.Kafka.Native;

/// <summary>A librdkafka error: the code (Confluent's <see cref="ErrorCode"/> names the same numbers), its text, and
/// whether it is fatal (the consumer is unusable; resolved through <c>rd_kafka_fatal_error</c>).</summary>
internal readonly record struct KafkaError(ErrorCode Code, string Reason, bool IsFatal)
{
    public static readonly KafkaError None = new(ErrorCode.NoError, "", false);
    public bool IsError => Code != ErrorCode.NoError;
}

/// <summary>A librdkafka call failed (or a consumer event handler threw: then it is the inner exception's text).</summary>
internal sealed class NativeKafkaException(KafkaError error) : Exception(error.Reason)
{
    public KafkaError Error { get; } = error;
}

/// <summary>Outcome of a synchronous commit: the request's error, and one error per requested partition (same order).</summary>
internal readonly record struct CommitResult(KafkaError Error, KafkaError[] PartitionErrors);

/// <summary>
/// What a <see cref="NativeConsumer"/> reports. Every method is called on the thread that called
/// <see cref="NativeConsumer.Consume"/> (or <see cref="NativeConsumer.Close"/> / <see cref="NativeConsumer.Dispose"/>),
/// never on a librdkafka thread. An exception thrown here is rethrown by the call that served the event.
/// </summary>
internal interface IConsumerEvents
{
    /// <summary>Partitions were assigned (all of them with the eager protocol, the added ones with the cooperative one).
    /// Returns the offset to start each at, in the same order: <see cref="NativeConsumer.OffsetUnset"/> for the committed one.</summary>
    IReadOnlyList<long> OnAssigned(IReadOnlyList<PartitionKey> partitions);

    /// <summary>Partitions were revoked, or lost (<paramref name="lost"/>: the group went on without this member; do not commit them).</summary>
    void OnRevoked(IReadOnlyList<PartitionKey> partitions, bool lost);

    /// <summary>A client-level error (broker down, authentication, fatal errors).</summary>
    void OnError(KafkaError error);

    /// <summary>A librdkafka log line; <paramref name="level"/> is a syslog level (0 emergency .. 7 debug).</summary>
    void OnLog(int level, string facility, string message);
}

/// <summary>
/// A thin binding of librdkafka's high-level consumer, made for <see cref="KafkaSource"/>'s poll loop: messages are read
/// in batches and looked at in place (<see cref="ConsumedMessage"/>: spans over librdkafka's buffers, the topic as a
/// cached string), so consuming allocates nothing per message beyond what the caller copies out.
/// <para>
/// Threading: <see cref="Consume"/>, <see cref="Pause"/>, <see cref="Resume"/> and the message views belong to one
/// thread (the poll thread); every callback (rebalance, error, log: <c>log.queue</c> is forced on) runs inside
/// <see cref="Consume"/> on that thread. <see cref="Commit"/>, <see cref="TryGetWatermarks"/> and
/// <see cref="Assignment"/> are safe from any thread. Dispose only after the poll thread stopped.
/// </para>
/// <para>
/// librdkafka 2.0.x's batch API is unsafe when pause, resume, seek or a rebalance run <em>concurrently</em> with it
/// (2.0.0 release notes, fixed in 2.1.0). Here they never do: pause/resume are called between <see cref="Consume"/>
/// calls on the same thread, and rebalances go through the rebalance callback, served inside <see cref="Consume"/>.
/// </para>
/// </summary>
internal sealed unsafe class NativeConsumer : IDisposable
{
    /// <summary>Start offset meaning "the committed offset (or auto.offset.reset)".</summary>
    public const long OffsetUnset = OffsetInvalid;
    /// <summary>Start offset meaning "the partition's first offset".</summary>
    public const long OffsetEarliest = OffsetBeginning;
    private const int MaxBatch = 1024;

    private readonly ConsumerHandle _handle;
    private readonly IConsumerEvents _events;
    private readonly Lock _pollLock = new();
    private readonly nint[] _batch = new nint[MaxBatch];
    private readonly Dictionary<nint, (byte[] Utf8, string Name)> _topics = [];
    private readonly Dictionary<string, byte[]> _topicBytes = new(StringComparer.Ordinal);
    private int _count;
    private nint _lastRkt;
    private string _lastTopic = "";
    private ExceptionDispatchInfo? _callbackException;

    private NativeConsumer(IConsumerEvents events)
    {
        _events = events;
        _handle = new ConsumerHandle();
    }

    /// <summary>True when the last rebalance used the cooperative (incremental) protocol.</summary>
    public bool LastRebalanceCooperative { get; private set; }

    /// <summary>A rebalance callback ran during the last <see cref="Consume"/> call.</summary>
    public bool RebalancedDuringLastConsume { get; private set; }

    /// <summary>
    /// Creates a consumer from librdkafka properties. Throws <see cref="ArgumentException"/> naming the property
    /// librdkafka rejects, and <see cref="InvalidOperationException"/> when librdkafka is missing or refuses to start.
    /// </summary>
    public static NativeConsumer Create(IEnumerable<KeyValuePair<string, string>> config, IConsumerEvents events)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(events);
        var consumer = new NativeConsumer(events);
        nint conf;
        try
        {
            conf = rd_kafka_conf_new();
        }
        catch (DllNotFoundException e)
        {
            throw new InvalidOperationException(
                "librdkafka is not installed (librdkafka.so.1 not found). Install it with `apt-get install librdkafka1`.", e);
        }
        var err = stackalloc byte[512];
        try
        {
            foreach (var (key, value) in config)
                SetOrThrow(conf, key, value, err);
            // Log lines are queued and served by Consume on the poll thread, never on librdkafka's threads.
            SetOrThrow(conf, "log.queue", "true", err);
        }
        catch
        {
            rd_kafka_conf_destroy(conf);
            throw;
        }
        var self = GCHandle.Alloc(consumer);
        rd_kafka_conf_set_opaque(conf, GCHandle.ToIntPtr(self));
        rd_kafka_conf_set_rebalance_cb(conf, &OnRebalanceCallback);
        rd_kafka_conf_set_error_cb(conf, &OnErrorCallback);
        rd_kafka_conf_set_log_cb(conf, &OnLogCallback);

        var rk = rd_kafka_new(Consumer, conf, err, 512);
        if (rk == 0)
        {
            rd_kafka_conf_destroy(conf);
            self.Free();
            throw new ArgumentException($"librdkafka could not create the Kafka consumer: {Utf8(err)}");
        }
        consumer._handle.Init(rk, self);
        rd_kafka_poll_set_consumer(rk); // the main queue (errors, logs, rebalances) is served with the consumer queue
        rd_kafka_set_log_queue(rk, 0); // 0: the main queue
        consumer._handle.Queue = rd_kafka_queue_get_consumer(rk);
        return consumer;
    }

    /// <summary>
    /// Sets each property on a throw-away librdkafka configuration (no client is created, nothing connects) and returns
    /// the ones librdkafka rejects (unknown name, invalid value) with its reason; empty when all are accepted. Null when
    /// librdkafka is not installed, so nothing could be checked.
    /// </summary>
    public static List<(string Key, string Value, string Reason)>? CheckProperties(IEnumerable<KeyValuePair<string, string>> properties)
    {
        ArgumentNullException.ThrowIfNull(properties);
        nint conf;
        try
        {
            conf = rd_kafka_conf_new();
        }
        catch (DllNotFoundException)
        {
            return null;
        }
        var rejected = new List<(string, string, string)>();
        var err = stackalloc byte[512];
        try
        {
            foreach (var (key, value) in properties)
                if (TrySet(conf, key, value, err) is { } reason) rejected.Add((key, value, reason));
        }
        finally
        {
            rd_kafka_conf_destroy(conf);
        }
        return rejected;
    }

    /// <summary>librdkafka's version ("2.0.2"), or null when it is not installed.</summary>
    public static string? LibraryVersion()
    {
        try
        {
            return Utf8(rd_kafka_version_str());
        }
        catch (DllNotFoundException)
        {
            return null;
        }
    }

    private static void SetOrThrow(nint conf, string key, string value, byte* err)
    {
        if (TrySet(conf, key, value, err) is { } reason)
            throw new ArgumentException($"Kafka consumer property {key}={value} was rejected by librdkafka: {reason}");
    }

    /// <summary>Sets one property on <paramref name="conf"/>; null when librdkafka accepts it, else its reason.</summary>
    private static string? TrySet(nint conf, string key, string value, byte* err)
    {
        fixed (byte* k = Utf8z(key))
        fixed (byte* v = Utf8z(value))
            return rd_kafka_conf_set(conf, k, v, err, 512) == ConfOk ? null : Utf8(err);
    }

    public void Subscribe(IEnumerable<string> topics)
    {
        using var lease = Enter();
        var list = rd_kafka_topic_partition_list_new(4);
        try
        {
            foreach (var t in topics)
                fixed (byte* p = Utf8z(t))
                    rd_kafka_topic_partition_list_add(list, p, -1);
            Check(rd_kafka_subscribe(lease.Rk, list), "subscribe");
        }
        finally
        {
            rd_kafka_topic_partition_list_destroy(list);
        }
    }

    /// <summary>
    /// Adds <paramref name="partitions"/> to the assignment without a consumer group (static assignment, no
    /// <see cref="Subscribe"/>), each starting at its <paramref name="offsets"/> entry (<see cref="OffsetUnset"/>: the
    /// group's committed offset, else <c>auto.offset.reset</c>). Call on the poll thread, between <see cref="Consume"/> calls.
    /// </summary>
    public void AddAssignment(IReadOnlyList<PartitionKey> partitions, IReadOnlyList<long> offsets)
    {
        if (partitions.Count == 0) return;
        using var lease = Enter();
        var list = ToList(partitions, offsets);
        try
        {
            var error = rd_kafka_incremental_assign(lease.Rk, list);
            if (error != 0) throw ErrorObject(error, "assign");
        }
        finally
        {
            rd_kafka_topic_partition_list_destroy(list);
        }
    }

    /// <summary>
    /// The partition ids of <paramref name="topic"/> from a metadata request (waits up to <paramref name="timeoutMs"/>).
    /// Returns false with the error when the topic does not exist or the brokers did not answer.
    /// </summary>
    public bool TryGetPartitions(string topic, int timeoutMs, out int[] partitions, out KafkaError error)
    {
        partitions = [];
        using var lease = Enter();
        nint rkt;
        fixed (byte* t = TopicBytes(topic))
            rkt = rd_kafka_topic_new(lease.Rk, t, 0);
        if (rkt == 0)
        {
            error = new KafkaError(ErrorCode.Local_UnknownTopic, $"topic name '{topic}' was rejected by librdkafka", false);
            return false;
        }
        ClusterMetadata* metadata = null;
        try
        {
            var err = rd_kafka_metadata(lease.Rk, 0, rkt, &metadata, timeoutMs);
            if (err != 0)
            {
                error = MakeError(lease.Rk, err, null);
                return false;
            }
            for (var i = 0; i < metadata->TopicCount; i++)
            {
                var mt = metadata->Topics[i];
                if (Utf8(mt.Topic) != topic) continue;
                if (mt.Err != 0)
                {
                    error = new KafkaError((ErrorCode)mt.Err, ErrorString(mt.Err), false);
                    return false;
                }
                partitions = new int[mt.PartitionCount];
                for (var p = 0; p < mt.PartitionCount; p++) partitions[p] = mt.Partitions[p].Id;
                Array.Sort(partitions);
                error = KafkaError.None;
                return true;
            }
            error = new KafkaError(ErrorCode.UnknownTopicOrPart, "the brokers returned no metadata for the topic", false);
            return false;
        }
        finally
        {
            if (metadata is not null) rd_kafka_metadata_destroy(metadata);
            rd_kafka_topic_destroy(rkt);
        }
    }

    /// <summary>The group's committed offsets of <paramref name="partitions"/> (<see cref="OffsetUnset"/> where none, and
    /// where the coordinator answered for a partition with an error), asking the coordinator.</summary>
    public long[] Committed(IReadOnlyList<PartitionKey> partitions, int timeoutMs) => Committed(partitions, timeoutMs, out _);

    /// <inheritdoc cref="Committed(IReadOnlyList{PartitionKey}, int)"/>
    /// <param name="partitionErrors">How many partitions were answered with an error (their entry is <see cref="OffsetUnset"/>
    /// although they may have a committed offset).</param>
    public long[] Committed(IReadOnlyList<PartitionKey> partitions, int timeoutMs, out int partitionErrors)
    {
        var result = new long[partitions.Count];
        partitionErrors = 0;
        if (partitions.Count == 0) return result;
        using var lease = Enter();
        var list = ToList(partitions, null);
        try
        {
            Check(rd_kafka_committed(lease.Rk, list, timeoutMs), "read the committed offsets");
            for (var i = 0; i < result.Length; i++)
            {
                var ok = i < list->Count && list->Elems[i].Err == 0;
                if (!ok) partitionErrors++;
                result[i] = ok ? list->Elems[i].Offset : OffsetUnset;
            }
            return result;
        }
        finally
        {
            rd_kafka_topic_partition_list_destroy(list);
        }
    }

    /// <summary>
    /// Releases the previous batch and waits up to <paramref name="timeoutMs"/> for messages: with
    /// <paramref name="max"/> 1, returns as soon as one arrives (<c>rd_kafka_consumer_poll</c>); otherwise returns up
    /// to <paramref name="max"/> (at most 1024) once that many arrived or the timeout passed
    /// (<c>rd_kafka_consume_batch_queue</c>). Serves the callbacks. Returns the count; read them with
    /// <see cref="this[int]"/> until the next call or <see cref="ReleaseBatch"/>. Messages may carry an error.
    /// </summary>
    public int Consume(int timeoutMs, int max)
    {
        lock (_pollLock)
        {
            ReleaseBatchLocked();
            using var lease = Enter();
            RebalancedDuringLastConsume = false;
            int n;
            if (max <= 1)
            {
                var m = rd_kafka_consumer_poll(lease.Rk, timeoutMs);
                _batch[0] = (nint)m;
                n = m is null ? 0 : 1;
            }
            else
            {
                fixed (nint* p = _batch)
                    n = (int)rd_kafka_consume_batch_queue(_handle.Queue, timeoutMs, p, (nuint)Math.Min(max, MaxBatch));
                if (n < 0) n = 0;
            }
            _count = n;
            _lastRkt = 0;
            if (_callbackException is { } e)
            {
                _callbackException = null;
                ReleaseBatchLocked();
                e.Throw();
            }
            return n;
        }
    }

    /// <summary>Message <paramref name="index"/> of the current batch; valid until the next <see cref="Consume"/> or <see cref="ReleaseBatch"/>.</summary>
    public ConsumedMessage this[int index]
    {
        get
        {
            if ((uint)index >= (uint)_count) throw new ArgumentOutOfRangeException(nameof(index));
            return new ConsumedMessage(this, (Message*)_batch[index]);
        }
    }

    /// <summary>Destroys the messages of the current batch.</summary>
    public void ReleaseBatch()
    {
        lock (_pollLock) ReleaseBatchLocked();
    }

    private void ReleaseBatchLocked()
    {
        for (var i = 0; i < _count; i++)
            rd_kafka_message_destroy((Message*)_batch[i]);
        _count = 0;
    }

    /// <summary>The current assignment.</summary>
    public List<PartitionKey> Assignment()
    {
        using var lease = Enter();
        TopicPartitionList* list = null;
        Check(rd_kafka_assignment(lease.Rk, &list), "read the assignment");
        try
        {
            return ToKeys(list);
        }
        finally
        {
            rd_kafka_topic_partition_list_destroy(list);
        }
    }

    public void Pause(IReadOnlyList<PartitionKey> partitions) => PauseResume(partitions, pause: true);

    public void Resume(IReadOnlyList<PartitionKey> partitions) => PauseResume(partitions, pause: false);

    private void PauseResume(IReadOnlyList<PartitionKey> partitions, bool pause)
    {
        if (partitions.Count == 0) return;
        using var lease = Enter();
        var list = ToList(partitions, null);
        try
        {
            Check(pause ? rd_kafka_pause_partitions(lease.Rk, list) : rd_kafka_resume_partitions(lease.Rk, list), pause ? "pause" : "resume");
        }
        finally
        {
            rd_kafka_topic_partition_list_destroy(list);
        }
    }

    /// <summary>Commits <paramref name="offsets"/> (the next offset to read, per partition) and waits for the answer.</summary>
    public CommitResult Commit(IReadOnlyList<(PartitionKey Partition, long Offset)> offsets)
    {
        ArgumentNullException.ThrowIfNull(offsets);
        using var lease = Enter();
        var list = rd_kafka_topic_partition_list_new(offsets.Count);
        try
        {
            foreach (var (p, o) in offsets)
                fixed (byte* t = TopicBytes(p.Topic))
                    rd_kafka_topic_partition_list_add(list, t, p.Partition)->Offset = o;
            var err = rd_kafka_commit(lease.Rk, list, 0);
            var perPartition = new KafkaError[offsets.Count];
            for (var i = 0; i < perPartition.Length && i < list->Count; i++)
            {
                var e = list->Elems[i].Err;
                perPartition[i] = e == 0 ? KafkaError.None : new KafkaError((ErrorCode)e, ErrorString(e), false);
            }
            return new CommitResult(MakeError(lease.Rk, err, null), perPartition);
        }
        finally
        {
            rd_kafka_topic_partition_list_destroy(list);
        }
    }

    /// <summary>The low and high watermarks last seen in fetch responses (no request); false when unknown.</summary>
    public bool TryGetWatermarks(PartitionKey partition, out long low, out long high)
    {
        using var lease = Enter();
        long l, h;
        int err;
        fixed (byte* t = TopicBytes(partition.Topic))
            err = rd_kafka_get_watermark_offsets(lease.Rk, t, partition.Partition, &l, &h);
        low = l;
        high = h;
        return err == 0 && h >= 0;
    }

    /// <summary>
    /// The partitions' first offsets (<paramref name="latest"/> false) or their next ones (true), asking their leaders
    /// (ListOffsets, one request per leader; waits up to <paramref name="timeoutMs"/>). Null, with the reason in
    /// <paramref name="error"/>, unless every partition answered. The request also wakes each leader's broker thread in
    /// librdkafka, which then re-checks whether its partitions may be fetched again (<see cref="FetchWaker"/>).
    /// </summary>
    public long[]? ListOffsets(IReadOnlyList<PartitionKey> partitions, bool latest, int timeoutMs, out KafkaError error)
    {
        var result = new long[partitions.Count];
        error = default;
        if (partitions.Count == 0) return result;
        using var lease = Enter();
        // The protocol's special timestamps: -2 asks for the first offset, -1 for the next one.
        var list = ToList(partitions, [.. partitions.Select(_ => latest ? -1L : -2L)]);
        try
        {
            error = MakeError(lease.Rk, rd_kafka_offsets_for_times(lease.Rk, list, timeoutMs), null);
            if (error.Code != ErrorCode.NoError) return null;
            for (var i = 0; i < result.Length; i++)
            {
                if (i >= list->Count || list->Elems[i].Err != 0 || list->Elems[i].Offset < 0)
                {
                    error = i < list->Count ? MakeError(lease.Rk, list->Elems[i].Err, null) : new KafkaError(ErrorCode.Local_Fail, "no answer for a partition", false);
                    return null;
                }
                result[i] = list->Elems[i].Offset;
            }
            return result;
        }
        finally
        {
            rd_kafka_topic_partition_list_destroy(list);
        }
    }

    /// <summary>
    /// Makes a <see cref="Consume"/> waiting on another thread return now (or the next one, if none is waiting), so
    /// that a poll loop told to stop does not first sit out its timeout. Safe from any thread while the consumer is open.
    /// </summary>
    public void Wake()
    {
        using var lease = Enter();
        rd_kafka_queue_yield(_handle.Queue);
    }

    /// <summary>Messages and events waiting in the consumer queue (librdkafka's prefetch, not yet consumed).</summary>
    public long QueuedMessages()
    {
        using var lease = Enter();
        return (long)rd_kafka_queue_length(_handle.Queue);
    }

    /// <summary>Leaves the group (the revocation is served here, on the calling thread) and stops the consumer.</summary>
    public KafkaError Close()
    {
        lock (_pollLock)
        {
            ReleaseBatchLocked();
            using var lease = Enter();
            var err = rd_kafka_consumer_close(lease.Rk);
            if (_callbackException is { } e)
            {
                _callbackException = null;
                e.Throw();
            }
            return MakeError(lease.Rk, err, null);
        }
    }

    /// <summary>Destroys the consumer (closing it first if <see cref="Close"/> was not called).</summary>
    public void Dispose()
    {
        lock (_pollLock)
        {
            if (_handle.IsClosed) return;
            if (!_handle.IsInvalid) ReleaseBatchLocked();
            _handle.Dispose();
        }
    }

    // ---------------------------------------------------------------- message view

    /// <summary>One consumed message, read in place. Valid until the consumer's next <see cref="Consume"/>.</summary>
    public readonly ref struct ConsumedMessage
    {
        private readonly NativeConsumer _consumer;
        private readonly Message* _m;

        internal ConsumedMessage(NativeConsumer consumer, Message* m)
        {
            _consumer = consumer;
            _m = m;
        }

        public ErrorCode Error => (ErrorCode)_m->Err;
        public bool IsPartitionEof => _m->Err == ErrPartitionEof;

        /// <summary>The error of an error message (its payload holds the text, as rd_kafka_message_errstr reads it).</summary>
        public KafkaError GetError()
        {
            if (_m->Err == 0) return KafkaError.None;
            var reason = _m->Payload is not null
                ? Encoding.UTF8.GetString(_m->Payload, checked((int)_m->Len))
                : ErrorString(_m->Err);
            return _consumer.MakeErrorUnleased(_m->Err, reason);
        }

        /// <summary>The topic, one cached string per topic.</summary>
        public string Topic => _consumer.TopicOf(_m->Rkt);
        public int Partition => _m->Partition;
        public long Offset => _m->Offset;
        /// <summary>Milliseconds since the epoch (-1 when the broker sent none).</summary>
        public long TimestampMs => rd_kafka_message_timestamp(_m, null);

        public bool HasValue => _m->Payload is not null;
        public bool HasKey => _m->Key is not null;
        public ReadOnlySpan<byte> Value => new(_m->Payload, checked((int)_m->Len));
        public ReadOnlySpan<byte> Key => new(_m->Key, checked((int)_m->KeyLen));

        /// <summary>The value copied into a new array (null for a null value).</summary>
        public byte[]? ValueArray() => _m->Payload is null ? null : Value.ToArray();
        public byte[]? KeyArray() => _m->Key is null ? null : Key.ToArray();

        /// <summary>The headers in order, copied (null when there are none).</summary>
        public RecordHeader[]? Headers()
        {
            nint hdrs;
            if (rd_kafka_message_headers(_m, &hdrs) != 0) return null;
            var count = (int)rd_kafka_header_cnt(hdrs);
            if (count == 0) return null;
            var result = new RecordHeader[count];
            for (var i = 0; i < count; i++)
            {
                byte* name;
                byte* value;
                nuint size;
                if (rd_kafka_header_get_all(hdrs, (nuint)i, &name, &value, &size) != 0)
                    return result.AsSpan(0, i).ToArray();
                result[i] = new RecordHeader(Utf8(name), value is null ? null : new ReadOnlySpan<byte>(value, checked((int)size)).ToArray());
            }
            return result;
        }
    }

    private string TopicOf(nint rkt)
    {
        if (rkt == _lastRkt) return _lastTopic; // same topic object within one batch: alive, same name
        var name = MemoryMarshal.CreateReadOnlySpanFromNullTerminated(rd_kafka_topic_name(rkt));
        if (!_topics.TryGetValue(rkt, out var cached) || !name.SequenceEqual(cached.Utf8))
        {
            cached = (name.ToArray(), Encoding.UTF8.GetString(name));
            _topics[rkt] = cached;
        }
        _lastRkt = rkt;
        _lastTopic = cached.Name;
        return cached.Name;
    }

    private byte[] TopicBytes(string topic)
    {
        lock (_topicBytes)
        {
            if (!_topicBytes.TryGetValue(topic, out var b))
                _topicBytes[topic] = b = Utf8z(topic);
            return b;
        }
    }

    // ---------------------------------------------------------------- callbacks (run inside Consume / Close / Dispose)

    [UnmanagedCallersOnly]
    private static void OnRebalanceCallback(nint rk, int err, TopicPartitionList* partitions, nint opaque)
    {
        NativeConsumer? self = null;
        try
        {
            self = (NativeConsumer?)GCHandle.FromIntPtr(opaque).Target;
            if (self is null) return;
            self.HandleRebalance(rk, err, partitions);
        }
        catch (Exception e)
        {
            self?.Capture(e);
        }
    }

    private void HandleRebalance(nint rk, int err, TopicPartitionList* partitions)
    {
        RebalancedDuringLastConsume = true;
        var cooperative = Utf8(rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE";
        LastRebalanceCooperative = cooperative;
        var keys = ToKeys(partitions);
        if (err == ErrAssignPartitions)
        {
            IReadOnlyList<long>? offsets = null;
            try
            {
                offsets = _events.OnAssigned(keys);
            }
            catch (Exception e)
            {
                Capture(e); // still take the partitions: the exception stops the consumer at the end of Consume
            }
            var list = ToList(keys, offsets);
            try
            {
                if (cooperative)
                {
                    var error = rd_kafka_incremental_assign(rk, list);
                    if (error != 0) Capture(ErrorObject(error, "incremental assign"));
                }
                else
                {
                    var code = rd_kafka_assign(rk, list);
                    if (code != 0) Capture(new NativeKafkaException(new KafkaError((ErrorCode)code, $"assign failed: {ErrorString(code)}", false)));
                }
            }
            finally
            {
                rd_kafka_topic_partition_list_destroy(list);
            }
        }
        else
        {
            var lost = rd_kafka_assignment_lost(rk) != 0;
            try
            {
                _events.OnRevoked(keys, lost);
            }
            catch (Exception e)
            {
                Capture(e);
            }
            if (cooperative)
            {
                var error = rd_kafka_incremental_unassign(rk, partitions);
                if (error != 0) Capture(ErrorObject(error, "incremental unassign"));
            }
            else
            {
                var code = rd_kafka_assign(rk, null);
                if (code != 0) Capture(new NativeKafkaException(new KafkaError((ErrorCode)code, $"unassign failed: {ErrorString(code)}", false)));
            }
        }
    }

    [UnmanagedCallersOnly]
    private static void OnErrorCallback(nint rk, int err, byte* reason, nint opaque)
    {
        NativeConsumer? self = null;
        try
        {
            self = (NativeConsumer?)GCHandle.FromIntPtr(opaque).Target;
            self?._events.OnError(MakeError(rk, err, Utf8(reason)));
        }
        catch (Exception e)
        {
            self?.Capture(e);
        }
    }

    [UnmanagedCallersOnly]
    private static void OnLogCallback(nint rk, int level, byte* facility, byte* message)
    {
        NativeConsumer? self = null;
        try
        {
            var opaque = rd_kafka_opaque(rk);
            if (opaque == 0) return;
            self = (NativeConsumer?)GCHandle.FromIntPtr(opaque).Target;
            self?._events.OnLog(level, Utf8(facility), Utf8(message));
        }
        catch (Exception e)
        {
            self?.Capture(e);
        }
    }

    private void Capture(Exception e) => _callbackException ??= ExceptionDispatchInfo.Capture(e);

    // ---------------------------------------------------------------- helpers

    private KafkaError MakeErrorUnleased(int code, string reason)
    {
        if (code != ErrFatal) return new KafkaError((ErrorCode)code, reason, false);
        using var lease = Enter();
        return MakeError(lease.Rk, code, reason);
    }

    /// <summary>An error value; <c>ERR__FATAL</c> is resolved to the underlying fatal error.</summary>
    private static KafkaError MakeError(nint rk, int code, string? reason)
    {
        if (code == 0) return KafkaError.None;
        if (code == ErrFatal)
        {
            var buf = stackalloc byte[512];
            var original = rd_kafka_fatal_error(rk, buf, 512);
            if (original != 0) return new KafkaError((ErrorCode)original, Utf8(buf), true);
            return new KafkaError((ErrorCode)code, reason ?? ErrorString(code), true);
        }
        return new KafkaError((ErrorCode)code, reason ?? ErrorString(code), false);
    }

    private static NativeKafkaException ErrorObject(nint error, string what)
    {
        var e = new KafkaError((ErrorCode)rd_kafka_error_code(error), $"{what} failed: {Utf8(rd_kafka_error_string(error))}", false);
        rd_kafka_error_destroy(error);
        return new NativeKafkaException(e);
    }

    private static void Check(int err, string what)
    {
        if (err != 0)
            throw new NativeKafkaException(new KafkaError((ErrorCode)err, $"{what} failed: {ErrorString(err)}", false));
    }

    private static string ErrorString(int err) => Utf8(rd_kafka_err2str(err));

    private static List<PartitionKey> ToKeys(TopicPartitionList* list)
    {
        var keys = new List<PartitionKey>(list is null ? 0 : list->Count);
        if (list is null) return keys;
        for (var i = 0; i < list->Count; i++)
            keys.Add(new PartitionKey(Utf8(list->Elems[i].Topic), list->Elems[i].Partition));
        return keys;
    }

    private TopicPartitionList* ToList(IReadOnlyList<PartitionKey> keys, IReadOnlyList<long>? offsets)
    {
        var list = rd_kafka_topic_partition_list_new(Math.Max(1, keys.Count));
        for (var i = 0; i < keys.Count; i++)
            fixed (byte* t = TopicBytes(keys[i].Topic))
                rd_kafka_topic_partition_list_add(list, t, keys[i].Partition)->Offset =
                    offsets is not null && i < offsets.Count ? offsets[i] : OffsetUnset;
        return list;
    }

    private static byte[] Utf8z(string s)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(s) + 1];
        Encoding.UTF8.GetBytes(s, bytes);
        return bytes;
    }

    private static string Utf8(byte* s) => s is null ? "" : Marshal.PtrToStringUTF8((nint)s) ?? "";

    private Lease Enter()
    {
        var added = false;
        _handle.DangerousAddRef(ref added); // throws ObjectDisposedException once disposed
        return new Lease(_handle);
    }

    private readonly ref struct Lease(ConsumerHandle handle)
    {
        public nint Rk => handle.DangerousGetHandle();
        public void Dispose() => handle.DangerousRelease();
    }

    /// <summary>Owns the rd_kafka_t (and its consumer queue and the GCHandle the callbacks use); destroyed once no call uses it.</summary>
    private sealed class ConsumerHandle() : SafeHandle(0, ownsHandle: true)
    {
        private GCHandle _self;
        public nint Queue;

        public override bool IsInvalid => handle == 0;

        public void Init(nint rk, GCHandle self)
        {
            SetHandle(rk);
            _self = self;
        }

        protected override bool ReleaseHandle()
        {
            if (Queue != 0) rd_kafka_queue_destroy(Queue);
            rd_kafka_destroy(handle); // closes the consumer first if Close was not called (callbacks may run here)
            if (_self.IsAllocated) _self.Free();
            return true;
        }
    }
}

using System.Runtime.InteropServices;
using System.Text;

namespace StreamEnrich.Sources.Kafka.Embedded;

/// <summary>
/// An in-process Kafka cluster: librdkafka's mock cluster, which speaks the real Kafka wire protocol on
/// loopback TCP (produce, fetch, metadata, list offsets, consumer groups, offset commit/fetch, idempotence).
/// Any Kafka client connects to <see cref="BootstrapServers"/>. Data lives in memory only, and each partition
/// keeps at most about 5 MB or 100,000 messages (older ones vanish): use enough partitions for large data sets.
/// Used by the demo, the benchmark and the tests.
/// </summary>
public sealed partial class MockKafkaCluster : IDisposable
{
    private readonly Lock _gate = new();
    private IntPtr _rk;
    private IntPtr _cluster;

    private MockKafkaCluster(IntPtr rk, IntPtr cluster, int brokers)
    {
        _rk = rk;
        _cluster = cluster;
        BrokerCount = brokers;
        BootstrapServers = Marshal.PtrToStringUTF8(Native.rd_kafka_mock_cluster_bootstraps(cluster))
            ?? throw new InvalidOperationException("librdkafka's mock cluster returned no bootstrap address.");
    }

    /// <summary>Comma-separated host:port list of the mock brokers (loopback, free ports).</summary>
    public string BootstrapServers { get; }

    /// <summary>Number of brokers; broker ids are 1..BrokerCount.</summary>
    public int BrokerCount { get; }

    /// <summary>Starts a mock cluster with <paramref name="brokers"/> brokers on free loopback ports.</summary>
    public static MockKafkaCluster Start(int brokers = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokers, 1);
        IntPtr rk;
        try
        {
            var conf = Native.rd_kafka_conf_new();
            // The handle only hosts the cluster; keep it quiet (it has no bootstrap servers of its own).
            Set(conf, "log_level", "3");
            Set(conf, "client.id", "streamenrich-mock-cluster");
            var err = new byte[512];
            rk = Native.rd_kafka_new(0 /* RD_KAFKA_PRODUCER */, conf, err, (nuint)err.Length);
            if (rk == IntPtr.Zero)
            {
                Native.rd_kafka_conf_destroy(conf);
                throw new InvalidOperationException($"Could not create the librdkafka handle for the mock cluster: {CString(err)}");
            }
        }
        catch (DllNotFoundException e)
        {
            throw new InvalidOperationException(
                "librdkafka is not installed (librdkafka.so.1 not found). Install it with `apt-get install librdkafka1`.", e);
        }

        var cluster = Native.rd_kafka_mock_cluster_new(rk, brokers);
        if (cluster == IntPtr.Zero)
        {
            Native.rd_kafka_destroy(rk);
            throw new InvalidOperationException("librdkafka could not start the mock cluster (rd_kafka_mock_cluster_new failed).");
        }
        return new MockKafkaCluster(rk, cluster, brokers);
    }

    /// <summary>Creates a topic (the mock also auto-creates topics on first use, with its default partition count).</summary>
    public void CreateTopic(string name, int partitions, int replicationFactor = 1)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        Check(Native.rd_kafka_mock_topic_create(Handle, name, partitions, replicationFactor), $"create topic '{name}'");
    }

    /// <summary>The next <paramref name="errors"/>.Length requests of type <paramref name="apiKey"/> (e.g. 0 = Produce,
    /// 1 = Fetch, 8 = OffsetCommit, 11 = JoinGroup) fail with these Kafka error codes, in order, on any broker.</summary>
    public void PushRequestErrors(short apiKey, params int[] errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        Native.rd_kafka_mock_push_request_errors_array(Handle, apiKey, (nuint)errors.Length, errors);
    }

    /// <summary>Forgets errors pushed with <see cref="PushRequestErrors"/> for <paramref name="apiKey"/>.</summary>
    public void ClearRequestErrors(short apiKey) => Native.rd_kafka_mock_clear_request_errors(Handle, apiKey);

    /// <summary>Takes a broker down: its connections are closed and new ones refused.</summary>
    public void SetBrokerDown(int brokerId) => Check(Native.rd_kafka_mock_broker_set_down(Handle, brokerId), $"set broker {brokerId} down");

    public void SetBrokerUp(int brokerId) => Check(Native.rd_kafka_mock_broker_set_up(Handle, brokerId), $"set broker {brokerId} up");

    /// <summary>Delays every response of a broker by <paramref name="rttMs"/> milliseconds.</summary>
    public void SetRtt(int brokerId, int rttMs) => Check(Native.rd_kafka_mock_broker_set_rtt(Handle, brokerId, rttMs), $"set rtt of broker {brokerId}");

    public void SetPartitionLeader(string topic, int partition, int brokerId) =>
        Check(Native.rd_kafka_mock_partition_set_leader(Handle, topic, partition, brokerId), $"set leader of {topic}[{partition}]");

    /// <summary>Makes <paramref name="brokerId"/> the coordinator of consumer group <paramref name="groupId"/>.</summary>
    public void SetGroupCoordinator(string groupId, int brokerId) =>
        Check(Native.rd_kafka_mock_coordinator_set(Handle, "group", groupId, brokerId), $"set coordinator of group '{groupId}'");

    /// <summary>Metadata requests for <paramref name="topic"/> return <paramref name="error"/> (0 clears it).</summary>
    public void SetTopicError(string topic, int error) => Native.rd_kafka_mock_topic_set_error(Handle, topic, error);

    public void Dispose()
    {
        lock (_gate)
        {
            if (_cluster != IntPtr.Zero)
            {
                Native.rd_kafka_mock_cluster_destroy(_cluster);
                _cluster = IntPtr.Zero;
            }
            if (_rk != IntPtr.Zero)
            {
                Native.rd_kafka_destroy(_rk);
                _rk = IntPtr.Zero;
            }
        }
    }

    private IntPtr Handle
    {
        get
        {
            var h = _cluster;
            ObjectDisposedException.ThrowIf(h == IntPtr.Zero, this);
            return h;
        }
    }

    private static void Set(IntPtr conf, string name, string value)
    {
        var err = new byte[512];
        if (Native.rd_kafka_conf_set(conf, name, value, err, (nuint)err.Length) != 0)
            throw new InvalidOperationException($"librdkafka rejected {name}={value}: {CString(err)}");
    }

    private static void Check(int err, string what)
    {
        if (err != 0)
            throw new InvalidOperationException($"Mock cluster could not {what}: {Marshal.PtrToStringUTF8(Native.rd_kafka_err2str(err))} (error {err}).");
    }

    private static string CString(byte[] buffer)
    {
        var n = Array.IndexOf(buffer, (byte)0);
        return Encoding.UTF8.GetString(buffer, 0, n < 0 ? buffer.Length : n);
    }

    /// <summary>The C API of rdkafka.h / rdkafka_mock.h. Debian's librdkafka1 provides librdkafka.so.1.</summary>
    private static partial class Native
    {
        private const string Lib = "librdkafka.so.1";

        [LibraryImport(Lib)]
        internal static partial IntPtr rd_kafka_conf_new();

        [LibraryImport(Lib)]
        internal static partial void rd_kafka_conf_destroy(IntPtr conf);

        [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int rd_kafka_conf_set(IntPtr conf, string name, string value, [Out] byte[] errstr, nuint errstrSize);

        [LibraryImport(Lib)]
        internal static partial IntPtr rd_kafka_new(int type, IntPtr conf, [Out] byte[] errstr, nuint errstrSize);

        [LibraryImport(Lib)]
        internal static partial void rd_kafka_destroy(IntPtr rk);

        [LibraryImport(Lib)]
        internal static partial IntPtr rd_kafka_err2str(int err);

        [LibraryImport(Lib)]
        internal static partial IntPtr rd_kafka_mock_cluster_new(IntPtr rk, int brokerCount);

        [LibraryImport(Lib)]
        internal static partial void rd_kafka_mock_cluster_destroy(IntPtr cluster);

        [LibraryImport(Lib)]
        internal static partial IntPtr rd_kafka_mock_cluster_bootstraps(IntPtr cluster);

        [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int rd_kafka_mock_topic_create(IntPtr cluster, string topic, int partitions, int replicationFactor);

        [LibraryImport(Lib)]
        internal static partial void rd_kafka_mock_push_request_errors_array(IntPtr cluster, short apiKey, nuint count, int[] errors);

        [LibraryImport(Lib)]
        internal static partial void rd_kafka_mock_clear_request_errors(IntPtr cluster, short apiKey);

        [LibraryImport(Lib)]
        internal static partial int rd_kafka_mock_broker_set_down(IntPtr cluster, int brokerId);

        [LibraryImport(Lib)]
        internal static partial int rd_kafka_mock_broker_set_up(IntPtr cluster, int brokerId);

        [LibraryImport(Lib)]
        internal static partial int rd_kafka_mock_broker_set_rtt(IntPtr cluster, int brokerId, int rttMs);

        [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int rd_kafka_mock_partition_set_leader(IntPtr cluster, string topic, int partition, int brokerId);

        [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int rd_kafka_mock_coordinator_set(IntPtr cluster, string keyType, string key, int brokerId);

        [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
        internal static partial void rd_kafka_mock_topic_set_error(IntPtr cluster, string topic, int err);
    }
}

using Confluent.Kafka;
using Confluent.Kafka.Admin;
using StreamEnrich.Sources.Kafka.Embedded;

namespace StreamEnrich.Tests.Fixtures;

/// <summary>
/// A Kafka for tests: the cluster named by STREAMENRICH_KAFKA_BROKERS when set, otherwise an in-process
/// librdkafka mock cluster on free loopback ports. Each test creates its own topic and group.
/// </summary>
public sealed class KafkaFixture : IDisposable
{
    private static int s_counter;

    public KafkaFixture()
    {
        var brokers = Environment.GetEnvironmentVariable("STREAMENRICH_KAFKA_BROKERS");
        if (string.IsNullOrWhiteSpace(brokers))
        {
            Cluster = MockKafkaCluster.Start(1);
            BootstrapServers = Cluster.BootstrapServers;
        }
        else
        {
            BootstrapServers = brokers;
        }
    }

    /// <summary>The embedded mock cluster, or null when a real Kafka is used.</summary>
    public MockKafkaCluster? Cluster { get; }

    public string BootstrapServers { get; }

    /// <summary>A name no other test uses.</summary>
    public static string UniqueName(string prefix) =>
        $"{prefix}-{Environment.ProcessId}-{Interlocked.Increment(ref s_counter)}-{Guid.NewGuid().ToString("N")[..6]}";

    /// <summary>Creates a topic with a unique name and returns the name.</summary>
    public string CreateTopic(int partitions, string prefix = "topic") => CreateTopic(UniqueName(prefix), partitions);

    /// <summary>Creates topic <paramref name="name"/> and returns the name.</summary>
    public string CreateTopic(string name, int partitions)
    {
        if (Cluster is not null)
        {
            Cluster.CreateTopic(name, partitions);
        }
        else
        {
            using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = BootstrapServers }).Build();
            admin.CreateTopicsAsync([new TopicSpecification { Name = name, NumPartitions = partitions, ReplicationFactor = 1 }])
                .GetAwaiter().GetResult();
        }
        return name;
    }

    public IProducer<byte[]?, byte[]?> CreateProducer() =>
        new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig
        {
            BootstrapServers = BootstrapServers,
            LingerMs = 5,
            Acks = Acks.All,
            BatchNumMessages = 10_000,
        }).Build();

    /// <summary>Produces <paramref name="count"/> messages, message i to partition i % partitions, and waits for all deliveries.</summary>
    public void Produce(string topic, int partitions, int count, Func<int, Message<byte[]?, byte[]?>> make)
    {
        using var producer = CreateProducer();
        var failed = 0;
        Error? firstError = null;
        for (var i = 0; i < count; i++)
        {
            var tp = new TopicPartition(topic, new Partition(i % partitions));
            while (true)
            {
                try
                {
                    producer.Produce(tp, make(i), r =>
                    {
                        if (r.Error.IsError)
                        {
                            Interlocked.Increment(ref failed);
                            firstError ??= r.Error;
                        }
                    });
                    break;
                }
                catch (ProduceException<byte[]?, byte[]?> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                {
                    producer.Poll(TimeSpan.FromMilliseconds(10));
                }
            }
        }
        if (producer.Flush(TimeSpan.FromSeconds(30)) != 0)
            throw new InvalidOperationException("Test producer did not deliver everything within 30 s.");
        if (failed > 0)
            throw new InvalidOperationException($"{failed} test messages failed: {firstError}");
    }

    /// <summary>The end (high watermark) offset of each partition.</summary>
    public long[] EndOffsets(string topic, int partitions)
    {
        using var consumer = CreateConsumer(UniqueName("watermarks"));
        var result = new long[partitions];
        for (var p = 0; p < partitions; p++)
            result[p] = consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10)).High.Value;
        return result;
    }

    /// <summary>The committed offset of <paramref name="groupId"/> per partition (-1001 = none).</summary>
    public long[] Committed(string topic, int partitions, string groupId)
    {
        using var consumer = CreateConsumer(groupId);
        var tps = Enumerable.Range(0, partitions).Select(p => new TopicPartition(topic, p)).ToList();
        var committed = consumer.Committed(tps, TimeSpan.FromSeconds(10));
        return [.. committed.OrderBy(c => c.Partition.Value).Select(c => c.Offset.Value)];
    }

    /// <summary>Every message currently in the topic, read without a group.</summary>
    public List<ConsumeResult<byte[]?, byte[]?>> ReadAll(string topic, int partitions, TimeSpan? timeout = null)
    {
        var end = EndOffsets(topic, partitions);
        var expected = end.Sum();
        using var consumer = CreateConsumer(UniqueName("reader"));
        consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var result = new List<ConsumeResult<byte[]?, byte[]?>>();
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (result.Count < expected && DateTime.UtcNow < deadline)
        {
            var r = consumer.Consume(TimeSpan.FromMilliseconds(100));
            if (r is not null && !r.IsPartitionEOF) result.Add(r);
        }
        consumer.Close();
        return result;
    }

    public IConsumer<byte[]?, byte[]?> CreateConsumer(string groupId) =>
        new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = BootstrapServers,
            GroupId = groupId,
            EnableAutoCommit = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build();

    public void Dispose() => Cluster?.Dispose();
}

[CollectionDefinition(Name)]
public sealed class KafkaCollection : ICollectionFixture<KafkaFixture>
{
    public const string Name = "Kafka";
}

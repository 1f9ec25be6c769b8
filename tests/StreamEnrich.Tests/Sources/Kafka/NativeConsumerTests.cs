using System.Collections.Concurrent;
using System.Text;
using Confluent.Kafka;
using StreamEnrich.Sources.Kafka;
using StreamEnrich.Sources.Kafka.Native;
using StreamEnrich.Tests.Fixtures;

namespace StreamEnrich.Tests.Sources.Kafka;

[Collection(KafkaCollection.Name)]
public sealed class NativeConsumerTests(KafkaFixture kafka)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private sealed class Events : IConsumerEvents
    {
        public readonly ConcurrentQueue<string> Lines = new();
        public readonly HashSet<PartitionKey> Assigned = [];
        public int Revocations;
        public bool AnyLost;

        public IReadOnlyList<long> OnAssigned(IReadOnlyList<PartitionKey> partitions)
        {
            foreach (var p in partitions) Assigned.Add(p);
            Lines.Enqueue($"assigned {partitions.Count}");
            return partitions.Select(_ => NativeConsumer.OffsetUnset).ToList();
        }

        public void OnRevoked(IReadOnlyList<PartitionKey> partitions, bool lost)
        {
            foreach (var p in partitions) Assigned.Remove(p);
            Revocations++;
            AnyLost |= lost;
            Lines.Enqueue($"revoked {partitions.Count} lost={lost}");
        }

        public void OnError(KafkaError error) => Lines.Enqueue($"error {error.Code} {error.Reason}");
        public void OnLog(int level, string facility, string message) => Lines.Enqueue($"log {facility} {message}");
    }

    private Dictionary<string, string> Config(string group, params (string, string)[] extra)
    {
        var c = new Dictionary<string, string>
        {
            ["bootstrap.servers"] = kafka.BootstrapServers,
            ["group.id"] = group,
            ["enable.auto.commit"] = "false",
            ["auto.offset.reset"] = "earliest",
            ["session.timeout.ms"] = "6000",
            ["heartbeat.interval.ms"] = "500",
            ["topic.metadata.refresh.interval.ms"] = "1000",
        };
        foreach (var (k, v) in extra) c[k] = v;
        return c;
    }

    private sealed record Read(string Topic, int Partition, long Offset, long Timestamp, byte[]? Key, byte[]? Value, StreamEnrich.Records.RecordHeader[]? Headers);

    private static List<Read> ReadUntil(NativeConsumer consumer, Func<List<Read>, bool> done, List<Read>? into = null)
    {
        var result = into ?? [];
        var deadline = DateTime.UtcNow + Timeout;
        while (!done(result))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"read {result.Count} messages");
            var n = consumer.Consume(100, 64);
            for (var i = 0; i < n; i++)
            {
                var m = consumer[i];
                if (m.Error != ErrorCode.NoError) continue;
                result.Add(new Read(m.Topic, m.Partition, m.Offset, m.TimestampMs, m.KeyArray(), m.ValueArray(), m.Headers()));
            }
            consumer.ReleaseBatch();
        }
        return result;
    }

    [Fact]
    public void Consume_KeysHeadersAndNulls_RoundTrip()
    {
        var topic = kafka.CreateTopic(2);
        kafka.Produce(topic, 2, 4, i => new Message<byte[]?, byte[]?>
        {
            Key = i == 0 ? null : BitConverter.GetBytes(i),
            Value = i == 1 ? null : Encoding.UTF8.GetBytes($"v{i}"),
            Headers = i == 2 ? null : new Headers { { "a", Encoding.UTF8.GetBytes($"x{i}") }, { "b", null } },
            Timestamp = new Timestamp(1_700_000_000_000 + i, TimestampType.CreateTime),
        });
        var events = new Events();
        using var consumer = NativeConsumer.Create(Config(KafkaFixture.UniqueName("g")), events);
        consumer.Subscribe([topic]);

        var read = ReadUntil(consumer, r => r.Count >= 4).OrderBy(r => r.Timestamp).ToList();
        Assert.Equal(4, read.Count);
        Assert.All(read, r => Assert.Equal(topic, r.Topic));
        Assert.Null(read[0].Key);
        Assert.Equal(1, BitConverter.ToInt32(read[1].Key!));
        Assert.Null(read[1].Value);
        Assert.Equal("v3", Encoding.UTF8.GetString(read[3].Value!));
        Assert.Equal(1_700_000_000_003, read[3].Timestamp);
        Assert.Null(read[2].Headers);
        var h = read[3].Headers!;
        Assert.Equal(["a", "b"], h.Select(x => x.Key));
        Assert.Equal("x3", Encoding.UTF8.GetString(h[0].Value!));
        Assert.Null(h[1].Value);
        Assert.Equal(2, events.Assigned.Count);
        Assert.False(consumer.Close().IsError);
    }

    [Fact]
    public void Commit_ThenSecondConsumer_StartsAfterCommittedOffsets()
    {
        var topic = kafka.CreateTopic(1);
        var group = KafkaFixture.UniqueName("g");
        kafka.Produce(topic, 1, 10, i => new Message<byte[]?, byte[]?> { Value = BitConverter.GetBytes(i) });
        using (var first = NativeConsumer.Create(Config(group), new Events()))
        {
            first.Subscribe([topic]);
            ReadUntil(first, r => r.Count >= 10);
            var result = first.Commit([(new PartitionKey(topic, 0), 6L)]);
            Assert.False(result.Error.IsError, result.Error.Reason);
            Assert.False(result.PartitionErrors[0].IsError);
            first.Close();
        }
        Assert.Equal(6, kafka.Committed(topic, 1, group)[0]);

        using var second = NativeConsumer.Create(Config(group), new Events());
        second.Subscribe([topic]);
        var again = ReadUntil(second, r => r.Count >= 4);
        Assert.Equal(6, again.Min(r => r.Offset));
        Assert.True(second.TryGetWatermarks(new PartitionKey(topic, 0), out _, out var high));
        Assert.Equal(10, high);
        second.Close();
    }

    [Theory]
    [InlineData("range", false)]
    [InlineData("cooperative-sticky", true)]
    public void Rebalance_SecondMemberJoins_PartitionsSplitThenReturn(string strategy, bool cooperative)
    {
        var topic = kafka.CreateTopic(4);
        var group = KafkaFixture.UniqueName("g");
        var ea = new Events();
        var eb = new Events();
        using var a = NativeConsumer.Create(Config(group, ("partition.assignment.strategy", strategy)), ea);
        a.Subscribe([topic]);
        Spin(a, () => ea.Assigned.Count == 4);
        using var b = NativeConsumer.Create(Config(group, ("partition.assignment.strategy", strategy)), eb);
        b.Subscribe([topic]);
        var deadline = DateTime.UtcNow + Timeout;
        while (!(ea.Assigned.Count == 2 && eb.Assigned.Count == 2))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"split: a {ea.Assigned.Count}, b {eb.Assigned.Count}\n{string.Join("\n", ea.Lines)}");
            a.Consume(50, 64);
            b.Consume(50, 64);
        }
        Assert.Equal(cooperative, a.LastRebalanceCooperative);
        Assert.Equal(2, a.Assignment().Count);
        Assert.Empty(ea.Assigned.Intersect(eb.Assigned));
        if (cooperative) Assert.Contains(ea.Lines, l => l == "revoked 2 lost=False"); // only the moved partitions
        else Assert.Contains(ea.Lines, l => l == "revoked 4 lost=False");
        Assert.False(b.Close().IsError);
        Spin(a, () => ea.Assigned.Count == 4);
        Assert.False(ea.AnyLost);
        a.Close();
    }

    private static void Spin(NativeConsumer c, Func<bool> until)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!until())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition");
            c.Consume(50, 64);
        }
    }

    [Theory]
    [InlineData(1)]  // rd_kafka_consumer_poll (the drain's loop)
    [InlineData(64)] // rd_kafka_consume_batch_queue
    public async Task Wake_ReturnsAConsumeWaitingOnAnotherThreadAtOnce(int max)
    {
        // A consumer with nothing to read (no subscription) waits out the whole timeout unless woken.
        using var consumer = NativeConsumer.Create(Config(KafkaFixture.UniqueName("g")), new Events());
        var waiting = Task.Factory.StartNew(() =>
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            var n = consumer.Consume(20_000, max);
            consumer.ReleaseBatch();
            return (n, sw.Elapsed);
        }, TaskCreationOptions.LongRunning);
        await Task.Delay(300);
        Assert.False(waiting.IsCompleted, "Consume returned before it was woken");

        consumer.Wake();

        var (count, took) = await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, count);
        Assert.True(took < TimeSpan.FromSeconds(5), $"Consume returned after {took} (timeout 20 s)");
    }

    [Fact]
    public void Create_UnknownProperty_ThrowsNamingIt()
    {
        var e = Assert.Throws<ArgumentException>(() => NativeConsumer.Create(Config("g", ("fetch.max.byts", "10")), new Events()));
        Assert.Contains("fetch.max.byts=10", e.Message, StringComparison.Ordinal);
        Assert.Contains("No such configuration property", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_InvalidValue_ThrowsNamingIt()
    {
        var e = Assert.Throws<ArgumentException>(() => NativeConsumer.Create(Config("g", ("session.timeout.ms", "soon")), new Events()));
        Assert.Contains("session.timeout.ms=soon", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Consume_HandlerThrows_RethrownOnThePollingThread()
    {
        var topic = kafka.CreateTopic(1);
        using var c = NativeConsumer.Create(Config(KafkaFixture.UniqueName("g")), new ThrowingEvents());
        c.Subscribe([topic]);
        var deadline = DateTime.UtcNow + Timeout;
        var e = Assert.Throws<InvalidOperationException>(() =>
        {
            while (DateTime.UtcNow < deadline) c.Consume(50, 64);
        });
        Assert.Equal("boom", e.Message);
        Assert.Single(c.Assignment()); // the partitions were still taken
    }

    private sealed class ThrowingEvents : IConsumerEvents
    {
        public IReadOnlyList<long> OnAssigned(IReadOnlyList<PartitionKey> partitions) => throw new InvalidOperationException("boom");
        public void OnRevoked(IReadOnlyList<PartitionKey> partitions, bool lost) { }
        public void OnError(KafkaError error) { }
        public void OnLog(int level, string facility, string message) { }
    }
}

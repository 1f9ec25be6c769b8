using System.Text;
using Confluent.Kafka;
using StreamEnrich.DeadLetter;
using StreamEnrich.Records;
using StreamEnrich.Tests.Fixtures;
using Record = StreamEnrich.Records.Record;

namespace StreamEnrich.Tests.DeadLetter;

[Collection(KafkaCollection.Name)]
public sealed class KafkaDeadLetterSinkTests(KafkaFixture kafka)
{
    internal static Record Failed(int i, byte[]? payload = null)
    {
        var r = new Record(0)
        {
            Topic = "web-events",
            Partition = i % 3,
            Offset = 1000 + i,
            TimestampMs = 1_700_000_000_000 + i,
            Key = Encoding.UTF8.GetBytes($"k{i}"),
            Payload = payload ?? Encoding.UTF8.GetBytes($"{{\"bad\":{i}"),
            Headers = [new RecordHeader("trace", Encoding.UTF8.GetBytes($"t{i}"))],
        };
        r.Fail("deserialize", $"unexpected end of JSON at byte {i}");
        return r;
    }

    private KafkaDeadLetterSink NewSink(string topic, int maxAttempts = 5) =>
        new(topic, "web", KafkaDeadLetterSink.BuildConfig(kafka.BootstrapServers, "web", []), new KafkaTestLogger(), maxAttempts, TimeSpan.FromMilliseconds(50));

    private static string Header(Headers h, string key) => Encoding.UTF8.GetString(h.GetLastBytes(key));

    [Fact]
    public async Task WriteAsync_FailedRecords_TopicHoldsOriginalKeyValueAndEveryHeader()
    {
        var topic = kafka.CreateTopic(1, "dlq");
        var binary = new byte[] { 0xff, 0x00, 0xfe };
        var sink = NewSink(topic);
        await sink.WriteAsync([Failed(1), Failed(2, binary)], CancellationToken.None);
        await sink.DisposeAsync();

        var messages = kafka.ReadAll(topic, 1).OrderBy(m => m.Offset.Value).ToList();
        Assert.Equal(2, messages.Count);
        var m = messages[0].Message;
        Assert.Equal("k1", Encoding.UTF8.GetString(m.Key!));
        Assert.Equal("{\"bad\":1", Encoding.UTF8.GetString(m.Value!));
        Assert.Equal("t1", Header(m.Headers, "trace"));
        Assert.Equal("deserialize", Header(m.Headers, DeadLetterHeaders.Stage));
        Assert.Equal("unexpected end of JSON at byte 1", Header(m.Headers, DeadLetterHeaders.Reason));
        Assert.Equal("web-events", Header(m.Headers, DeadLetterHeaders.SourceTopic));
        Assert.Equal("1", Header(m.Headers, DeadLetterHeaders.SourcePartition));
        Assert.Equal("1001", Header(m.Headers, DeadLetterHeaders.SourceOffset));
        Assert.Equal("1700000000001", Header(m.Headers, DeadLetterHeaders.SourceTimestamp));
        Assert.Equal("web", Header(m.Headers, DeadLetterHeaders.Pipeline));
        Assert.Equal(8, m.Headers.Count);
        Assert.Equal(binary, messages[1].Message.Value);
        Assert.Equal("1002", Header(messages[1].Message.Headers, DeadLetterHeaders.SourceOffset));
    }

    [Fact]
    public async Task WriteAsync_TransientProduceErrors_RetriedAndDeliveredOnce()
    {
        if (kafka.Cluster is null) return; // fault injection needs the mock cluster
        var topic = kafka.CreateTopic(1, "dlq");
        var sink = NewSink(topic);
        await sink.WriteAsync([Failed(0)], CancellationToken.None); // connection and metadata ready

        kafka.Cluster.PushRequestErrors(0, 19, 19, 19 /* NOT_ENOUGH_REPLICAS */);
        try
        {
            await sink.WriteAsync([Failed(1)], CancellationToken.None);
        }
        finally
        {
            kafka.Cluster.ClearRequestErrors(0);
        }
        await sink.DisposeAsync();

        var offsets = kafka.ReadAll(topic, 1).Select(r => Header(r.Message.Headers, DeadLetterHeaders.SourceOffset)).ToList();
        Assert.Equal(["1000", "1001"], offsets); // exactly once each (idempotent producer)
    }

    [Fact]
    public async Task WriteAsync_PermanentError_ThrowsNamingTopicAndCause()
    {
        if (kafka.Cluster is null) return; // fault injection needs the mock cluster
        var topic = kafka.CreateTopic(1, "dlq");
        var sink = NewSink(topic);
        await sink.WriteAsync([Failed(0)], CancellationToken.None);

        kafka.Cluster.PushRequestErrors(0, 29 /* TOPIC_AUTHORIZATION_FAILED */);
        try
        {
            var e = await Assert.ThrowsAsync<DeadLetterException>(() => sink.WriteAsync([Failed(1)], CancellationToken.None));
            Assert.Contains(topic, e.Message, StringComparison.Ordinal);
            Assert.Contains("TopicAuthorizationFailed", e.Message, StringComparison.Ordinal);
            Assert.Contains("Grant", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            kafka.Cluster.ClearRequestErrors(0);
            await sink.DisposeAsync();
        }
    }

    [Fact]
    public void BuildConfig_Defaults_DurableAndOverridable()
    {
        var c = KafkaDeadLetterSink.BuildConfig("b:1", "p", [new("linger.ms", "50")]);
        Assert.Equal("all", c["acks"]);
        Assert.Equal("true", c["enable.idempotence"]);
        Assert.Equal("50", c["linger.ms"]);
        Assert.Equal("b:1", c["bootstrap.servers"]);
    }
}

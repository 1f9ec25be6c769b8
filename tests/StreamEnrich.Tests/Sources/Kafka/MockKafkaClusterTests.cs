using System.Text;
using Confluent.Kafka;
using StreamEnrich.Tests.Fixtures;

namespace StreamEnrich.Tests.Sources.Kafka;

[Collection(KafkaCollection.Name)]
public sealed class MockKafkaClusterTests(KafkaFixture kafka)
{
    [Fact]
    public void CreateTopic_ProduceThenReadAll_ReturnsEveryMessageAndEndOffsets()
    {
        var topic = kafka.CreateTopic(3);
        kafka.Produce(topic, 3, 300, i => new Message<byte[]?, byte[]?> { Key = [(byte)i], Value = Encoding.UTF8.GetBytes($"m{i}") });

        Assert.Equal([100L, 100L, 100L], kafka.EndOffsets(topic, 3));
        var all = kafka.ReadAll(topic, 3);
        Assert.Equal(300, all.Count);
        Assert.Equal(Enumerable.Range(0, 300).Select(i => $"m{i}").Order(), all.Select(r => Encoding.UTF8.GetString(r.Message.Value!)).Order());
    }

    [Fact]
    public async Task PushRequestErrors_ProduceWithNonRetriableError_DeliveryFails()
    {
        if (kafka.Cluster is null) return; // fault injection needs the mock cluster
        var topic = kafka.CreateTopic(1);
        using var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers }).Build();
        await producer.ProduceAsync(topic, new Message<byte[]?, byte[]?> { Value = [1] }); // metadata warm

        kafka.Cluster!.PushRequestErrors(0, 29 /* TOPIC_AUTHORIZATION_FAILED */);
        var e = await Assert.ThrowsAsync<ProduceException<byte[]?, byte[]?>>(
            () => producer.ProduceAsync(topic, new Message<byte[]?, byte[]?> { Value = [2] }));
        Assert.Equal(ErrorCode.TopicAuthorizationFailed, e.Error.Code);
    }

    [Fact]
    public async Task SetRtt_ProduceRoundTrip_TakesAtLeastTheRtt()
    {
        if (kafka.Cluster is null) return; // fault injection needs the mock cluster
        var topic = kafka.CreateTopic(1);
        using var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers }).Build();
        await producer.ProduceAsync(topic, new Message<byte[]?, byte[]?> { Value = [1] });
        kafka.Cluster.SetRtt(1, 400);
        try
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            await producer.ProduceAsync(topic, new Message<byte[]?, byte[]?> { Value = [2] });
            Assert.True(sw.ElapsedMilliseconds >= 350, $"took {sw.ElapsedMilliseconds} ms");
        }
        finally
        {
            kafka.Cluster.SetRtt(1, 0);
        }
    }

    [Fact]
    public async Task SetBrokerDown_ThenUp_ProduceWaitsAndSucceeds()
    {
        if (kafka.Cluster is null) return; // fault injection needs the mock cluster
        var topic = kafka.CreateTopic(1);
        using var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers }).Build();
        await producer.ProduceAsync(topic, new Message<byte[]?, byte[]?> { Value = [1] });
        kafka.Cluster.SetBrokerDown(1);
        Task<DeliveryResult<byte[]?, byte[]?>> pending;
        try
        {
            pending = producer.ProduceAsync(topic, new Message<byte[]?, byte[]?> { Value = [2] });
            await Task.Delay(1000);
            Assert.False(pending.IsCompleted, "delivered while the only broker was down");
        }
        finally
        {
            kafka.Cluster.SetBrokerUp(1);
        }
        var result = await pending.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(1, result.Offset.Value);
    }
}

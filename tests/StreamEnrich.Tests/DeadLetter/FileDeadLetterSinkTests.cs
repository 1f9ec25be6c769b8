using System.Text;
using System.Text.Json;
using StreamEnrich.Configuration;
using StreamEnrich.DeadLetter;
using StreamEnrich.Tests.Fixtures;

namespace StreamEnrich.Tests.DeadLetter;

public sealed class FileDeadLetterSinkTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "se-dlq-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static List<JsonElement> Lines(string path) =>
        [.. File.ReadAllLines(path).Select(l => JsonDocument.Parse(l).RootElement)];

    [Fact]
    public async Task WriteAsync_Records_OneJsonLinePerRecordWithEveryField()
    {
        var path = Path.Combine(_dir, "sub", "dlq.jsonl");
        var sink = new FileDeadLetterSink(path, "web");
        await sink.WriteAsync([KafkaDeadLetterSinkTests.Failed(1), KafkaDeadLetterSinkTests.Failed(2, [0xff, 0x00, 0xfe])], CancellationToken.None);

        var lines = Lines(path); // readable before dispose: flushed when WriteAsync returned
        Assert.Equal(2, lines.Count);
        var l = lines[0];
        Assert.Equal("web", l.GetProperty(DeadLetterHeaders.Pipeline).GetString());
        Assert.Equal("deserialize", l.GetProperty(DeadLetterHeaders.Stage).GetString());
        Assert.Equal("unexpected end of JSON at byte 1", l.GetProperty(DeadLetterHeaders.Reason).GetString());
        Assert.Equal("web-events", l.GetProperty(DeadLetterHeaders.SourceTopic).GetString());
        Assert.Equal(1, l.GetProperty(DeadLetterHeaders.SourcePartition).GetInt32());
        Assert.Equal(1001, l.GetProperty(DeadLetterHeaders.SourceOffset).GetInt64());
        Assert.Equal(1_700_000_000_001, l.GetProperty(DeadLetterHeaders.SourceTimestamp).GetInt64());
        Assert.Equal("k1", l.GetProperty("key").GetString());
        Assert.Equal("{\"bad\":1", l.GetProperty("value").GetString());
        Assert.False(l.TryGetProperty("value_encoding", out _));
        var h = Assert.Single(l.GetProperty("headers").EnumerateArray());
        Assert.Equal("trace", h.GetProperty("key").GetString());
        Assert.Equal("t1", h.GetProperty("value").GetString());

        Assert.Equal("base64", lines[1].GetProperty("value_encoding").GetString());
        Assert.Equal(new byte[] { 0xff, 0x00, 0xfe }, lines[1].GetProperty("value").GetBytesFromBase64());
        await sink.DisposeAsync();
    }

    [Fact]
    public async Task WriteAsync_ConcurrentWritersAndReopen_AppendsWholeLines()
    {
        var path = Path.Combine(_dir, "dlq.jsonl");
        var sink = new FileDeadLetterSink(path, "web");
        await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 25; i++)
                await sink.WriteAsync([KafkaDeadLetterSinkTests.Failed(w * 100 + i), KafkaDeadLetterSinkTests.Failed(w * 100 + i + 50)], CancellationToken.None);
        })));
        await sink.DisposeAsync();

        await using (var again = new FileDeadLetterSink(path, "web"))
            await again.WriteAsync([KafkaDeadLetterSinkTests.Failed(9999)], CancellationToken.None);

        var lines = Lines(path); // every line parses: no interleaving
        Assert.Equal(8 * 25 * 2 + 1, lines.Count);
        Assert.Equal(lines.Count, lines.Select(l => l.GetProperty(DeadLetterHeaders.SourceOffset).GetInt64()).Distinct().Count());
        Assert.Equal(1000 + 9999, lines[^1].GetProperty(DeadLetterHeaders.SourceOffset).GetInt64());
    }

    [Fact]
    public async Task Create_FileOption_ReturnsFileSink()
    {
        var path = Path.Combine(_dir, "f.jsonl");
        await using var sink = DeadLetterSinkFactory.Create(new DeadLetterOptions { File = path }, new KafkaSourceOptions { Brokers = "b:1" }, "p", new KafkaTestLogger());
        Assert.IsType<FileDeadLetterSink>(sink);
        Assert.Equal($"file {Path.GetFullPath(path)}", sink.Description);
    }

    [Fact]
    public async Task Create_TopicOption_ReturnsKafkaSinkOnSourceCluster()
    {
        var source = new KafkaSourceOptions { Brokers = "127.0.0.1:1", Properties = { ["sasl.mechanism"] = "PLAIN", ["fetch.max.bytes"] = "1" } };
        await using var sink = DeadLetterSinkFactory.Create(new DeadLetterOptions { Topic = "web-dlq" }, source, "p", new KafkaTestLogger());
        Assert.IsType<KafkaDeadLetterSink>(sink);
        Assert.Equal("kafka topic web-dlq", sink.Description);
    }

    [Fact]
    public void ProducerConfig_SourceWithSecurity_InheritsSecurityNotConsumerSettings()
    {
        var source = new KafkaSourceOptions
        {
            Brokers = "k:9093",
            Properties = { ["security.protocol"] = "sasl_ssl", ["sasl.username"] = "u", ["ssl.ca.location"] = "/ca.pem", ["fetch.max.bytes"] = "1" },
        };
        var c = DeadLetterSinkFactory.ProducerConfig(new DeadLetterOptions { Topic = "t", Properties = { ["sasl.username"] = "dlq-user" } }, source, "p");
        Assert.Equal("k:9093", c["bootstrap.servers"]);
        Assert.Equal("sasl_ssl", c["security.protocol"]);
        Assert.Equal("/ca.pem", c["ssl.ca.location"]);
        Assert.Equal("dlq-user", c["sasl.username"]); // dead_letter.properties win
        Assert.False(c.ContainsKey("fetch.max.bytes")); // consumer-only settings stay with the consumer
    }

    [Fact]
    public async Task WriteAsync_Utf8Key_WrittenAsText()
    {
        var path = Path.Combine(_dir, "k.jsonl");
        await using (var sink = new FileDeadLetterSink(path, "p"))
        {
            var r = KafkaDeadLetterSinkTests.Failed(3);
            r.Key = Encoding.UTF8.GetBytes("clé");
            r.Headers = null;
            await sink.WriteAsync([r], CancellationToken.None);
        }
        var l = Assert.Single(Lines(path));
        Assert.Equal("clé", l.GetProperty("key").GetString());
        Assert.False(l.TryGetProperty("headers", out _));
    }
}

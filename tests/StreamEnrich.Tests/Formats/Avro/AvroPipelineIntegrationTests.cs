using System.Globalization;
using System.Numerics;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using StreamEnrich.Configuration;
using StreamEnrich.Pipeline;
using StreamEnrich.Tests.Fixtures;
using StreamEnrich.Tests.Pipeline;

namespace StreamEnrich.Tests.Formats.Avro;

/// <summary>
/// `format: avro` end to end: Confluent wire-format Avro messages on the embedded broker, schemas in a fake Schema
/// Registry (Kestrel), the real engine, a real ClickHouse table. Messages are encoded by a test-side encoder
/// (<see cref="AvroPipelineWireFormat"/>), not by the engine's code.
/// </summary>
[Collection("Integration")]
public sealed class AvroPipelineIntegrationTests(ClickHouseServerFixture clickhouse, KafkaFixture kafka)
{
    private const string OrderV1 = """
        {"type": "record", "name": "Order", "namespace": "test.shop", "fields": [
          {"name": "id", "type": "int"},
          {"name": "customer", "type": {"type": "record", "name": "Customer", "fields": [
            {"name": "name", "type": "string"},
            {"name": "address", "type": {"type": "record", "name": "Address", "fields": [{"name": "city", "type": "string"}]}}]}},
          {"name": "note", "type": ["null", "string"], "default": null},
          {"name": "created", "type": {"type": "long", "logicalType": "timestamp-millis"}},
          {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}},
          {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["NEW", "PAID", "CANCELLED"]}},
          {"name": "items", "type": {"type": "array", "items": "long"}},
          {"name": "kind", "type": "string"}
        ]}
        """;

    // v2 adds a field with a default (a backward-compatible change, registered as a new id).
    private static readonly string OrderV2 = OrderV1.Replace(
        """{"name": "kind", "type": "string"}""",
        """{"name": "kind", "type": "string"}, {"name": "channel", "type": "string", "default": "web"}""", StringComparison.Ordinal);

    private const string Columns = """
        id UInt32, customer_name String, city String, note Nullable(String), created DateTime, amount Decimal(12, 2),
        order_status Enum8('NEW' = 1, 'PAID' = 2, 'CANCELLED' = 3), items Array(Int64), channel String DEFAULT 'none',
        kafka_partition UInt16, kafka_offset UInt64
        """;

    private static readonly string[] Statuses = ["NEW", "PAID", "CANCELLED"];
    private static readonly DateTimeOffset Epoch = new(2026, 11, 20, 10, 0, 0, TimeSpan.Zero);

    private static bool IsV2(int i) => i % 2 == 1;
    private static bool IsTest(int i) => i % 10 == 9;
    private static string? Note(int i) => i % 3 == 0 ? null : $"note {i} ü";
    private static BigInteger Unscaled(int i) => (i % 4 == 0 ? -1 : 1) * (i * 100L + 37);
    private static long[] Items(int i) => i % 5 == 0 ? [] : [i, -i, 1L << 40];
    private static string Channel(int i) => $"ch{i % 4}";

    /// <summary>Order <paramref name="i"/> in v1 or v2 of the schema (v2 appends <c>channel</c>).</summary>
    private static byte[] Order(int i, int schemaId, bool v2)
    {
        var w = AvroPipelineWireFormat.Confluent(schemaId)
            .Long(i)
            .String($"customer-{i}").String($"city-{i % 7}");
        if (Note(i) is { } note) w.Branch(1).String(note);
        else w.Branch(0);
        w.Long(Epoch.AddSeconds(i).ToUnixTimeMilliseconds())
            .Decimal(Unscaled(i))
            .Long(i % 3)
            .LongArray(Items(i))
            .String(IsTest(i) ? "test" : "real");
        if (v2) w.String(Channel(i));
        return w.ToArray();
    }

    private string Yaml(string topic, string table, string group, string registryUrl, string extraFormat = "", string extra = "") => $$"""
        name: {{group}}
        source:
          brokers: {{kafka.BootstrapServers}}
          topic: {{topic}}
          group_id: {{group}}
          commit_interval: 200ms
          chunk_size: 50
          properties:
            session.timeout.ms: "6000"
            heartbeat.interval.ms: "500"
        format:
          type: avro
          registry: { url: "{{registryUrl}}", max_retries: 1 }
        {{extraFormat}}
        stages:
          - type: rename
            fields: { status: order_status }
          - type: filter
            where: kind != "test"
        sink:
          url: {{clickhouse.Url}}
          table: {{table}}
          columns: { customer_name: customer.name, city: customer.address.city, kafka_partition: _partition, kafka_offset: _offset }
          retry_backoff: 100ms
          retry_max_backoff: 1s
        batch:
          max_rows: 500
          max_wait: 200ms
        parallelism: 2
        {{extra}}
        """;

    private async Task<long> CountAsync(string table) =>
        long.Parse((await clickhouse.QueryAsync($"SELECT count() FROM default.{table}")).Trim(), CultureInfo.InvariantCulture);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Run_AvroV1AndV2Interleaved_EveryColumnExactBadMessagesDeadLetteredOffsetsCommitted(bool readerSchema)
    {
        const int n = 400;
        await using var registry = await SchemaRegistryServer.StartAsync(firstId: 100);
        var idV1 = registry.Register("orders-value", OrderV1);
        var idV2 = registry.Register("orders-value", OrderV2);
        var topic = kafka.CreateTopic(2, "avro-orders");
        var dlq = kafka.CreateTopic(1, "avro-dlq");
        var table = await clickhouse.CreateUniqueTableAsync(Columns, "MergeTree ORDER BY id");
        kafka.Produce(topic, 2, n + 2, i => new Message<byte[]?, byte[]?>
        {
            Key = Encoding.UTF8.GetBytes($"k{i}"),
            Value = i switch
            {
                n => Order(1, 4242, v2: false),                        // unknown schema id (partition 0)
                n + 1 => "{\"id\": 1}"u8.ToArray(),                    // not the wire format: magic byte '{' (partition 1)
                _ => IsV2(i) ? Order(i, idV2, v2: true) : Order(i, idV1, v2: false),
            },
        });
        var group = KafkaFixture.UniqueName("g");
        var files = readerSchema ? new Dictionary<string, string> { ["order-v2.avsc"] = OrderV2 } : null;
        var yaml = Yaml(topic, table, group, registry.Url, readerSchema ? "  reader_schema: order-v2.avsc" : "",
            $"on_error: dead_letter\ndead_letter:\n  topic: {dlq}");

        await using var h = await PipelineHarness.StartAsync(yaml, files);
        var expected = Enumerable.Range(0, n).Where(i => !IsTest(i)).ToList();
        await PipelineHarness.WaitUntilAsync(async () =>
        {
            var c = await CountAsync(table);
            return (c >= expected.Count && h.Runner.Metrics.Take().DeadLettered >= 2, $"{c} rows");
        }, TimeSpan.FromSeconds(60), $"{expected.Count} rows and 2 dead letters", h.Run);
        await h.StopAsync();

        // Every row, every column, as ClickHouse renders it.
        var actual = (await clickhouse.QueryAsync($"SELECT id, customer_name, city, note, created, amount, order_status, items, channel FROM default.{table} ORDER BY id FORMAT TabSeparated"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var want = expected.Select(i => string.Join('\t',
            i.ToString(CultureInfo.InvariantCulture),
            $"customer-{i}",
            $"city-{i % 7}",
            Note(i) ?? "\\N",
            Epoch.AddSeconds(i).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
            FormatDecimal(Unscaled(i)),
            Statuses[i % 3],
            "[" + string.Join(',', Items(i)) + "]",
            IsV2(i) ? Channel(i) : readerSchema ? "web" : "none")).ToArray();
        Assert.Equal(want, actual);
        Assert.Equal(expected.Count.ToString(CultureInfo.InvariantCulture), (await clickhouse.QueryAsync($"SELECT uniqExact(kafka_partition, kafka_offset) FROM default.{table}")).Trim());

        var dead = kafka.ReadAll(dlq, 1, TimeSpan.FromSeconds(10));
        Assert.Equal(2, dead.Count);
        string H(ConsumeResult<byte[]?, byte[]?> m, string k) => Encoding.UTF8.GetString(m.Message.Headers.GetLastBytes(k));
        var unknown = dead.Single(m => Encoding.UTF8.GetString(m.Message.Key!) == $"k{n}");
        Assert.Equal("deserialize", H(unknown, "streamenrich.error.stage"));
        Assert.Contains("unknown schema id 4242", H(unknown, "streamenrich.error.reason"), StringComparison.Ordinal);
        Assert.Equal(topic, H(unknown, "streamenrich.source.topic"));
        Assert.Equal("0", H(unknown, "streamenrich.source.partition"));
        Assert.Equal(Order(1, 4242, v2: false), unknown.Message.Value);
        var badMagic = dead.Single(m => Encoding.UTF8.GetString(m.Message.Key!) == $"k{n + 1}");
        Assert.Equal("deserialize", H(badMagic, "streamenrich.error.stage"));
        Assert.Contains("magic byte 0x7B", H(badMagic, "streamenrich.error.reason"), StringComparison.Ordinal);
        Assert.Equal("1", H(badMagic, "streamenrich.source.partition"));
        Assert.Equal("{\"id\": 1}", Encoding.UTF8.GetString(badMagic.Message.Value!));

        Assert.Equal(kafka.EndOffsets(topic, 2), kafka.Committed(topic, 2, group));
        Assert.Equal(h.Runner.Metrics.Take().Filtered, Enumerable.Range(0, n).Count(IsTest));
        // Each id was fetched from the registry once, not per message.
        Assert.Equal(1, registry.Requests.Count(r => r == $"/schemas/ids/{idV1}"));
        Assert.Equal(1, registry.Requests.Count(r => r == $"/schemas/ids/{idV2}"));
    }

    [Fact]
    public async Task Run_RegistryStoppedAfterIdsCached_LaterMessagesWithKnownIdsAllArrive()
    {
        await using var registry = await SchemaRegistryServer.StartAsync();
        var idV1 = registry.Register("orders-value", OrderV1);
        var idV2 = registry.Register("orders-value", OrderV2);
        var topic = kafka.CreateTopic(2, "avro-outage");
        var table = await clickhouse.CreateUniqueTableAsync(Columns, "MergeTree ORDER BY id");
        byte[] Make(int i) => IsV2(i) ? Order(i, idV2, v2: true) : Order(i, idV1, v2: false);
        static int Real(int i) => i - i / 10; // ids 0..i-1 without the test orders
        kafka.Produce(topic, 2, 100, i => new Message<byte[]?, byte[]?> { Value = Make(i) });
        var group = KafkaFixture.UniqueName("g");
        await using var h = await PipelineHarness.StartAsync(Yaml(topic, table, group, registry.Url, extra: "on_error: fail"));
        await PipelineHarness.WaitUntilAsync(async () => { var c = await CountAsync(table); return (c >= Real(100), $"{c} rows"); }, TimeSpan.FromSeconds(60), "the first rows", h.Run);

        await registry.StopAsync();
        kafka.Produce(topic, 2, 300, i => new Message<byte[]?, byte[]?> { Value = Make(100 + i) });
        await PipelineHarness.WaitUntilAsync(async () => { var c = await CountAsync(table); return (c >= Real(400), $"{c} rows"); }, TimeSpan.FromSeconds(60), "the rows produced during the outage", h.Run);
        await h.StopAsync();

        Assert.Equal(Real(400), await CountAsync(table));
        var expectedSum = Enumerable.Range(0, 400).Where(i => !IsTest(i)).Sum(i => (long)i);
        Assert.Equal(expectedSum.ToString(CultureInfo.InvariantCulture), (await clickhouse.QueryAsync($"SELECT sum(id) FROM default.{table}")).Trim());
        Assert.Equal(0, h.Runner.Metrics.Take().DeadLettered);
        Assert.Equal(kafka.EndOffsets(topic, 2), kafka.Committed(topic, 2, group));
    }

    /// <summary>Builds and starts a pipeline like <see cref="PipelineHarness.StartAsync"/>, logging into <paramref name="log"/>.</summary>
    private static async Task<(PipelineRunner Runner, Task Run, CancellationTokenSource Stop, CancellationTokenSource Abort)> StartLoggedAsync(string yaml, KafkaTestLogger log)
    {
        var (pipeline, _) = PipelineHarness.Load(yaml); // a temp folder, as the harness makes
        var loggers = LoggerFactory.Create(b => b.AddProvider(new SingleLoggerProvider(log)));
        var host = new PipelineHost(new PipelineBuilder(StageRegistry.CreateDefault(), loggers, TimeProvider.System), loggers, TimeProvider.System, TimeSpan.Zero);
        var runner = await host.BuildAsync(pipeline, [], CancellationToken.None);
        var stop = new CancellationTokenSource();
        var abort = new CancellationTokenSource();
        var run = Task.Run(() => runner.RunAsync(stop.Token, abort.Token));
        return (runner, run, stop, abort);
    }

    private sealed class SingleLoggerProvider(ILogger logger) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => logger;
        public void Dispose() { }
    }

    [Fact]
    public async Task Run_RegistryReturns503BeforeFirstMessageOfNewId_HeldBackNotCommittedThenEveryRowOnce()
    {
        await using var registry = await SchemaRegistryServer.StartAsync();
        var idV1 = registry.Register("orders-value", OrderV1);
        var idV2 = registry.Register("orders-value", OrderV2);
        var topic = kafka.CreateTopic(2, "avro-new-id-outage");
        var table = await clickhouse.CreateUniqueTableAsync(Columns, "MergeTree ORDER BY id");
        static int Real(int n) => Enumerable.Range(0, n).Count(i => !IsTest(i));
        const int before = 100, during = 1000;
        kafka.Produce(topic, 2, before, i => new Message<byte[]?, byte[]?> { Value = Order(i, idV1, v2: false) });
        var group = KafkaFixture.UniqueName("g");
        var log = new KafkaTestLogger();
        var yaml = Yaml(topic, table, group, registry.Url, extra: "on_error: dead_letter\ndead_letter:\n  file: dead.jsonl")
            .Replace("max_retries: 1 }", "max_retries: 1, retry_backoff: 50ms, retry_max_backoff: 300ms }", StringComparison.Ordinal);
        var (runner, run, stop, abort) = await StartLoggedAsync(yaml, log);
        try
        {
            await PipelineHarness.WaitUntilAsync(async () => { var c = await CountAsync(table); return (c >= Real(before), $"{c} rows"); }, TimeSpan.FromSeconds(60), "the rows of the cached schema id", run);
            var committedBefore = kafka.EndOffsets(topic, 2);
            await PipelineHarness.WaitUntilAsync(() => Task.FromResult((kafka.Committed(topic, 2, group).SequenceEqual(committedBefore), string.Join(",", kafka.Committed(topic, 2, group)))),
                TimeSpan.FromSeconds(30), "the first commit", run);

            // The registry fails every request from now on; the next messages carry a schema id never fetched.
            registry.FailNext(int.MaxValue);
            kafka.Produce(topic, 2, during, i => new Message<byte[]?, byte[]?> { Value = Order(before + i, idV2, v2: true) });
            await PipelineHarness.WaitUntilAsync(() => Task.FromResult((log.Count($"Schema id {idV2} (message values) is not cached") >= 3 && runner.StatusLine().Contains("paused", StringComparison.Ordinal),
                runner.StatusLine() + "\n" + log)), TimeSpan.FromSeconds(60), "outage warnings and a paused consumer", run);

            Assert.False(run.IsCompleted, "the pipeline must wait for the registry, not stop");
            Assert.Equal(Real(before), await CountAsync(table));
            Assert.Equal(0, runner.Metrics.Take().DeadLettered);
            Assert.Equal(committedBefore, kafka.Committed(topic, 2, group));
            var warning = log.Lines.First(l => l.Message.Contains($"Schema id {idV2}", StringComparison.Ordinal));
            Assert.Equal(LogLevel.Warning, warning.Level);
            Assert.Contains(registry.Url, warning.Message);
            Assert.Contains("HTTP 503", warning.Message);

            registry.FailNext(0);
            await PipelineHarness.WaitUntilAsync(async () => { var c = await CountAsync(table); return (c >= Real(before + during), $"{c} rows"); }, TimeSpan.FromSeconds(60), "the held-back rows", run);
            await stop.CancelAsync();
            await run.WaitAsync(TimeSpan.FromSeconds(60));
        }
        finally
        {
            abort.CancelAfter(TimeSpan.FromSeconds(20));
            try { await run; } catch (Exception) { /* asserted above */ }
        }

        Assert.Equal(Real(before + during), await CountAsync(table));
        Assert.Equal(Real(before + during).ToString(CultureInfo.InvariantCulture), (await clickhouse.QueryAsync($"SELECT uniqExact(kafka_partition, kafka_offset) FROM default.{table}")).Trim());
        var expectedSum = Enumerable.Range(0, before + during).Where(i => !IsTest(i)).Sum(i => (long)i);
        Assert.Equal(expectedSum.ToString(CultureInfo.InvariantCulture), (await clickhouse.QueryAsync($"SELECT sum(id) FROM default.{table}")).Trim());
        Assert.Equal(Enumerable.Range(before, during).Count(i => !IsTest(i)).ToString(CultureInfo.InvariantCulture),
            (await clickhouse.QueryAsync($"SELECT count() FROM default.{table} WHERE id >= {before} AND channel != 'none'")).Trim());
        Assert.Equal(0, runner.Metrics.Take().DeadLettered);
        Assert.Equal(kafka.EndOffsets(topic, 2), kafka.Committed(topic, 2, group));
        Assert.Equal(1, log.Count($"answered for schema id {idV2}"));
    }

    [Fact]
    public async Task Run_RegistryRefusesCredentialsForNewId_PipelineFailsNamingTheOptions()
    {
        await using var registry = await SchemaRegistryServer.StartAsync();
        var idV1 = registry.Register("orders-value", OrderV1);
        registry.RequiredAuthorization = "Basic c29tZW9uZTplbHNl";
        var topic = kafka.CreateTopic(1, "avro-401");
        var table = await clickhouse.CreateUniqueTableAsync(Columns, "MergeTree ORDER BY id");
        kafka.Produce(topic, 1, 10, i => new Message<byte[]?, byte[]?> { Value = Order(i, idV1, v2: false) });
        var group = KafkaFixture.UniqueName("g");
        await using var h = await PipelineHarness.StartAsync(Yaml(topic, table, group, registry.Url, extra: "on_error: dead_letter\ndead_letter:\n  file: dead.jsonl"));

        var e = await Assert.ThrowsAsync<PipelineFailedException>(() => h.Run.WaitAsync(TimeSpan.FromSeconds(60)));

        Assert.Contains($"refused access to schema id {idV1} (HTTP 401", e.Message);
        Assert.Contains("`user` and `password` (basic auth) or `token` (bearer) of the `registry` section", e.Message);
        Assert.Equal(0, await CountAsync(table));
        Assert.Equal(0, h.Runner.Metrics.Take().DeadLettered);
        Assert.All(kafka.Committed(topic, 1, group), o => Assert.True(o <= 0, $"committed offset {o}"));
    }

    private static string FormatDecimal(BigInteger unscaled) =>
        (decimal.Parse(unscaled.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture) / 100m).ToString("0.00", CultureInfo.InvariantCulture);
}

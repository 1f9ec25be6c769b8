using System.Globalization;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using StreamEnrich.Configuration;
using StreamEnrich.Pipeline;
using StreamEnrich.Tests.Fixtures;

namespace StreamEnrich.Tests.Pipeline;

[CollectionDefinition("Integration")]
public sealed class IntegrationCollection : ICollectionFixture<ClickHouseServerFixture>, ICollectionFixture<KafkaFixture>;

/// <summary>
/// End to end: real Kafka wire protocol (librdkafka mock cluster) → the engine → a real ClickHouse server.
/// Each test uses its own topic and table and asserts both the rows and the committed offsets.
/// </summary>
[Collection("Integration")]
public sealed class PipelineIntegrationTests(ClickHouseServerFixture clickhouse, KafkaFixture kafka)
{
    private const string AllTypesColumns = """
        id UInt32, i8 Int8, i16 Int16, i64 Int64, u64 UInt64, f32 Float32, f64 Float64, d Decimal(18, 4),
        s String, fs FixedString(3), day Date, ts DateTime, uid UUID, e Enum8('a' = 1, 'b' = 2),
        ns Nullable(String), arr Array(Int32), kafka_partition UInt16, kafka_offset UInt64
        """;

    private static byte[] AllTypesEvent(int id) => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["id"] = id,
        ["i8"] = id % 100 - 50,
        ["i16"] = -id,
        ["i64"] = id * 1_000_000_000_000L,
        ["u64"] = ulong.MaxValue - (ulong)id,
        ["f32"] = id + 0.5,
        ["f64"] = id / 4.0,
        ["d"] = $"{id}.1234",
        ["s"] = $"name-{id}-ü",
        ["fs"] = "abc",
        ["day"] = "2026-11-20",
        ["ts"] = $"2026-11-20T10:{id % 60:D2}:00Z",
        ["uid"] = new Guid(id, 0, 0, [1, 2, 3, 4, 5, 6, 7, 8]).ToString(),
        ["e"] = id % 2 == 0 ? "a" : "b",
        ["ns"] = id % 3 == 0 ? null : $"n{id}",
        ["arr"] = new[] { id, -id },
        ["ignored"] = new { deep = new[] { 1, 2, 3 } },
    }));

    private string Yaml(string topic, string table, string group, string stages = "", string extra = "") => $$"""
        name: {{group}}
        source:
          brokers: {{kafka.BootstrapServers}}
          topic: {{topic}}
          group_id: {{group}}
          commit_interval: 200ms
          chunk_size: 100
          properties:
            session.timeout.ms: "6000"
            heartbeat.interval.ms: "500"
        stages:
        {{stages}}
        sink:
          url: {{clickhouse.Url}}
          table: {{table}}
          columns: { kafka_partition: _partition, kafka_offset: _offset }
          retry_backoff: 100ms
          retry_max_backoff: 1s
        batch:
          max_rows: 1000
          max_wait: 200ms
        parallelism: 2
        {{extra}}
        """;

    private static string FileDlq => "on_error: dead_letter\ndead_letter:\n  file: dlq.jsonl";

    private async Task<long> CountAsync(string table, ClickHouseServerFixture? server = null) =>
        long.Parse((await (server ?? clickhouse).QueryAsync($"SELECT count() FROM default.{table}")).Trim(), CultureInfo.InvariantCulture);

    private async Task<long> DistinctOffsetsAsync(string table, ClickHouseServerFixture? server = null) =>
        long.Parse((await (server ?? clickhouse).QueryAsync($"SELECT uniqExact(kafka_partition, kafka_offset) FROM default.{table}")).Trim(), CultureInfo.InvariantCulture);

    [Fact]
    public async Task Run_JsonEventsOfEveryColumnType_ExactlyNRowsWithExactValuesAndOffsetsCommitted()
    {
        const int n = 3000;
        var topic = kafka.CreateTopic(3, "alltypes");
        var table = await clickhouse.CreateUniqueTableAsync(AllTypesColumns, "MergeTree ORDER BY id");
        kafka.Produce(topic, 3, n, i => new Message<byte[]?, byte[]?> { Value = AllTypesEvent(i) });
        var group = KafkaFixture.UniqueName("g");

        await using var h = await PipelineHarness.StartAsync(Yaml(topic, table, group, extra: FileDlq));
        await PipelineHarness.WaitUntilAsync(async () => { var c = await CountAsync(table); return (c >= n, $"{c} rows"); }, TimeSpan.FromSeconds(60), $"{n} rows", h.Run);
        await h.StopAsync();

        Assert.Equal(n, await CountAsync(table));
        Assert.Equal(n, await DistinctOffsetsAsync(table));
        // Aggregates over every column catch any value that is off anywhere.
        var sums = (await clickhouse.QueryAsync($"SELECT sum(id), sum(i8), sum(i16), sum(i64), sum(f32), sum(f64), sum(toFloat64(d)), countIf(ns IS NULL), sum(arr[1] + arr[2]), countIf(e = 'a') FROM default.{table} FORMAT TabSeparated")).Trim().Split('\t');
        long sumId = Enumerable.Range(0, n).Sum(i => (long)i);
        Assert.Equal(sumId.ToString(CultureInfo.InvariantCulture), sums[0]);
        Assert.Equal(Enumerable.Range(0, n).Sum(i => (long)(i % 100 - 50)).ToString(CultureInfo.InvariantCulture), sums[1]);
        Assert.Equal((-sumId).ToString(CultureInfo.InvariantCulture), sums[2]);
        Assert.Equal((sumId * 1_000_000_000_000L).ToString(CultureInfo.InvariantCulture), sums[3]);
        Assert.Equal(sumId + n * 0.5, double.Parse(sums[4], CultureInfo.InvariantCulture), 3);
        Assert.Equal(sumId / 4.0, double.Parse(sums[5], CultureInfo.InvariantCulture), 3);
        Assert.Equal(sumId + n * 0.1234, double.Parse(sums[6], CultureInfo.InvariantCulture), 3);
        Assert.Equal(Enumerable.Range(0, n).Count(i => i % 3 == 0).ToString(CultureInfo.InvariantCulture), sums[7]);
        Assert.Equal("0", sums[8]);
        Assert.Equal((n / 2).ToString(CultureInfo.InvariantCulture), sums[9]);
        // One row, every column, byte for byte as ClickHouse renders it.
        var row = (await clickhouse.QueryAsync($"SELECT * FROM default.{table} WHERE id = 1234 FORMAT TabSeparated")).Trim().Split('\t');
        Assert.Equal(["1234", "-16", "-1234", "1234000000000000", "18446744073709550381", "1234.5", "308.5", "1234.1234", "name-1234-ü", "abc", "2026-11-20", "2026-11-20 10:34:00",
            new Guid(1234, 0, 0, [1, 2, 3, 4, 5, 6, 7, 8]).ToString(), "a", "n1234", "[1234,-1234]"], row.Take(16));
        Assert.Equal(((1234 % 3)).ToString(CultureInfo.InvariantCulture), row[16]); // message i went to partition i % 3
        Assert.Equal(kafka.EndOffsets(topic, 3), kafka.Committed(topic, 3, group));
    }

    /// <summary>
    /// A topic of <paramref name="partitions"/> partitions holding <paramref name="n"/> messages <c>{"id": i}</c>, a table for
    /// them, and a pipeline that reads them with static assignment (max_wait an hour, on_error fail); each extra is one
    /// more option line of its section.
    /// </summary>
    private async Task<(string Topic, string Table, string Group, string Yaml)> StaticBacklogAsync(int partitions, int n, string sourceExtra, string sinkExtra, string batchExtra)
    {
        var topic = kafka.CreateTopic(partitions, "static");
        var table = await clickhouse.CreateUniqueTableAsync("id UInt32, kafka_partition UInt16, kafka_offset UInt64", "MergeTree ORDER BY id");
        kafka.Produce(topic, partitions, n, i => new Message<byte[]?, byte[]?> { Value = Encoding.UTF8.GetBytes($"{{\"id\":{i}}}") });
        var group = KafkaFixture.UniqueName("g");
        var yaml = $$"""
            name: {{group}}
            source:
              brokers: {{kafka.BootstrapServers}}
              topic: {{topic}}
              group_id: {{group}}
              assignment: static
              commit_interval: 200ms
              {{sourceExtra}}
            sink:
              url: {{clickhouse.Url}}
              table: {{table}}
              columns: { kafka_partition: _partition, kafka_offset: _offset }
              {{sinkExtra}}
            batch:
              max_wait: 1h
              {{batchExtra}}
            on_error: fail
            """;
        return (topic, table, group, yaml);
    }

    [Fact]
    public async Task Run_StaticAssignmentBacklog_LastPartialBatchIsInsertedWithoutWaitingForMaxWait()
    {
        // 25 messages in full chunks of 5; batches of 10 rows; max_wait an hour. The last 5 rows can only arrive
        // because the source says it has caught up (here an empty chunk, since the last chunk is full).
        var (topic, table, group, yaml) = await StaticBacklogAsync(1, 25, "chunk_size: 5", "", "max_rows: 10");
        await using var h = await PipelineHarness.StartAsync(yaml);
        await PipelineHarness.WaitUntilAsync(async () => { var c = await CountAsync(table); return (c >= 25, $"{c} rows"); }, TimeSpan.FromSeconds(30), "25 rows", h.Run);
        await PipelineHarness.WaitUntilAsync(() => Task.FromResult((kafka.Committed(topic, 1, group)[0] == 25, "commit")), TimeSpan.FromSeconds(30), "offset 25 committed", h.Run);
        await h.StopAsync();
        Assert.Equal(25, await DistinctOffsetsAsync(table));
    }

    [Fact]
    public async Task Run_BacklogEndingInAPartialBatch_IsSplitOverIdleInsertsAndEveryRowLandsOnceCommitted()
    {
        // 30,000 messages, batches of up to 100,000 rows: the backlog ends in one partial batch, flushed when the source
        // has caught up. With two idle insert slots it goes as two inserts (two parts) of 15,000 rows.
        const int n = 30_000;
        var (topic, table, group, yaml) = await StaticBacklogAsync(3, n, "", "insert_concurrency: 2", "max_rows: 100000");
        await using var h = await PipelineHarness.StartAsync(yaml);
        await PipelineHarness.WaitUntilAsync(async () => { var c = await CountAsync(table); return (c >= n, $"{c} rows"); }, TimeSpan.FromSeconds(60), $"{n} rows", h.Run);
        await PipelineHarness.WaitUntilAsync(() => Task.FromResult((kafka.Committed(topic, 3, group).SequenceEqual(kafka.EndOffsets(topic, 3)), "commit")),
            TimeSpan.FromSeconds(30), "every offset committed", h.Run);
        var metrics = h.Runner.Metrics.Take();
        await h.StopAsync();

        Assert.Equal(n, await DistinctOffsetsAsync(table));
        Assert.Equal(n, await CountAsync(table));
        Assert.Equal(2, metrics.InsertBatches);
        Assert.Equal("2", (await clickhouse.QueryAsync($"SELECT count() FROM system.parts WHERE database = 'default' AND table = '{table}' AND level = 0")).Trim());
    }

    [Fact]
    public async Task Run_TwoPipelinesInOneProcess_BothTablesFilledAndBothGroupsCommitted()
    {
        var topicA = kafka.CreateTopic(2, "multi-a");
        var topicB = kafka.CreateTopic(2, "multi-b");
        var tableA = await clickhouse.CreateUniqueTableAsync("id UInt32, kafka_partition UInt16, kafka_offset UInt64", "MergeTree ORDER BY id");
        var tableB = await clickhouse.CreateUniqueTableAsync("id UInt32, doubled UInt32, kafka_partition UInt16, kafka_offset UInt64", "MergeTree ORDER BY id");
        kafka.Produce(topicA, 2, 500, i => new Message<byte[]?, byte[]?> { Value = Encoding.UTF8.GetBytes($"{{\"id\":{i}}}") });
        kafka.Produce(topicB, 2, 700, i => new Message<byte[]?, byte[]?> { Value = Encoding.UTF8.GetBytes($"{{\"id\":{i},\"x\":{2 * i}}}") });
        var groupA = KafkaFixture.UniqueName("ga");
        var groupB = KafkaFixture.UniqueName("gb");
        var (a, dirA) = PipelineHarness.Load(Yaml(topicA, tableA, groupA, extra: "on_error: fail"));
        var (b, dirB) = PipelineHarness.Load(Yaml(topicB, tableB, groupB, stages: "  - type: rename\n    fields: { x: doubled }", extra: "on_error: fail"));
        var host = new PipelineHost(new PipelineBuilder(StageRegistry.CreateDefault(), PipelineHarness.Loggers, TimeProvider.System), PipelineHarness.Loggers, TimeProvider.System, TimeSpan.Zero);
        using var stop = new CancellationTokenSource();
        var run = host.RunAsync([a, b], stop.Token, CancellationToken.None);

        await PipelineHarness.WaitUntilAsync(async () =>
        {
            var ca = await CountAsync(tableA);
            var cb = await CountAsync(tableB);
            return (ca >= 500 && cb >= 700, $"{ca} and {cb} rows");
        }, TimeSpan.FromSeconds(60), "both tables filled", run);
        await stop.CancelAsync();
        Assert.Equal(0, await run.WaitAsync(TimeSpan.FromSeconds(60)));

        Assert.Equal(500, await DistinctOffsetsAsync(tableA));
        Assert.Equal(700, await DistinctOffsetsAsync(tableB));
        Assert.Equal("0", (await clickhouse.QueryAsync($"SELECT countIf(doubled != 2 * id) FROM default.{tableB}")).Trim());
        Assert.Equal(kafka.EndOffsets(topicA, 2), kafka.Committed(topicA, 2, groupA));
        Assert.Equal(kafka.EndOffsets(topicB, 2), kafka.Committed(topicB, 2, groupB));
        Directory.Delete(dirA, true);
        Directory.Delete(dirB, true);
    }

    [Fact]
    public async Task Run_MalformedJsonAndUnconvertibleValue_GoToDeadLetterTopicWithHeaders()
    {
        var topic = kafka.CreateTopic(1, "dlq-src");
        var dlq = kafka.CreateTopic(1, "dlq");
        var table = await clickhouse.CreateUniqueTableAsync("id UInt32, small Int8, kafka_partition UInt16, kafka_offset UInt64", "MergeTree ORDER BY id");
        kafka.Produce(topic, 1, 10, i => new Message<byte[]?, byte[]?>
        {
            Key = Encoding.UTF8.GetBytes($"k{i}"),
            Value = i switch
            {
                3 => "{\"id\": 3, broken"u8.ToArray(),
                7 => "{\"id\": 7, \"small\": 1000}"u8.ToArray(),
                _ => Encoding.UTF8.GetBytes($"{{\"id\":{i},\"small\":{i}}}"),
            },
            Headers = new Headers { { "trace", Encoding.UTF8.GetBytes($"t{i}") } },
        });
        var group = KafkaFixture.UniqueName("g");
        await using var h = await PipelineHarness.StartAsync(Yaml(topic, table, group, extra: $"on_error: dead_letter\ndead_letter:\n  topic: {dlq}"));
        await PipelineHarness.WaitUntilAsync(async () => { var c = await CountAsync(table); return (c >= 8 && h.Runner.Metrics.Take().DeadLettered >= 2, $"{c} rows"); }, TimeSpan.FromSeconds(60), "8 rows and 2 dead letters", h.Run);
        await h.StopAsync();

        Assert.Equal(8, await CountAsync(table));
        var dead = kafka.ReadAll(dlq, 1, TimeSpan.FromSeconds(10));
        Assert.Equal(2, dead.Count);
        string H(ConsumeResult<byte[]?, byte[]?> m, string k) => Encoding.UTF8.GetString(m.Message.Headers.GetLastBytes(k));
        var malformed = dead.Single(m => H(m, "streamenrich.source.offset") == "3");
        Assert.Equal("deserialize", H(malformed, "streamenrich.error.stage"));
        Assert.Contains("invalid JSON", H(malformed, "streamenrich.error.reason"), StringComparison.Ordinal);
        Assert.Equal(topic, H(malformed, "streamenrich.source.topic"));
        Assert.Equal("0", H(malformed, "streamenrich.source.partition"));
        Assert.Equal("k3", Encoding.UTF8.GetString(malformed.Message.Key!));
        Assert.Equal("{\"id\": 3, broken", Encoding.UTF8.GetString(malformed.Message.Value!));
        Assert.Equal("t3", H(malformed, "trace"));
        var outOfRange = dead.Single(m => H(m, "streamenrich.source.offset") == "7");
        Assert.Equal("sink", H(outOfRange, "streamenrich.error.stage"));
        Assert.Contains("small", H(outOfRange, "streamenrich.error.reason"), StringComparison.Ordinal);
        Assert.Contains("1000", H(outOfRange, "streamenrich.error.reason"), StringComparison.Ordinal);
        Assert.Equal(kafka.EndOffsets(topic, 1), kafka.Committed(topic, 1, group));
    }

    [Fact]
    public async Task Build_UnknownTable_FailsBeforeConsumingWithClickHouseMessageAndLocation()
    {
        var topic = kafka.CreateTopic(1, "notable");
        var ex = await Assert.ThrowsAsync<PipelineBuildException>(() => PipelineHarness.BuildAsync(Yaml(topic, "no_such_table_here", KafkaFixture.UniqueName("g"), extra: "on_error: skip")));
        var error = Assert.Single(ex.Errors);
        Assert.Contains("no_such_table_here", error.Message, StringComparison.Ordinal);
        Assert.Contains("doesn't exist", error.Message, StringComparison.Ordinal);
        Assert.EndsWith("pipeline.yaml", error.File, StringComparison.Ordinal);
        Assert.True(error.Line > 0, "the error points at the sink in the file");
    }

    [Fact]
    public async Task Run_ClickHouseKilledAndRestartedMidStream_NoEventMissing()
    {
        await using var server = await ClickHouseServerFixture.StartDedicatedAsync();
        var topic = kafka.CreateTopic(4, "killed");
        var table = await server.CreateUniqueTableAsync("id UInt32, kafka_partition UInt16, kafka_offset UInt64", "MergeTree ORDER BY id");
        var group = KafkaFixture.UniqueName("g");
        var yaml = Yaml(topic, table, group, extra: "on_error: fail").Replace(clickhouse.Url.ToString(), server.Url.ToString(), StringComparison.Ordinal);
        await using var h = await PipelineHarness.StartAsync(yaml);

        const int total = 20_000;
        var producing = Task.Run(async () =>
        {
            for (var round = 0; round < 10; round++)
            {
                var start = round * (total / 10);
                kafka.Produce(topic, 4, total / 10, i => new Message<byte[]?, byte[]?> { Value = Encoding.UTF8.GetBytes($"{{\"id\":{start + i}}}") });
                await Task.Delay(300);
            }
        });
        await PipelineHarness.WaitUntilAsync(async () => { var c = await CountAsync(table, server); return (c > 1000, $"{c} rows"); }, TimeSpan.FromSeconds(60), "first rows", h.Run);
        await server.StopAsync(); // SIGKILL, mid-stream
        await Task.Delay(3000);
        await server.StartAsync();
        await producing;

        await PipelineHarness.WaitUntilAsync(async () => { var c = await DistinctOffsetsAsync(table, server); return (c >= total, $"{c} distinct offsets"); }, TimeSpan.FromSeconds(120), "all events after the restart", h.Run);
        await h.StopAsync();

        Assert.Equal(total, await DistinctOffsetsAsync(table, server));
        Assert.Equal(total, long.Parse((await server.QueryAsync($"SELECT uniqExact(id) FROM default.{table}")).Trim(), CultureInfo.InvariantCulture));
        Assert.Equal(kafka.EndOffsets(topic, 4), kafka.Committed(topic, 4, group));
    }

    [Fact]
    public async Task Run_ClickHouseDownUnderLoad_ConsumerPausesMemoryStaysBoundedThenAllRowsArrive()
    {
        await using var server = await ClickHouseServerFixture.StartDedicatedAsync();
        // 16 partitions: the mock broker keeps ~5 MB per partition, and nothing may fall out of retention here.
        var topic = kafka.CreateTopic(16, "outage");
        var table = await server.CreateUniqueTableAsync("id UInt32, pad String, kafka_partition UInt16, kafka_offset UInt64", "MergeTree ORDER BY id");
        const int total = 150_000;
        var pad = new string('x', 200);
        kafka.Produce(topic, 16, total, i => new Message<byte[]?, byte[]?> { Value = Encoding.UTF8.GetBytes($"{{\"id\":{i},\"pad\":\"{pad}\"}}") });
        var group = KafkaFixture.UniqueName("g");
        var yaml = Yaml(topic, table, group, extra: "on_error: fail").Replace(clickhouse.Url.ToString(), server.Url.ToString(), StringComparison.Ordinal);
        await server.StopAsync();
        await using var h = await BuildWhileDownAsync(yaml, server);
        h.Start();

        // Down for ~30 s with 200k messages waiting: the pipeline fills, the consumer pauses, memory stays flat.
        var samples = new List<long>();
        var sawPaused = false;
        for (var i = 0; i < 30; i++)
        {
            await Task.Delay(1000);
            GC.Collect();
            samples.Add(Environment.WorkingSet);
            sawPaused |= h.Runner.StatusLine().Contains("paused", StringComparison.Ordinal);
            Assert.False(h.Run.IsCompleted, "the pipeline must keep retrying while ClickHouse is down");
        }
        Assert.True(sawPaused, "the consumer paused its partitions while the pipeline was full");
        var consumedWhileDown = h.Runner.Metrics.Take().Consumed;
        Assert.True(consumedWhileDown < total / 2, $"while ClickHouse was down only a bounded amount may be consumed, got {consumedWhileDown}");
        var growth = samples[^1] - samples[5];
        Assert.True(growth < 64L * 1024 * 1024, $"working set grew {growth / 1048576} MB during the outage (samples MB: {string.Join(",", samples.Select(s => s / 1048576))})");

        await server.StartAsync();
        await PipelineHarness.WaitUntilAsync(async () => { var c = await DistinctOffsetsAsync(table, server); return (c >= total, $"{c} distinct offsets"); }, TimeSpan.FromSeconds(180), "all rows after ClickHouse returned", h.Run);
        await h.StopAsync();
        Assert.Equal(total, await DistinctOffsetsAsync(table, server));
        Assert.Equal(kafka.EndOffsets(topic, 16), kafka.Committed(topic, 16, group));
    }

    /// <summary>The table must be described at build time, so the server runs for the build and is stopped again.</summary>
    private static async Task<PipelineHarness> BuildWhileDownAsync(string yaml, ClickHouseServerFixture server)
    {
        await server.StartAsync();
        var h = await PipelineHarness.BuildAsync(yaml);
        await server.StopAsync();
        return h;
    }

    [Fact]
    public async Task Run_SecondInstanceJoinsThenLeaves_RebalanceLosesNothing()
    {
        var topic = kafka.CreateTopic(6, "rebalance");
        var table = await clickhouse.CreateUniqueTableAsync("id UInt32, kafka_partition UInt16, kafka_offset UInt64", "MergeTree ORDER BY id");
        var group = KafkaFixture.UniqueName("g");
        const int total = 30_000;
        await using var first = await PipelineHarness.StartAsync(Yaml(topic, table, group, extra: "on_error: fail"));
        var producing = Task.Run(async () =>
        {
            for (var round = 0; round < 15; round++)
            {
                var start = round * (total / 15);
                kafka.Produce(topic, 6, total / 15, i => new Message<byte[]?, byte[]?> { Value = Encoding.UTF8.GetBytes($"{{\"id\":{start + i}}}") });
                await Task.Delay(400);
            }
        });
        await PipelineHarness.WaitUntilAsync(async () => { var c = await CountAsync(table); return (c > 2000, $"{c} rows"); }, TimeSpan.FromSeconds(60), "first rows", first.Run);

        await using (var second = await PipelineHarness.StartAsync(Yaml(topic, table, group, extra: "on_error: fail")))
        {
            await PipelineHarness.WaitUntilAsync(() => Task.FromResult((second.Runner.Metrics.Take().Inserted > 0, "second instance inserted nothing yet")), TimeSpan.FromSeconds(60), "second instance taking partitions", second.Run);
            await second.StopAsync(); // leaves the group: its partitions go back to the first instance
        }
        await producing;
        await PipelineHarness.WaitUntilAsync(async () => { var c = await DistinctOffsetsAsync(table); return (c >= total, $"{c} distinct offsets"); }, TimeSpan.FromSeconds(120), "every event after the rebalance", first.Run);
        await first.StopAsync();

        Assert.Equal(total, await DistinctOffsetsAsync(table));
        Assert.Equal(kafka.EndOffsets(topic, 6), kafka.Committed(topic, 6, group));
    }
}

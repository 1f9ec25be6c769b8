using StreamEnrich.Configuration;
using StreamEnrich.Pipeline;
using StreamEnrich.Records;
using StreamEnrich.Stages;
using StreamEnrich.Tests.Fixtures;
using Record = StreamEnrich.Records.Record;

namespace StreamEnrich.Tests.Pipeline.Schema;

public sealed class TableDdlGeneratorTests : IDisposable
{
    private const string EventSchema = """
        {
          "type": "object",
          "required": ["ts", "user_id", "event", "session", "tags"],
          "properties": {
            "ts": { "type": "string" },
            "user_id": { "type": "string" },
            "event": { "type": "string", "enum": ["view", "buy"] },
            "session": { "type": "string", "format": "uuid" },
            "price": { "type": ["number", "null"] },
            "tags": { "type": "array", "items": { "type": "string" } },
            "debug": { "type": "string" },
            "geo": {
              "type": "object",
              "required": ["lat"],
              "properties": { "lat": { "type": "number" }, "city name": { "type": "string" } }
            }
          }
        }
        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("se-ddl-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private LoadedPipeline Load(string yaml, StageRegistry? registry = null)
    {
        var path = Path.Combine(_dir, "p.yaml");
        File.WriteAllText(path, yaml);
        var result = PipelineLoader.Load(path, registry ?? StageRegistry.CreateDefault(), _ => null);
        Assert.True(result.Success, string.Join("\n", result.Errors));
        return result.Pipelines.Single();
    }

    private static string Header(string stages) => $"""
        name: events
        source: {"{"} brokers: localhost:9092, topic: events {"}"}
        on_error: skip
        stages:
        {stages}
        """;

    [Fact]
    public async Task CreateTableDdl_JsonSchemaAndStages_ExactText()
    {
        File.WriteAllText(Path.Combine(_dir, "event.schema.json"), EventSchema);
        File.WriteAllText(Path.Combine(_dir, "users.csv"), "id,country,plan\n1,DE,pro\n");
        var pipeline = Load(Header("""
              - type: json_schema
                file: event.schema.json
              - type: rename
                fields: { ts: event_time, event: event_type }
              - type: timestamp
                field: event_time
              - type: cast
                fields: { user_id: int, price: decimal(2) }
              - type: drop
                fields: [debug]
              - type: lookup
                file: users.csv
                key_column: id
                field: user_id
                columns: { country: country, plan: plan }
                on_miss: default
                defaults: { country: unknown }
              - type: set
                field: source
                value: web
              - type: filter
                where: event_type != 'view'
            """) + "\n" + """
            sink:
              url: http://localhost:8123
              database: analytics
              table: events
              columns: { kafka_partition: _partition, kafka_offset: _offset, kafka_time: _timestamp, sess: session }
            """);
        var ddl = await Adapters.CreateTableDdlAsync(pipeline, null, CancellationToken.None);
        Assert.Equal("""
            -- Table for pipeline events: columns from JSON Schema event.schema.json, then the stages
            CREATE TABLE analytics.events (
                event_time DateTime64(3, 'UTC'),
                user_id Int64,
                event_type LowCardinality(String),
                sess UUID,
                price Nullable(Decimal(38, 2)),
                tags Array(String),
                `geo.lat` Nullable(Float64),
                `geo.city name` Nullable(String),
                country String,
                plan Nullable(String),
                source String,
                kafka_partition UInt32,
                kafka_offset UInt64,
                kafka_time DateTime64(3, 'UTC')
            ) ENGINE = MergeTree
            PARTITION BY toYYYYMM(event_time)
            ORDER BY (event_type, country, event_time)
            """.ReplaceLineEndings("\n"), ddl);
    }

    [Fact]
    public async Task CreateTableDdl_AvroReaderSchema_ExactText()
    {
        File.WriteAllText(Path.Combine(_dir, "order.avsc"), """
            {"type": "record", "name": "Order", "fields": [
              {"name": "id", "type": "long"},
              {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["NEW", "PAID"]}},
              {"name": "at", "type": {"type": "long", "logicalType": "timestamp-micros"}},
              {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}},
              {"name": "note", "type": ["null", "string"], "default": null},
              {"name": "customer", "type": {"type": "record", "name": "Customer", "fields": [{"name": "email", "type": "string"}]}}
            ]}
            """);
        var pipeline = Load("""
            name: orders
            source: { brokers: localhost:9092, topic: orders }
            format: { type: avro, registry: { url: "http://127.0.0.1:1" }, reader_schema: order.avsc }
            on_error: skip
            stages:
              - type: rename
                fields: { customer.email: email }
              - type: cast
                fields: { id: string }
            sink: { url: http://localhost:8123, table: orders }
            """);
        var ddl = await Adapters.CreateTableDdlAsync(pipeline, null, CancellationToken.None);
        Assert.Equal("""
            -- Table for pipeline orders: columns from Avro reader schema order.avsc, then the stages
            CREATE TABLE default.orders (
                id String,
                kind Enum8('NEW' = 0, 'PAID' = 1),
                at DateTime64(6, 'UTC'),
                amount Decimal(12, 2),
                note Nullable(String),
                email String
            ) ENGINE = MergeTree
            PARTITION BY toYYYYMM(at)
            ORDER BY (kind, at)
            """.ReplaceLineEndings("\n"), ddl);
    }

    [Fact]
    public async Task CreateTableDdl_AvroWithoutReaderSchema_UsesLatestTopicValueSubject()
    {
        await using var registry = await SchemaRegistryServer.StartAsync();
        registry.Register("orders-value", """{"type":"record","name":"O","fields":[{"name":"id","type":"long"}]}""");
        registry.Register("orders-value", """{"type":"record","name":"O","fields":[{"name":"id","type":"long"},{"name":"status","type":"string"}]}""");
        var pipeline = Load($"""
            name: orders
            source: {"{"} brokers: localhost:9092, topic: orders {"}"}
            format: {"{"} type: avro, registry: {"{"} url: "{registry.Url}" {"}"} {"}"}
            on_error: skip
            sink: {"{"} url: http://localhost:8123, table: orders {"}"}
            """);
        var ddl = await Adapters.CreateTableDdlAsync(pipeline, "ReplacingMergeTree", CancellationToken.None);
        Assert.Contains("columns from Avro schema of subject orders-value version 2", ddl, StringComparison.Ordinal);
        Assert.Contains("    id Int64,\n    status String\n) ENGINE = ReplacingMergeTree\nORDER BY (status)", ddl, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateTableDdl_AvroRegistryUnreachable_ErrorHintsReaderSchema()
    {
        await using var registry = await SchemaRegistryServer.StartAsync();
        var pipeline = Load($"""
            name: orders
            source: {"{"} brokers: localhost:9092, topic: orders {"}"}
            format: {"{"} type: avro, registry: {"{"} url: "{registry.Url}" {"}"} {"}"}
            on_error: skip
            sink: {"{"} url: http://localhost:8123, table: orders {"}"}
            """);
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => Adapters.CreateTableDdlAsync(pipeline, null, CancellationToken.None));
        Assert.Contains("subject 'orders-value'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("format.reader_schema", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateTableDdl_JsonWithoutSchema_ErrorSaysWhatIsNeeded()
    {
        var pipeline = Load(Header("  - type: drop\n    fields: [x]") + "\nsink: { url: http://localhost:8123, table: t }\n");
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => Adapters.CreateTableDdlAsync(pipeline, null, CancellationToken.None));
        Assert.Contains("json_schema", ex.Message, StringComparison.Ordinal);
        Assert.Contains("sink.schema", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateTableDdl_InlineSinkSchema_PrintedAsIs()
    {
        var pipeline = Load(Header("  - type: drop\n    fields: [x]") + """

            sink:
              url: http://localhost:8123
              table: t
              schema: { created: "DateTime", "user.id": "Nullable(Int64)", status: String }
            """);
        var ddl = await Adapters.CreateTableDdlAsync(pipeline, "ENGINE = Log", CancellationToken.None);
        Assert.Equal("""
            -- Table for pipeline events: columns from the inline sink.schema
            CREATE TABLE default.t (
                created DateTime,
                `user.id` Nullable(Int64),
                status String
            ) ENGINE = Log
            """.ReplaceLineEndings("\n"), ddl);
    }

    [Fact]
    public async Task CreateTableDdl_StageWithoutOutputSchema_CommentNamesIt()
    {
        File.WriteAllText(Path.Combine(_dir, "event.schema.json"), EventSchema);
        var registry = StageRegistry.CreateDefault();
        registry.Register(StageSpec.Create<StreamEnrich.Stages.Drop.DropStageOptions>("opaque", "Does something.", (_, _) => new OpaqueStage()));
        var pipeline = Load(Header("""
              - type: json_schema
                file: event.schema.json
              - type: opaque
                name: mystery
                fields: [x]
            """) + "\nsink: { url: http://localhost:8123, table: t }\n", registry);
        var ddl = await Adapters.CreateTableDdlAsync(pipeline, null, CancellationToken.None);
        Assert.Contains("\n-- stage mystery (opaque) does not describe its output; columns after it may be incomplete\n", ddl, StringComparison.Ordinal);
        Assert.Contains("    ts String,", ddl, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateTableDdl_StageCannotBeBuilt_ErrorWithLocation()
    {
        var pipeline = Load(Header("  - type: json_schema\n    file: missing.schema.json") + "\nsink: { url: http://localhost:8123, table: t }\n");
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => Adapters.CreateTableDdlAsync(pipeline, null, CancellationToken.None));
        Assert.Contains("p.yaml:5:", ex.Message, StringComparison.Ordinal);
        Assert.Contains("missing.schema.json does not exist", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateTableDdl_SamplePipelineWithSampleSchema_TypesFollowTheStages()
    {
        var root = StreamEnrich.Tests.Stages.JsonSchemaStageTests.RepoRoot();
        var text = File.ReadAllText(Path.Combine(root, "pipelines", "web-events.yaml"))
            .Replace("stages:\n", "stages:\n  - type: json_schema\n    file: ../schemas/web-event.schema.json\n", StringComparison.Ordinal);
        var path = Path.Combine(root, "pipelines", $"_ddl_test_{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, text);
        try
        {
            var result = PipelineLoader.Load(path, StageRegistry.CreateDefault(), _ => null);
            Assert.True(result.Success, string.Join("\n", result.Errors));
            var ddl = await Adapters.CreateTableDdlAsync(result.Pipelines[0], null, CancellationToken.None);
            Assert.Contains("""
                CREATE TABLE default.web_events (
                    event_time DateTime64(3, 'UTC'),
                    user_id Int64,
                    session_id UUID,
                    event_type LowCardinality(String),
                    url String,
                    ip String,
                    user_agent String,
                    price Float64,
                    tags Array(String),
                    country String,
                    plan String,
                    kafka_partition UInt32,
                    kafka_offset UInt64
                ) ENGINE = MergeTree
                PARTITION BY toYYYYMM(event_time)
                ORDER BY (event_type, country, event_time)
                """.ReplaceLineEndings("\n"), ddl, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private sealed class OpaqueStage : IRecordStage
    {
        public void Process(Record record)
        {
        }
    }
}

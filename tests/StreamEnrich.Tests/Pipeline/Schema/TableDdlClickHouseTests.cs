using StreamEnrich.Configuration;
using StreamEnrich.Pipeline;
using StreamEnrich.Tests.Fixtures;

namespace StreamEnrich.Tests.Pipeline.Schema;

/// <summary>
/// The generated DDL runs on a real ClickHouse (18.16 here: no DateTime64 or Bool, LowCardinality experimental), so
/// these pipelines use only types that server has; the table it creates has exactly the generated columns.
/// </summary>
[Collection("ClickHouse")]
public sealed class TableDdlClickHouseTests(ClickHouseServerFixture server) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("se-ddl-ch-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<(string Ddl, string Table)> GenerateAsync(string body)
    {
        var table = $"ddl_{Environment.ProcessId}_{Guid.NewGuid():N}"[..28];
        var path = Path.Combine(_dir, "p.yaml");
        await File.WriteAllTextAsync(path, body.Replace("TABLE", table, StringComparison.Ordinal));
        var result = PipelineLoader.Load(path, StageRegistry.CreateDefault(), _ => null);
        Assert.True(result.Success, string.Join("\n", result.Errors));
        return (await Adapters.CreateTableDdlAsync(result.Pipelines[0], null, CancellationToken.None), table);
    }

    private async Task AssertCreatesColumnsAsync(string ddl, string table, string settings, params string[] expected)
    {
        await server.QueryAsync(ddl, settings);
        try
        {
            var described = (await server.QueryAsync($"DESCRIBE TABLE default.{table} FORMAT TabSeparated"))
                .Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Split('\t'))
                .Select(c => $"{c[0]} {c[1].Replace("\\'", "'", StringComparison.Ordinal)}");
            Assert.Equal(expected, described);
        }
        finally
        {
            await server.QueryAsync($"DROP TABLE IF EXISTS default.{table}");
        }
    }

    [Fact]
    public async Task AvroReaderSchemaDdl_CreatesTableWithTheseColumns()
    {
        await File.WriteAllTextAsync(Path.Combine(_dir, "order.avsc"), """
            {"type": "record", "name": "Order", "fields": [
              {"name": "id", "type": "long"},
              {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["NEW", "PAID"]}},
              {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}},
              {"name": "ref", "type": {"type": "string", "logicalType": "uuid"}},
              {"name": "note", "type": ["null", "string"], "default": null},
              {"name": "tags", "type": {"type": "array", "items": "string"}},
              {"name": "customer", "type": {"type": "record", "name": "Customer", "fields": [{"name": "email", "type": "string"}]}}
            ]}
            """);
        var (ddl, table) = await GenerateAsync("""
            name: orders
            source: { brokers: localhost:9092, topic: orders }
            format: { type: avro, registry: { url: "http://127.0.0.1:1" }, reader_schema: order.avsc }
            on_error: skip
            stages:
              - type: cast
                fields: { id: string }
            sink: { url: http://localhost:8123, table: TABLE, columns: { kafka_offset: _offset } }
            """);
        await AssertCreatesColumnsAsync(ddl, table, "",
            "id String", "kind Enum8('NEW' = 0, 'PAID' = 1)", "amount Decimal(12, 2)", "ref UUID", "note Nullable(String)",
            "tags Array(String)", "customer.email String", "kafka_offset UInt64");
    }

    [Fact]
    public async Task JsonSchemaDdl_CreatesTableWithTheseColumns()
    {
        await File.WriteAllTextAsync(Path.Combine(_dir, "e.schema.json"), """
            {"type": "object", "required": ["id", "event", "session"],
             "properties": {
               "id": {"type": "integer"}, "event": {"type": "string", "enum": ["a", "b"]},
               "session": {"type": "string", "format": "uuid"}, "price": {"type": "number"},
               "tags": {"type": "array", "items": {"type": "string"}},
               "geo": {"type": "object", "properties": {"city": {"type": "string"}}}
             }}
            """);
        var (ddl, table) = await GenerateAsync("""
            name: events
            source: { brokers: localhost:9092, topic: events }
            on_error: skip
            stages:
              - type: json_schema
                file: e.schema.json
              - type: rename
                fields: { event: event_type }
            sink: { url: http://localhost:8123, table: TABLE, columns: { kafka_partition: _partition } }
            """);
        Assert.Contains("ORDER BY (event_type)", ddl, StringComparison.Ordinal);
        await AssertCreatesColumnsAsync(ddl, table, "allow_experimental_low_cardinality_type=1",
            "id Int64", "event_type LowCardinality(String)", "session UUID", "price Nullable(Float64)", "tags Array(String)",
            "geo.city Nullable(String)", "kafka_partition UInt32");
    }
}

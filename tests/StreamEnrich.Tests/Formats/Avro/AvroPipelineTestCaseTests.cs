using Microsoft.Extensions.Logging.Abstractions;
using StreamEnrich.Configuration;
using StreamEnrich.Pipeline;
using StreamEnrich.Tests.Pipeline;

namespace StreamEnrich.Tests.Formats.Avro;

/// <summary>
/// `tests:` in a `format: avro` pipeline: object inputs encoded with the test's writer schema, framed as Confluent
/// messages and read by the real Avro decoder (no registry: its URL here is a closed port).
/// </summary>
public sealed class AvroPipelineTestCaseTests
{
    private const string Schema = """
        {"type": "record", "name": "Reading", "namespace": "test", "fields": [
          {"name": "station", "type": "string"},
          {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
          {"name": "temp", "type": ["null", "double"], "default": null}]}
        """;

    // Reads the writer schema above with one more field, defaulted.
    private const string Reader = """
        {"type": "record", "name": "Reading", "namespace": "test", "fields": [
          {"name": "station", "type": "string"},
          {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
          {"name": "temp", "type": ["null", "double"], "default": null},
          {"name": "unit", "type": "string", "default": "C"}]}
        """;

    private static string Yaml(string tests, string format = "type: avro, registry: { url: \"http://127.0.0.1:9\" }") => $$"""
        name: readings
        source: { brokers: "localhost:9092", topic: readings, group_id: g }
        format: { {{format}} }
        stages:
          - type: filter
            where: station != "test"
        sink:
          url: http://127.0.0.1:9
          table: readings
          schema: { station: String, at: DateTime, temp: Nullable(Float64), unit: String }
        on_error: skip
        tests:
        {{tests}}
        """;

    private static async Task<List<string>> RunAsync(string yaml)
    {
        var (pipeline, dir) = PipelineHarness.Load(yaml, new Dictionary<string, string> { ["reading.avsc"] = Schema, ["reader.avsc"] = Reader });
        try
        {
            var runner = new DryRunner(new PipelineBuilder(StageRegistry.CreateDefault(), NullLoggerFactory.Instance, TimeProvider.System), NullLoggerFactory.Instance, TimeProvider.System);
            return await PipelineTests.RunAsync(runner, pipeline, Assert.Single(pipeline.Options.Tests), CancellationToken.None);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task RunAsync_ObjectInputsWithSchema_DecodedThroughAvroAndCompared()
    {
        var problems = await RunAsync(Yaml("""
              - name: readings
                schema: reading.avsc
                input:
                  - { station: "oslo", at: "2026-11-20T10:15:30.123Z", temp: { double: -3.5 } }
                  - { station: "bergen", at: 1763633730000 }
                  - { station: "test", at: 0 }
                expect:
                  - { station: oslo, at: "2026-11-20T10:15:30Z", temp: -3.5 }
                  - { station: bergen, at: "2025-11-20T10:15:30Z", temp: null }
            """));

        Assert.Empty(problems);
    }

    [Fact]
    public async Task RunAsync_ExpectationWrong_ReportsTheColumn()
    {
        var problems = await RunAsync(Yaml("""
              - name: readings
                schema: reading.avsc
                input:
                  - { station: "oslo", at: "2026-11-20T10:15:30Z", temp: 1.5 }
                expect:
                  - { station: oslo, temp: 2.5 }
            """));

        Assert.Equal("row 1, column 'temp': expected 2.5, got 1.5", Assert.Single(problems));
    }

    [Fact]
    public async Task RunAsync_NoTestSchema_ReaderSchemaEncodesAndResolves()
    {
        var problems = await RunAsync(Yaml("""
              - name: defaults from the reader schema
                input:
                  - { station: "oslo", at: 0 }
                expect:
                  - { station: oslo, unit: C }
            """, "type: avro, registry: { url: \"http://127.0.0.1:9\" }, reader_schema: reader.avsc"));

        Assert.Empty(problems);
    }

    [Fact]
    public async Task RunAsync_NoSchemaAtAll_AsksForSchema()
    {
        var problems = await RunAsync(Yaml("""
              - name: no schema
                input: [ { station: "oslo", at: 0 } ]
                expect: []
            """));

        Assert.Contains("an Avro pipeline's test needs `schema:`", Assert.Single(problems));
    }

    [Fact]
    public async Task RunAsync_InputDoesNotFitSchema_NamesInputFieldAndType()
    {
        var problems = await RunAsync(Yaml("""
              - name: bad input
                schema: reading.avsc
                input:
                  - { station: "oslo", at: 0 }
                  - { station: "oslo", at: "noon" }
                expect: []
            """));

        var p = Assert.Single(problems);
        Assert.StartsWith("input 2 does not fit the test schema reading.avsc: field 'at': expected long (timestamp-millis", p);
        Assert.Contains("got the string \"noon\"", p);
    }

    [Fact]
    public async Task RunAsync_StringInput_SentAsRawBytesAndDeadLettered()
    {
        var problems = await RunAsync(Yaml("""
              - name: not avro
                schema: reading.avsc
                input: [ '{"station": "oslo"}' ]
                expect: []
            """));

        var p = Assert.Single(problems);
        Assert.Contains("1 record(s) were dead-lettered", p);
        Assert.Contains("magic byte 0x7B", p);
    }

    [Fact]
    public async Task RunAsync_SchemaInJsonPipelineTest_Refused()
    {
        var problems = await RunAsync(Yaml("""
              - name: json
                schema: reading.avsc
                input: [ { station: "oslo" } ]
                expect: []
            """, "type: json"));

        Assert.Contains("is for tests of format avro pipelines", Assert.Single(problems));
    }

    [Fact]
    public async Task SamplePipeline_WebEventsAvroTests_Pass()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "StreamEnrich.sln"))) root = Path.GetDirectoryName(root)!;
        var loaded = PipelineLoader.Load(Path.Combine(root, "pipelines", "web-events-avro.yaml"), StageRegistry.CreateDefault());
        Assert.True(loaded.Success, string.Join("\n", loaded.Errors));
        var pipeline = Assert.Single(loaded.Pipelines);
        var runner = new DryRunner(new PipelineBuilder(StageRegistry.CreateDefault(), NullLoggerFactory.Instance, TimeProvider.System), NullLoggerFactory.Instance, TimeProvider.System);

        Assert.Equal(2, pipeline.Options.Tests.Count);
        foreach (var test in pipeline.Options.Tests)
            Assert.Empty(await PipelineTests.RunAsync(runner, pipeline, test, CancellationToken.None));
    }
}

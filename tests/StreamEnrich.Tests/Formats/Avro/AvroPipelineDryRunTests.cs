using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using StreamEnrich.Cli;
using StreamEnrich.Configuration;
using StreamEnrich.Formats.SchemaRegistry;
using StreamEnrich.Formats.SchemaRegistry.Embedded;
using StreamEnrich.Pipeline;
using StreamEnrich.Tests.Pipeline;

namespace StreamEnrich.Tests.Formats.Avro;

/// <summary>
/// Avro without Kafka or ClickHouse: dry-run over an object container file (writer schema from the file, no
/// registry), the sample Avro pipeline against its JSON twin, and the embedded registry the benchmark uses.
/// </summary>
public sealed class AvroPipelineDryRunTests
{
    private static readonly string RepoRoot = FindRepoRoot();

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "StreamEnrich.sln"))) return dir.FullName;
        throw new InvalidOperationException("StreamEnrich.sln not found");
    }

    private static DryRunner Runner() =>
        new(new PipelineBuilder(StageRegistry.CreateDefault(), NullLoggerFactory.Instance, TimeProvider.System), NullLoggerFactory.Instance, TimeProvider.System);

    private const string WeatherYaml = """
        name: weather
        source: { brokers: "localhost:9092", topic: weather, group_id: g }
        format: { type: avro, registry: { url: "http://127.0.0.1:9" } }
        stages:
          - type: filter
            where: temp > -100
        sink:
          url: http://127.0.0.1:9
          table: weather
          schema: { station: String, time: Int64, temp: Int32 }
        on_error: skip
        """;

    [Theory]
    [InlineData("weather.avro")]
    [InlineData("weather-deflate.avro")]
    public async Task DryRun_ContainerFile_RowsEqualTheFilesJsonWithoutRegistry(string file)
    {
        var (pipeline, dir) = PipelineHarness.Load(WeatherYaml);
        try
        {
            // The registry URL points at a closed port: the container's own schema must be used.
            var input = Adapters.ReadAvroContainer(AvroTestData.Shared(file), pipeline);
            var result = await Runner().RunAsync(pipeline, input.Messages, CancellationToken.None, input.Decoder);

            var expected = File.ReadAllLines(AvroTestData.Shared("weather.json")).Where(l => l.Length > 0).ToArray();
            Assert.Equal(expected.Length, input.Messages.Count);
            Assert.Equal(expected.Select(Normalize), result.Rows.Select(Normalize));
            Assert.Empty(result.DeadLetters);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task DryRun_ContainerWithIncompatibleReaderSchema_FailsWithFormatError()
    {
        var yaml = WeatherYaml.Replace("registry: { url: \"http://127.0.0.1:9\" }", "registry: { url: \"http://127.0.0.1:9\" }, reader_schema: reader.avsc", StringComparison.Ordinal);
        var reader = """{"type": "record", "name": "Weather", "namespace": "test", "fields": [{"name": "station", "type": "int"}]}""";
        var (pipeline, dir) = PipelineHarness.Load(yaml, new Dictionary<string, string> { ["reader.avsc"] = reader });
        try
        {
            var input = Adapters.ReadAvroContainer(AvroTestData.Shared("weather.avro"), pipeline);
            var ex = await Assert.ThrowsAsync<PipelineBuildException>(() => Runner().RunAsync(pipeline, input.Messages, CancellationToken.None, input.Decoder));
            Assert.Contains("station", Assert.Single(ex.Errors).Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void ReadAvroContainer_NotAnAvroFile_InvalidDataNamingTheFile()
    {
        var (pipeline, dir) = PipelineHarness.Load(WeatherYaml);
        try
        {
            var path = Path.Combine(dir, "bad.avro");
            File.WriteAllText(path, "{\"station\": 1}");
            var ex = Assert.Throws<InvalidDataException>(() => Adapters.ReadAvroContainer(path, pipeline));
            Assert.Contains("bad.avro", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    /// <summary>The sample Avro pipeline gives exactly the rows its JSON twin gives for the same events (the benchmark's premise).</summary>
    [Fact]
    public async Task DryRun_SampleAvroPipeline_SameRowsAsJsonPipelineForTheSameEvents()
    {
        const int n = 400;
        await using var registry = EmbeddedSchemaRegistry.Start(firstId: 7);
        var schemaId = registry.Register(File.ReadAllText(Path.Combine(RepoRoot, "schemas", "web-event.avsc")));
        string? Env(string name) => name == "SCHEMA_REGISTRY_URL" ? registry.Url : Environment.GetEnvironmentVariable(name);
        var stages = StageRegistry.CreateDefault();
        var json = PipelineLoader.Load(Path.Combine(RepoRoot, "pipelines", "web-events.yaml"), stages, Env);
        var avro = PipelineLoader.Load(Path.Combine(RepoRoot, "pipelines", "web-events-avro.yaml"), stages, Env);
        Assert.True(json.Success && avro.Success, string.Join("\n", json.Errors.Concat(avro.Errors)));
        Assert.Equal(registry.Url, avro.Pipelines[0].Options.Format.Registry?.Url);

        var jsonEvents = new SampleEvents(5, 1000);
        var avroEvents = new SampleEvents(5, 1000);
        var jsonRows = await Runner().RunAsync(json.Pipelines[0], [.. Enumerable.Range(0, n).Select(i => (byte[]?)jsonEvents.Next(i))], CancellationToken.None);
        var avroRows = await Runner().RunAsync(avro.Pipelines[0], [.. Enumerable.Range(0, n).Select(i => (byte[]?)avroEvents.NextAvro(i, schemaId))], CancellationToken.None);

        Assert.Empty(avroRows.DeadLetters);
        Assert.Equal(n - n / 20, avroRows.Rows.Count); // heartbeats filtered
        Assert.Equal(jsonRows.Rows, avroRows.Rows);
        Assert.Contains("\"session_id\":\"", avroRows.Rows[0], StringComparison.Ordinal);
        Assert.Equal(1, registry.Requests);
    }

    [Fact]
    public async Task EmbeddedSchemaRegistry_KnownAndUnknownIds_AnswersAsTheRegistryClientExpects()
    {
        await using var registry = EmbeddedSchemaRegistry.Start(firstId: 3);
        var id = registry.Register("""{"type": "string"}""");
        using var client = new SchemaRegistryClient(new SchemaRegistryOptions { Url = registry.Url, MaxRetries = 0 });

        var schema = await client.GetSchemaAsync(id, CancellationToken.None);
        Assert.Equal(3, id);
        Assert.Equal("""{"type": "string"}""", schema.Schema);
        Assert.Equal("AVRO", schema.SchemaType);
        var ex = await Assert.ThrowsAsync<SchemaRegistryException>(() => client.GetSchemaAsync(99, CancellationToken.None).AsTask());
        Assert.Equal(SchemaRegistryErrorKind.NotFound, ex.Kind);
        Assert.Equal(40403, ex.ErrorCode);
    }

    private static string Normalize(string jsonLine) => JsonSerializer.Serialize(JsonSerializer.Deserialize<JsonElement>(jsonLine));
}

using StreamEnrich.Configuration;
using StreamEnrich.Stages.JsonSchema;

namespace StreamEnrich.Tests.Formats.SchemaRegistry;

/// <summary>The registry's tls_ca_file is relative to the pipeline file, like every other path in a pipeline.</summary>
public sealed class SchemaRegistryOptionsPathTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("se-registry-paths-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public void Load_RelativeRegistryCaFile_ResolvesFromThePipelineFolderInFormatAndJsonSchemaStage()
    {
        var pipelines = _dir.CreateSubdirectory("pipelines");
        File.WriteAllText(Path.Combine(_dir.FullName, "registry-ca.pem"), "not checked here");
        File.WriteAllText(Path.Combine(pipelines.FullName, "s.json"), "{}");
        var file = Path.Combine(pipelines.FullName, "web.yaml");
        File.WriteAllText(file, """
            source: { brokers: localhost:9092, topic: web }
            format:
              type: avro
              registry: { url: "https://registry:8081", tls_ca_file: ../registry-ca.pem }
            stages:
              - type: json_schema
                registry_subject: web-value
                registry: { url: "https://registry:8081", tls_ca_file: ../registry-ca.pem }
            sink: { url: http://localhost:8123, table: events }
            on_error: skip
            """);
        var result = PipelineLoader.Load(file, StageRegistry.CreateDefault(), _ => null);

        Assert.True(result.Success, string.Join("\n", result.Errors));
        var options = Assert.Single(result.Pipelines).Options;
        var expected = Path.Combine(_dir.FullName, "registry-ca.pem");
        Assert.Equal(expected, options.Format.Registry!.TlsCaFile);
        Assert.Equal(expected, ((JsonSchemaStageOptions)options.Stages[0].Options).Registry!.TlsCaFile);
    }

    [Fact]
    public void Load_RelativeRegistryCaFileMissing_ReportsTheResolvedPath()
    {
        var file = Path.Combine(_dir.FullName, "web.yaml");
        File.WriteAllText(file, """
            source: { brokers: localhost:9092, topic: web }
            format:
              type: avro
              registry: { url: "https://registry:8081", tls_ca_file: certs/ca.pem }
            sink: { url: http://localhost:8123, table: events }
            on_error: skip
            """);

        var result = PipelineLoader.Load(file, StageRegistry.CreateDefault(), _ => null);

        var error = Assert.Single(result.Errors);
        Assert.Contains($"CA file 'certs/ca.pem' ({Path.Combine(_dir.FullName, "certs", "ca.pem")}) does not exist", error.Message, StringComparison.Ordinal);
        Assert.Contains("pipeline file's folder", error.Hint, StringComparison.Ordinal);
    }
}

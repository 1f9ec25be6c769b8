using StreamEnrich.Configuration;
using static StreamEnrich.Tests.Configuration.ConfigTestSupport;

namespace StreamEnrich.Tests.Configuration;

public sealed class PipelineDirectoryLoadTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "se-config-" + Guid.NewGuid().ToString("N"));

    public PipelineDirectoryLoadTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Load_Directory_LoadsYamlAndYmlSortedAndIgnoresOtherFiles()
    {
        Write("b.yml", Minimal);
        Write("a.yaml", Minimal);
        Write("notes.txt", "not yaml: [");
        Directory.CreateDirectory(Path.Combine(_dir, "sub"));
        File.WriteAllText(Path.Combine(_dir, "sub", "c.yaml"), "broken: [");

        var result = PipelineLoader.Load(_dir, Registry(), Env());

        Assert.True(result.Success, string.Join("\n", result.Errors));
        Assert.Equal(["a", "b"], result.Pipelines.Select(p => p.Name));
        Assert.Equal(Path.Combine(_dir, "a.yaml"), result.Pipelines[0].File);
        Assert.Equal(_dir, result.Pipelines[0].Directory);
        Assert.Equal(Path.Combine(_dir, "schemas", "x.avsc"), result.Pipelines[0].ResolvePath("schemas/x.avsc"));
        Assert.Equal("/abs/x.avsc", result.Pipelines[0].ResolvePath("/abs/x.avsc"));
    }

    [Fact]
    public void Load_SingleFile_LoadsIt()
    {
        var path = Write("orders.yaml", Minimal);
        var result = PipelineLoader.Load(path, Registry(), Env());
        Assert.True(result.Success);
        Assert.Equal("orders", Assert.Single(result.Pipelines).Name);
    }

    [Fact]
    public void Load_DuplicateNamesAcrossFiles_IsAnErrorAtTheSecondName()
    {
        Write("a.yaml", "name: web\n" + Minimal);
        var second = Write("b.yaml", "# other\nname: web\n" + Minimal);

        var result = PipelineLoader.Load(_dir, Registry(), Env());

        var e = Assert.Single(result.Errors);
        Assert.Equal((second, 2, 1), (e.File, e.Line, e.Column));
        Assert.Equal($"duplicate pipeline name 'web': {Path.Combine(_dir, "a.yaml")} has it too", e.Message);
        Assert.Equal("a.yaml", Path.GetFileName(Assert.Single(result.Pipelines).File));
    }

    [Fact]
    public void Load_DuplicateDefaultNames_PointsAtFileStart()
    {
        Write("web.yaml", Minimal);
        // same default name from two files, second one sets no name: error at line 1 of the second.
        Write("web.yml", Minimal);
        var result = PipelineLoader.Load(_dir, Registry(), Env());
        var e = Assert.Single(result.Errors);
        Assert.EndsWith("web.yml", e.File, StringComparison.Ordinal);
        Assert.Equal((1, 1), (e.Line, e.Column));
        Assert.Contains("duplicate pipeline name 'web'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_FileWithErrors_IsLeftOutOthersStillLoad()
    {
        Write("good.yaml", Minimal);
        var bad = Write("bad.yaml", Minimal + "batch:\n  max_wait: soon\n");
        var result = PipelineLoader.Load(_dir, Registry(), Env());
        Assert.Equal("good", Assert.Single(result.Pipelines).Name);
        var e = Assert.Single(result.Errors);
        Assert.Equal((bad, 10, 13), (e.File, e.Line, e.Column));
    }

    [Fact]
    public void Load_SyntaxErrorInFile_HasFilePosition()
    {
        var bad = Write("bad.yaml", "source:\n  brokers: b\n topic: x\n");
        var result = PipelineLoader.Load(bad, Registry(), Env());
        var e = Assert.Single(result.Errors);
        Assert.Equal(bad, e.File);
        Assert.Equal(3, e.Line);
        Assert.StartsWith("invalid YAML", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_EmptyDirectory_IsAnError()
    {
        var result = PipelineLoader.Load(_dir, Registry(), Env());
        Assert.Empty(result.Pipelines);
        Assert.Equal($"{_dir}: error: no pipeline files (*.yaml, *.yml) in this folder\n  hint: Give a pipeline file or a folder holding them.", Assert.Single(result.Errors).ToString());
    }

    [Fact]
    public void Load_MissingPath_IsAnError()
    {
        var result = PipelineLoader.Load(Path.Combine(_dir, "nope.yaml"), Registry(), Env());
        Assert.Equal("no such file or folder", Assert.Single(result.Errors).Message);
    }

    [Fact]
    public void Load_EnvDefaultsToInjectedLookup()
    {
        var path = Write("p.yaml", Minimal.Replace("localhost:9092", "${SE_TEST_BROKERS_7f3a}", StringComparison.Ordinal));
        var result = PipelineLoader.Load(path, Registry(), Env(("SE_TEST_BROKERS_7f3a", "k:1")));
        Assert.True(result.Success);
        Assert.Equal("k:1", result.Pipelines[0].Options.Source.Brokers);
    }
}

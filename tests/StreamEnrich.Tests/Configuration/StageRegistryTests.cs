using StreamEnrich.Configuration;
using static StreamEnrich.Tests.Configuration.ConfigTestSupport;

namespace StreamEnrich.Tests.Configuration;

public class StageRegistryTests
{
    private sealed class NameClashOptions
    {
        public string Name { get; set; } = "";
    }

    [Fact]
    public void Register_DuplicateType_Throws()
    {
        var registry = Registry();
        var e = Assert.Throws<InvalidOperationException>(() =>
            registry.Register(StageSpec.Create<TestLookupOptions>("test_lookup", "again", (_, _) => new object())));
        Assert.Contains("test_lookup", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Register_OptionKeyClashingWithStageName_Throws()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            new StageRegistry().Register(StageSpec.Create<NameClashOptions>("clash", "x", (_, _) => new object())));
        Assert.Contains("'name' is reserved", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void All_IsSortedByType()
    {
        var registry = new StageRegistry();
        foreach (var t in new[] { "zeta", "alpha", "mid" })
            registry.Register(StageSpec.Create<TestLookupOptions>(t, t, (_, _) => new object()));
        Assert.Equal(["alpha", "mid", "zeta"], registry.All.Select(s => s.Type));
        Assert.True(registry.TryGet("mid", out var spec));
        Assert.Equal("mid", spec.Type);
        Assert.False(registry.TryGet("Mid", out _));
    }

    [Fact]
    public void CreateDefault_HoldsTheBuiltInStages()
    {
        var registry = StageRegistry.CreateDefault();
        Assert.Equal(StreamEnrich.Stages.BuiltInStages.All.Select(s => s.Type).Order(StringComparer.Ordinal), registry.All.Select(s => s.Type));
    }

    [Fact]
    public void CreateDefault_EveryBuiltInExample_Loads()
    {
        var registry = StageRegistry.CreateDefault();
        foreach (var spec in registry.All.Where(s => s.Example is not null))
        {
            var errors = new List<ConfigError>();
            var decl = PipelineLoader.LoadStage(spec.Example!, registry, errors, $"<example of {spec.Type}>");
            Assert.True(errors.Count == 0, string.Join("\n", errors));
            Assert.Equal(spec.Type, decl!.Type);
        }
    }

    [Fact]
    public void LoadStage_ExampleOfTestSpec_BindsOptions()
    {
        var registry = Registry();
        registry.TryGet("test_lookup", out var spec);
        var errors = new List<ConfigError>();
        var decl = PipelineLoader.LoadStage(spec!.Example!, registry, errors);
        Assert.Empty(errors);
        var o = Assert.IsType<TestLookupOptions>(decl!.Options);
        Assert.Equal(("user.id", TimeSpan.FromSeconds(30)), (o.Field, o.Ttl));
    }

    [Fact]
    public void LoadStage_Invalid_ReturnsNullWithErrors()
    {
        var errors = new List<ConfigError>();
        Assert.Null(PipelineLoader.LoadStage("type: test_lookup\nttl: x\n", Registry(), errors, "ex"));
        Assert.Equal(2, errors.Count); // missing field, bad ttl
        Assert.All(errors, e => Assert.Equal("ex", e.File));
    }
}

using StreamEnrich.Configuration;

namespace StreamEnrich.Tests.Configuration;

public enum LookupMode
{
    Exact,
    CaseInsensitive,
}

/// <summary>Options of the stage type the configuration tests register.</summary>
public sealed class TestLookupOptions : IValidatableOptions
{
    [Option("Field to look up.", Required = true, Example = "user.id")]
    public string Field { get; set; } = "";

    [Option("Cache entry lifetime.")]
    public TimeSpan Ttl { get; set; } = TimeSpan.FromMinutes(5);

    [Option("Cache size.")]
    [ByteSize]
    public long CacheSize { get; set; } = 1024 * 1024;

    [Option("Key fields.")]
    public List<string> Keys { get; set; } = [];

    [Option("Value renames.")]
    public Dictionary<string, string> Mapping { get; set; } = [];

    [Option("Matching mode.")]
    public LookupMode Mode { get; set; } = LookupMode.Exact;

    [Option("Service endpoint.", Key = "url")]
    public string? Endpoint { get; set; }

    [Option("Retries.")]
    public int? Retries { get; set; }

    public void Validate(OptionsValidationContext context)
    {
        if (Ttl > TimeSpan.FromDays(1))
            context.Error(nameof(Ttl), "ttl must be at most 1d.", "Use a shorter ttl.");
    }
}

internal static class ConfigTestSupport
{
    public static StageRegistry Registry()
    {
        var registry = new StageRegistry();
        registry.Register(StageSpec.Create<TestLookupOptions>("test_lookup", "Looks values up (test stage).", (_, _) => new object(),
            "- type: test_lookup\n  field: user.id\n  ttl: 30s\n"));
        registry.Register(StageSpec.Create<TestLookupOptions>("test_filter", "Filters (test stage).", (_, _) => new object()));
        return registry;
    }

    public static Func<string, string?> Env(params (string Name, string Value)[] vars)
    {
        var d = vars.ToDictionary(v => v.Name, v => v.Value);
        return name => d.TryGetValue(name, out var v) ? v : null;
    }

    /// <summary>Loads YAML text as file <c>pipelines/web.yaml</c>.</summary>
    public static (LoadedPipeline? Pipeline, List<ConfigError> Errors) Load(string yaml, Func<string, string?>? env = null)
    {
        var errors = new List<ConfigError>();
        var p = PipelineLoader.LoadText(yaml, "pipelines/web.yaml", Registry(), env ?? Env(), errors);
        return (p, errors);
    }

    public static ConfigError Single(List<ConfigError> errors)
    {
        Assert.True(errors.Count == 1, "expected exactly one error, got:\n" + string.Join("\n", errors));
        return errors[0];
    }

    /// <summary>A minimal valid pipeline, 7 lines and a blank one: appended text starts at line 9.</summary>
    public const string Minimal = """
        source:
          brokers: localhost:9092
          topic: web
        sink:
          url: http://localhost:8123
          table: events
        on_error: skip


        """;
}

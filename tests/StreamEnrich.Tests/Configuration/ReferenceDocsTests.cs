using StreamEnrich.Configuration;
using StreamEnrich.Configuration.Docs;
using static StreamEnrich.Tests.Configuration.ConfigTestSupport;

namespace StreamEnrich.Tests.Configuration;

public class ReferenceDocsTests
{
    private static IEnumerable<string> AllKeys(Type type, HashSet<Type> seen)
    {
        if (!seen.Add(type))
            yield break;
        foreach (var p in OptionsMetadata.For(type).Properties)
        {
            yield return p.Key;
            var t = Nullable.GetUnderlyingType(p.Type) ?? p.Type;
            if (t.IsGenericType)
                t = t.GetGenericArguments()[^1];
            if (t != typeof(StageDeclaration) && OptionsMetadata.IsOptionsClass(t))
                foreach (var k in AllKeys(t, seen))
                    yield return k;
        }
    }

    [Fact]
    public void Generate_ContainsEveryPipelineOptionKeyAndStageType()
    {
        var md = ReferenceDocs.Generate(Registry());
        var keys = AllKeys(typeof(PipelineOptions), []).ToList();
        Assert.Contains("max_wait", keys);
        Assert.Contains("expect_dead_letters", keys);
        foreach (var key in keys)
            Assert.Contains($"| `{key}` |", md, StringComparison.Ordinal);
        Assert.Contains("### test_lookup", md, StringComparison.Ordinal);
        Assert.Contains("### test_filter", md, StringComparison.Ordinal);
        Assert.Contains("| `url` |", md, StringComparison.Ordinal);
    }

    [Fact]
    public void Generate_ShowsDefaultsTypesAndExamples()
    {
        var md = ReferenceDocs.Generate(Registry());
        Assert.Contains("| `max_bytes` | byte size | `16MiB` | no |", md, StringComparison.Ordinal);
        Assert.Contains("| `max_wait` | duration | `1s` | no |", md, StringComparison.Ordinal);
        Assert.Contains("| `on_error` | one of `dead_letter`, `skip`, `fail` | `dead_letter` | no |", md, StringComparison.Ordinal);
        Assert.Contains("| `table` | string | — | yes |", md, StringComparison.Ordinal);
        Assert.Contains("| `parallelism` | integer | number of CPU cores | no |", md, StringComparison.Ordinal);
        Assert.Contains("| `batch` | mapping (see `batch`) |", md, StringComparison.Ordinal);
        Assert.Contains("### `sink`", md, StringComparison.Ordinal);
        Assert.Contains("### `tests[]`", md, StringComparison.Ordinal);
        Assert.Contains("```yaml\n- type: test_lookup\n  field: user.id\n  ttl: 30s\n```", md, StringComparison.Ordinal);
        Assert.Contains("| `ttl` | duration | `5m` | no |", md, StringComparison.Ordinal);
        Assert.Contains("| `field` | string | — | yes | Field to look up. Example: `user.id`. |", md, StringComparison.Ordinal);
    }

    [Fact]
    public void Generate_IsDeterministic()
    {
        Assert.Equal(ReferenceDocs.Generate(Registry()), ReferenceDocs.Generate(Registry()));
        Assert.DoesNotContain("\r", ReferenceDocs.Generate(Registry()), StringComparison.Ordinal);
    }

    [Fact]
    public void Generate_DefaultRegistry_Works()
    {
        var md = ReferenceDocs.Generate(StageRegistry.CreateDefault());
        foreach (var spec in StageRegistry.CreateDefault().All)
            Assert.Contains($"### {spec.Type}", md, StringComparison.Ordinal);
    }
}

using System.Reflection;
using System.Text.RegularExpressions;
using StreamEnrich.Configuration;
using StreamEnrich.Stages;
using YamlDotNet.RepresentationModel;

namespace StreamEnrich.Tests.Stages;

public partial class BuiltInStagesTests
{
    public static TheoryData<string> Types => [.. BuiltInStages.All.Select(s => s.Type)];

    [Fact]
    public void All_ContainsEveryBuiltInStageOnce()
    {
        Assert.Equal(["cast", "drop", "filter", "json_schema", "keep", "lookup", "rename", "set", "timestamp"], BuiltInStages.All.Select(s => s.Type).Order());
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Example_IsYamlMappingWithTypeAndKnownOptionKeys(string type)
    {
        var spec = BuiltInStages.All.Single(s => s.Type == type);
        Assert.False(string.IsNullOrWhiteSpace(spec.Summary));
        var yaml = new YamlStream();
        yaml.Load(new StringReader(spec.Example!));
        var root = Assert.IsType<YamlMappingNode>(yaml.Documents.Single().RootNode);
        var keys = root.Children.Keys.Cast<YamlScalarNode>().Select(k => k.Value!).ToList();
        Assert.Equal(type, ((YamlScalarNode)root.Children[new YamlScalarNode("type")]).Value);
        var known = spec.OptionsType.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite)
            .Select(p => p.GetCustomAttribute<OptionAttribute>()?.Key ?? SnakeCase(p.Name))
            .ToHashSet();
        foreach (var key in keys.Where(k => k != "type"))
            Assert.True(known.Contains(key), $"example key '{key}' of {type} is not an option ({string.Join(", ", known)})");
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void OptionsType_EveryPublicPropertyDocumented(string type)
    {
        var spec = BuiltInStages.All.Single(s => s.Type == type);
        Assert.True(typeof(IValidatableOptions).IsAssignableFrom(spec.OptionsType));
        foreach (var p in spec.OptionsType.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
            Assert.False(string.IsNullOrWhiteSpace(p.GetCustomAttribute<OptionAttribute>()?.Description), $"{type}.{p.Name} has no [Option] description");
    }

    private static string SnakeCase(string name) => Upper().Replace(name, m => (m.Index > 0 ? "_" : "") + m.Value.ToLowerInvariant());

    [GeneratedRegex("[A-Z]")]
    private static partial Regex Upper();
}

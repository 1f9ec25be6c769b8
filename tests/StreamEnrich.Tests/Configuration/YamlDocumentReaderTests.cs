using StreamEnrich.Configuration;
using StreamEnrich.Configuration.Yaml;

namespace StreamEnrich.Tests.Configuration;

public class YamlDocumentReaderTests
{
    private static ConfigNode? Read(string yaml, List<ConfigError> errors, Func<string, string?>? env = null) =>
        YamlDocumentReader.Read(yaml, "f.yaml", env ?? ConfigTestSupport.Env(), errors);

    [Fact]
    public void Read_Positions_AreOneBasedLineAndColumn()
    {
        var errors = new List<ConfigError>();
        var root = (ConfigMapping)Read("a: 1\nb:\n  c: x\n", errors)!;
        Assert.Empty(errors);
        Assert.Equal((1, 1), (root.Entries[0].Key.Location.Line, root.Entries[0].Key.Location.Column));
        Assert.Equal((1, 4), (root.Entries[0].Value.Location.Line, root.Entries[0].Value.Location.Column));
        var nested = (ConfigMapping)root.Entries[1].Value;
        Assert.Equal((3, 3), (nested.Entries[0].Key.Location.Line, nested.Entries[0].Key.Location.Column));
        Assert.Equal((3, 6), (nested.Entries[0].Value.Location.Line, nested.Entries[0].Value.Location.Column));
    }

    [Fact]
    public void Read_DuplicateKeys_AreKept()
    {
        var errors = new List<ConfigError>();
        var root = (ConfigMapping)Read("a: 1\na: 2\n", errors)!;
        Assert.Equal(2, root.Entries.Count);
    }

    [Theory]
    [InlineData("a: 1\n b: 2\n", 2, 3, "found invalid mapping")]
    [InlineData("a: 'abc\n", 1, 4, "unexpected end of stream")]
    [InlineData("a: {x: 1\n", 2, 1, "did not find expected ',' or '}'")]
    public void Read_SyntaxError_ReportsYamlDotNetPosition(string yaml, int line, int column, string text)
    {
        var errors = new List<ConfigError>();
        Assert.Null(Read(yaml, errors));
        var e = ConfigTestSupport.Single(errors);
        Assert.Equal(("f.yaml", line, column), (e.File, e.Line, e.Column));
        Assert.StartsWith("invalid YAML: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(text, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Idx:", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_UnclosedFlowSequenceThatYamlDotNetMishandles_IsStillAPositionedError()
    {
        var errors = new List<ConfigError>();
        Assert.Null(Read("a: 1\nb: [1, 2\nc: 3\n", errors));
        var e = ConfigTestSupport.Single(errors);
        Assert.Equal(2, e.Line);
        Assert.Contains("unclosed '['", e.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_TabIndentation_HintsAtTabs()
    {
        var errors = new List<ConfigError>();
        Assert.Null(Read("a:\n\t- x\n", errors));
        Assert.Contains("tabs", ConfigTestSupport.Single(errors).Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_UndefinedAlias_IsAnErrorAtTheAlias()
    {
        var errors = new List<ConfigError>();
        Read("a: 1\nb: *nope\n", errors);
        var e = ConfigTestSupport.Single(errors);
        Assert.Equal((2, 4), (e.Line, e.Column));
        Assert.Contains("*nope", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_QuotedAndTagged_AreNotPlain()
    {
        var errors = new List<ConfigError>();
        var root = (ConfigMapping)Read("a: '1'\nb: \"x\"\nc: !!str 5\nd: 5\n", errors)!;
        Assert.Equal([false, false, false, true], root.Entries.Select(e => ((ConfigScalar)e.Value).IsPlain).ToArray());
    }

    [Fact]
    public void Read_AnchorsAliasesAndMergeKeys_AreResolved()
    {
        var errors = new List<ConfigError>();
        var root = (ConfigMapping)Read("base: &b\n  x: 1\n  y: 2\nother:\n  <<: *b\n  y: 3\nref: *b\n", errors)!;
        Assert.Empty(errors);
        var other = (ConfigMapping)root.Entries[1].Value;
        var keys = other.Entries.Select(e => e.Key.Value).ToList();
        Assert.Contains("x", keys);
        Assert.Same(root.Entries[0].Value, root.Entries[2].Value);
    }

    [Fact]
    public void Read_SecondDocument_IsAnError()
    {
        var errors = new List<ConfigError>();
        Read("a: 1\n---\nb: 2\n", errors);
        var e = ConfigTestSupport.Single(errors);
        Assert.Equal(2, e.Line);
        Assert.Contains("one YAML document", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_EmptyOrCommentsOnly_ReturnsNull()
    {
        var errors = new List<ConfigError>();
        Assert.Null(Read("", errors));
        Assert.Null(Read("# nothing\n", errors));
        Assert.Empty(errors);
    }
}

using StreamEnrich.Configuration;
using static StreamEnrich.Tests.Configuration.ConfigTestSupport;

namespace StreamEnrich.Tests.Configuration;

public class EnvironmentSubstitutionTests
{
    private static string? Sub(string text, Func<string, string?> env) => EnvironmentSubstitution.Substitute(text, env, out _, out _);

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("${A}", "a-value")]
    [InlineData("x-${A}-y-${A}", "x-a-value-y-a-value")]
    [InlineData("${MISSING:-fallback}", "fallback")]
    [InlineData("${EMPTY:-fallback}", "fallback")]
    [InlineData("${EMPTY}", "")]
    [InlineData("${A:-unused}", "a-value")]
    [InlineData("${MISSING:-}", "")]
    [InlineData("$${A}", "${A}")]
    [InlineData("cost $5 and $A", "cost $5 and $A")]
    [InlineData("$$${A}", "$${A}")]
    public void Substitute_ValidReferences_AreReplaced(string text, string expected)
    {
        Assert.Equal(expected, Sub(text, Env(("A", "a-value"), ("EMPTY", ""))));
    }

    [Theory]
    [InlineData("${MISSING}", "environment variable 'MISSING' is not set")]
    [InlineData("pre ${OPEN", "unterminated '${' in 'pre ${OPEN'")]
    [InlineData("${1X}", "'${1X}' is not a valid variable reference")]
    [InlineData("${}", "'${}' is not a valid variable reference")]
    public void Substitute_BadReferences_AreErrors(string text, string message)
    {
        Assert.Null(EnvironmentSubstitution.Substitute(text, Env(), out var error, out var hint));
        Assert.Equal(message, error);
        Assert.NotNull(hint);
    }

    [Fact]
    public void Substitute_LookupIsInjected_ProcessEnvironmentIsNotRead()
    {
        var asked = new List<string>();
        Sub("${PATH:-none}", n => { asked.Add(n); return null; });
        Assert.Equal(["PATH"], asked);
        Assert.Equal("none", Sub("${PATH:-none}", Env()));
    }

    [Fact]
    public void Load_UnquotedVariableInFlowCollection_HintsToQuote()
    {
        var (_, errors) = Load(Minimal + "tests:\n  - name: t\n    input: [{n: ${N}}]\n", Env(("N", "42")));
        var e = Single(errors);
        Assert.Equal((11, 18), (e.Line, e.Column));
        Assert.Contains("quote values that contain ${VAR}", e.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_VariablesInKeys_AreNotSubstituted()
    {
        var (_, errors) = Load(Minimal + "${KEY}: 1\n", Env(("KEY", "parallelism")));
        Assert.Equal("unknown key '${KEY}' in the pipeline", Single(errors).Message);
    }

    [Fact]
    public void Load_QuotedScalars_AreSubstitutedToo()
    {
        var (p, errors) = Load(Minimal.Replace("table: events", "table: '${T}'\n  password: \"${PW}\"", StringComparison.Ordinal), Env(("T", "t1"), ("PW", "s3cr:t")));
        Assert.Empty(errors);
        Assert.Equal(("t1", "s3cr:t"), (p!.Options.Sink.Table, p.Options.Sink.Password));
    }

    [Fact]
    public void Load_SubstitutedValueInPlainValue_IsInferredAfterSubstitution()
    {
        var (p, errors) = Load(Minimal + "tests:\n  - name: t\n    input:\n      - n: ${N}\n", Env(("N", "42")));
        Assert.Empty(errors);
        Assert.Equal(42L, ((Dictionary<string, object?>)p!.Options.Tests[0].Input[0])["n"]);
    }
}

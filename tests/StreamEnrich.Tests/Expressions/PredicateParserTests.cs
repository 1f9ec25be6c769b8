using StreamEnrich.Expressions;
using StreamEnrich.Records;

namespace StreamEnrich.Tests.Expressions;

public class PredicateParserTests
{
    /// <summary>True or false; fails the test when the predicate cannot be evaluated (see <see cref="Invalid"/>).</summary>
    internal static bool Eval(string predicate, params (string Field, Value Value)[] values)
    {
        var (node, fields) = Compile(predicate, values);
        var truth = node.Evaluate(fields);
        Assert.True(truth != Truth.Invalid, $"'{predicate}' could not be evaluated: {node.Explain(fields)}");
        Assert.Null(node.Explain(fields)); // nothing to explain when there is an answer
        return truth == Truth.True;
    }

    /// <summary>The explanation of a predicate that cannot be evaluated for these values (fails the test when it can).</summary>
    internal static string Invalid(string predicate, params (string Field, Value Value)[] values)
    {
        var (node, fields) = Compile(predicate, values);
        Assert.Equal(Truth.Invalid, node.Evaluate(fields));
        var why = node.Explain(fields);
        Assert.NotNull(why);
        return why;
    }

    private static (PredicateNode Node, Value[] Fields) Compile(string predicate, (string Field, Value Value)[] values)
    {
        var layout = new RecordLayout();
        var node = Predicate.Compile(predicate, layout.Slot);
        foreach (var (f, _) in values) layout.Slot(f);
        var fields = new Value[layout.Count];
        foreach (var (f, v) in values) fields[layout.Slot(f)] = v;
        return (node, fields);
    }

    private static PredicateParseException ParseError(string predicate) =>
        Assert.Throws<PredicateParseException>(() => Predicate.Compile(predicate, _ => 0));

    [Theory]
    [InlineData("a == 1 or b == 1 and c == 1", 1, 0, 0, true)]   // and binds tighter: a or (b and c)
    [InlineData("a == 1 or b == 1 and c == 1", 0, 1, 0, false)]
    [InlineData("(a == 1 or b == 1) and c == 1", 1, 0, 0, false)]
    [InlineData("not a == 1 and b == 1", 0, 1, 0, true)]          // not binds tighter than and
    [InlineData("not (a == 1 and b == 1)", 1, 1, 0, false)]
    [InlineData("!(a == 1) || b == 1 && c == 1", 1, 1, 1, true)]
    [InlineData("!(a == 1) || b == 1 && c == 1", 1, 1, 0, false)]
    [InlineData("a == 1 and b == 1 or c == 1", 0, 0, 1, true)]
    public void Compile_Precedence_AndBeforeOrNotBeforeAnd(string predicate, int a, int b, int c, bool expected)
    {
        Assert.Equal(expected, Eval(predicate, ("a", Value.FromInt(a)), ("b", Value.FromInt(b)), ("c", Value.FromInt(c))));
    }

    [Theory]
    [InlineData("x == 5", true)]
    [InlineData("x != 5", false)]
    [InlineData("x < 6", true)]
    [InlineData("x < 5", false)]
    [InlineData("x <= 5", true)]
    [InlineData("x > 4", true)]
    [InlineData("x > 5", false)]
    [InlineData("x >= 5", true)]
    [InlineData("x >= 6", false)]
    [InlineData("x in [1, 5, 9]", true)]
    [InlineData("x in [1, 9]", false)]
    [InlineData("x not in [1, 9]", true)]
    [InlineData("x not in [5]", false)]
    [InlineData("exists(x)", true)]
    [InlineData("exists(y)", false)]
    [InlineData("5 == x", true)]
    [InlineData("true", true)]
    [InlineData("false or x == 5", true)]
    public void Compile_EveryComparisonOperator_EvaluatesAsDocumented(string predicate, bool expected)
    {
        Assert.Equal(expected, Eval(predicate, ("x", Value.FromInt(5))));
    }

    [Theory]
    [InlineData("s contains 'ell'", true)]
    [InlineData("s contains 'xyz'", false)]
    [InlineData("s starts_with \"he\"", true)]
    [InlineData("s starts_with 'lo'", false)]
    [InlineData("s ends_with 'lo'", true)]
    [InlineData("s ends_with 'he'", false)]
    [InlineData("s == 'hello' && s != 'world'", true)]
    [InlineData("s < 'help'", true)]
    [InlineData("s > 'help'", false)]
    public void Compile_StringOperators_WorkOnUtf8AndDotNetStrings(string predicate, bool expected)
    {
        Assert.Equal(expected, Eval(predicate, ("s", Value.FromString("hello"))));
        Assert.Equal(expected, Eval(predicate, ("s", Stages.TestStageContext.Utf8("hello"))));
    }

    [Fact]
    public void Compile_FieldPaths_DottedMetadataAndBackticks()
    {
        Assert.True(Eval("user.id == 7 and _partition == 3 and `weird-name` == 'x'",
            ("user.id", Value.FromInt(7)), ("_partition", Value.FromInt(3)), ("weird-name", Value.FromString("x"))));
        Assert.Equal(["user.id", "_headers.trace-id", "and"], Predicate.Fields("user.id == 1 or `_headers.trace-id` == 'a' or `and` == 1"));
    }

    [Theory]
    [InlineData(@"s == 'it\'s'", "it's")]
    [InlineData(@"s == ""say \""hi\""""", "say \"hi\"")]
    [InlineData(@"s == 'a\nb\tc\\d'", "a\nb\tc\\d")]
    [InlineData(@"s == '\u00e9'", "é")]
    [InlineData(@"s == ""it's""", "it's")]
    public void Compile_StringEscapes_AreDecoded(string predicate, string value)
    {
        Assert.True(Eval(predicate, ("s", Value.FromString(value))));
    }

    [Theory]
    [InlineData("x == -3", -3L, true)]
    [InlineData("x == 1e3", 1000L, true)]
    [InlineData("x > -0.5", 0L, true)]
    public void Compile_NumberLiterals_ParseSignsAndExponents(string predicate, long x, bool expected)
    {
        Assert.Equal(expected, Eval(predicate, ("x", Value.FromInt(x))));
    }

    [Fact]
    public void Compile_BareBooleanField_IsTrueOnlyForTrue()
    {
        Assert.True(Eval("active", ("active", Value.True)));
        Assert.False(Eval("active", ("active", Value.False)));
        Assert.Contains("is not a boolean", Invalid("active", ("active", Value.FromString("true"))));
        Assert.True(Eval("not active", ("active", Value.False)));
    }

    [Theory]
    [InlineData("(a == 1 and b == 2", "expected ')'", 19)]
    [InlineData("a == ", "expected a field or literal after '=='", 6)]
    [InlineData("a = 1", "unexpected '=' (use '==' to compare)", 3)]
    [InlineData("a == 1 b == 2", "expected 'and', 'or' or end of expression", 8)]
    [InlineData("a == 'abc", "unterminated string (expected closing ')", 6)]
    [InlineData("a in 1, 2]", "expected '[' to start the list", 6)]
    [InlineData("a in [1, 2", "expected ',' or ']'", 11)]
    [InlineData("a in [1, b]", "expected a literal in the list, not a field", 10)]
    [InlineData("a in []", "expected at least one literal in the list", 7)]
    [InlineData("exists a", "expected '(' after exists", 8)]
    [InlineData("exists(1)", "expected a field name", 8)]
    [InlineData("a == 1 and", "expected a field, a literal, 'not', 'exists' or '('", 11)]
    [InlineData("'abc'", "expected a comparison operator (==, !=, <, <=, >, >=, in, contains, starts_with, ends_with)", 6)]
    [InlineData("a == 1 # b", "unexpected character '#'", 8)]
    [InlineData("`a", "unterminated field name (expected closing `)", 1)]
    [InlineData("a == 'x\\q'", "unknown escape '\\q' (use \\\\, \\', \\\", \\n, \\t, \\r, \\0 or \\uXXXX)", 8)]
    [InlineData("", "expected a condition", 1)]
    [InlineData("a. == 1", "expected a field name after '.'", 3)]
    [InlineData("a == 12abc", "unexpected 'a' in number", 8)]
    public void Compile_InvalidInput_ReportsProblemAndColumn(string predicate, string problem, int column)
    {
        var e = ParseError(predicate);
        Assert.Equal(problem, e.Problem);
        Assert.Equal(column, e.Column);
        Assert.StartsWith($"{problem} at column {column}", e.Message);
    }

    [Fact]
    public void Compile_KeywordAsField_SuggestsBackticks()
    {
        var e = ParseError("contains == 1");
        Assert.Contains("`contains`", e.Message);
        Assert.Equal(1, e.Column);
    }

    [Fact]
    public void Check_ValidAndInvalid_ReturnsNullOrError()
    {
        Assert.Null(Predicate.Check("a == 1"));
        Assert.Equal(7, Predicate.Check("a == 1)")!.Column);
    }
}

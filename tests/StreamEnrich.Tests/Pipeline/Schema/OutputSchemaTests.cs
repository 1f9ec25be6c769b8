using StreamEnrich.Pipeline.Schema;
using StreamEnrich.Stages;

namespace StreamEnrich.Tests.Pipeline.Schema;

public class OutputSchemaTests
{
    [Fact]
    public void Rename_KeepsPositionAndReplacesExistingTarget()
    {
        var s = new OutputSchema();
        s.Set("a", "String", false);
        s.Set("b", "Int64", true);
        s.Set("c", "Bool", false);
        Assert.True(s.Rename("c", "a"));
        Assert.Equal([new OutputField("b", "Int64", true), new OutputField("a", "Bool", false)], s.Fields);
        Assert.False(s.Rename("zz", "y"));
        Assert.True(s.Rename("_offset", "off"));
        Assert.Equal(new OutputField("off", "UInt64", false), s.Fields[^1]);
    }

    [Fact]
    public void RemoveAllExcept_KeepsOnlyListed()
    {
        var s = new OutputSchema();
        foreach (var n in new[] { "a", "b", "c" }) s.Set(n, "String", false);
        s.RemoveAllExcept(["c", "a", "x"]);
        Assert.Equal(["a", "c"], s.Fields.Select(f => f.Path));
    }

    [Theory]
    [InlineData("String", true, "Nullable(String)")]
    [InlineData("LowCardinality(String)", true, "LowCardinality(Nullable(String))")]
    [InlineData("Array(Int64)", true, "Array(Int64)")]
    [InlineData("Int64", false, "Int64")]
    public void TypeText_NullableWhereClickHouseAllowsIt(string type, bool nullable, string expected) =>
        Assert.Equal(expected, TableDdlGenerator.TypeText(new OutputField("x", type, nullable)));

    [Theory]
    [InlineData("user_id", "user_id")]
    [InlineData("user.id", "`user.id`")]
    [InlineData("weird`name", "`weird\\`name`")]
    [InlineData("1st", "`1st`")]
    public void Quote_BackquotesNamesThatNeedIt(string name, string expected) => Assert.Equal(expected, TableDdlGenerator.Quote(name));

    [Fact]
    public async Task JsonSchemaColumns_MapsTypesFormatsAndNullability()
    {
        var schema = await NJsonSchema.JsonSchema.FromJsonAsync("""
            {
              "type": "object",
              "required": ["id", "at", "day", "flag", "scores", "maybe", "choice", "meta"],
              "definitions": { "money": { "type": "number" } },
              "properties": {
                "id": { "type": "integer" },
                "at": { "type": "string", "format": "date-time" },
                "day": { "type": "string", "format": "date" },
                "flag": { "type": "boolean" },
                "scores": { "type": "array", "items": { "type": ["integer", "null"] } },
                "maybe": { "type": ["string", "null"] },
                "choice": { "oneOf": [ { "type": "null" }, { "$ref": "#/definitions/money" } ] },
                "meta": { "type": "object", "additionalProperties": true },
                "items": { "type": "array", "items": { "type": "object", "properties": { "a": { "type": "string" } } } },
                "mixed": { "type": ["string", "integer"] }
              }
            }
            """);
        Assert.Equal(
        [
            new OutputField("id", "Int64", false),
            new OutputField("at", "DateTime64(3, 'UTC')", false),
            new OutputField("day", "Date32", false),
            new OutputField("flag", "Bool", false),
            new OutputField("scores", "Array(Nullable(Int64))", false),
            new OutputField("maybe", "String", true),
            new OutputField("choice", "Float64", true),
            new OutputField("meta", "String", false),
            new OutputField("items", "Array(String)", false),
            new OutputField("mixed", "String", true),
        ], JsonSchemaColumns.Fields(schema));
    }
}

using StreamEnrich.Stages;
using StreamEnrich.Stages.Cast;
using StreamEnrich.Stages.Keep;
using StreamEnrich.Stages.Lookup;
using StreamEnrich.Stages.Set;
using StreamEnrich.Stages.Timestamp;
using StreamEnrich.Tests.Stages;

namespace StreamEnrich.Tests.Pipeline.Schema;

/// <summary>How each built-in stage changes the output schema (<see cref="IOutputSchemaStage"/>).</summary>
public sealed class StageOutputSchemaTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("se-outschema-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static OutputSchema Input(params (string Path, string Type, bool Nullable)[] fields)
    {
        var s = new OutputSchema();
        foreach (var (p, t, n) in fields) s.Set(p, t, n);
        return s;
    }

    private T Build<T>(string type, object options) => new TestStageContext("st", _dir).Build<T>(type, options);

    [Fact]
    public void Keep_RemovesUnlisted()
    {
        var s = Input(("a", "String", false), ("b", "Int64", false));
        Build<IOutputSchemaStage>("keep", new KeepStageOptions { Fields = ["b"] }).Apply(s);
        Assert.Equal([new OutputField("b", "Int64", false)], s.Fields);
    }

    [Fact]
    public void Set_CopyTemplateAndIfMissing_TypesFollowSource()
    {
        var s = Input(("a", "UUID", true), ("n", "Int64", true));
        Build<IOutputSchemaStage>("set", new SetStageOptions { Field = "copy", From = "a" }).Apply(s);
        Build<IOutputSchemaStage>("set", new SetStageOptions { Field = "label", Template = "{a}-{n}" }).Apply(s);
        Build<IOutputSchemaStage>("set", new SetStageOptions { Field = "n", Value = 0L, IfMissing = true }).Apply(s);
        Build<IOutputSchemaStage>("set", new SetStageOptions { Field = "meta", From = "_partition" }).Apply(s);
        Assert.Equal(
        [
            new OutputField("a", "UUID", true), new OutputField("n", "Int64", false), new OutputField("copy", "UUID", true),
            new OutputField("label", "String", false), new OutputField("meta", "UInt32", false),
        ], s.Fields);
    }

    [Fact]
    public void Cast_KeepsNullabilityAndSourceTimestampPrecision()
    {
        var s = Input(("at", "DateTime64(6, 'UTC')", false), ("flag", "String", true), ("d", "String", false));
        Build<IOutputSchemaStage>("cast", new CastStageOptions { Fields = new() { ["at"] = "timestamp", ["flag"] = "bool", ["d"] = "date", ["unknown"] = "uuid" } }).Apply(s);
        Assert.Equal(
        [
            new OutputField("at", "DateTime64(6, 'UTC')", false), new OutputField("flag", "Bool", true), new OutputField("d", "Date32", false),
            new OutputField("unknown", "UUID", true),
        ], s.Fields);
        Assert.Contains(s.Notes, n => n.Contains("cast 'unknown': not in the input schema", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("epoch_ms", false, "DateTime64(3, 'UTC')", true)]
    [InlineData("epoch_us", false, "DateTime64(6, 'UTC')", true)]
    [InlineData("epoch_ns", true, "DateTime64(9, 'UTC')", false)]
    public void Timestamp_PrecisionFromFormats_NullableUnlessRequired(string format, bool required, string type, bool nullable)
    {
        var s = Input(("ts", "Int64", true));
        Build<IOutputSchemaStage>("timestamp", new TimestampStageOptions { Field = "ts", Target = "at", Formats = [format], Required = required }).Apply(s);
        Assert.Equal([new OutputField("ts", "Int64", true), new OutputField("at", type, nullable)], s.Fields);
    }

    [Theory]
    [InlineData(LookupMissBehavior.Fail, false)]
    [InlineData(LookupMissBehavior.Drop, false)]
    [InlineData(LookupMissBehavior.Null, true)]
    [InlineData(LookupMissBehavior.Keep, true)]
    public void Lookup_NullableUnlessEveryPassingRecordHasTheField(LookupMissBehavior onMiss, bool nullable)
    {
        File.WriteAllText(Path.Combine(_dir, "users.csv"), "id,country\n1,DE\n");
        var s = Input(("user_id", "Int64", false));
        using var stage = Build<LookupStage>("lookup", new LookupStageOptions
        {
            File = "users.csv", KeyColumn = "id", Field = "user_id", Columns = new() { ["country"] = "country" }, OnMiss = onMiss,
        });
        stage.Apply(s);
        Assert.Equal(new OutputField("country", "String", nullable), s.Fields[^1]);
    }

    [Theory]
    [InlineData(LookupMissBehavior.Fail)]
    [InlineData(LookupMissBehavior.Keep)]
    public void Lookup_TypedColumn_TakesItsTypeAndIsNullable(LookupMissBehavior onMiss)
    {
        // Nullable even when every passing record has a row: an empty CSV cell of a typed column is null.
        File.WriteAllText(Path.Combine(_dir, "offers.csv"), "id,discount\n1,15\n");
        var s = Input(("offer", "Int64", false));
        using var stage = Build<LookupStage>("lookup", new LookupStageOptions
        {
            File = "offers.csv", KeyColumn = "id", Field = "offer", Columns = new() { ["discount"] = "discount" },
            Types = new() { ["discount"] = "int" }, OnMiss = onMiss,
        });
        stage.Apply(s);
        Assert.Equal(new OutputField("discount", "Int64", true), s.Fields[^1]);
    }
}

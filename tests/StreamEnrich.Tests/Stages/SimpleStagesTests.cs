using StreamEnrich.Records;
using StreamEnrich.Stages.Drop;
using StreamEnrich.Stages.Filter;
using StreamEnrich.Stages.Keep;
using StreamEnrich.Stages.Rename;

namespace StreamEnrich.Tests.Stages;

public class RenameStageTests
{
    [Fact]
    public void Process_RenamesField_MovesValueAndClearsOld()
    {
        var ctx = new TestStageContext();
        var stage = ctx.Build("rename", new RenameStageOptions { Fields = new() { ["usr"] = "user_id", ["ctx.ip"] = "client_ip" } });
        var r = ctx.NewRecord(("usr", Value.FromInt(42)), ("ctx.ip", Value.FromString("10.0.0.1")));
        stage.Process(r);
        Assert.Equal(Value.FromInt(42), ctx.Get(r, "user_id"));
        Assert.Equal(Value.FromString("10.0.0.1"), ctx.Get(r, "client_ip"));
        Assert.True(ctx.Get(r, "usr").IsMissing);
        Assert.True(ctx.Get(r, "ctx.ip").IsMissing);
        Assert.True(r.IsActive);
    }

    [Fact]
    public void Process_SourceMissing_LeavesExistingTarget()
    {
        var ctx = new TestStageContext();
        var stage = ctx.Build("rename", new RenameStageOptions { Fields = new() { ["old"] = "new" } });
        var r = ctx.NewRecord(("new", Value.FromString("kept")));
        stage.Process(r);
        Assert.Equal(Value.FromString("kept"), ctx.Get(r, "new"));
    }

    [Fact]
    public void Process_NullSource_IsMoved()
    {
        var ctx = new TestStageContext();
        var stage = ctx.Build("rename", new RenameStageOptions { Fields = new() { ["old"] = "new" } });
        var r = ctx.NewRecord(("old", Value.Null), ("new", Value.FromInt(1)));
        stage.Process(r);
        Assert.Equal(ValueKind.Null, ctx.Get(r, "new").Kind);
        Assert.True(ctx.Get(r, "old").IsMissing);
    }

    [Fact]
    public void Validate_ChainsSwapsDuplicatesAndEmpty_AreRejected()
    {
        Assert.Contains(TestStageContext.Validate(new RenameStageOptions { Fields = new() { ["a"] = "b", ["b"] = "a" } }),
            e => e.Message.Contains("both renamed and a rename target", StringComparison.Ordinal));
        Assert.Contains(TestStageContext.Validate(new RenameStageOptions { Fields = new() { ["a"] = "c", ["b"] = "c" } }),
            e => e.Message == "two fields are renamed to 'c'.");
        Assert.Contains(TestStageContext.Validate(new RenameStageOptions()), e => e.Property == "Fields");
        Assert.Contains(TestStageContext.Validate(new RenameStageOptions { Fields = new() { ["a"] = "a" } }),
            e => e.Message == "rename 'a' to itself does nothing.");
        Assert.Empty(TestStageContext.Validate(new RenameStageOptions { Fields = new() { ["a"] = "b" } }));
    }
}

public class DropStageTests
{
    [Fact]
    public void Process_DropsListedFields_OthersUntouched()
    {
        var ctx = new TestStageContext();
        var stage = ctx.Build("drop", new DropStageOptions { Fields = ["debug", "raw"] });
        var r = ctx.NewRecord(("debug", Value.True), ("raw", Value.FromString("x")), ("id", Value.FromInt(1)));
        stage.Process(r);
        Assert.True(ctx.Get(r, "debug").IsMissing);
        Assert.True(ctx.Get(r, "raw").IsMissing);
        Assert.Equal(Value.FromInt(1), ctx.Get(r, "id"));
    }

    [Fact]
    public void Validate_Empty_IsRejected()
    {
        Assert.Equal("drop needs at least one field in `fields`.", Assert.Single(TestStageContext.Validate(new DropStageOptions())).Message);
    }
}

public class KeepStageTests
{
    [Fact]
    public void Process_KeepsListedAndMetadata_ClearsFieldsDeclaredLater()
    {
        var ctx = new TestStageContext();
        ctx.Field("early");
        var stage = ctx.Build("keep", new KeepStageOptions { Fields = ["id", "name"] });
        // Declared after keep was built (e.g. by the sink's columns or a later stage).
        var r = ctx.NewRecord(("id", Value.FromInt(1)), ("name", Value.FromString("n")), ("early", Value.FromInt(2)),
            ("late", Value.FromInt(3)), ("_partition", Value.FromInt(4)), ("_headers.trace", Value.FromString("t")));
        stage.Process(r);
        Assert.Equal(Value.FromInt(1), ctx.Get(r, "id"));
        Assert.Equal(Value.FromString("n"), ctx.Get(r, "name"));
        Assert.True(ctx.Get(r, "early").IsMissing);
        Assert.True(ctx.Get(r, "late").IsMissing);
        Assert.Equal(Value.FromInt(4), ctx.Get(r, "_partition"));
        Assert.Equal(Value.FromString("t"), ctx.Get(r, "_headers.trace"));
    }

    [Fact]
    public void Process_ConcurrentFirstUse_AllRecordsCleared()
    {
        var ctx = new TestStageContext();
        var stage = ctx.Build("keep", new KeepStageOptions { Fields = ["id"] });
        var records = Enumerable.Range(0, 2000).Select(i => ctx.NewRecord(("id", Value.FromInt(i)), ("x", Value.FromInt(i)))).ToArray();
        Parallel.ForEach(records, r => stage.Process(r));
        Assert.All(records, r => Assert.True(ctx.Get(r, "x").IsMissing));
        Assert.Equal(Enumerable.Range(0, 2000).Select(i => (long)i), records.Select(r => ctx.Get(r, "id").AsInt));
    }

    [Fact]
    public void Validate_Empty_IsRejected()
    {
        Assert.Contains("an empty list would clear every field", Assert.Single(TestStageContext.Validate(new KeepStageOptions())).Message, StringComparison.Ordinal);
    }
}

public class FilterStageTests
{
    [Fact]
    public void Process_PredicateFalse_FiltersRecord()
    {
        var ctx = new TestStageContext();
        var stage = ctx.Build("filter", new FilterStageOptions { Where = "event == 'purchase' and amount > 0" });
        var keep = ctx.NewRecord(("event", TestStageContext.Utf8("purchase")), ("amount", Value.FromFloat(9.5)));
        var drop = ctx.NewRecord(("event", TestStageContext.Utf8("view")), ("amount", Value.FromFloat(9.5)));
        var missing = ctx.NewRecord(("event", TestStageContext.Utf8("purchase")));
        stage.Process(keep);
        stage.Process(drop);
        stage.Process(missing);
        Assert.Equal(RecordStatus.Active, keep.Status);
        Assert.Equal(RecordStatus.Filtered, drop.Status);
        Assert.Equal(RecordStatus.Filtered, missing.Status);
        Assert.Null(drop.FailureReason);
    }

    [Fact]
    public void Process_ValuesThatCannotBeCompared_FailTheRecordWithTheReason()
    {
        var ctx = new TestStageContext("only-big");
        var stage = ctx.Build("filter", new FilterStageOptions { Where = "amount > 10" });
        var text = ctx.NewRecord(("amount", TestStageContext.Utf8("15"))); // a number sent as JSON text
        stage.Process(text);
        Assert.Equal(RecordStatus.Failed, text.Status);
        Assert.Equal("only-big", text.FailedStage);
        Assert.Equal("cannot compare amount = '15' (string) with 10 (integer) ('amount > 10'). "
            + "Convert the field first (a cast stage before this one) or compare it with a literal of its own kind.", text.FailureReason);
        var number = ctx.NewRecord(("amount", Value.FromInt(15)));
        stage.Process(number);
        Assert.Equal(RecordStatus.Active, number.Status);
    }

    [Fact]
    public void Validate_BadPredicate_SurfacesColumn()
    {
        var error = Assert.Single(TestStageContext.Validate(new FilterStageOptions { Where = "(a == 1" }));
        Assert.Equal("Where", error.Property);
        Assert.Equal("invalid predicate: expected ')' at column 8 (found end of expression): (a == 1", error.Message);
        Assert.Equal("filter needs a `where` predicate.", Assert.Single(TestStageContext.Validate(new FilterStageOptions())).Message);
    }

    [Fact]
    public void Process_Concurrently_SameResultsAsSequential()
    {
        var ctx = new TestStageContext();
        var stage = ctx.Build("filter", new FilterStageOptions { Where = "n in [0, 2, 4, 6, 8] or s starts_with 'k'" });
        var records = Enumerable.Range(0, 5000).Select(i => ctx.NewRecord(("n", Value.FromInt(i % 10)), ("s", TestStageContext.Utf8(i % 3 == 0 ? "keep" : "no")))).ToArray();
        Parallel.ForEach(records, r => stage.Process(r));
        for (var i = 0; i < records.Length; i++)
            Assert.Equal((i % 10) % 2 == 0 || i % 3 == 0, records[i].IsActive);
    }
}

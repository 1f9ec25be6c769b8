using StreamEnrich.Records;
using StreamEnrich.Stages.Set;

namespace StreamEnrich.Tests.Stages;

public class SetStageTests
{
    [Theory]
    [InlineData("web")]
    [InlineData(42L)]
    [InlineData(1.5)]
    [InlineData(true)]
    [InlineData(null)]
    public void Process_Constant_SetsTypedValue(object? constant)
    {
        var ctx = new TestStageContext();
        var stage = ctx.Build("set", new SetStageOptions { Field = "source", Value = constant });
        var r = ctx.NewRecord(("source", Value.FromString("old")));
        stage.Process(r);
        var expected = constant switch
        {
            null => Value.Null,
            string s => Value.FromString(s),
            long l => Value.FromInt(l),
            double d => Value.FromFloat(d),
            bool b => Value.FromBool(b),
            _ => throw new InvalidOperationException(),
        };
        Assert.Equal(expected, ctx.Get(r, "source"));
    }

    [Fact]
    public void Process_From_CopiesValueIncludingMissing()
    {
        var ctx = new TestStageContext();
        var stage = ctx.Build("set", new SetStageOptions { Field = "copy", From = "user.id" });
        var r = ctx.NewRecord(("user.id", TestStageContext.Utf8("u1")));
        stage.Process(r);
        Assert.Equal(Value.FromString("u1"), ctx.Get(r, "copy"));
        Assert.Equal(Value.FromString("u1"), ctx.Get(r, "user.id"));
    }

    [Fact]
    public void Process_Template_RendersStringsAndScalars()
    {
        var ctx = new TestStageContext();
        var stage = ctx.Build("set", new SetStageOptions { Field = "loc", Template = "{country}-{city}/{n}:{f}:{b} {{x}}" });
        var r = ctx.NewRecord(("country", TestStageContext.Utf8("DE")), ("city", Value.FromString("Köln")), ("n", Value.FromInt(-7)),
            ("f", Value.FromFloat(0.25)), ("b", Value.True));
        stage.Process(r);
        Assert.Equal("DE-Köln/-7:0.25:true {x}", ctx.Get(r, "loc").AsString);
    }

    [Fact]
    public void Process_TemplateLongerThanBuffer_Grows()
    {
        var ctx = new TestStageContext();
        var stage = ctx.Build("set", new SetStageOptions { Field = "out", Template = "<{a}>" });
        var big = new string('x', 5000);
        var r = ctx.NewRecord(("a", TestStageContext.Utf8(big)));
        stage.Process(r);
        Assert.Equal("<" + big + ">", ctx.Get(r, "out").AsString);
    }

    [Fact]
    public void Process_TemplateMissingField_FailsNamingFieldByDefault()
    {
        var ctx = new TestStageContext("make-loc");
        var stage = ctx.Build("set", new SetStageOptions { Field = "loc", Template = "{country}-{city}" });
        var r = ctx.NewRecord(("country", Value.FromString("DE")));
        stage.Process(r);
        Assert.Equal(RecordStatus.Failed, r.Status);
        Assert.Equal("make-loc", r.FailedStage);
        Assert.Equal("set 'loc': template field 'city' is <missing>; expected a value (or set on_missing: empty).", r.FailureReason);
        Assert.True(ctx.Get(r, "loc").IsMissing);
    }

    [Fact]
    public void Process_TemplateMissingFieldWithEmpty_RendersEmpty()
    {
        var ctx = new TestStageContext();
        var stage = ctx.Build("set", new SetStageOptions { Field = "loc", Template = "{country}-{city}", OnMissing = TemplateMissingBehavior.Empty });
        var r = ctx.NewRecord(("country", Value.FromString("DE")), ("city", Value.Null));
        stage.Process(r);
        Assert.True(r.IsActive);
        Assert.Equal("DE-", ctx.Get(r, "loc").AsString);
    }

    [Fact]
    public void Process_IfMissing_OnlySetsMissingOrNull()
    {
        var ctx = new TestStageContext();
        var stage = ctx.Build("set", new SetStageOptions { Field = "f", Value = "default", IfMissing = true });
        var present = ctx.NewRecord(("f", Value.FromString("given")));
        var absent = ctx.NewRecord();
        var isNull = ctx.NewRecord(("f", Value.Null));
        stage.Process(present);
        stage.Process(absent);
        stage.Process(isNull);
        Assert.Equal("given", ctx.Get(present, "f").AsString);
        Assert.Equal("default", ctx.Get(absent, "f").AsString);
        Assert.Equal("default", ctx.Get(isNull, "f").AsString);
    }

    [Fact]
    public void Process_TemplateConcurrently_EachRecordGetsItsOwnText()
    {
        var ctx = new TestStageContext();
        var stage = ctx.Build("set", new SetStageOptions { Field = "out", Template = "id-{id}-{name}" });
        var records = Enumerable.Range(0, 5000).Select(i => ctx.NewRecord(("id", Value.FromInt(i)), ("name", TestStageContext.Utf8(new string('n', i % 300))))).ToArray();
        Parallel.ForEach(records, r => stage.Process(r));
        for (var i = 0; i < records.Length; i++)
            Assert.Equal($"id-{i}-{new string('n', i % 300)}", ctx.Get(records[i], "out").AsString);
    }

    [Fact]
    public void Validate_SourcesAndTemplate_AreChecked()
    {
        Assert.Equal("set needs one of `value`, `from` or `template`.", Assert.Single(TestStageContext.Validate(new SetStageOptions { Field = "f" })).Message);
        Assert.Equal("set takes exactly one of `value`, `from` or `template`, got several.",
            Assert.Single(TestStageContext.Validate(new SetStageOptions { Field = "f", Value = 1, From = "g" })).Message);
        Assert.Empty(TestStageContext.Validate(new SetStageOptions { Field = "f", Value = null }));
        Assert.StartsWith("template has an unclosed placeholder at column 3",
            Assert.Single(TestStageContext.Validate(new SetStageOptions { Field = "f", Template = "a-{b" })).Message, StringComparison.Ordinal);
        Assert.StartsWith("template has an empty placeholder",
            Assert.Single(TestStageContext.Validate(new SetStageOptions { Field = "f", Template = "{}" })).Message, StringComparison.Ordinal);
        Assert.Equal("`value` must be a string, number, bool or null, got a List`1.",
            Assert.Single(TestStageContext.Validate(new SetStageOptions { Field = "f", Value = new List<int>() })).Message);
        Assert.Contains(TestStageContext.Validate(new SetStageOptions { Value = 1 }), e => e.Property == "Field");
    }
}

using System.Text;
using StreamEnrich.Formats.Json;
using StreamEnrich.Records;

using Record = StreamEnrich.Records.Record;

namespace StreamEnrich.Tests.Formats.Json;

public class JsonRecordDecoderTests
{
    private static (Record Record, RecordLayout Layout) Decode(string json, params string[] fields)
    {
        var layout = new RecordLayout();
        foreach (var f in fields) layout.Slot(f);
        layout.Freeze();
        var record = layout.NewRecord();
        record.Payload = Encoding.UTF8.GetBytes(json);
        new JsonRecordDecoder(layout).Decode(record);
        return (record, layout);
    }

    private static Value Field(Record r, RecordLayout l, string name) => r.Fields[l.Slot(name)];

    [Fact]
    public void Decode_ScalarsOfEveryKind_LandInTheirSlots()
    {
        var (r, l) = Decode("""{"s":"text","i":-42,"big":18446744073709551615,"f":1.5,"t":true,"n":null,"e":"a\"b"}""", "s", "i", "big", "f", "t", "n", "e", "absent");
        Assert.Equal(RecordStatus.Active, r.Status);
        Assert.Equal("text", Field(r, l, "s").AsString);
        Assert.True(Field(r, l, "s").IsUtf8, "unescaped strings are slices of the payload, not copies");
        Assert.Equal(-42, Field(r, l, "i").AsInt);
        Assert.Equal(ValueKind.UInt, Field(r, l, "big").Kind);
        Assert.Equal(ulong.MaxValue, Field(r, l, "big").AsUInt);
        Assert.Equal(1.5, Field(r, l, "f").AsFloat);
        Assert.True(Field(r, l, "t").AsBool);
        Assert.Equal(ValueKind.Null, Field(r, l, "n").Kind);
        Assert.Equal("a\"b", Field(r, l, "e").AsString);
        Assert.Equal(ValueKind.Missing, Field(r, l, "absent").Kind);
    }

    [Fact]
    public void Decode_NestedPath_DescendsOnlyIntoDeclaredObjects()
    {
        var (r, l) = Decode("""{"user":{"id":7,"geo":{"cc":"DE"}},"other":{"x":1},"user2":{"id":9}}""", "user.id", "user.geo.cc", "user2");
        Assert.Equal(7, Field(r, l, "user.id").AsInt);
        Assert.Equal("DE", Field(r, l, "user.geo.cc").AsString);
        var whole = Field(r, l, "user2");
        Assert.Equal(ValueKind.Map, whole.Kind);
        Assert.Equal("id", whole.AsMap[0].Key);
        Assert.Equal(9, whole.AsMap[0].Value.AsInt);
    }

    [Fact]
    public void Decode_ObjectDeclaredWholeAndByChild_FillsBoth()
    {
        var (r, l) = Decode("""{"user":{"id":7,"name":"x"}}""", "user", "user.id");
        Assert.Equal(ValueKind.Map, Field(r, l, "user").Kind);
        Assert.Equal(2, Field(r, l, "user").AsMap.Length);
        Assert.Equal(7, Field(r, l, "user.id").AsInt);
    }

    [Fact]
    public void Decode_Arrays_KeepOrderAndNesting()
    {
        var (r, l) = Decode("""{"tags":["a","b"],"m":[[1,2],[]],"empty":[]}""", "tags", "m", "empty");
        Assert.Equal(["a", "b"], Field(r, l, "tags").AsArray.ToArray().Select(v => v.AsString));
        var m = Field(r, l, "m").AsArray;
        Assert.Equal(2, m[0].AsArray.Length);
        Assert.Equal(0, m[1].AsArray.Length);
        Assert.Equal(0, Field(r, l, "empty").AsArray.Length);
    }

    [Fact]
    public void Decode_NumberBeyondDoublePrecision_KeptAsExactDecimal()
    {
        var (r, l) = Decode("""{"amount":12345678901234567.89,"huge":123456789012345678901234567890}""", "amount", "huge");
        Assert.Equal(ValueKind.Decimal, Field(r, l, "amount").Kind);
        Assert.Equal("12345678901234567.89", Field(r, l, "amount").AsDecimal.ToString());
        Assert.Equal("123456789012345678901234567890", Field(r, l, "huge").AsDecimal.ToString());
    }

    [Fact]
    public void Decode_EscapedPropertyName_MatchesDeclaredField()
    {
        var (r, l) = Decode("""{"us\u0065r":"bob"}""", "user");
        Assert.Equal("bob", Field(r, l, "user").AsString);
    }

    [Theory]
    [InlineData("{\"a\":1", "invalid JSON")]
    [InlineData("[1,2]", "not a JSON object")]
    [InlineData("", "empty")]
    [InlineData("{\"a\":1} {\"b\":2}", "expected nothing after the JSON object")]
    [InlineData("{\"a\":tru}", "invalid JSON")]
    public void Decode_MalformedPayload_FailsRecordWithReason(string json, string expectedReason)
    {
        var (r, _) = Decode(json, "a");
        Assert.Equal(RecordStatus.Failed, r.Status);
        Assert.Equal("deserialize", r.FailedStage);
        Assert.Contains(expectedReason, r.FailureReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_Tombstone_FailsRecordNamingTheTombstone()
    {
        var layout = new RecordLayout();
        layout.Slot("a");
        layout.Freeze();
        var record = layout.NewRecord();
        new JsonRecordDecoder(layout).Decode(record);
        Assert.Equal(RecordStatus.Failed, record.Status);
        Assert.Contains("tombstone", record.FailureReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_DeepNesting_FailsInsteadOfCrashing()
    {
        var json = "{\"a\":" + new string('[', 200) + new string(']', 200) + "}";
        var (r, _) = Decode(json, "a");
        Assert.Equal(RecordStatus.Failed, r.Status);
        Assert.Contains("invalid JSON", r.FailureReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_DuplicateKey_LastValueWins()
    {
        var (r, l) = Decode("""{"a":1,"a":2}""", "a");
        Assert.Equal(2, Field(r, l, "a").AsInt);
    }
}

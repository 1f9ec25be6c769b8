using StreamEnrich.Formats.Avro;

namespace StreamEnrich.Tests.Formats.Avro;

public sealed class AvroClickHouseTypesTests
{
    private static string Columns(string schema) =>
        string.Join("\n", AvroClickHouseTypes.Columns(AvroSchema.Parse(schema)).Select(c => $"{c.Name} {c.Type}"));

    [Fact]
    public void Columns_Primitives_ClickHouseTypes()
    {
        Assert.Equal("""
            b Bool
            i Int32
            l Int64
            f Float32
            d Float64
            s String
            by String
            fx FixedString(16)
            e Enum8('A' = 0, 'B' = 1)
            """.ReplaceLineEndings("\n"), Columns("""
            {"type":"record","name":"R","fields":[
              {"name":"b","type":"boolean"},{"name":"i","type":"int"},{"name":"l","type":"long"},
              {"name":"f","type":"float"},{"name":"d","type":"double"},{"name":"s","type":"string"},{"name":"by","type":"bytes"},
              {"name":"fx","type":{"type":"fixed","name":"F","size":16}},
              {"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]}}]}
            """));
    }

    [Fact]
    public void Columns_LogicalTypes_ClickHouseTypes()
    {
        Assert.Equal("""
            dec Decimal(18, 4)
            decfx Decimal(9, 2)
            uid UUID
            day Date32
            tms Int32
            tus Int64
            ts3 DateTime64(3, 'UTC')
            ts6 DateTime64(6, 'UTC')
            ts9 DateTime64(9, 'UTC')
            lts3 DateTime64(3)
            dur Tuple(months UInt32, days UInt32, millis UInt32)
            """.ReplaceLineEndings("\n"), Columns("""
            {"type":"record","name":"R","fields":[
              {"name":"dec","type":{"type":"bytes","logicalType":"decimal","precision":18,"scale":4}},
              {"name":"decfx","type":{"type":"fixed","name":"D","size":8,"logicalType":"decimal","precision":9,"scale":2}},
              {"name":"uid","type":{"type":"string","logicalType":"uuid"}},
              {"name":"day","type":{"type":"int","logicalType":"date"}},
              {"name":"tms","type":{"type":"int","logicalType":"time-millis"}},
              {"name":"tus","type":{"type":"long","logicalType":"time-micros"}},
              {"name":"ts3","type":{"type":"long","logicalType":"timestamp-millis"}},
              {"name":"ts6","type":{"type":"long","logicalType":"timestamp-micros"}},
              {"name":"ts9","type":{"type":"long","logicalType":"timestamp-nanos"}},
              {"name":"lts3","type":{"type":"long","logicalType":"local-timestamp-millis"}},
              {"name":"dur","type":{"type":"fixed","name":"Dur","size":12,"logicalType":"duration"}}]}
            """));
    }

    [Fact]
    public void Columns_NullableCollectionsAndNestedRecords()
    {
        Assert.Equal("""
            n Nullable(Int64)
            ts Nullable(DateTime64(3, 'UTC'))
            tags Array(String)
            opt_tags Array(String)
            attrs Map(String, Nullable(Float64))
            user.name String
            user.geo.city Nullable(String)
            user.geo.zip Nullable(Int32)
            items Array(Tuple(sku String, qty Int32))
            mixed String
            """.ReplaceLineEndings("\n"), Columns("""
            {"type":"record","name":"R","fields":[
              {"name":"n","type":["null","long"]},
              {"name":"ts","type":["null",{"type":"long","logicalType":"timestamp-millis"}]},
              {"name":"tags","type":{"type":"array","items":"string"}},
              {"name":"opt_tags","type":["null",{"type":"array","items":"string"}]},
              {"name":"attrs","type":{"type":"map","values":["null","double"]}},
              {"name":"user","type":{"type":"record","name":"U","fields":[
                {"name":"name","type":"string"},
                {"name":"geo","type":["null",{"type":"record","name":"G","fields":[{"name":"city","type":"string"},{"name":"zip","type":"int"}]}]}]}},
              {"name":"items","type":{"type":"array","items":{"type":"record","name":"Item","fields":[{"name":"sku","type":"string"},{"name":"qty","type":"int"}]}}},
              {"name":"mixed","type":["string","long"]}]}
            """));
    }

    [Fact]
    public void Columns_RecursiveRecord_NotFlattenedForever()
    {
        Assert.Equal("label String\nnext Nullable(String)", Columns("""
            {"type":"record","name":"Node","fields":[{"name":"label","type":"string"},{"name":"next","type":["null","Node"]}]}
            """));
    }

    [Fact]
    public void Columns_NotARecord_SchemaError() =>
        Assert.Throws<AvroSchemaException>(() => AvroClickHouseTypes.Columns(AvroSchema.Parse("\"string\"")));
}

using StreamEnrich.Formats.Avro;
using StreamEnrich.Records;

namespace StreamEnrich.Tests.Formats.Avro;

public sealed class AvroSchemaParserTests
{
    [Theory]
    [InlineData("\"null\"", AvroType.Null)]
    [InlineData("\"boolean\"", AvroType.Boolean)]
    [InlineData("\"int\"", AvroType.Int)]
    [InlineData("\"long\"", AvroType.Long)]
    [InlineData("\"float\"", AvroType.Float)]
    [InlineData("\"double\"", AvroType.Double)]
    [InlineData("\"bytes\"", AvroType.Bytes)]
    [InlineData("\"string\"", AvroType.String)]
    [InlineData("{\"type\":\"string\"}", AvroType.String)]
    public void Parse_Primitive_Type(string json, object expected) => Assert.Equal(expected.ToString(), AvroSchema.Parse(json).Type.ToString());

    private const string Namespaced = """
        {"type":"record","name":"Outer","namespace":"a.b","doc":"x","aliases":["Old"],"fields":[
          {"name":"in","type":{"type":"record","name":"Inner","fields":[{"name":"e","type":{"type":"enum","name":"c.E","symbols":["X"]}}]},"default":{"e":"X"}},
          {"name":"again","type":"Inner"},
          {"name":"e2","type":"c.E"},
          {"name":"f","type":{"type":"fixed","name":"F","namespace":"","size":2}},
          {"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}},
          {"name":"u","type":["null",{"type":"map","values":"F"}],"default":null}]}
        """;

    [Fact]
    public void Parse_Namespaces_FullNamesPerSpecification()
    {
        var outer = (RecordSchema)AvroSchema.Parse(Namespaced);
        Assert.Equal("a.b.Outer", outer.FullName);
        Assert.Equal(["a.b.Old"], outer.Aliases); // aliases are qualified by the type's namespace
        var inner = (RecordSchema)outer.Field("in")!.Schema;
        Assert.Equal("a.b.Inner", inner.FullName); // inherits the enclosing namespace
        Assert.Same(inner, outer.Field("again")!.Schema); // short-name reference resolved in the enclosing namespace
        var e = (EnumSchema)inner.Fields[0].Schema;
        Assert.Equal("c.E", e.FullName); // a dotted name is a full name
        Assert.Equal("c", e.Namespace);
        Assert.Same(e, outer.Field("e2")!.Schema);
        Assert.Equal("F", ((FixedSchema)outer.Field("f")!.Schema).FullName); // "" is the null namespace
    }

    [Fact]
    public void CanonicalForm_Namespaced_PerSpecificationRules()
    {
        // Written by hand from the specification's rules ([PRIMITIVES] [FULLNAMES] [STRIP] [ORDER] [WHITESPACE]); named
        // types appear once, then by full name. (python3-avro 1.11.1 gets two of these wrong: it ignores "namespace":""
        // and keeps {"type":"long"} for a logical type; the Java implementation agrees with this form.)
        Assert.Equal(
            "{\"name\":\"a.b.Outer\",\"type\":\"record\",\"fields\":[{\"name\":\"in\",\"type\":{\"name\":\"a.b.Inner\",\"type\":\"record\",\"fields\":[{\"name\":\"e\",\"type\":{\"name\":\"c.E\",\"type\":\"enum\",\"symbols\":[\"X\"]}}]}},{\"name\":\"again\",\"type\":\"a.b.Inner\"},{\"name\":\"e2\",\"type\":\"c.E\"},{\"name\":\"f\",\"type\":{\"name\":\"F\",\"type\":\"fixed\",\"size\":2}},{\"name\":\"ts\",\"type\":\"long\"},{\"name\":\"u\",\"type\":[\"null\",{\"type\":\"map\",\"values\":\"F\"}]}]}",
            AvroSchema.Parse(Namespaced).ToCanonicalForm());
    }

    [Fact]
    public void CanonicalForm_Interop_MatchesReferenceImplementation()
    {
        var schema = AvroSchema.Parse(File.ReadAllText(AvroTestData.Shared("schemas-interop.avsc")));
        // As printed by python3-avro 1.11.1 (schema.canonical_form).
        Assert.Equal("{\"name\":\"org.apache.avro.Interop\",\"type\":\"record\",\"fields\":[{\"name\":\"intField\",\"type\":\"int\"},{\"name\":\"longField\",\"type\":\"long\"},{\"name\":\"stringField\",\"type\":\"string\"},{\"name\":\"boolField\",\"type\":\"boolean\"},{\"name\":\"floatField\",\"type\":\"float\"},{\"name\":\"doubleField\",\"type\":\"double\"},{\"name\":\"bytesField\",\"type\":\"bytes\"},{\"name\":\"nullField\",\"type\":\"null\"},{\"name\":\"arrayField\",\"type\":{\"type\":\"array\",\"items\":\"double\"}},{\"name\":\"mapField\",\"type\":{\"type\":\"map\",\"values\":{\"name\":\"org.apache.avro.Foo\",\"type\":\"record\",\"fields\":[{\"name\":\"label\",\"type\":\"string\"}]}}},{\"name\":\"unionField\",\"type\":[\"boolean\",\"double\",{\"type\":\"array\",\"items\":\"bytes\"}]},{\"name\":\"enumField\",\"type\":{\"name\":\"org.apache.avro.Kind\",\"type\":\"enum\",\"symbols\":[\"A\",\"B\",\"C\"]}},{\"name\":\"fixedField\",\"type\":{\"name\":\"org.apache.avro.MD5\",\"type\":\"fixed\",\"size\":16}},{\"name\":\"recordField\",\"type\":{\"name\":\"org.apache.avro.Node\",\"type\":\"record\",\"fields\":[{\"name\":\"label\",\"type\":\"string\"},{\"name\":\"children\",\"type\":{\"type\":\"array\",\"items\":\"org.apache.avro.Node\"}}]}}]}",
            schema.ToCanonicalForm());
    }

    [Fact]
    public void Fingerprint_FormattingAndDocs_DoNotMatter()
    {
        var a = AvroSchema.Parse("{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"n\",\"fields\":[{\"name\":\"x\",\"type\":\"int\"}]}");
        var b = AvroSchema.Parse("{ \"doc\": \"d\", \"fields\" : [ {\"type\":{\"type\":\"int\"},\"name\":\"x\",\"default\":1} ], \"name\" : \"n.R\", \"type\" : \"record\" }");
        Assert.Equal(a.Fingerprint(), b.Fingerprint());
        Assert.NotEqual(a.Fingerprint(), AvroSchema.Parse("\"int\"").Fingerprint());
    }

    [Fact]
    public void Parse_Defaults_KeptAsJsonAndConvertible()
    {
        var r = (RecordSchema)AvroSchema.Parse("""
            {"type":"record","name":"R","fields":[
              {"name":"a","type":"int","default":7},
              {"name":"b","type":["null","string"],"default":null},
              {"name":"c","type":"bytes","default":"\u00ff\u0001"},
              {"name":"d","type":{"type":"long","logicalType":"timestamp-millis"},"default":1},
              {"name":"e","type":{"type":"array","items":"string"},"default":["x"]},
              {"name":"f","type":{"type":"enum","name":"E","symbols":["P","Q"]},"default":"Q"},
              {"name":"g","type":"string"}]}
            """);
        Assert.Equal("7", r.Field("a")!.Default!.Value.GetRawText());
        Assert.Equal(Value.FromInt(7), AvroDefaults.ToValue(r.Field("a")!.Schema, r.Field("a")!.Default!.Value));
        Assert.Equal(Value.Null, AvroDefaults.ToValue(r.Field("b")!.Schema, r.Field("b")!.Default!.Value));
        Assert.Equal(new byte[] { 0xFF, 1 }, AvroDefaults.ToValue(r.Field("c")!.Schema, r.Field("c")!.Default!.Value).RawBytes.ToArray());
        Assert.Equal(Value.FromTimestampNanos(1_000_000), AvroDefaults.ToValue(r.Field("d")!.Schema, r.Field("d")!.Default!.Value));
        Assert.Equal("[x]", AvroDefaults.ToValue(r.Field("e")!.Schema, r.Field("e")!.Default!.Value).ToString());
        Assert.Equal(Value.FromString("Q"), AvroDefaults.ToValue(r.Field("f")!.Schema, r.Field("f")!.Default!.Value));
        Assert.False(r.Field("g")!.HasDefault);
    }

    [Theory]
    [InlineData("{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":9,\"scale\":2}", AvroLogicalType.Decimal)]
    [InlineData("{\"type\":\"fixed\",\"name\":\"F\",\"size\":4,\"logicalType\":\"decimal\",\"precision\":9}", AvroLogicalType.Decimal)]
    [InlineData("{\"type\":\"string\",\"logicalType\":\"uuid\"}", AvroLogicalType.Uuid)]
    [InlineData("{\"type\":\"int\",\"logicalType\":\"date\"}", AvroLogicalType.Date)]
    [InlineData("{\"type\":\"int\",\"logicalType\":\"time-millis\"}", AvroLogicalType.TimeMillis)]
    [InlineData("{\"type\":\"long\",\"logicalType\":\"time-micros\"}", AvroLogicalType.TimeMicros)]
    [InlineData("{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}", AvroLogicalType.TimestampMillis)]
    [InlineData("{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}", AvroLogicalType.TimestampMicros)]
    [InlineData("{\"type\":\"long\",\"logicalType\":\"timestamp-nanos\"}", AvroLogicalType.TimestampNanos)]
    [InlineData("{\"type\":\"long\",\"logicalType\":\"local-timestamp-millis\"}", AvroLogicalType.LocalTimestampMillis)]
    [InlineData("{\"type\":\"long\",\"logicalType\":\"local-timestamp-micros\"}", AvroLogicalType.LocalTimestampMicros)]
    [InlineData("{\"type\":\"long\",\"logicalType\":\"local-timestamp-nanos\"}", AvroLogicalType.LocalTimestampNanos)]
    [InlineData("{\"type\":\"fixed\",\"name\":\"D\",\"size\":12,\"logicalType\":\"duration\"}", AvroLogicalType.Duration)]
    // Invalid or unknown logical types are ignored, as the specification requires:
    [InlineData("{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":2,\"scale\":3}", AvroLogicalType.None)]
    [InlineData("{\"type\":\"fixed\",\"name\":\"F\",\"size\":2,\"logicalType\":\"decimal\",\"precision\":5}", AvroLogicalType.None)]
    [InlineData("{\"type\":\"string\",\"logicalType\":\"date\"}", AvroLogicalType.None)]
    [InlineData("{\"type\":\"int\",\"logicalType\":\"timestamp-millis\"}", AvroLogicalType.None)]
    [InlineData("{\"type\":\"long\",\"logicalType\":\"my-own\"}", AvroLogicalType.None)]
    public void Parse_LogicalTypes_RecognisedOrIgnored(string json, object expected) =>
        Assert.Equal(expected.ToString(), AvroSchema.Parse(json).LogicalType.ToString());

    [Fact]
    public void Parse_Decimal_PrecisionAndScale()
    {
        var s = AvroSchema.Parse("{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":9,\"scale\":2}");
        Assert.Equal((9, 2), (s.Precision, s.Scale));
    }

    [Theory]
    [InlineData("{", "$", "not valid JSON")]
    [InlineData("\"nope\"", "$", "unknown type 'nope'")]
    [InlineData("42", "$", "expected a type name")]
    [InlineData("{\"type\":\"record\",\"name\":\"R\"}", "$", "needs a 'fields' array")]
    [InlineData("{\"type\":\"record\",\"fields\":[]}", "$", "needs a string 'name'")]
    [InlineData("{\"type\":\"record\",\"name\":\"1R\",\"fields\":[]}", "$.name", "invalid name '1R'")]
    [InlineData("{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"a\",\"type\":\"int\"}]}", "$.fields[1].name", "two fields named 'a'")]
    [InlineData("{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\"}]}", "$.fields[0]", "has no 'type'")]
    [InlineData("{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":{\"type\":\"array\",\"items\":\"Nope\"}}]}", "$.fields[0].type.items", "unknown type 'Nope'")]
    [InlineData("{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\",\"default\":\"x\"}]}", "$.fields[0].default", "not a valid int value")]
    [InlineData("{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\",\"default\":2147483648}]}", "$.fields[0].default", "not a valid int value")]
    [InlineData("{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"A\"]}", "$.symbols[1]", "lists symbol 'A' twice")]
    [InlineData("{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"],\"default\":\"B\"}", "$.default", "not one of the symbols")]
    [InlineData("{\"type\":\"fixed\",\"name\":\"F\",\"size\":-1}", "$.size", "non-negative integer 'size'")]
    [InlineData("{\"type\":\"array\"}", "$", "no 'items'")]
    [InlineData("{\"type\":\"map\"}", "$", "no 'values'")]
    [InlineData("[\"int\",\"int\"]", "$[1]", "more than one 'int' branch")]
    [InlineData("[\"null\",[\"int\"]]", "$[1]", "may not immediately contain another union")]
    [InlineData("[{\"type\":\"fixed\",\"name\":\"F\",\"size\":1},\"F\"]", "$[1]", "named type 'F' twice")]
    [InlineData("{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":{\"type\":\"fixed\",\"name\":\"R\",\"size\":1}}]}", "$.fields[0].type.name", "already defined")]
    [InlineData("{\"type\":\"record\",\"name\":\"int\",\"fields\":[]}", "$.name", "primitive type name")]
    public void Parse_InvalidSchema_ErrorNamesProblemAndPath(string json, string path, string problem)
    {
        var e = Assert.Throws<AvroSchemaException>(() => AvroSchema.Parse(json));
        Assert.Equal(path, e.JsonPath);
        Assert.Contains(problem, e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Parse_RecursiveRecord_RefersToItself()
    {
        var r = (RecordSchema)AvroSchema.Parse("{\"type\":\"record\",\"name\":\"Node\",\"fields\":[{\"name\":\"next\",\"type\":[\"null\",\"Node\"]}]}");
        Assert.Same(r, ((UnionSchema)r.Fields[0].Schema).Branches[1]);
    }

    [Fact]
    public void Parse_WithReferences_NamedTypesFromReferencedSchemas()
    {
        var s = (RecordSchema)AvroSchemaParser.Parse("{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"lib.Money\"}]}",
            ["{\"type\":\"fixed\",\"name\":\"Money\",\"namespace\":\"lib\",\"size\":8}"]);
        Assert.Equal("lib.Money", ((FixedSchema)s.Fields[0].Schema).FullName);
    }
}

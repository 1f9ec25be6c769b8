using System.Text;
using StreamEnrich.Records;
using StreamEnrich.Stages.JsonSchema;
using StreamEnrich.Tests.Fixtures;
using Record = StreamEnrich.Records.Record;

namespace StreamEnrich.Tests.Stages;

public sealed class JsonSchemaStageTests : IDisposable
{
    private const string OrderSchema = """
        {
          "type": "object",
          "required": ["user_id", "price"],
          "properties": {
            "user_id": { "type": "string" },
            "price": { "type": "number", "minimum": 0 },
            "currency": { "type": "string", "enum": ["EUR", "USD"] },
            "ts": { "type": "string", "format": "date-time" },
            "tags": { "type": "array", "items": { "type": "string" }, "maxItems": 2 },
            "user": { "type": "object", "properties": { "age": { "type": "integer" } } }
          },
          "additionalProperties": false
        }
        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("se-jsonschema-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private JsonSchemaStage Build(string schemaText, string fileName = "order.schema.json", TestStageContext? context = null)
    {
        File.WriteAllText(Path.Combine(_dir, fileName), schemaText);
        return (context ?? new TestStageContext("validate", _dir)).Build<JsonSchemaStage>("json_schema", new JsonSchemaStageOptions { File = fileName });
    }

    private static Record Run(JsonSchemaStage stage, string json)
    {
        var record = new Record(0) { Payload = Encoding.UTF8.GetBytes(json) };
        stage.Process(record);
        return record;
    }

    [Fact]
    public void Process_ValidDocument_StaysActive()
    {
        var stage = Build(OrderSchema);
        var r = Run(stage, """{"user_id":"7","price":19.99,"currency":"EUR","ts":"2026-11-20T10:15:30.123Z","tags":["a"],"user":{"age":3}}""");
        Assert.True(r.IsActive, r.FailureReason);
    }

    [Theory]
    [InlineData("""{"user_id":"7","price":"19.99"}""", "json_schema: #/price: NumberExpected")]
    [InlineData("""{"price":1}""", "json_schema: #/user_id: PropertyRequired")]
    [InlineData("""{"user_id":"7","price":-1}""", "json_schema: #/price: NumberTooSmall")]
    [InlineData("""{"user_id":"7","price":1,"currency":"GBP"}""", "json_schema: #/currency: NotInEnumeration")]
    [InlineData("""{"user_id":"7","price":1,"ts":"yesterday"}""", "json_schema: #/ts: DateTimeExpected")]
    [InlineData("""{"user_id":"7","price":1,"tags":["a","b","c"]}""", "json_schema: #/tags: TooManyItems")]
    [InlineData("""{"user_id":"7","price":1,"user":{"age":"x"}}""", "json_schema: #/user.age: IntegerExpected")]
    [InlineData("""{"user_id":"7","price":1,"debug":true}""", "json_schema: #/debug: NoAdditionalPropertiesAllowed")]
    public void Process_InvalidDocument_FailsWithPathAndKind(string json, string reason)
    {
        var stage = Build(OrderSchema);
        var r = Run(stage, json);
        Assert.Equal(RecordStatus.Failed, r.Status);
        Assert.Equal("validate", r.FailedStage);
        Assert.Equal(reason, r.FailureReason);
    }

    [Fact]
    public void Process_NotAnObject_FailsAtTheRoot()
    {
        var r = Run(Build(OrderSchema), "[1, 2]");
        Assert.StartsWith("json_schema: #: ObjectExpected", r.FailureReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Process_SeveralViolations_ListsEachSeparated()
    {
        var r = Run(Build(OrderSchema), """{"price":"x","currency":"GBP"}""");
        Assert.Equal(RecordStatus.Failed, r.Status);
        Assert.StartsWith("json_schema: ", r.FailureReason, StringComparison.Ordinal);
        var items = r.FailureReason!["json_schema: ".Length..].Split("; ");
        Assert.Equal(["#/currency: NotInEnumeration", "#/price: NumberExpected", "#/user_id: PropertyRequired"], items.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Process_ManyViolations_ReasonIsCappedAndCountsTheRest()
    {
        var props = string.Join(",", Enumerable.Range(0, 200).Select(i => $"\"field_number_{i}\": {{\"type\":\"integer\"}}"));
        var stage = Build("{\"type\":\"object\",\"properties\":{" + props + "}}");
        var doc = "{" + string.Join(",", Enumerable.Range(0, 200).Select(i => $"\"field_number_{i}\":\"x\"")) + "}";
        var r = Run(stage, doc);
        Assert.Equal(RecordStatus.Failed, r.Status);
        Assert.True(r.FailureReason!.Length <= 1000, $"reason is {r.FailureReason.Length} chars");
        Assert.Matches(@"; \.\.\. \(\d+ more\)$", r.FailureReason);
        Assert.Contains("IntegerExpected", r.FailureReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Process_NotJson_FailsNamingJson()
    {
        var r = Run(Build(OrderSchema), "{not json");
        Assert.Equal(RecordStatus.Failed, r.Status);
        Assert.StartsWith("json_schema: the message value is not valid JSON", r.FailureReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Process_NoPayload_Fails()
    {
        var stage = Build(OrderSchema);
        var record = new Record(0);
        stage.Process(record);
        Assert.Equal(RecordStatus.Failed, record.Status);
        Assert.Contains("no value", record.FailureReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Process_ManyThreads_SameResultsAsSequential()
    {
        var stage = Build(OrderSchema);
        string[] docs = ["""{"user_id":"1","price":1}""", """{"user_id":1,"price":1}""", """{"price":1}""", """{"user_id":"1","price":1,"ts":"2026-01-01T00:00:00Z"}"""];
        var expected = docs.Select(d => Run(stage, d).FailureReason).ToArray();
        Parallel.For(0, 4000, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            var r = Run(stage, docs[i % docs.Length]);
            Assert.Equal(expected[i % docs.Length], r.FailureReason);
        });
        Assert.Null(expected[0]);
        Assert.NotNull(expected[1]);
    }

    [Fact]
    public void Build_MissingFile_ThrowsNamingThePath()
    {
        var context = new TestStageContext("validate", _dir);
        var ex = Assert.Throws<FileNotFoundException>(() =>
            context.Build<JsonSchemaStage>("json_schema", new JsonSchemaStageOptions { File = "nope.schema.json" }));
        Assert.Contains(Path.Combine(_dir, "nope.schema.json"), ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{ \"type\": \"object\", ")]
    [InlineData("[1, 2, 3]")]
    public void Build_InvalidSchemaFile_ThrowsNamingTheFile(string text)
    {
        var ex = Assert.Throws<InvalidDataException>(() => Build(text, "broken.schema.json"));
        Assert.Contains("broken.schema.json is not a valid schema", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_NeitherFileNorSubject_ErrorNamesBoth()
    {
        var errors = TestStageContext.Validate(new JsonSchemaStageOptions());
        Assert.Contains(errors, e => e.Property == nameof(JsonSchemaStageOptions.File) && e.Message.Contains("`file` or `registry_subject`", StringComparison.Ordinal));
        errors = TestStageContext.Validate(new JsonSchemaStageOptions { RegistrySubject = "s" });
        Assert.Contains(errors, e => e.Property == nameof(JsonSchemaStageOptions.Registry));
        errors = TestStageContext.Validate(new JsonSchemaStageOptions { File = "a.json", RegistrySubject = "s", Registry = new() { Url = "http://x" } });
        Assert.Contains(errors, e => e.Message.Contains("not both", StringComparison.Ordinal));
        Assert.Empty(TestStageContext.Validate(new JsonSchemaStageOptions { File = "a.json" }));
    }

    [Fact]
    public async Task Build_RegistrySubject_ValidatesWithTheRegisteredVersion()
    {
        await using var registry = await SchemaRegistryServer.StartAsync();
        registry.Register("orders-value", """{"type":"object","required":["id"]}""", "JSON");
        registry.Register("orders-value", OrderSchema, "JSON");
        registry.RequiredAuthorization = "Bearer s3cret";
        var context = new TestStageContext("validate", _dir);
        var latest = context.Build<JsonSchemaStage>("json_schema", new JsonSchemaStageOptions
        {
            RegistrySubject = "orders-value", Registry = new() { Url = registry.Url, Token = "s3cret" },
        });
        Assert.True(Run(latest, """{"user_id":"7","price":2}""").IsActive);
        Assert.Equal("json_schema: #/price: NumberExpected", Run(latest, """{"user_id":"7","price":"2"}""").FailureReason);
        Assert.Contains("/subjects/orders-value/versions/latest", registry.Requests);

        var v1 = context.Build<JsonSchemaStage>("json_schema", new JsonSchemaStageOptions
        {
            RegistrySubject = "orders-value", RegistryVersion = "1", Registry = new() { Url = registry.Url, Token = "s3cret" },
        });
        Assert.Equal("json_schema: #/id: PropertyRequired", Run(v1, """{"user_id":"7","price":2}""").FailureReason);
    }

    [Fact]
    public async Task Build_RegistryAvroSubject_ThrowsNamingTheType()
    {
        await using var registry = await SchemaRegistryServer.StartAsync();
        registry.Register("orders-value", """{"type":"record","name":"O","fields":[]}""");
        var ex = Assert.Throws<InvalidDataException>(() => new TestStageContext("validate", _dir).Build<JsonSchemaStage>("json_schema",
            new JsonSchemaStageOptions { RegistrySubject = "orders-value", Registry = new() { Url = registry.Url } }));
        Assert.Contains("is a AVRO schema; json_schema needs a JSON Schema", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Build_RegistryUnknownSubject_ThrowsNamingSubject()
    {
        await using var registry = await SchemaRegistryServer.StartAsync();
        var ex = Assert.Throws<InvalidOperationException>(() => new TestStageContext("validate", _dir).Build<JsonSchemaStage>("json_schema",
            new JsonSchemaStageOptions { RegistrySubject = "missing-value", Registry = new() { Url = registry.Url } }));
        Assert.Contains("cannot read subject 'missing-value' version latest", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SampleSchema_SampleEvents_EightValidTwoInvalid()
    {
        var root = RepoRoot();
        var stage = new TestStageContext("validate", Path.Combine(root, "pipelines")).Build<JsonSchemaStage>("json_schema",
            new JsonSchemaStageOptions { File = "../schemas/web-event.schema.json" });
        var lines = File.ReadAllLines(Path.Combine(root, "pipelines", "data", "web-events.sample.jsonl")).Where(l => l.Length > 0).ToList();
        Assert.Equal(10, lines.Count);
        foreach (var line in lines.Take(8))
        {
            var r = Run(stage, line);
            Assert.True(r.IsActive, $"{line}: {r.FailureReason}");
        }
        var broken = Run(stage, lines[8]);
        Assert.Equal(RecordStatus.Failed, broken.Status);
        foreach (var expected in new[] { "#/ts: DateTimeExpected", "#/session: UuidExpected", "#/price: PropertyRequired", "#/tags: PropertyRequired" })
            Assert.True(broken.FailureReason!.Contains(expected, StringComparison.Ordinal), broken.FailureReason);
        var notJson = Run(stage, lines[9]);
        Assert.Equal(RecordStatus.Failed, notJson.Status);
        Assert.StartsWith("json_schema: the message value is not valid JSON", notJson.FailureReason, StringComparison.Ordinal);
    }

    internal static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "StreamEnrich.sln"))) return dir.FullName;
        throw new InvalidOperationException($"StreamEnrich.sln not found above {AppContext.BaseDirectory}.");
    }
}

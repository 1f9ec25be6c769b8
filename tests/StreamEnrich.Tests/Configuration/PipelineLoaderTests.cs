using StreamEnrich.Configuration;
using static StreamEnrich.Tests.Configuration.ConfigTestSupport;

namespace StreamEnrich.Tests.Configuration;

public class PipelineLoaderTests
{
    private const string Full = """
        name: web-events
        source:
          brokers: ${KAFKA_BROKERS}
          topic: web
          topics: [web-2, web-3]
          group_id: grp
          start_from: latest
          properties:
            security.protocol: SASL_SSL
            sasl.password: ${SASL_PASSWORD:-changeme}
          commit_interval: 250ms
          chunk_size: 1_000
          buffered_chunks: 0x10
        format:
          type: avro
          registry: { url: "http://registry:8081", user: u, password: p, max_retries: 2 }
          reader_schema: schemas/web.avsc
        stages:
          - type: test_lookup
            name: geo
            field: user.id
            ttl: 1h30m
            cache_size: 16MiB
            keys: [a, b]
            mapping:
              x: "1"
              y: true
            mode: case_insensitive
            url: http://geo
            retries: 3
          - type: test_filter
            field: country
        sink:
          url: http://localhost:8123
          database: analytics
          table: events
          password: "p$${not_a_var}"
          columns:
            user_id: user.id
          schema:
            ts: DateTime
            user_id: UInt64
          compress: false
          insert_concurrency: 4
          timeout: 90
          max_retries: 5
          retry_backoff: 1.5s
        batch:
          max_rows: 50000
          max_bytes: 64KB
          max_wait: 2m
        on_error: dead_letter
        dead_letter:
          topic: web-dlq
        parallelism: 3
        tests:
          - name: basic
            input:
              - {user: {id: 7}, tags: [a, 1, 2.5, true, null, '5']}
              - '{"user": {"id": 8}}'
            expect:
              - {user_id: 7, country: ~, ratio: 0.5, label: "007"}
            expect_dead_letters: 0
        """;

    [Fact]
    public void LoadText_FullPipeline_BindsEveryValue()
    {
        var (p, errors) = Load(Full, Env(("KAFKA_BROKERS", "k1:9092,k2:9092")));
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        var o = p!.Options;
        Assert.Equal("web-events", o.Name);
        Assert.Equal("k1:9092,k2:9092", o.Source.Brokers);
        Assert.Equal("web", o.Source.Topic);
        Assert.Equal(["web", "web-2", "web-3"], o.Source.AllTopics);
        Assert.Equal("grp", o.Source.GroupId);
        Assert.Equal("latest", o.Source.StartFrom);
        Assert.Equal(new Dictionary<string, string> { ["security.protocol"] = "SASL_SSL", ["sasl.password"] = "changeme" }, o.Source.Properties);
        Assert.Equal(TimeSpan.FromMilliseconds(250), o.Source.CommitInterval);
        Assert.Equal(1000, o.Source.ChunkSize);
        Assert.Equal(16, o.Source.BufferedChunks);
        Assert.Equal(("avro", "http://registry:8081", "schemas/web.avsc"), (o.Format.Type, o.Format.Registry?.Url, o.Format.ReaderSchema));
        Assert.Equal(("u", "p", 2), (o.Format.Registry!.User, o.Format.Registry.Password, o.Format.Registry.MaxRetries));

        Assert.Equal(2, o.Stages.Count);
        var geo = o.Stages[0];
        Assert.Equal(("test_lookup", "geo"), (geo.Type, geo.Name));
        Assert.Equal("test_lookup", geo.Spec.Type);
        Assert.Equal(new SourceLocation("pipelines/web.yaml", 19, 5), geo.Location);
        Assert.Equal(new SourceLocation("pipelines/web.yaml", 23, 5), geo.LocationOf("cache_size"));
        var lo = Assert.IsType<TestLookupOptions>(geo.Options);
        Assert.Equal("user.id", lo.Field);
        Assert.Equal(TimeSpan.FromMinutes(90), lo.Ttl);
        Assert.Equal(16L * 1024 * 1024, lo.CacheSize);
        Assert.Equal(["a", "b"], lo.Keys);
        Assert.Equal(new Dictionary<string, string> { ["x"] = "1", ["y"] = "true" }, lo.Mapping);
        Assert.Equal(LookupMode.CaseInsensitive, lo.Mode);
        Assert.Equal("http://geo", lo.Endpoint);
        Assert.Equal(3, lo.Retries);
        var filter = o.Stages[1];
        Assert.Null(filter.Name);
        Assert.Equal("test_filter#2", filter.DisplayName(1));
        Assert.Equal("country", ((TestLookupOptions)filter.Options).Field);
        Assert.Null(((TestLookupOptions)filter.Options).Retries);
        Assert.Equal(TimeSpan.FromMinutes(5), ((TestLookupOptions)filter.Options).Ttl);

        Assert.Equal(("http://localhost:8123", "analytics", "events"), (o.Sink.Url, o.Sink.Database, o.Sink.Table));
        Assert.Equal("p${not_a_var}", o.Sink.Password);
        Assert.Equal("default", o.Sink.User);
        Assert.Equal(new Dictionary<string, string> { ["user_id"] = "user.id" }, o.Sink.Columns);
        Assert.Equal(["ts", "user_id"], o.Sink.Schema.Keys);
        Assert.Equal("UInt64", o.Sink.Schema["user_id"]);
        Assert.False(o.Sink.Compress);
        Assert.Equal(4, o.Sink.InsertConcurrency);
        Assert.Equal(TimeSpan.FromSeconds(90), o.Sink.Timeout);
        Assert.Equal(5, o.Sink.MaxRetries);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), o.Sink.RetryBackoff);
        Assert.Equal(TimeSpan.FromSeconds(30), o.Sink.RetryMaxBackoff);

        Assert.Equal(50000, o.Batch.MaxRows);
        Assert.Equal(64_000, o.Batch.MaxBytes);
        Assert.Equal(TimeSpan.FromMinutes(2), o.Batch.MaxWait);
        Assert.Equal(OnError.DeadLetter, o.OnError);
        Assert.Equal("web-dlq", o.DeadLetter!.Topic);
        Assert.Equal(3, o.Parallelism);

        var t = Assert.Single(o.Tests);
        Assert.Equal("basic", t.Name);
        Assert.Equal(0, t.ExpectDeadLetters);
        var first = Assert.IsType<Dictionary<string, object?>>(t.Input[0]);
        Assert.Equal(7L, Assert.IsType<Dictionary<string, object?>>(first["user"])["id"]);
        Assert.Equal(new List<object?> { "a", 1L, 2.5, true, null, "5" }, first["tags"]);
        Assert.Equal("{\"user\": {\"id\": 8}}", t.Input[1]);
        var row = t.Expect[0];
        Assert.Equal(["user_id", "country", "ratio", "label"], row.Keys);
        Assert.Equal(7L, row["user_id"]);
        Assert.Null(row["country"]);
        Assert.Equal(0.5, row["ratio"]);
        Assert.Equal("007", row["label"]);

        Assert.Equal(new SourceLocation("pipelines/web.yaml", 43, 3), p.Locate("sink.compress"));
        Assert.Equal(new SourceLocation("pipelines/web.yaml", 33, 1), p.Locate("sink.no_such_key"));
        Assert.Equal(Path.GetFullPath("pipelines"), p.Directory);
        Assert.Equal(Path.GetFullPath("pipelines/schemas/web.avsc"), p.ResolvePath(o.Format.ReaderSchema!));
    }

    [Fact]
    public void LoadText_MinimalPipeline_KeepsDefaultsAndNamesAfterFile()
    {
        var (p, errors) = Load(Minimal);
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        Assert.Equal("web", p!.Name);
        Assert.Equal(50_000, p.Options.Batch.MaxRows);
        Assert.Equal(16L * 1024 * 1024, p.Options.Batch.MaxBytes);
        Assert.Equal(TimeSpan.FromSeconds(1), p.Options.Batch.MaxWait);
        Assert.Equal(OnError.Skip, p.Options.OnError);
        Assert.Equal("json", p.Options.Format.Type);
        Assert.Empty(p.Options.Stages);
    }

    [Fact]
    public void LoadText_UnknownKey_SuggestsClosest()
    {
        var (_, errors) = Load(Minimal + "batch:\n  max_row: 5\n");
        var e = Single(errors);
        Assert.Equal(("pipelines/web.yaml", 10, 3), (e.File, e.Line, e.Column));
        Assert.Equal("unknown key 'max_row' in batch", e.Message);
        Assert.Equal("did you mean 'max_rows'?", e.Hint);
        Assert.Equal("pipelines/web.yaml:10:3: error: unknown key 'max_row' in batch\n  hint: did you mean 'max_rows'?", e.ToString());
    }

    [Fact]
    public void LoadText_CamelCaseKey_SuggestsSnakeCase()
    {
        var (_, errors) = Load(Minimal + "batch:\n  maxWait: 5s\n");
        Assert.Equal("did you mean 'max_wait'?", Single(errors).Hint);
    }

    [Fact]
    public void LoadText_UnknownKeyWithNoCloseMatch_ListsValidKeys()
    {
        var (_, errors) = Load(Minimal + "batch:\n  flush_everything: 5\n");
        var e = Single(errors);
        Assert.Equal((10, 3), (e.Line, e.Column));
        Assert.Equal("valid keys: max_rows, max_bytes, max_wait, flush_when_caught_up, split_when_idle", e.Hint);
    }

    [Fact]
    public void LoadText_UnknownTopLevelKey_IsReportedAtTopLevel()
    {
        var (_, errors) = Load(Minimal + "parallelizm: 2\n");
        var e = Single(errors);
        Assert.Equal((9, 1), (e.Line, e.Column));
        Assert.Equal("unknown key 'parallelizm' in the pipeline", e.Message);
        Assert.Equal("did you mean 'parallelism'?", e.Hint);
    }

    [Theory]
    [InlineData("batch:\n  max_wait: abc\n", 10, 13, "invalid value for batch.max_wait: expected a duration like 5s, got 'abc'", ValueParsers.DurationHint)]
    [InlineData("batch:\n  max_bytes: 12XB\n", 10, 14, "invalid value for batch.max_bytes: expected a byte size like 64MB, got '12XB'", ValueParsers.ByteSizeHint)]
    [InlineData("batch:\n  max_rows: 1.5\n", 10, 13, "invalid value for batch.max_rows: expected an integer, got '1.5'", "Write a whole number, without a decimal point.")]
    [InlineData("batch:\n  max_rows: 99999999999\n", 10, 13, "invalid value for batch.max_rows: expected an integer between -2147483648 and 2147483647, got '99999999999'", null)]
    [InlineData("parallelism: [1]\n", 9, 14, "invalid value for parallelism: expected an integer, got a list", null)]
    [InlineData("batch: 5\n", 9, 8, "invalid value for batch: expected a mapping of options, got '5'", "Write the options of batch indented under its key, one `key: value` per line (valid keys: max_rows, max_bytes, max_wait, flush_when_caught_up, split_when_idle).")]
    public void LoadText_WrongType_ReportsValuePositionAndExpectation(string extra, int line, int column, string message, string? hint)
    {
        var (_, errors) = Load(Minimal + extra);
        var e = Single(errors);
        Assert.Equal((line, column), (e.Line, e.Column));
        Assert.Equal(message, e.Message);
        Assert.Equal(hint, e.Hint);
    }

    [Fact]
    public void LoadText_YesIsNotABoolean()
    {
        var (_, errors) = Load(Minimal.Replace("  table: events\n", "  table: events\n  compress: yes\n", StringComparison.Ordinal));
        var e = Single(errors);
        Assert.Equal((7, 13), (e.Line, e.Column));
        Assert.Equal("invalid value for sink.compress: expected true or false, got 'yes'", e.Message);
        Assert.Contains("yes/no", e.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadText_BadEnum_ListsValuesAndSuggests()
    {
        var (_, errors) = Load(Minimal.Replace("on_error: skip", "on_error: deadletter", StringComparison.Ordinal));
        var e = Single(errors);
        Assert.Equal((7, 11), (e.Line, e.Column));
        Assert.Equal("invalid value for on_error: expected one of dead_letter, skip, fail, got 'deadletter'", e.Message);
        Assert.Equal("did you mean 'dead_letter'?", e.Hint);
    }

    [Fact]
    public void LoadText_MissingRequired_IsReportedAtParentMapping()
    {
        var (_, errors) = Load("source:\n  brokers: b\n  topic: t\nsink:\n  url: http://h:8123\non_error: skip\n");
        var e = Single(errors);
        Assert.Equal((5, 3), (e.Line, e.Column));
        Assert.Equal("missing required option 'table' in sink", e.Message);
        Assert.Equal("Add `table: <value>` (Table).", e.Hint);
    }

    [Fact]
    public void LoadText_MissingRequiredSection_IsReportedAtRootWithExampleHint()
    {
        var (_, errors) = Load("source:\n  topic: t\non_error: skip\n");
        Assert.Equal(2, errors.Count);
        var brokers = errors.Single(e => e.Message.Contains("'brokers'", StringComparison.Ordinal));
        Assert.Equal((2, 3), (brokers.Line, brokers.Column));
        Assert.StartsWith("Add `brokers: localhost:9092`", brokers.Hint, StringComparison.Ordinal);
        var sink = errors.Single(e => e.Message.Contains("'sink'", StringComparison.Ordinal));
        Assert.Equal((1, 1), (sink.Line, sink.Column));
        Assert.Equal("missing required option 'sink' in the pipeline", sink.Message);
    }

    [Fact]
    public void LoadText_DuplicateKey_IsReportedAtSecondOccurrence()
    {
        var (_, errors) = Load(Minimal + "batch:\n  max_rows: 5\n  max_rows: 6\n");
        var e = Single(errors);
        Assert.Equal((11, 3), (e.Line, e.Column));
        Assert.Equal("duplicate key 'max_rows' in batch (first set at line 10)", e.Message);
    }

    [Fact]
    public void LoadText_SeveralErrors_AreAllCollected()
    {
        var (_, errors) = Load(Minimal + "batch:\n  max_row: 5\n  max_wait: x\nparallelism: many\nstages:\n  - type: nope\n");
        Assert.Equal(4, errors.Count);
        Assert.Equal([10, 11, 12, 14], errors.Select(e => e.Line).Order().ToArray());
    }

    [Fact]
    public void LoadText_ValidationErrors_LandOnTheKeyLine()
    {
        var (_, errors) = Load(Minimal + "batch:\n  max_rows: 5\n  max_bytes: 10\nparallelism: 0\n");
        Assert.Equal(2, errors.Count);
        var bytes = errors.Single(e => e.Message.StartsWith("max_bytes", StringComparison.Ordinal));
        Assert.Equal((11, 3), (bytes.Line, bytes.Column));
        Assert.Equal("max_bytes must be at least 1KB.", bytes.Message);
        var par = errors.Single(e => e.Message.StartsWith("parallelism", StringComparison.Ordinal));
        Assert.Equal((12, 1), (par.Line, par.Column));
    }

    [Fact]
    public void LoadText_StaticAssignmentWithPartitions_Binds()
    {
        var (p, errors) = Load(Minimal.Replace("topic: web\n", "topic: web\n  assignment: static\n  partitions: [0, 2]\n  partition_discovery_interval: 5s\n", StringComparison.Ordinal));
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        Assert.True(p!.Options.Source.IsStatic);
        Assert.Equal([0, 2], p.Options.Source.Partitions);
        Assert.Equal(TimeSpan.FromSeconds(5), p.Options.Source.PartitionDiscoveryInterval);
    }

    [Theory]
    [InlineData("  assignment: groups\n", "assignment must be group or static, got 'groups'.")]
    [InlineData("  partitions: [1]\n", "partitions is only used with `assignment: static` (a consumer group assigns partitions itself).")]
    [InlineData("  assignment: static\n  partitions: [1, -1]\n", "partition numbers start at 0, got -1.")]
    [InlineData("  assignment: static\n  partitions: [1, 2, 1]\n", "partitions lists 1 more than once.")]
    public void LoadText_BadAssignment_IsReportedOnItsLine(string yaml, string message)
    {
        var (_, errors) = Load(Minimal.Replace("topic: web\n", "topic: web\n" + yaml, StringComparison.Ordinal));
        var e = Single(errors);
        Assert.Equal(message, e.Message);
        Assert.True(e.Line >= 4, $"line {e.Line}");
    }

    [Fact]
    public void LoadText_ValidationErrorOnUnwrittenProperty_LandsOnTheMapping()
    {
        var (_, errors) = Load(Minimal.Replace("on_error: skip\n", "", StringComparison.Ordinal));
        var e = Single(errors);
        Assert.Equal((1, 1), (e.Line, e.Column));
        Assert.StartsWith("on_error is dead_letter but no dead_letter section", e.Message, StringComparison.Ordinal);
        Assert.NotNull(e.Hint);
    }

    [Fact]
    public void LoadText_ObjectLevelValidationError_LandsOnTheMapping()
    {
        var (_, errors) = Load(Minimal.Replace("on_error: skip\n", "on_error: dead_letter\ndead_letter:\n  topic: a\n  file: b\n", StringComparison.Ordinal));
        var e = Single(errors);
        Assert.Equal((9, 3), (e.Line, e.Column));
        Assert.Equal("dead_letter needs exactly one of `topic` or `file`.", e.Message);
    }

    [Fact]
    public void LoadText_ValidationOfAPropertyThatFailedToBind_IsNotReportedTwice()
    {
        var (_, errors) = Load("source:\n  brokers: b\n  topic: t\nsink:\n  url: 5:x\n  table: t\n  insert_concurrency: lots\non_error: skip\n");
        // url fails validation; insert_concurrency fails binding and its range check is not repeated.
        Assert.Equal(2, errors.Count);
        Assert.Contains(errors, e => e.Line == 5 && e.Message.StartsWith("url must be an absolute", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Line == 7 && e.Message.Contains("expected an integer", StringComparison.Ordinal));
    }

    [Fact]
    public void LoadText_StageOptionValidation_LandsOnStageKey()
    {
        var (_, errors) = Load(Minimal + "stages:\n  - type: test_lookup\n    field: f\n    ttl: 2d\n");
        var e = Single(errors);
        Assert.Equal((12, 5), (e.Line, e.Column));
        Assert.Equal("ttl must be at most 1d.", e.Message);
    }

    [Fact]
    public void LoadText_UnknownStageType_ListsRegisteredTypesWithSuggestion()
    {
        var (_, errors) = Load(Minimal + "stages:\n  - type: test_lookpu\n    field: f\n");
        var e = Single(errors);
        Assert.Equal((10, 11), (e.Line, e.Column));
        Assert.Equal("unknown stage type 'test_lookpu' in stage 1", e.Message);
        Assert.Equal("did you mean 'test_lookup'? (registered stage types: test_filter, test_lookup)", e.Hint);
    }

    [Fact]
    public void LoadText_StageWithoutType_IsAnErrorAtTheItem()
    {
        var (_, errors) = Load(Minimal + "stages:\n  - field: f\n  - just a string\n");
        Assert.Equal(2, errors.Count);
        Assert.Equal((10, 5), (errors[0].Line, errors[0].Column));
        Assert.Equal("stage 1 has no `type`", errors[0].Message);
        Assert.Equal((11, 5), (errors[1].Line, errors[1].Column));
        Assert.Equal("each item of stages must be a mapping with a `type`, got 'just a string'", errors[1].Message);
    }

    [Fact]
    public void LoadText_UnknownStageOption_SuggestsFromStageOptions()
    {
        var (_, errors) = Load(Minimal + "stages:\n  - type: test_lookup\n    name: geo\n    field: f\n    ttll: 5s\n");
        var e = Single(errors);
        Assert.Equal((13, 5), (e.Line, e.Column));
        Assert.Equal("unknown key 'ttll' in stage 'geo' (test_lookup)", e.Message);
        Assert.Equal("did you mean 'ttl'?", e.Hint);
    }

    [Fact]
    public void LoadText_StageMissingRequiredOption_IsAtTheStage()
    {
        var (_, errors) = Load(Minimal + "stages:\n  - type: test_lookup\n");
        var e = Single(errors);
        Assert.Equal((10, 5), (e.Line, e.Column));
        Assert.Equal("missing required option 'field' in stage 1 (test_lookup)", e.Message);
        Assert.Equal("Add `field: user.id` (Field to look up).", e.Hint);
    }

    [Fact]
    public void LoadText_DuplicateStageNames_AreAnError()
    {
        var (_, errors) = Load(Minimal + "stages:\n  - type: test_lookup\n    name: geo\n    field: a\n  - type: test_filter\n    name: geo\n    field: b\n");
        var e = Single(errors);
        Assert.Equal((14, 11), (e.Line, e.Column));
        Assert.Equal("duplicate stage name 'geo' (first used at line 11)", e.Message);
    }

    [Fact]
    public void LoadText_DictionaryWithNonScalarValue_IsAnError()
    {
        var (_, errors) = Load(Minimal.Replace("  table: events\n", "  table: events\n  settings:\n    a: [1]\n", StringComparison.Ordinal));
        var e = Single(errors);
        Assert.Equal((8, 8), (e.Line, e.Column));
        Assert.Equal("invalid value for sink.settings.a: expected a string, got a list", e.Message);
    }

    [Fact]
    public void LoadText_EmptyFile_IsAnError()
    {
        var (p, errors) = Load("# just a comment\n");
        Assert.Null(p);
        Assert.Equal("the file is empty", Single(errors).Message);
        Assert.Equal("pipelines/web.yaml: error: the file is empty\n  hint: A pipeline file needs at least `source:` and `sink:` sections.", errors[0].ToString());
    }

    [Fact]
    public void LoadText_NonMappingRoot_IsAnError()
    {
        var (p, errors) = Load("- a\n- b\n");
        Assert.Null(p);
        var e = Single(errors);
        Assert.Equal((1, 1), (e.Line, e.Column));
        Assert.Equal("the top level of a pipeline file must be a mapping of options, got a list", e.Message);
    }

    [Fact]
    public void LoadText_UndefinedVariable_IsAnErrorAtTheScalarNamingIt()
    {
        var (_, errors) = Load(Minimal.Replace("localhost:9092", "${BROKERS}", StringComparison.Ordinal));
        var e = Single(errors);
        Assert.Equal((2, 12), (e.Line, e.Column));
        Assert.Equal("environment variable 'BROKERS' is not set", e.Message);
        Assert.Equal("Set BROKERS in the environment, or give a default: ${BROKERS:-<value>}.", e.Hint);
    }

    [Fact]
    public void LoadText_VariableInTypedOption_IsConvertedAfterSubstitution()
    {
        var (p, errors) = Load(Minimal + "parallelism: ${WORKERS}\nbatch:\n  max_wait: ${WAIT:-3s}\n", Env(("WORKERS", "7")));
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        Assert.Equal(7, p!.Options.Parallelism);
        Assert.Equal(TimeSpan.FromSeconds(3), p.Options.Batch.MaxWait);
    }

    [Fact]
    public void LoadText_EmptySections_MeanEmptyCollectionsAndDefaults()
    {
        var (p, errors) = Load(Minimal + "stages:\n  # none yet\nbatch:\ntests:\n");
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        Assert.Empty(p!.Options.Stages);
        Assert.Equal(50_000, p.Options.Batch.MaxRows);
    }

    [Fact]
    public void LoadText_EmptyRequiredSection_ReportsItsMissingOptionsAtIt()
    {
        var (_, errors) = Load("source:\n  brokers: b\n  topic: t\nsink:\non_error: skip\n");
        Assert.Equal(2, errors.Count);
        Assert.All(errors, e => Assert.Equal((4, 6), (e.Line, e.Column)));
        Assert.Equal(["missing required option 'url' in sink", "missing required option 'table' in sink"], errors.Select(e => e.Message));
    }

    [Fact]
    public void LoadText_NullForNullableSection_SetsNull()
    {
        var (p, errors) = Load(Minimal + "dead_letter: ~\n");
        Assert.Empty(errors);
        Assert.Null(p!.Options.DeadLetter);
    }

    [Fact]
    public void LoadText_KeyAtWrongLevel_SaysWhereItBelongs()
    {
        var (_, errors) = Load(Minimal + "max_wait: 5s\n");
        var e = Single(errors);
        Assert.Equal((9, 1), (e.Line, e.Column));
        Assert.Equal("'max_wait' is an option of 'batch': move it under `batch:` (indented).", e.Hint);
    }
}

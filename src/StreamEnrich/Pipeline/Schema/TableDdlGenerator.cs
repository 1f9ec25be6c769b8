using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using StreamEnrich.Configuration;
using StreamEnrich.Formats.Avro;
using StreamEnrich.Formats.SchemaRegistry;
using StreamEnrich.Stages;
using StreamEnrich.Stages.JsonSchema;

namespace StreamEnrich.Pipeline.Schema;

/// <summary>
/// <c>streamenrich schema</c>: a CREATE TABLE whose columns follow the pipeline's output. It starts from the input
/// schema (format avro: <c>format.reader_schema</c>, else the latest <c>&lt;topic&gt;-value</c> from the registry;
/// format json: the schema of the pipeline's <c>json_schema</c> stage, else the inline <c>sink.schema</c> as it is),
/// applies every stage in order through <see cref="IOutputSchemaStage"/>, names the columns after
/// <c>sink.columns</c>, and adds the Kafka metadata columns mapped there. The stages are built as for a run (lookup
/// files are read, registry schemas fetched); nothing is written anywhere.
/// </summary>
internal static partial class TableDdlGenerator
{
    public static async Task<string> GenerateAsync(LoadedPipeline pipeline, string? engine, CancellationToken ct)
    {
        var errors = new List<ConfigError>();
        var builder = new PipelineBuilder(StageRegistry.CreateDefault(), NullLoggerFactory.Instance, TimeProvider.System);
        var (_, stages) = builder.BuildStages(pipeline, errors);
        try
        {
            if (errors.Count > 0)
                throw new InvalidOperationException("the pipeline's stages cannot be built:\n" + string.Join("\n", errors));
            var sink = pipeline.Options.Sink;
            var schema = new OutputSchema();
            string origin;
            var format = pipeline.Options.Format;
            if (format.Type == "avro")
            {
                origin = await LoadAvroAsync(pipeline, schema, ct).ConfigureAwait(false);
            }
            else if (stages.Select(s => s.Sync).OfType<JsonSchemaStage>().FirstOrDefault() is { } validator)
            {
                foreach (var f in JsonSchemaColumns.Fields(validator.Schema)) schema.Set(f.Path, f.Type, f.Nullable);
                origin = $"JSON Schema {Describe(pipeline, validator.Source)}";
            }
            else if (sink.Schema.Count > 0)
            {
                var inline = sink.Schema.Select(kv => Parse(kv.Key, kv.Value)).ToList();
                return Render(pipeline, inline, [], "the inline sink.schema", engine, []);
            }
            else
            {
                throw new InvalidOperationException(
                    $"{pipeline.File}: nothing describes the input's fields, so the columns cannot be typed. Add a `json_schema` stage " +
                    "(`file: <schema.json>`) as the first stage, or list the columns in `sink.schema` (column: ClickHouse type).");
            }

            foreach (var stage in stages)
            {
                var instance = (object?)stage.Sync ?? stage.Async;
                if (instance is IOutputSchemaStage describing) describing.Apply(schema);
                else schema.Note($"stage {stage.Name} ({stage.Type}) does not describe its output; columns after it may be incomplete");
            }
            var columns = Columns(pipeline, schema, out var metadataColumns);
            return Render(pipeline, columns, schema.Notes, origin, engine, metadataColumns);
        }
        finally
        {
            foreach (var s in stages)
            {
                (s.Sync as IDisposable)?.Dispose();
                (s.Async as IDisposable)?.Dispose();
            }
        }
    }

    private static string Describe(LoadedPipeline pipeline, string source) =>
        Path.IsPathRooted(source) ? Path.GetRelativePath(pipeline.Directory, source) : source;

    /// <summary>Avro: the reader schema file when set (it is what records are resolved to), else the registry's latest value schema.</summary>
    private static async Task<string> LoadAvroAsync(LoadedPipeline pipeline, OutputSchema schema, CancellationToken ct)
    {
        var format = pipeline.Options.Format;
        AvroSchema avro;
        string origin;
        if (format.ReaderSchema is { } file)
        {
            try
            {
                avro = AvroRecordDecoder.LoadReaderSchema(pipeline.ResolvePath(file));
            }
            catch (AvroSchemaException e)
            {
                throw new InvalidOperationException(e.Message, e);
            }
            origin = $"Avro reader schema {file}";
        }
        else
        {
            var topics = pipeline.Options.Source.AllTopics;
            var subject = $"{topics[0]}-value";
            try
            {
                using var client = new SchemaRegistryClient(format.Registry!);
                var found = await client.GetSubjectVersionAsync(subject, "latest", ct).ConfigureAwait(false);
                var referenced = new List<string>();
                foreach (var r in found.References)
                    referenced.Add((await client.GetSubjectVersionAsync(r.Subject, r.Version.ToString(System.Globalization.CultureInfo.InvariantCulture), ct).ConfigureAwait(false)).Schema);
                avro = AvroSchemaParser.Parse(found.Schema, referenced);
                origin = $"Avro schema of subject {subject} version {found.Version} (id {found.Id})";
            }
            catch (Exception e) when (e is SchemaRegistryException or AvroSchemaException or ArgumentException or HttpRequestException)
            {
                throw new InvalidOperationException(
                    $"cannot read the writer schema of subject '{subject}' from {format.Registry?.Url}: {e.Message}. " +
                    "Set `format.reader_schema` to the .avsc file the table should follow, or make the registry reachable.", e);
            }
            if (topics.Count > 1) schema.Note($"columns follow the schema of the first topic ({topics[0]}) only");
        }
        try
        {
            foreach (var (name, type) in AvroClickHouseTypes.Columns(avro))
            {
                var f = Parse(name, type);
                schema.Set(f.Path, f.Type, f.Nullable);
            }
        }
        catch (AvroSchemaException e)
        {
            throw new InvalidOperationException($"{origin}: {e.Message}", e);
        }
        if (format.DecodeKeys) schema.Note($"decode_keys: the key's fields ({format.KeyPrefix}.*) are not listed");
        return origin;
    }

    /// <summary>"Nullable(T)" → (T, nullable).</summary>
    private static OutputField Parse(string name, string type)
    {
        type = type.Trim();
        return type.StartsWith("Nullable(", StringComparison.Ordinal) && type.EndsWith(')')
            ? new OutputField(name, type[9..^1], true)
            : new OutputField(name, type, false);
    }

    /// <summary>
    /// The table's columns: each output field under its own name, or under every column that <c>sink.columns</c> maps to
    /// it; then the mapped columns whose field is Kafka metadata (or unknown) in mapping order.
    /// </summary>
    private static List<OutputField> Columns(LoadedPipeline pipeline, OutputSchema schema, out HashSet<string> metadataColumns)
    {
        metadataColumns = new HashSet<string>(StringComparer.Ordinal);
        var mapping = pipeline.Options.Sink.Columns;
        var byField = mapping.GroupBy(kv => kv.Value, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Select(kv => kv.Key).ToList(), StringComparer.Ordinal);
        var columns = new List<OutputField>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        void Add(OutputField f)
        {
            if (names.Add(f.Path)) columns.Add(f);
            else schema.Note($"column {f.Path} appears twice; the second one ({f.Type}) is left out");
        }
        foreach (var f in schema.Fields)
        {
            if (byField.TryGetValue(f.Path, out var mapped))
                foreach (var column in mapped) Add(f with { Path = column });
            else Add(f);
        }
        foreach (var (column, field) in mapping)
        {
            if (schema.Fields.Any(f => f.Path == field)) continue;
            if (OutputSchema.Metadata(field) is { } meta)
            {
                Add(meta with { Path = column });
                metadataColumns.Add(column);
            }
            else
            {
                schema.Note($"column {column} maps field '{field}', which no schema or stage describes; typed Nullable(String)");
                Add(new OutputField(column, "String", true));
            }
        }
        return columns;
    }

    private static string Render(LoadedPipeline pipeline, List<OutputField> columns, IReadOnlyList<string> notes, string origin, string? engine, HashSet<string> metadataColumns)
    {
        var sink = pipeline.Options.Sink;
        var sb = new StringBuilder();
        sb.Append("-- Table for pipeline ").Append(pipeline.Name).Append(": columns from ").Append(origin)
            .Append(origin.StartsWith("the inline", StringComparison.Ordinal) ? "" : ", then the stages").Append('\n');
        foreach (var note in notes) sb.Append("-- ").Append(note.ReplaceLineEndings(" ")).Append('\n');
        sb.Append("CREATE TABLE ").Append(Quote(sink.Database)).Append('.').Append(Quote(sink.Table)).Append(" (\n");
        for (var i = 0; i < columns.Count; i++)
        {
            sb.Append("    ").Append(Quote(columns[i].Path)).Append(' ').Append(TypeText(columns[i]));
            sb.Append(i < columns.Count - 1 ? ",\n" : "\n");
        }
        var engineText = string.IsNullOrWhiteSpace(engine) ? "MergeTree" : StripEngineKeyword(engine.Trim());
        sb.Append(") ENGINE = ").Append(engineText);
        if (engineText.Contains("MergeTree", StringComparison.Ordinal))
        {
            var (partition, orderBy) = Keys(columns, metadataColumns);
            if (partition is not null) sb.Append("\nPARTITION BY toYYYYMM(").Append(Quote(partition)).Append(')');
            sb.Append("\nORDER BY ").Append(orderBy.Count == 0 ? "tuple()" : "(" + string.Join(", ", orderBy.Select(Quote)) + ")");
        }
        return sb.ToString();
    }

    private static string StripEngineKeyword(string engine)
    {
        var m = EngineKeyword().Match(engine);
        return m.Success ? engine[m.Length..].Trim() : engine;
    }

    /// <summary>The column type as written in the DDL: Nullable where ClickHouse allows it, inside LowCardinality.</summary>
    internal static string TypeText(OutputField f)
    {
        var t = f.Type;
        if (!f.Nullable || t.StartsWith("Array(", StringComparison.Ordinal) || t.StartsWith("Map(", StringComparison.Ordinal) ||
            t.StartsWith("Tuple(", StringComparison.Ordinal) || t.StartsWith("Nullable(", StringComparison.Ordinal) || t.StartsWith("Nested(", StringComparison.Ordinal))
            return t;
        if (t.StartsWith("LowCardinality(", StringComparison.Ordinal) && t.EndsWith(')'))
            return $"LowCardinality(Nullable({t["LowCardinality(".Length..^1]}))";
        return $"Nullable({t})";
    }

    /// <summary>
    /// The sorting key: up to two low-cardinality-looking columns (LowCardinality or Enum types first, then String
    /// columns named like an event type, kind, status, country...), then the main timestamp: a column not from Kafka
    /// metadata whose name says time or date, else the first such timestamp column, else a metadata timestamp. Only non-nullable columns qualify (ClickHouse
    /// rejects Nullable keys by default). The partition is the timestamp's month.
    /// </summary>
    private static (string? Partition, List<string> OrderBy) Keys(List<OutputField> columns, HashSet<string> metadataColumns)
    {
        var candidates = columns.Where(c => !c.Nullable).ToList();
        var lowCard = candidates.Where(c => c.Type.StartsWith("LowCardinality(", StringComparison.Ordinal) || c.Type.StartsWith("Enum", StringComparison.Ordinal))
            .Concat(candidates.Where(c => c.Type == "String" && EnumLikeName().IsMatch(c.Path)))
            .Select(c => c.Path).Distinct(StringComparer.Ordinal).Take(2).ToList();
        var times = candidates.Where(c => OutputTypes.IsTimestamp(c.Type) || c.Type is "Date" or "Date32").ToList();
        var time = times.FirstOrDefault(c => TimeLikeName().IsMatch(c.Path) && !metadataColumns.Contains(c.Path))
            ?? times.FirstOrDefault(c => !metadataColumns.Contains(c.Path)) ?? times.FirstOrDefault();
        var orderBy = lowCard;
        if (time is not null) orderBy.Add(time.Path);
        return (time?.Path, orderBy);
    }

    /// <summary>Backquotes a name unless it is a plain identifier.</summary>
    internal static string Quote(string name) =>
        PlainIdentifier().IsMatch(name) ? name : "`" + name.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("`", "\\`", StringComparison.Ordinal) + "`";

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex PlainIdentifier();

    [GeneratedRegex(@"(^|[._])(type|kind|status|event|category|level|action|country|region|plan|env|environment|source)$", RegexOptions.IgnoreCase)]
    private static partial Regex EnumLikeName();

    [GeneratedRegex(@"(^|[._])(ts|time|timestamp|date|datetime)$|_(time|at|ts|date)$|^(time|date)", RegexOptions.IgnoreCase)]
    private static partial Regex TimeLikeName();

    [GeneratedRegex(@"^ENGINE\s*=\s*", RegexOptions.IgnoreCase)]
    private static partial Regex EngineKeyword();
}

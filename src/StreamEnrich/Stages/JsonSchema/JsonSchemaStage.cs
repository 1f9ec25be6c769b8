using System.Globalization;
using System.Text;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using NJsonSchema.Validation;
using StreamEnrich.Records;
using Schema = NJsonSchema.JsonSchema;

namespace StreamEnrich.Stages.JsonSchema;

/// <summary>
/// Validates each message value (the raw JSON text in <see cref="Record.Payload"/>) against a JSON Schema and fails
/// the records that do not match, with every violation as <c>path: Kind</c> in the reason
/// (<c>#/price: NumberExpected; #/user_id: PropertyRequired</c>). The schema comes from a file or a Schema Registry
/// subject and is loaded once, when the pipeline is built; a missing or broken schema fails the build.
/// Validation needs the whole document, so each payload is parsed a second time into a JToken (the decoder only
/// reads the fields the pipeline uses): it costs CPU per message, roughly as much as decoding. Put the stage first so
/// invalid records stop before other work. Thread-safe: the loaded schema is only read.
/// </summary>
internal sealed class JsonSchemaStage : IRecordStage, IOutputSchemaStage
{
    private readonly string _stageName;
    private readonly int _maxReason;

    public JsonSchemaStage(JsonSchemaStageOptions options, IStageBuildContext context)
    {
        _stageName = context.StageName;
        _maxReason = options.MaxReasonLength;
        (Schema, Source) = options.File is { Length: > 0 } file
            ? JsonSchemaLoader.FromFile(context.ResolvePath(file))
            : JsonSchemaLoader.FromRegistry(options);
    }

    /// <summary>The loaded schema (read by <c>streamenrich schema</c> to type the input columns).</summary>
    internal Schema Schema { get; }

    /// <summary>Where the schema came from (a file path or <c>subject version N at URL</c>), for messages.</summary>
    internal string Source { get; }

    public void Process(Record record)
    {
        if (record.Payload is not { } payload)
        {
            record.Fail(_stageName, "json_schema: the message has no value to validate.");
            return;
        }
        JToken token;
        try
        {
            token = Parse(payload);
        }
        catch (JsonException e)
        {
            record.Fail(_stageName, $"json_schema: the message value is not valid JSON: {e.Message}");
            return;
        }
        var errors = Schema.Validate(token);
        if (errors.Count > 0) record.Fail(_stageName, FormatErrors(errors, _maxReason));
    }

    /// <summary>The stage only lets valid records through; it does not change fields.</summary>
    public void Apply(OutputSchema schema)
    {
    }

    /// <summary>Parses one JSON document; strings stay strings (no date guessing), so <c>type: string</c> holds for dates.</summary>
    internal static JToken Parse(byte[] payload)
    {
        using var reader = new JsonTextReader(new StreamReader(new MemoryStream(payload, writable: false), Encoding.UTF8, false))
        {
            DateParseHandling = DateParseHandling.None,
            MaxDepth = 128,
        };
        var token = JToken.ReadFrom(reader);
        if (reader.Read() && reader.TokenType != JsonToken.Comment)
            throw new JsonReaderException($"unexpected content after the JSON value at position {reader.LinePosition}.");
        return token;
    }

    /// <summary><c>json_schema: #/price: NumberExpected; #/user_id: PropertyRequired</c>, at most <paramref name="maxLength"/> characters: errors that do not fit are counted.</summary>
    internal static string FormatErrors(ICollection<ValidationError> errors, int maxLength)
    {
        const int TailRoom = 24; // "; ... (12345 more)"
        var sb = new StringBuilder("json_schema: ");
        var written = 0;
        foreach (var e in errors)
        {
            var item = Describe(e);
            var separator = written > 0 ? "; " : "";
            var last = written == errors.Count - 1;
            if (sb.Length + separator.Length + item.Length + (last ? 0 : TailRoom) > maxLength)
            {
                if (written == 0) sb.Append(item.AsSpan(0, Math.Max(0, Math.Min(item.Length, maxLength - sb.Length - TailRoom))));
                sb.Append(CultureInfo.InvariantCulture, $"; ... ({errors.Count - written} more)");
                break;
            }
            sb.Append(separator).Append(item);
            written++;
        }
        return sb.ToString();
    }

    private static string Describe(ValidationError e)
    {
        var path = string.IsNullOrEmpty(e.Path) || e.Path == "#/" ? "#" : e.Path;
        if (e is ChildSchemaValidationError child && child.Errors.Count > 0)
        {
            var inner = child.Errors.SelectMany(kv => kv.Value).Select(x => x.Kind.ToString()).Distinct().Take(3);
            return $"{path}: {e.Kind} ({string.Join(", ", inner)})";
        }
        return $"{path}: {e.Kind}";
    }
}

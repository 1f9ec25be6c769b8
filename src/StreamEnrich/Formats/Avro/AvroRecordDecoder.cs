using System.Buffers.Binary;
using System.Collections.Concurrent;
using StreamEnrich.Formats.SchemaRegistry;
using StreamEnrich.Records;

namespace StreamEnrich.Formats.Avro;

/// <summary>Options of <see cref="AvroRecordDecoder"/> beyond the registry and reader schema.</summary>
internal sealed class AvroRecordDecoderOptions
{
    /// <summary>Also decode message keys (Confluent wire format) into the fields below <see cref="KeyPrefix"/>.</summary>
    public bool DecodeKeys { get; init; }

    /// <summary>Field path of decoded keys: the whole key goes to slot <c>key</c>, key record fields to <c>key.&lt;field&gt;</c>.</summary>
    public string KeyPrefix { get; init; } = "key";

    /// <summary>How long an id the registry does not know is remembered as unknown before it is asked again.</summary>
    public TimeSpan UnknownIdRetryAfter { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// Decodes Confluent wire-format Avro messages (magic byte 0, 4-byte big-endian schema id, binary datum) into
/// record slots. Each schema id is fetched once from the registry (in <see cref="PrepareAsync"/>) and compiled
/// once, with the optional reader schema, into an <see cref="AvroDecodingPlan"/>; decoding a message then
/// performs one id lookup and runs the plan. Undecodable messages fail with reason and byte offset; the registry
/// being unreachable for an id that is not cached makes <see cref="PrepareAsync"/> throw (not specific to records).
/// </summary>
internal sealed class AvroRecordDecoder : IRecordDecoder, IDisposable
{
    private const string Stage = "deserialize";
    private const int HeaderLength = 5;

    private readonly RecordLayout _layout;
    private readonly ISchemaRegistry _registry;
    private readonly AvroSchema? _readerSchema;
    private readonly AvroRecordDecoderOptions _options;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<int, Entry> _values = new();
    private readonly ConcurrentDictionary<int, Entry> _keys = new();
    private readonly ConcurrentDictionary<int, AvroSchema> _schemas = new();
    private IDisposable? _ownedRegistry;

    /// <summary>A compiled plan for an id, or why there is none (and until when that answer holds).</summary>
    private sealed record Entry(int Id, AvroDecodingPlan? Plan, string? Error, long RetryAfterTimestamp);

    private Entry? _lastValue, _lastKey;

    public AvroRecordDecoder(RecordLayout layout, ISchemaRegistry registry, AvroSchema? readerSchema = null,
        AvroRecordDecoderOptions? options = null, TimeProvider? timeProvider = null)
    {
        if (!layout.IsFrozen) throw new InvalidOperationException("The record layout must be frozen before the Avro decoder is built.");
        _layout = layout;
        _registry = registry;
        _readerSchema = readerSchema;
        _options = options ?? new AvroRecordDecoderOptions();
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>
    /// The decoder for a pipeline's <c>format: avro</c> section: a <see cref="SchemaRegistryClient"/> from its registry
    /// settings (owned and disposed by the decoder) and its reader schema file, if any, resolved against
    /// <paramref name="baseDirectory"/> (the pipeline file's folder). Throws <see cref="AvroSchemaException"/> for a bad
    /// reader schema and <see cref="ArgumentException"/> for bad registry settings, before any I/O.
    /// </summary>
    public static AvroRecordDecoder Create(Configuration.FormatOptions format, RecordLayout layout, string baseDirectory,
        AvroRecordDecoderOptions? options = null, TimeProvider? timeProvider = null)
    {
        var reader = format.ReaderSchema is { } path ? LoadReaderSchema(Path.Combine(baseDirectory, path)) : null;
        var client = new SchemaRegistryClient(format.Registry ?? throw new ArgumentException("format avro needs `registry`.", nameof(format)), timeProvider);
        return new AvroRecordDecoder(layout, client, reader, options, timeProvider) { _ownedRegistry = client };
    }

    public void Dispose() => _ownedRegistry?.Dispose();

    /// <summary>Reads a reader schema file (.avsc) for <see cref="FormatOptions.ReaderSchema"/>.</summary>
    public static AvroSchema LoadReaderSchema(string path)
    {
        if (!File.Exists(path))
            throw new AvroSchemaException($"Reader schema file {path} does not exist (format.reader_schema).") { JsonPath = null };
        try
        {
            return AvroSchema.Parse(File.ReadAllText(path));
        }
        catch (AvroSchemaException e)
        {
            throw new AvroSchemaException($"Reader schema {path}: {e.Message}", e) { JsonPath = e.JsonPath };
        }
    }

    public async ValueTask PrepareAsync(IReadOnlyList<Record> records, CancellationToken cancellationToken)
    {
        List<int>? missingValues = null, missingKeys = null;
        var now = _time.GetTimestamp();
        for (var i = 0; i < records.Count; i++)
        {
            var r = records[i];
            if (!r.IsActive) continue;
            if (TryReadId(r.Payload, out var id) && NeedsFetch(_values, id, now)) Add(ref missingValues, id);
            if (_options.DecodeKeys && TryReadId(r.Key, out var keyId) && NeedsFetch(_keys, keyId, now)) Add(ref missingKeys, keyId);
        }
        if (missingValues is not null)
            foreach (var id in missingValues) _values[id] = await BuildAsync(id, key: false, cancellationToken).ConfigureAwait(false);
        if (missingKeys is not null)
            foreach (var id in missingKeys) _keys[id] = await BuildAsync(id, key: true, cancellationToken).ConfigureAwait(false);
    }

    private bool NeedsFetch(ConcurrentDictionary<int, Entry> plans, int id, long now) =>
        !plans.TryGetValue(id, out var e) || (e.Plan is null && e.RetryAfterTimestamp != 0 && now >= e.RetryAfterTimestamp);

    private static void Add(ref List<int>? list, int id)
    {
        list ??= [];
        if (!list.Contains(id)) list.Add(id);
    }

    private static bool TryReadId(byte[]? buffer, out int id)
    {
        id = 0;
        if (buffer is null || buffer.Length < HeaderLength || buffer[0] != 0) return false;
        id = BinaryPrimitives.ReadInt32BigEndian(buffer.AsSpan(1));
        return true;
    }

    private async Task<Entry> BuildAsync(int id, bool key, CancellationToken ct)
    {
        AvroSchema writer;
        try
        {
            writer = await WriterSchemaAsync(id, ct).ConfigureAwait(false);
        }
        catch (SchemaRegistryException e) when (e.Kind == SchemaRegistryErrorKind.NotFound)
        {
            return new Entry(id, null, e.Message, _time.GetTimestamp() + (long)(_options.UnknownIdRetryAfter.TotalSeconds * _time.TimestampFrequency));
        }
        catch (AvroSchemaException e)
        {
            return new Entry(id, null, $"schema id {id} from the registry is not a valid Avro schema: {e.Message}", 0);
        }
        catch (NotSupportedException e)
        {
            return new Entry(id, null, e.Message, 0);
        }
        try
        {
            var plan = key
                ? AvroDecodingPlan.CompileAt(writer, null, _layout, _options.KeyPrefix)
                : AvroDecodingPlan.Compile(writer, _readerSchema, _layout);
            return new Entry(id, plan, null, 0);
        }
        catch (AvroSchemaException e)
        {
            return new Entry(id, null, $"schema id {id} cannot be read with the configured reader schema: {e.Message}", 0);
        }
    }

    private async Task<AvroSchema> WriterSchemaAsync(int id, CancellationToken ct)
    {
        if (_schemas.TryGetValue(id, out var s)) return s;
        var registered = await _registry.GetSchemaAsync(id, ct).ConfigureAwait(false);
        if (!string.Equals(registered.SchemaType, "AVRO", StringComparison.OrdinalIgnoreCase))
            throw new NotSupportedException($"schema id {id} is a {registered.SchemaType} schema, not Avro (format avro needs Avro schemas).");
        var references = new List<string>();
        if (registered.References.Count > 0)
            await CollectReferencesAsync(registered.References, references, new HashSet<(string, int)>(), 0, ct).ConfigureAwait(false);
        s = AvroSchemaParser.Parse(registered.Schema, references);
        _schemas[id] = s;
        return s;
    }

    /// <summary>Referenced schemas, dependencies first, each once.</summary>
    private async Task CollectReferencesAsync(IReadOnlyList<SchemaReference> refs, List<string> output, HashSet<(string, int)> seen, int depth, CancellationToken ct)
    {
        if (depth > 32) throw new AvroSchemaException("Schema references nested deeper than 32 levels.");
        foreach (var r in refs)
        {
            if (!seen.Add((r.Subject, r.Version))) continue;
            var subject = await _registry.GetSubjectVersionAsync(r.Subject, r.Version.ToString(System.Globalization.CultureInfo.InvariantCulture), ct).ConfigureAwait(false);
            await CollectReferencesAsync(subject.References, output, seen, depth + 1, ct).ConfigureAwait(false);
            output.Add(subject.Schema);
        }
    }

    public void Decode(Record record)
    {
        if (!DecodeOne(record, record.Payload, _values, ref _lastValue, "value")) return;
        // A message without a key is common (round-robin producers): its key fields stay missing.
        if (_options.DecodeKeys && record.Key is { Length: > 0 } key) DecodeOne(record, key, _keys, ref _lastKey, "key");
    }

    private static bool DecodeOne(Record record, byte[]? buffer, ConcurrentDictionary<int, Entry> plans, ref Entry? last, string what)
    {
        if (buffer is null)
        {
            record.Fail(Stage, $"Avro {what} is missing (null); format avro needs a Confluent wire-format {what}.");
            return false;
        }
        if (buffer.Length < HeaderLength)
        {
            record.Fail(Stage, $"Avro {what} of {buffer.Length} byte(s) is shorter than the 5-byte header (magic byte 0, 4-byte schema id); truncated at byte {buffer.Length}.");
            return false;
        }
        if (buffer[0] != 0)
        {
            record.Fail(Stage, $"Avro {what} has unknown magic byte 0x{buffer[0]:X2} at byte 0; the Confluent wire format starts with 0x00 (is the topic really Avro?).");
            return false;
        }
        var id = BinaryPrimitives.ReadInt32BigEndian(buffer.AsSpan(1));
        // Most messages carry the same id as the previous one: one field read instead of a dictionary lookup.
        var entry = Volatile.Read(ref last);
        if (entry is null || entry.Id != id)
        {
            if (!plans.TryGetValue(id, out entry) || entry.Plan is null)
            {
                record.Fail(Stage, entry?.Error is { } err ? $"Avro {what} (schema id at bytes 1-4): {err}" : $"Avro {what}: unknown schema id {id} at bytes 1-4 (not fetched from the schema registry).");
                return false;
            }
            Volatile.Write(ref last, entry);
        }
        var plan = entry.Plan!;
        try
        {
            var end = plan.Decode(buffer, HeaderLength, buffer.Length, record.Fields);
            if (end != buffer.Length)
            {
                record.Fail(Stage, $"Avro {what} (schema id {id}): {buffer.Length - end} trailing byte(s) after the datum at byte {end}.");
                return false;
            }
            return true;
        }
        catch (AvroException e)
        {
            record.Fail(Stage, $"Avro {what} (schema id {id}): {e.Message}");
            return false;
        }
    }
}

using System.Buffers.Binary;
using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
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

    /// <summary>
    /// How many times a schema id that is not cached is asked for again while the registry is unavailable before
    /// <see cref="AvroRecordDecoder.PrepareAsync"/> gives up and throws; -1 waits forever (see
    /// <see cref="SchemaRegistryOptions.OutageMaxRetries"/>).
    /// </summary>
    public int OutageMaxRetries { get; init; } = -1;

    /// <summary>First wait during an outage; doubles (with jitter) up to <see cref="OutageMaxBackoff"/>.</summary>
    public TimeSpan OutageBackoff { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Longest wait between two attempts during an outage.</summary>
    public TimeSpan OutageMaxBackoff { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The registry as the outage warnings name it (its URL).</summary>
    public string RegistryDescription { get; init; } = "the schema registry";
}

/// <summary>
/// Decodes Confluent wire-format Avro messages (magic byte 0, 4-byte big-endian schema id, binary datum) into
/// record slots. Each schema id is fetched once from the registry (in <see cref="PrepareAsync"/>) and compiled
/// once, with the optional reader schema, into an <see cref="AvroDecodingPlan"/>; decoding a message then
/// performs one id lookup and runs the plan. Undecodable messages fail with reason and byte offset, and so do
/// messages whose id the registry definitively does not have (404). The registry being unavailable (5xx, 429,
/// connection refused, timeout) for an id that is not cached is not the messages' fault: <see cref="PrepareAsync"/>
/// waits and asks again with backoff, warning each time, so the chunk is held back (the pipeline's bounded blocks fill
/// and the consumer pauses) until the registry answers or <see cref="AvroRecordDecoderOptions.OutageMaxRetries"/> is
/// used up. Concurrent chunks waiting for the same id share one wait. Credentials refused (401/403) throw at once.
/// </summary>
internal sealed partial class AvroRecordDecoder : IRecordDecoder, IDisposable
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
    private readonly ConcurrentDictionary<(bool Key, int Id), Lazy<Task<Entry>>> _resolving = new();
    private readonly ILogger _logger;
    private IDisposable? _ownedRegistry;

    /// <summary>A compiled plan for an id, or why there is none (and until when that answer holds).</summary>
    private sealed record Entry(int Id, AvroDecodingPlan? Plan, string? Error, long RetryAfterTimestamp);

    private Entry? _lastValue, _lastKey;

    public AvroRecordDecoder(RecordLayout layout, ISchemaRegistry registry, AvroSchema? readerSchema = null,
        AvroRecordDecoderOptions? options = null, TimeProvider? timeProvider = null, ILogger? logger = null)
    {
        if (!layout.IsFrozen) throw new InvalidOperationException("The record layout must be frozen before the Avro decoder is built.");
        _layout = layout;
        _registry = registry;
        _readerSchema = readerSchema;
        _options = options ?? new AvroRecordDecoderOptions();
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>
    /// The decoder for a pipeline's <c>format: avro</c> section: a <see cref="SchemaRegistryClient"/> from its registry
    /// settings (owned and disposed by the decoder) and its reader schema file, if any, resolved against
    /// <paramref name="baseDirectory"/> (the pipeline file's folder). Throws <see cref="AvroSchemaException"/> for a bad
    /// reader schema and <see cref="ArgumentException"/> for bad registry settings, before any I/O. The outage
    /// settings (<see cref="AvroRecordDecoderOptions.OutageMaxRetries"/>, backoff, registry description) come from the
    /// registry section and replace those of <paramref name="options"/>.
    /// </summary>
    public static AvroRecordDecoder Create(Configuration.FormatOptions format, RecordLayout layout, string baseDirectory,
        AvroRecordDecoderOptions? options = null, TimeProvider? timeProvider = null, ILogger? logger = null)
    {
        var reader = format.ReaderSchema is { } path ? LoadReaderSchema(Path.Combine(baseDirectory, path)) : null;
        var registry = format.Registry ?? throw new ArgumentException("format avro needs `registry`.", nameof(format));
        var client = new SchemaRegistryClient(registry, timeProvider);
        options ??= new AvroRecordDecoderOptions();
        options = new AvroRecordDecoderOptions
        {
            DecodeKeys = options.DecodeKeys,
            KeyPrefix = options.KeyPrefix,
            UnknownIdRetryAfter = options.UnknownIdRetryAfter,
            OutageMaxRetries = registry.OutageMaxRetries,
            OutageBackoff = registry.RetryBackoff,
            OutageMaxBackoff = registry.RetryMaxBackoff,
            RegistryDescription = registry.Url,
        };
        return new AvroRecordDecoder(layout, client, reader, options, timeProvider, logger) { _ownedRegistry = client };
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
            foreach (var id in missingValues) _values[id] = await ResolveAsync(id, key: false, cancellationToken).ConfigureAwait(false);
        if (missingKeys is not null)
            foreach (var id in missingKeys) _keys[id] = await ResolveAsync(id, key: true, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The plan (or the definitive error) for an id, waiting out a registry outage. Chunks that need the same id at the
    /// same time share one resolution, so an outage is warned about once per attempt, not once per worker.
    /// </summary>
    private async Task<Entry> ResolveAsync(int id, bool key, CancellationToken ct)
    {
        var slot = (key, id);
        var lazy = _resolving.GetOrAdd(slot, s => new Lazy<Task<Entry>>(() => WaitOutOutageAsync(s.Id, s.Key, ct)));
        if (lazy.Value.IsFaulted || lazy.Value.IsCanceled)
        {
            // Left over from callers that gave up or were cancelled: start again instead of repeating their failure.
            _resolving.TryRemove(new(slot, lazy));
            lazy = _resolving.GetOrAdd(slot, s => new Lazy<Task<Entry>>(() => WaitOutOutageAsync(s.Id, s.Key, ct)));
        }
        try
        {
            return await lazy.Value.WaitAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            if (lazy.Value.IsCompleted) _resolving.TryRemove(new(slot, lazy));
        }
    }

    private async Task<Entry> WaitOutOutageAsync(int id, bool key, CancellationToken ct)
    {
        var what = key ? "key" : "value";
        var started = _time.GetTimestamp();
        for (var failures = 0; ; failures++)
        {
            try
            {
                var entry = await BuildAsync(id, key, ct).ConfigureAwait(false);
                if (failures > 0) LogRegistryBack(_logger, id, what, _options.RegistryDescription, failures, _time.GetElapsedTime(started).TotalSeconds);
                return entry;
            }
            catch (SchemaRegistryException e) when (e.Kind == SchemaRegistryErrorKind.Unavailable)
            {
                if (_options.OutageMaxRetries >= 0 && failures >= _options.OutageMaxRetries)
                    throw new SchemaRegistryException(SchemaRegistryErrorKind.Unavailable,
                        $"Gave up waiting for schema id {id} (message {what}s) after {failures + 1} attempt(s) over {_time.GetElapsedTime(started).TotalSeconds:0.#} s " +
                        $"(format.registry.outage_max_retries is {_options.OutageMaxRetries}; -1 waits forever): {e.Message} " +
                        "Nothing from these messages on was committed; the pipeline resumes there when restarted.", e.StatusCode, e.ErrorCode, e);
                var delay = OutageDelay(failures);
                LogRegistryUnavailable(_logger, id, what, _options.RegistryDescription, e.Message, failures + 1, delay.TotalSeconds);
                await Task.Delay(delay, _time, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Exponential backoff with ±25% jitter, capped at <see cref="AvroRecordDecoderOptions.OutageMaxBackoff"/>.</summary>
    private TimeSpan OutageDelay(int failures) => Backoff.Jittered(_options.OutageBackoff, _options.OutageMaxBackoff, failures);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Schema id {SchemaId} (message {What}s) is not cached and the schema registry {Registry} is unavailable: {Cause} " +
        "Holding these messages back (the consumer pauses; nothing is dead-lettered or committed past them); attempt {Attempt} failed, asking again in {DelaySeconds:0.#} s.")]
    private static partial void LogRegistryUnavailable(ILogger logger, int schemaId, string what, string registry, string cause, int attempt, double delaySeconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "The schema registry {Registry} answered for schema id {SchemaId} (message {What}s) after {Failures} failed attempt(s) over {Seconds:0.#} s; the held-back messages continue.")]
    private static partial void LogRegistryBack(ILogger logger, int schemaId, string what, string registry, int failures, double seconds);

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

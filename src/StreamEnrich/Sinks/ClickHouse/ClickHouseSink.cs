using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using StreamEnrich.Configuration;
using StreamEnrich.Records;

namespace StreamEnrich.Sinks.ClickHouse;

/// <summary>
/// Rows encoded as RowBinary in pooled chunk-sized buffers, until their batch is inserted: one buffer for a chunk,
/// the chunks' buffers side by side for a batch (<see cref="ClickHouseSink.Merge"/> appends buffers, it copies no bytes).
/// </summary>
internal sealed class RowBinaryRows : Pipeline.EncodedRows
{
    private ClickHouseSink? _owner;

    internal RowBinaryRows(ClickHouseSink owner, RowBinaryWriter writer, int rows, int failedRows)
        : this(owner, [writer], [(rows, failedRows)], rows, failedRows, writer.Position)
    {
    }

    private RowBinaryRows(ClickHouseSink owner, List<RowBinaryWriter> writers, List<(int Rows, int Failed)> counts, int rows, int failedRows, long bytes)
    {
        _owner = owner;
        Writers = writers;
        _counts = counts;
        Rows = rows;
        FailedRows = failedRows;
        Bytes = bytes;
    }

    /// <summary>The buffers, in row order; the insert body is their written bytes one after the other.</summary>
    public List<RowBinaryWriter> Writers { get; }
    /// <summary>Rows and failed rows per buffer (to split).</summary>
    private readonly List<(int Rows, int Failed)> _counts;
    public int FailedRows { get; }

    /// <summary>The written bytes of every buffer, in order (what an insert sends).</summary>
    public IEnumerable<ReadOnlyMemory<byte>> Segments => Writers.Select(w => w.WrittenMemory);

    public override int Pieces => Writers.Count;

    /// <summary><paramref name="batch"/> (or nothing) followed by <paramref name="next"/>; both give up their buffers to the result.</summary>
    internal static RowBinaryRows Append(ClickHouseSink owner, RowBinaryRows? batch, RowBinaryRows next)
    {
        var writers = batch?.Writers ?? new List<RowBinaryWriter>(64);
        var counts = batch?._counts ?? new List<(int, int)>(64);
        writers.AddRange(next.Writers);
        counts.AddRange(next._counts);
        var merged = new RowBinaryRows(owner, writers, counts, (batch?.Rows ?? 0) + next.Rows, (batch?.FailedRows ?? 0) + next.FailedRows,
            (batch?.Bytes ?? 0) + next.Bytes);
        batch?.Abandon();
        next.Abandon();
        return merged;
    }

    /// <summary>Consecutive runs of the buffers (no bytes are copied); this object gives its buffers up to them.</summary>
    public override Pipeline.EncodedRows[] Split(ReadOnlySpan<int> ends)
    {
        var owner = _owner ?? throw new InvalidOperationException("these rows were released or merged");
        var parts = new Pipeline.EncodedRows[ends.Length];
        var start = 0;
        for (var i = 0; i < ends.Length; i++)
        {
            var end = ends[i];
            if (end < start || end > Writers.Count || (i == ends.Length - 1 && end != Writers.Count))
                throw new ArgumentOutOfRangeException(nameof(ends), $"piece ends must rise to {Writers.Count}");
            var writers = Writers.GetRange(start, end - start);
            var counts = _counts.GetRange(start, end - start);
            int rows = 0, failed = 0;
            long bytes = 0;
            for (var k = 0; k < writers.Count; k++)
            {
                rows += counts[k].Rows;
                failed += counts[k].Failed;
                bytes += writers[k].Position;
            }
            parts[i] = new RowBinaryRows(owner, writers, counts, rows, failed, bytes);
            start = end;
        }
        Abandon();
        return parts;
    }

    public override void Release()
    {
        var owner = Interlocked.Exchange(ref _owner, null);
        if (owner is null) return;
        foreach (var w in Writers) owner.ReturnWriter(w);
    }

    /// <summary>Forgets the buffers without returning them (they now belong to a merged successor).</summary>
    private void Abandon() => _owner = null;
}

/// <summary>Where a <see cref="ClickHouseSink"/> takes the table's columns from.</summary>
internal enum SchemaSource
{
    /// <summary>DESCRIBE TABLE on the server, always (for inserting).</summary>
    Server,
    /// <summary>The inline <c>sink.schema</c> when it is given, else the server (previews without a server).</summary>
    InlineWhenGiven,
}

/// <summary>What one <see cref="ClickHouseSink.InsertAsync(IReadOnlyList{RowBinaryRows}, CancellationToken)"/> did.</summary>
internal readonly record struct InsertResult(int RowsInserted, int RowsFailed, long BytesSent, int Attempts);

/// <summary>
/// Writes batches of records into one ClickHouse table as a single RowBinary insert each.
/// Call order: <see cref="PrepareAsync"/> (reads the schema), <see cref="BindColumns"/> (before the layout is frozen),
/// then <see cref="InsertAsync"/> from up to <c>insert_concurrency</c> callers at once.
/// <para>
/// A field absent from a record gets the column's constant DEFAULT, or the type's default when the column has none.
/// A column whose DEFAULT only the server can compute (<c>now()</c>, expressions of other columns) is sent with
/// RowBinaryWithDefaults on servers that have it (23.7+, ClickHouse PR #51695), so the server computes it; on older servers such a record fails
/// into the dead-letter path with a reason saying the field is required there.
/// </para>
/// </summary>
internal sealed class ClickHouseSink : IDisposable
{
    /// <summary>First ClickHouse version with the RowBinaryWithDefaults input format.</summary>
    internal static readonly Version RowBinaryWithDefaultsSince = new(23, 7);

    private readonly ClickHouseSinkOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    // Chunk-sized writers (one per chunk from encoding until its batch is inserted; a batch is its chunks' writers side
    // by side, so no batch-sized buffer is ever built) and, for gzip only, one body writer per insert in flight. The
    // chunk pool holds at most what the pipeline had in flight at its peak (its blocks are bounded); writers that grew
    // past MaxPooledChunkCapacity for an outlier chunk are left to the GC.
    private readonly ConcurrentBag<RowBinaryWriter> _chunkWriters = [];
    private readonly ConcurrentBag<RowBinaryWriter> _bodyWriters = [];
    private const int ChunkWriterCapacity = 64 * 1024;
    private const int MaxPooledChunkCapacity = 1024 * 1024;
    /// <summary>The largest encoded chunk so far (up to <see cref="MaxPooledChunkCapacity"/>): new writers start there, plus an eighth.</summary>
    private int _largestChunk;
    private int MaxPooledBodyWriters => _options.InsertConcurrency;
    private ClickHouseHttpClient? _client;
    private List<ClickHouseColumn>? _columns;
    private string _insertQuery = "";
    private bool _useDefaultsFormat;
    private bool _bound;

    private readonly SchemaSource _schemaSource;

    /// <summary>
    /// Once the pipeline is shutting down, failing inserts are retried at least this often (instead of up to
    /// <c>retry_max_backoff</c>, 30 s by default): the drain has a deadline (<c>--shutdown-timeout</c>), and a server
    /// back a moment after SIGTERM should still get the held batches before it.
    /// </summary>
    internal static readonly TimeSpan DrainRetryMaxBackoff = TimeSpan.FromSeconds(1);

    /// <summary>Cancelled by <see cref="BeginDrain"/>: ends the retry wait in progress.</summary>
    private readonly CancellationTokenSource _draining = new();

    /// <param name="schemaSource">
    /// Where the columns come from: the live table (for inserting; an inline <c>sink.schema</c> is only compared with it),
    /// or the inline schema when one is given (dry-run, tests, engine benchmark: no server needed).
    /// </param>
    public ClickHouseSink(ClickHouseSinkOptions options, ILogger logger, TimeProvider time, SchemaSource schemaSource = SchemaSource.Server)
    {
        _options = options;
        _logger = logger;
        _time = time;
        _schemaSource = schemaSource;
    }

    /// <summary>
    /// The pipeline is shutting down: an insert waiting to retry tries again now, and later retries wait at most
    /// <see cref="DrainRetryMaxBackoff"/>. Inserts still give up only at <c>max_retries</c> or when cancelled.
    /// </summary>
    public void BeginDrain()
    {
        try
        {
            _draining.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // the sink is disposed already: nothing waits
        }
    }

    /// <summary>The columns written, in insert order (after <see cref="PrepareAsync"/>).</summary>
    public IReadOnlyList<ClickHouseColumn> Columns => _columns ?? throw new InvalidOperationException("PrepareAsync has not run.");

    /// <summary>The server version (null with an inline schema).</summary>
    public Version? ServerVersion { get; private set; }

    /// <summary>The INSERT statement sent with every batch.</summary>
    public string InsertQuery => _insertQuery;

    /// <summary>The HTTP client, created on first use (one per sink, shared by concurrent inserts).</summary>
    private ClickHouseHttpClient Client
    {
        get
        {
            if (_client is { } c) return c;
            var created = new ClickHouseHttpClient(_options, _logger);
            var winner = Interlocked.CompareExchange(ref _client, created, null);
            if (winner is null) return created;
            created.Dispose();
            return winner;
        }
    }

    private string TableName => $"{_options.Database}.{_options.Table}";

    /// <summary>
    /// Reads the table's columns with DESCRIBE (or, with <see cref="SchemaSource.InlineWhenGiven"/>, takes sink.schema when
    /// given, without contacting the server). RowBinary is positional, so an insert must follow the live table: an inline
    /// schema that differs from it is reported as a warning and otherwise ignored.
    /// Throws <see cref="ClickHouseSinkException"/> with ClickHouse's message and a hint when the table cannot be used.
    /// </summary>
    public async Task PrepareAsync(CancellationToken ct)
    {
        IReadOnlyList<ClickHouseColumnInfo> table;
        var zone = TimeZoneInfo.Utc;
        if (_options.Schema.Count > 0 && _schemaSource == SchemaSource.InlineWhenGiven)
        {
            table = _options.Schema.Select(kv => new ClickHouseColumnInfo(kv.Key, kv.Value, "", "")).ToList();
        }
        else
        {
            var client = Client;
            try
            {
                ServerVersion = await client.GetVersionAsync(ct).ConfigureAwait(false);
                var tzName = await client.GetTimeZoneAsync(ct).ConfigureAwait(false);
                zone = ValueEncoder.ResolveZone(tzName) ?? TimeZoneInfo.Utc;
                table = await client.DescribeAsync(_options.Database, _options.Table, ct).ConfigureAwait(false);
            }
            catch (ClickHouseServerException e)
            {
                throw new ClickHouseSinkException($"Cannot use table {TableName} on {_options.Url}: {e.Message}{Hint(e.Code)}", e) { Code = e.Code };
            }
            catch (ClickHouseTransportException e)
            {
                throw new ClickHouseSinkException($"Cannot read the schema of {TableName}: {e.Message}", e); // the message says what to check
            }
        }
        if (ServerVersion is not null && _options.Schema.Count > 0)
        {
            var differences = CompareInlineSchema(_options.Schema, table);
            if (differences.Count > 0)
                _logger.LogWarning("ClickHouse sink {Table}: sink.schema differs from the live table ({Difference}); inserts follow the live table. " +
                    "Update sink.schema (it is what dry-run and `streamenrich test` use) to: {Live}", TableName, string.Join("; ", differences),
                    "{ " + string.Join(", ", table.Where(c => IsInsertable(c.DefaultKind)).Select(c => $"{c.Name}: {c.Type}")) + " }");
        }
        _columns = ClickHouseColumnPlan.Build(table, _options, zone);
        var needsServerDefaults = _columns.Exists(c => c.MissingMode == MissingFieldMode.ServerDefault);
        _useDefaultsFormat = needsServerDefaults && ServerVersion is not null && ServerVersion >= RowBinaryWithDefaultsSince;
        _insertQuery = ClickHouseHttpClient.BuildInsertQuery(_options.Database, _options.Table, _columns.Select(c => c.Name),
            _useDefaultsFormat ? "RowBinaryWithDefaults" : "RowBinary");
        _logger.LogInformation("ClickHouse sink {Table}: {Count} columns, format {Format}, server {Version}.",
            TableName, _columns.Count, _useDefaultsFormat ? "RowBinaryWithDefaults" : "RowBinary", ServerVersion?.ToString() ?? "(inline schema)");
    }

    private static bool IsInsertable(string defaultKind) => defaultKind is not ("MATERIALIZED" or "ALIAS" or "EPHEMERAL");

    /// <summary>How an inline sink.schema differs from the live table's insertable columns (empty when it matches).</summary>
    internal static List<string> CompareInlineSchema(IReadOnlyDictionary<string, string> inline, IReadOnlyList<ClickHouseColumnInfo> live)
    {
        // DESCRIBE prints "Decimal(12, 2)"; a hand-written schema may say "Decimal(12,2)".
        static string Normalize(string type) => string.Concat(type.Where(c => !char.IsWhiteSpace(c)));
        var differences = new List<string>();
        var liveColumns = live.Where(c => IsInsertable(c.DefaultKind)).ToDictionary(c => c.Name, c => c.Type, StringComparer.Ordinal);
        foreach (var (name, type) in liveColumns)
        {
            if (!inline.TryGetValue(name, out var inlineType)) differences.Add($"column '{name}' {type} is not in sink.schema");
            else if (Normalize(inlineType) != Normalize(type)) differences.Add($"column '{name}' is {type} in the table but {inlineType} in sink.schema");
        }
        foreach (var name in inline.Keys.Where(n => !liveColumns.ContainsKey(n)))
            differences.Add($"sink.schema has column '{name}', which the table has not (or cannot be inserted)");
        return differences;
    }

    /// <summary>Registers the field each column reads (must run before <paramref name="layout"/> is frozen).</summary>
    public void BindColumns(RecordLayout layout)
    {
        foreach (var c in Columns) c.Slot = layout.Slot(c.FieldPath);
        _bound = true;
    }

    /// <summary>
    /// Encodes the active records and sends them as ONE insert. A record whose values cannot be converted is marked failed
    /// (<c>record.Fail("sink", reason)</c>, the reason naming column, type and value) and left out. Transient failures are
    /// retried with exponential backoff and full jitter; permanent ones throw <see cref="ClickHouseSinkException"/>.
    /// </summary>
    public async Task<InsertResult> InsertAsync(IReadOnlyList<Record> records, CancellationToken ct)
    {
        var part = Encode(records is Record[] a ? a : [.. records]);
        try
        {
            return await InsertAsync([part], ct).ConfigureAwait(false);
        }
        finally
        {
            part.Release();
        }
    }

    /// <summary>
    /// Encodes the active records into a pooled buffer (thread-safe; the pipeline's parallel workers call it per chunk).
    /// A record whose values cannot be converted is marked failed (<c>record.Fail("sink", reason)</c>) and left out.
    /// The caller must <see cref="RowBinaryRows.Release"/> the result.
    /// </summary>
    public RowBinaryRows Encode(ReadOnlySpan<Record> records)
    {
        if (!_bound) throw new InvalidOperationException("BindColumns has not run.");
        var w = RentWriter();
        var (rows, failed) = Encode(records, w);
        // New writers start at the size chunks have needed so far, not grown by doubling (and copied) per new writer.
        if (w.Position > Volatile.Read(ref _largestChunk) && w.Position <= MaxPooledChunkCapacity) Volatile.Write(ref _largestChunk, w.Position);
        return new RowBinaryRows(this, w, rows, failed);
    }

    /// <summary>
    /// Appends <paramref name="next"/>'s rows to <paramref name="batch"/> (a new batch when null) by taking over its
    /// buffers; no bytes are copied. Not thread-safe for the same batch (the batcher calls it serially).
    /// </summary>
    public RowBinaryRows Merge(RowBinaryRows? batch, RowBinaryRows next) => RowBinaryRows.Append(this, batch, next);

    /// <summary>
    /// Sends encoded parts as ONE insert (gzip-compressed when configured), their buffers streamed one after the other.
    /// Transient failures are retried with exponential backoff and full jitter; permanent ones throw
    /// <see cref="ClickHouseSinkException"/>.
    /// </summary>
    public async Task<InsertResult> InsertAsync(IReadOnlyList<RowBinaryRows> parts, CancellationToken ct)
    {
        var client = Client;
        int rows = 0, failed = 0;
        foreach (var p in parts)
        {
            rows += p.Rows;
            failed += p.FailedRows;
        }
        if (rows == 0) return new InsertResult(0, failed, 0, 0);
        RowBinaryWriter? body = null;
        try
        {
            IReadOnlyList<ReadOnlyMemory<byte>> content;
            if (_options.UseCompression)
            {
                body = _bodyWriters.TryTake(out var b) ? b : new RowBinaryWriter(1024 * 1024);
                ClickHouseHttpClient.Gzip(parts.SelectMany(p => p.Segments), body);
                content = [body.WrittenMemory];
            }
            else
            {
                content = [.. parts.SelectMany(p => p.Segments)];
            }
            long sent = 0;
            foreach (var c in content) sent += c.Length;
            var attempts = await SendWithRetriesAsync(client, content, sent, _options.UseCompression, rows, ct).ConfigureAwait(false);
            return new InsertResult(rows, failed, sent, attempts);
        }
        finally
        {
            if (body is not null)
            {
                body.Reset();
                // A body that grew for an outlier batch is not kept.
                if (body.Capacity <= 256 * 1024 * 1024 && _bodyWriters.Count < MaxPooledBodyWriters) _bodyWriters.Add(body);
            }
        }
    }

    private (int Rows, int Failed) Encode(ReadOnlySpan<Record> records, RowBinaryWriter w)
    {
        var columns = _columns!;
        var withDefaults = _useDefaultsFormat;
        int rows = 0, failed = 0;
        foreach (var record in records)
        {
            if (!record.IsActive) continue;
            var error = EncodeRow(record, columns, withDefaults, w);
            if (error is null) rows++;
            else
            {
                record.Fail("sink", error);
                failed++;
            }
        }
        return (rows, failed);
    }

    private string? EncodeRow(Record record, List<ClickHouseColumn> columns, bool withDefaults, RowBinaryWriter w) =>
        EncodeRow(record, columns, withDefaults, w, ServerVersion);

    /// <summary>
    /// Encodes one row of <paramref name="columns"/> (RowBinary, or RowBinaryWithDefaults when <paramref name="withDefaults"/>);
    /// on failure rolls back its bytes and returns the reason.
    /// </summary>
    internal static string? EncodeRow(Record record, List<ClickHouseColumn> columns, bool withDefaults, RowBinaryWriter w, Version? serverVersion)
    {
        var start = w.Position;
        var fields = record.Fields;
        for (var i = 0; i < columns.Count; i++)
        {
            var col = columns[i];
            ref readonly var v = ref fields[col.Slot];
            if (v.Kind == ValueKind.Missing)
            {
                if (col.MissingMode == MissingFieldMode.ServerDefault)
                {
                    if (withDefaults) { w.WriteByte(1); continue; }
                    w.Position = start;
                    return $"column '{col.Name}' ({col.Type.Text}): field '{col.FieldPath}' is missing and the column's DEFAULT {col.DefaultExpression} " +
                           $"can only be computed by the server, which needs RowBinaryWithDefaults (ClickHouse {RowBinaryWithDefaultsSince}+; " +
                           $"this server is {serverVersion?.ToString() ?? "unknown"}). The field is required here.";
                }
                if (withDefaults) w.WriteByte(0);
                w.WriteBytes(col.DefaultBytes);
                continue;
            }
            if (withDefaults) w.WriteByte(0);
            var err = col.Encoder.Write(v, w);
            if (err is not null)
            {
                w.Position = start;
                return $"column '{col.Name}' ({col.Type.Text}), field '{col.FieldPath}' = {ValueEncoder.Render(v)}: {err}";
            }
        }
        return null;
    }

    private async Task<int> SendWithRetriesAsync(ClickHouseHttpClient client, IReadOnlyList<ReadOnlyMemory<byte>> body, long bytes, bool gzipped, int rows, CancellationToken ct)
    {
        // One query_id for all attempts: if an earlier attempt is somehow still running, the server refuses the
        // retry (QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING, retried later) instead of inserting the batch twice at once.
        var queryId = "streamenrich-" + Guid.NewGuid().ToString("N");
        var attempt = 0;
        while (true)
        {
            attempt++;
            try
            {
                var started = _time.GetTimestamp();
                await client.InsertAsync(_insertQuery, body, gzipped, queryId, ct).ConfigureAwait(false);
                _logger.LogDebug("Inserted {Rows} rows ({Bytes} bytes sent) into {Table} in {Ms:F0} ms.", rows, bytes, TableName, _time.GetElapsedTime(started).TotalMilliseconds);
                return attempt;
            }
            catch (ClickHouseServerException e) when (!e.IsRetryable)
            {
                throw new ClickHouseSinkException($"Insert of {rows} rows into {TableName} failed: {e.Message}{Hint(e.Code)}", e) { Code = e.Code };
            }
            catch (ClickHouseTransportException e) when (e.IsPermanent)
            {
                throw new ClickHouseSinkException($"Insert of {rows} rows into {TableName} failed, not retried: {e.Message}", e);
            }
            catch (Exception e) when (e is ClickHouseServerException or ClickHouseTransportException)
            {
                if (_options.MaxRetries >= 0 && attempt > _options.MaxRetries)
                    throw new ClickHouseSinkException(
                        $"Insert of {rows} rows into {TableName} failed after {attempt} attempts (max_retries {_options.MaxRetries}): {e.Message}", e)
                    { Code = (e as ClickHouseServerException)?.Code };
                var draining = _draining.IsCancellationRequested;
                var delay = Backoff(attempt, draining);
                _logger.LogWarning("Insert of {Rows} rows into {Table} failed (attempt {Attempt}): {Cause}. Retrying in {Delay} ms{Draining}.",
                    rows, TableName, attempt, e.Message, (long)delay.TotalMilliseconds,
                    draining ? " (shutting down: retried at least every second until the shutdown timeout)" : "");
                using var wait = draining ? null : CancellationTokenSource.CreateLinkedTokenSource(ct, _draining.Token);
                try
                {
                    await Task.Delay(delay, _time, wait?.Token ?? ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    // BeginDrain ended the wait: the next attempt goes at once, later ones with the drain's short backoff.
                }
            }
        }
    }

    /// <summary>
    /// Exponential backoff with full jitter: uniform in [0, min(max, base × 2^(attempt-1))], where max is
    /// <c>retry_max_backoff</c>, or at most <see cref="DrainRetryMaxBackoff"/> while <paramref name="draining"/>.
    /// </summary>
    internal TimeSpan Backoff(int attempt, bool draining = false) => StreamEnrich.Backoff.FullJitter(_options.RetryBackoff,
        draining && _options.RetryMaxBackoff > DrainRetryMaxBackoff ? DrainRetryMaxBackoff : _options.RetryMaxBackoff, attempt - 1);

    private static string Hint(int? code) => code switch
    {
        60 => " Hint: create the table first, or fix sink.database / sink.table.",
        81 => " Hint: the database does not exist; fix sink.database.",
        16 => " Hint: the table's columns changed since the pipeline started; restart it to re-read the schema.",
        53 or 27 or 33 or 117 => " Hint: the table's column types changed since the pipeline started; restart it to re-read the schema.",
        192 or 193 or 194 or 516 => " Hint: check sink.user and sink.password.",
        497 => " Hint: the user lacks the INSERT (or SELECT for DESCRIBE) privilege on the table.",
        _ => "",
    };

    /// <summary>
    /// Dry run: encodes the record exactly as an insert would, decodes the bytes back and renders them as a JSON object
    /// (column → value). Returns null on success, else the conversion error (the same text the record would fail with).
    /// </summary>
    public string? PreviewRow(Record record, out string json)
    {
        json = "";
        if (!_bound) throw new InvalidOperationException("BindColumns has not run.");
        var w = RentWriter();
        try
        {
            var error = EncodeRow(record, _columns!, _useDefaultsFormat, w);
            if (error is not null) return error;
            var reader = new RowBinaryReader(w.WrittenSpan);
            using var ms = new MemoryStream();
            using (var jw = new Utf8JsonWriter(ms))
            {
                jw.WriteStartObject();
                foreach (var col in _columns!)
                {
                    jw.WritePropertyName(col.Name);
                    if (_useDefaultsFormat && reader.Read(ClickHouseType.Parse("UInt8")).AsInt == 1)
                    {
                        jw.WriteStringValue("DEFAULT " + col.DefaultExpression);
                        continue;
                    }
                    RowBinaryReader.WriteJson(jw, reader.Read(col.Type));
                }
                jw.WriteEndObject();
            }
            json = Encoding.UTF8.GetString(ms.ToArray());
            return null;
        }
        finally
        {
            ReturnWriter(w);
        }
    }

    private RowBinaryWriter RentWriter()
    {
        if (_chunkWriters.TryTake(out var w)) return w;
        var largest = Volatile.Read(ref _largestChunk);
        return new RowBinaryWriter(Math.Max(ChunkWriterCapacity, largest + largest / 8));
    }

    internal void ReturnWriter(RowBinaryWriter w)
    {
        w.Reset();
        if (w.Capacity <= MaxPooledChunkCapacity) _chunkWriters.Add(w);
    }

    public void Dispose()
    {
        _draining.Dispose();
        _client?.Dispose();
        _chunkWriters.Clear();
        _bodyWriters.Clear();
    }
}

using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using StreamEnrich.Configuration;
using StreamEnrich.Records;

namespace StreamEnrich.Sinks.ClickHouse;

/// <summary>Rows of one chunk encoded as RowBinary in a pooled buffer, until their batch is inserted.</summary>
internal sealed class RowBinaryRows : Pipeline.EncodedRows
{
    private ClickHouseSink? _owner;

    internal RowBinaryRows(ClickHouseSink owner, RowBinaryWriter writer, int rows, int failedRows)
    {
        _owner = owner;
        Writer = writer;
        Rows = rows;
        FailedRows = failedRows;
        Bytes = writer.Position;
    }

    public RowBinaryWriter Writer { get; }
    public int FailedRows { get; }

    public override void Release()
    {
        var owner = Interlocked.Exchange(ref _owner, null);
        owner?.ReturnWriter(Writer);
    }

    /// <summary>Forgets the buffer without returning it (it now belongs to a merged successor).</summary>
    internal void Abandon() => _owner = null;
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
    // Two pools: chunk-sized writers (one per chunk in flight) and batch-sized ones (merged batches, gzip bodies), so
    // a chunk never holds on to a batch-sized buffer. Both are capped; writers beyond the cap are left to the GC.
    private readonly ConcurrentBag<RowBinaryWriter> _chunkWriters = [];
    private readonly ConcurrentBag<RowBinaryWriter> _batchWriters = [];
    private const int MaxPooledChunkWriters = 64;
    // Batches being filled or inserted plus their gzip bodies: at most insert_concurrency * 2 + 1 at a time.
    private int MaxPooledBatchWriters => _options.InsertConcurrency * 2 + 1;
    private ClickHouseHttpClient? _client;
    private List<ClickHouseColumn>? _columns;
    private string _insertQuery = "";
    private bool _useDefaultsFormat;
    private bool _bound;

    public ClickHouseSink(ClickHouseSinkOptions options, ILogger logger, TimeProvider time)
    {
        _options = options;
        _logger = logger;
        _time = time;
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
    /// Reads the table's columns with DESCRIBE (or takes sink.schema when given, without contacting the server).
    /// Throws <see cref="ClickHouseSinkException"/> with ClickHouse's message and a hint when the table cannot be used.
    /// </summary>
    public async Task PrepareAsync(CancellationToken ct)
    {
        IReadOnlyList<ClickHouseColumnInfo> table;
        var zone = TimeZoneInfo.Utc;
        if (_options.Schema.Count > 0)
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
                throw new ClickHouseSinkException($"Cannot read the schema of {TableName}: {e.Message} Check sink.url and that ClickHouse is running.", e);
            }
        }
        _columns = ClickHouseColumnPlan.Build(table, _options, zone);
        var needsServerDefaults = _columns.Exists(c => c.MissingMode == MissingFieldMode.ServerDefault);
        _useDefaultsFormat = needsServerDefaults && ServerVersion is not null && ServerVersion >= RowBinaryWithDefaultsSince;
        _insertQuery = ClickHouseHttpClient.BuildInsertQuery(_options.Database, _options.Table, _columns.Select(c => c.Name),
            _useDefaultsFormat ? "RowBinaryWithDefaults" : "RowBinary");
        _logger.LogInformation("ClickHouse sink {Table}: {Count} columns, format {Format}, server {Version}.",
            TableName, _columns.Count, _useDefaultsFormat ? "RowBinaryWithDefaults" : "RowBinary", ServerVersion?.ToString() ?? "(inline schema)");
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
        return new RowBinaryRows(this, w, rows, failed);
    }

    /// <summary>
    /// Appends <paramref name="next"/>'s rows to <paramref name="batch"/> (a new pooled buffer when null) and gives
    /// <paramref name="next"/>'s buffer back. Not thread-safe for the same batch (the batcher calls it serially).
    /// </summary>
    public RowBinaryRows Merge(RowBinaryRows? batch, RowBinaryRows next)
    {
        var w = batch?.Writer ?? RentWriter(batch: true);
        w.WriteBytes(next.Writer.WrittenSpan);
        var merged = new RowBinaryRows(this, w, (batch?.Rows ?? 0) + next.Rows, (batch?.FailedRows ?? 0) + next.FailedRows);
        batch?.Abandon();
        next.Release();
        return merged;
    }

    /// <summary>
    /// Sends encoded parts as ONE insert (gzip-compressed when configured). Transient failures are retried with
    /// exponential backoff and full jitter; permanent ones throw <see cref="ClickHouseSinkException"/>.
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
            ReadOnlyMemory<byte> content;
            if (_options.UseCompression)
            {
                body = RentWriter(batch: true);
                ClickHouseHttpClient.Gzip(parts.Select(p => p.Writer.WrittenMemory), body);
                content = body.WrittenMemory;
            }
            else if (parts.Count == 1)
            {
                content = parts[0].Writer.WrittenMemory;
            }
            else
            {
                body = RentWriter(batch: true);
                foreach (var p in parts) body.WriteBytes(p.Writer.WrittenSpan);
                content = body.WrittenMemory;
            }
            var attempts = await SendWithRetriesAsync(client, content, _options.UseCompression, rows, ct).ConfigureAwait(false);
            return new InsertResult(rows, failed, content.Length, attempts);
        }
        finally
        {
            if (body is not null) ReturnWriter(body);
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

    private async Task<int> SendWithRetriesAsync(ClickHouseHttpClient client, ReadOnlyMemory<byte> body, bool gzipped, int rows, CancellationToken ct)
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
                _logger.LogDebug("Inserted {Rows} rows ({Bytes} bytes sent) into {Table} in {Ms:F0} ms.", rows, body.Length, TableName, _time.GetElapsedTime(started).TotalMilliseconds);
                return attempt;
            }
            catch (ClickHouseServerException e) when (!e.IsRetryable)
            {
                throw new ClickHouseSinkException($"Insert of {rows} rows into {TableName} failed: {e.Message}{Hint(e.Code)}", e) { Code = e.Code };
            }
            catch (Exception e) when (e is ClickHouseServerException or ClickHouseTransportException)
            {
                if (_options.MaxRetries >= 0 && attempt > _options.MaxRetries)
                    throw new ClickHouseSinkException(
                        $"Insert of {rows} rows into {TableName} failed after {attempt} attempts (max_retries {_options.MaxRetries}): {e.Message}", e)
                    { Code = (e as ClickHouseServerException)?.Code };
                var delay = Backoff(attempt);
                _logger.LogWarning("Insert of {Rows} rows into {Table} failed (attempt {Attempt}): {Cause}. Retrying in {Delay} ms.",
                    rows, TableName, attempt, e.Message, (long)delay.TotalMilliseconds);
                await Task.Delay(delay, _time, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Exponential backoff with full jitter: uniform in [0, min(max, base × 2^(attempt-1))].</summary>
    internal TimeSpan Backoff(int attempt)
    {
        var cap = _options.RetryBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 30));
        cap = Math.Min(cap, _options.RetryMaxBackoff.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * cap);
    }

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

    private RowBinaryWriter RentWriter(bool batch = false) =>
        (batch ? _batchWriters : _chunkWriters).TryTake(out var w) ? w : new RowBinaryWriter(batch ? 1024 * 1024 : 64 * 1024);

    internal void ReturnWriter(RowBinaryWriter w)
    {
        w.Reset();
        var batch = w.Capacity > 1024 * 1024;
        var pool = batch ? _batchWriters : _chunkWriters;
        // Do not keep a huge buffer from an outlier batch, nor more writers than the pipeline keeps in flight.
        if (w.Capacity <= 256 * 1024 * 1024 && pool.Count < (batch ? MaxPooledBatchWriters : MaxPooledChunkWriters)) pool.Add(w);
    }

    public void Dispose()
    {
        _client?.Dispose();
        _chunkWriters.Clear();
        _batchWriters.Clear();
    }
}

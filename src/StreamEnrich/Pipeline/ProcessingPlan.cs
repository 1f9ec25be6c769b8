using System.Text;
using StreamEnrich.Formats;
using StreamEnrich.Records;
using StreamEnrich.Stages;

namespace StreamEnrich.Pipeline;

/// <summary>One built stage with the name failures are reported under.</summary>
internal sealed record BuiltStage(string Name, string Type, IRecordStage? Sync, IAsyncChunkStage? Async);

/// <summary>
/// The per-record work of a pipeline, fixed at build time: fill Kafka metadata, decode, then the stages.
/// Consecutive synchronous stages form one step (each runs over the chunk in turn); each asynchronous stage is its own step.
/// </summary>
internal sealed class ProcessingPlan
{
    private readonly IRecordDecoder _decoder;
    private readonly MetadataFiller _metadata;

    public ProcessingPlan(RecordLayout layout, IRecordDecoder decoder, IReadOnlyList<BuiltStage> stages)
    {
        Layout = layout;
        _decoder = decoder;
        _metadata = new MetadataFiller(layout);
        var steps = new List<Step>();
        var sync = new List<BuiltStage>();
        foreach (var s in stages)
        {
            if (s.Sync != null) { sync.Add(s); continue; }
            steps.Add(new SyncStep([.. sync]));
            sync.Clear();
            steps.Add(new AsyncStep(s));
        }
        steps.Add(new SyncStep([.. sync]));
        Steps = steps;
        Stages = stages;
    }

    public RecordLayout Layout { get; }
    public IReadOnlyList<BuiltStage> Stages { get; }

    /// <summary>Alternating sync groups and async stages; the first step is always a sync group (possibly empty).</summary>
    public IReadOnlyList<Step> Steps { get; }

    public IRecordDecoder Decoder => _decoder;

    /// <summary>Decode and run the leading synchronous stages over a chunk.</summary>
    public async ValueTask DecodeAsync(RecordChunk chunk, CancellationToken ct)
    {
        var records = chunk.Records;
        for (var i = 0; i < chunk.Count; i++) _metadata.Fill(records[i]);
        await _decoder.PrepareAsync(new ArraySegment<Record>(records, 0, chunk.Count), ct).ConfigureAwait(false);
        for (var i = 0; i < chunk.Count; i++)
        {
            var r = records[i];
            if (r.IsActive) _decoder.Decode(r);
        }
    }

    internal abstract class Step;

    internal sealed class SyncStep(BuiltStage[] stages) : Step
    {
        /// <summary>
        /// Runs each stage over the whole chunk before the next one. A stage's loop is short and its records are
        /// independent, so the CPU overlaps the cache misses of consecutive records: a lookup into a large table
        /// costs a fraction of what it costs when each record runs all stages in turn. A record that failed or was
        /// filtered skips the stages after.
        /// </summary>
        public void Run(RecordChunk chunk)
        {
            var records = chunk.Records;
            var count = chunk.Count;
            foreach (var stage in stages)
            {
                var process = stage.Sync!;
                for (var i = 0; i < count; i++)
                {
                    var r = records[i];
                    if (!r.IsActive) continue;
                    try
                    {
                        process.Process(r);
                    }
                    catch (Exception ex) when (ex is not OutOfMemoryException)
                    {
                        r.Fail(stage.Name, $"{ex.GetType().Name}: {ex.Message}");
                    }
                }
            }
        }
    }

    internal sealed class AsyncStep(BuiltStage stage) : Step
    {
        public BuiltStage Stage => stage;

        public async Task RunAsync(RecordChunk chunk, CancellationToken ct)
        {
            var active = new List<Record>(chunk.Count);
            foreach (var r in chunk.Span) if (r.IsActive) active.Add(r);
            if (active.Count == 0) return;
            try
            {
                await stage.Async!.ProcessAsync(active, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                foreach (var r in active) r.Fail(stage.Name, $"{ex.GetType().Name}: {ex.Message}");
            }
        }
    }
}

/// <summary>Fills the Kafka metadata fields a pipeline declared (<c>_topic</c>, <c>_offset</c>, <c>_headers.x</c>...).</summary>
internal sealed class MetadataFiller
{
    private readonly int _topic = -1, _partition = -1, _offset = -1, _timestamp = -1, _key = -1;
    private readonly (string Header, int Slot)[] _headers;

    public MetadataFiller(RecordLayout layout)
    {
        if (!layout.TryGetSlot(MetadataFields.Topic, out _topic)) _topic = -1;
        if (!layout.TryGetSlot(MetadataFields.Partition, out _partition)) _partition = -1;
        if (!layout.TryGetSlot(MetadataFields.Offset, out _offset)) _offset = -1;
        if (!layout.TryGetSlot(MetadataFields.Timestamp, out _timestamp)) _timestamp = -1;
        if (!layout.TryGetSlot(MetadataFields.Key, out _key)) _key = -1;
        var headers = new List<(string, int)>();
        for (var i = 0; i < layout.Names.Count; i++)
            if (layout.Names[i].StartsWith(MetadataFields.HeaderPrefix, StringComparison.Ordinal))
                headers.Add((layout.Names[i][MetadataFields.HeaderPrefix.Length..], i));
        _headers = [.. headers];
    }

    public void Fill(Record r)
    {
        var f = r.Fields;
        if (_topic >= 0) f[_topic] = Value.FromString(r.Topic);
        if (_partition >= 0) f[_partition] = Value.FromInt(r.Partition);
        if (_offset >= 0) f[_offset] = Value.FromInt(r.Offset);
        if (_timestamp >= 0) f[_timestamp] = Value.FromTimestampNanos(r.TimestampMs * 1_000_000);
        if (_key >= 0) f[_key] = r.Key is null ? Value.Null : Value.FromUtf8(r.Key);
        if (_headers.Length == 0 || r.Headers is null) return;
        foreach (var (name, slot) in _headers)
        {
            f[slot] = Value.Missing;
            // Last header of a name wins, as Kafka clients usually read headers.
            foreach (var h in r.Headers)
                if (h.Key == name) f[slot] = h.Value is null ? Value.Null : Value.FromString(Encoding.UTF8.GetString(h.Value));
        }
    }
}

using System.Text.Json;
using Microsoft.Extensions.Logging;
using StreamEnrich.Configuration;
using StreamEnrich.DeadLetter;
using StreamEnrich.Records;
using StreamEnrich.Sources.File;

namespace StreamEnrich.Pipeline;

/// <summary>A failed record as dry-run and pipeline tests report it.</summary>
internal sealed record DeadLetterPreview(long Index, string Stage, string Reason);

/// <summary>What a pipeline would do with some messages: the rows it would insert, the records it would dead-letter.</summary>
internal sealed record DryRunResult(IReadOnlyList<string> Rows, IReadOnlyList<DeadLetterPreview> DeadLetters, long Filtered);

/// <summary>
/// Runs a pipeline over messages in memory with the real engine (same decoder, stages, batching and RowBinary
/// encoding), but the rows are decoded back from the RowBinary an insert would send instead of going to
/// ClickHouse, and failed records are collected instead of going to the dead-letter path.
/// The table schema comes from the pipeline's inline <c>sink.schema</c> or, when that is empty, from the live server.
/// </summary>
internal sealed class DryRunner(PipelineBuilder builder, ILoggerFactory loggers, TimeProvider time)
{
    /// <summary>
    /// Runs <paramref name="messages"/> through the pipeline. <paramref name="decoder"/>, when given, replaces the
    /// decoder of the pipeline's <c>format</c> section (built against the frozen layout), e.g. bare Avro datums of a
    /// container file read with the file's writer schema instead of Confluent wire-format messages and a registry.
    /// </summary>
    public async Task<DryRunResult> RunAsync(LoadedPipeline pipeline, IReadOnlyList<byte[]?> messages, CancellationToken ct,
        Func<RecordLayout, Formats.IRecordDecoder>? decoder = null)
    {
        var o = pipeline.Options;
        var preview = Adapters.CreatePreviewSink(o.Sink, loggers.CreateLogger("StreamEnrich.DryRun"), time);
        var plan = await builder.BuildPlanAsync(pipeline, preview, ex => pipeline.ErrorAt("sink", $"no table schema for dry-run: {ex.Message}",
            "Give the columns inline (`sink.schema: {column: Type, ...}`) or make the ClickHouse server in sink.url reachable."), [], ct, decoder).ConfigureAwait(false);
        var source = new MemoryChunkSource(o.Source.AllTopics.FirstOrDefault() ?? "dry-run", messages, Math.Max(1, o.Source.ChunkSize));
        var failed = new CollectingFailedSink();
        var settings = new RunnerSettings(pipeline.Name, o.Parallelism, InsertConcurrency: 1, o.Batch, OnError.DeadLetter, TimeSpan.Zero);
        var runner = new PipelineRunner(settings, plan, source, preview, failed, loggers.CreateLogger("StreamEnrich.DryRun"), time);
        await runner.RunAsync(CancellationToken.None, ct).ConfigureAwait(false);
        var dead = failed.Records.OrderBy(r => r.Offset)
            .Select(r => new DeadLetterPreview(r.Offset, r.FailedStage ?? "?", r.FailureReason ?? "?")).ToList();
        return new DryRunResult(preview.Rows, dead, runner.Metrics.Take().Filtered);
    }

    /// <summary>Serialises a pipeline test's input item into a message value: strings are taken as the raw text.</summary>
    public static byte[] ToMessage(object? input) => input switch
    {
        string s => System.Text.Encoding.UTF8.GetBytes(s),
        _ => JsonText.ToUtf8Bytes(input),
    };

    private sealed class CollectingFailedSink : IDeadLetterSink
    {
        private readonly List<Record> _records = [];
        public IReadOnlyList<Record> Records { get { lock (_records) return [.. _records]; } }
        public Task WriteAsync(IReadOnlyList<Record> failed, CancellationToken cancellationToken)
        {
            lock (_records) _records.AddRange(failed);
            return Task.CompletedTask;
        }
        public ValueTask DisposeAsync() => default;
        public string Description => "collected in memory";
    }
}

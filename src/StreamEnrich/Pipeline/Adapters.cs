using System.Threading.Tasks.Dataflow;
using Microsoft.Extensions.Logging;
using StreamEnrich.Configuration;
using StreamEnrich.DeadLetter;
using StreamEnrich.Records;
using StreamEnrich.Sinks.ClickHouse;
using StreamEnrich.Sources.Kafka;
using StreamEnrich.Sources.Kafka.Embedded;
using StreamEnrich.Sources.Kafka.Native;

namespace StreamEnrich.Pipeline;

/// <summary>
/// Where the engine meets the components: builds sources, sinks and dead-letter paths from options and adapts them
/// to the runner's small contracts (<see cref="IChunkSource"/>, <see cref="IRowSink"/>, <see cref="IFailedRecordSink"/>).
/// </summary>
internal static partial class Adapters
{
    public static ClickHouseRowSink CreateClickHouseSink(ClickHouseSinkOptions options, ILogger logger, TimeProvider time) =>
        new(new ClickHouseSink(options, logger, time));

    public static PreviewRowSink CreatePreviewSink(ClickHouseSinkOptions options, ILogger logger, TimeProvider time) =>
        new(new ClickHouseSink(options, logger, time, SchemaSource.InlineWhenGiven));

    /// <summary>
    /// The Kafka source. Its consumer connects to the brokers at once; with <paramref name="assignEarly"/> and static
    /// assignment it also assigns the partitions and starts prefetching (see <see cref="KafkaSource.AssignEarly"/>).
    /// </summary>
    public static IChunkSource CreateKafkaSource(KafkaSourceOptions options, string pipeline, ILogger logger, TimeProvider time, bool assignEarly = false)
    {
        var source = new KafkaSource(options, pipeline, logger, time);
        if (assignEarly) source.AssignEarly();
        return new KafkaChunkSource(source);
    }

    /// <summary>The dead-letter topic or file; a relative file path is relative to the pipeline file.</summary>
    public static IDeadLetterSink CreateDeadLetterSink(DeadLetterOptions options, KafkaSourceOptions source, LoadedPipeline pipeline, ILogger logger)
    {
        if (options.File is { } file && !Path.IsPathRooted(file))
        {
            options = new DeadLetterOptions { File = pipeline.ResolvePath(file), Topic = options.Topic, Properties = options.Properties };
        }
        return DeadLetterSinkFactory.Create(options, source, pipeline.Name, logger);
    }

    public static MockKafkaCluster StartMockCluster(int brokers) => MockKafkaCluster.Start(brokers);

    public static LocalClickHouseServer CreateLocalClickHouse(string directory) => new(directory);

    /// <summary>
    /// Checks <c>source.properties</c> and <c>dead_letter.properties</c> against librdkafka's configuration (names and
    /// values, without connecting), so a typo is a configuration error at its line instead of a failure at start-up.
    /// Nothing is reported when librdkafka is not installed (the start then says that).
    /// </summary>
    public static IEnumerable<ConfigError> ValidateKafkaProperties(LoadedPipeline pipeline)
    {
        var o = pipeline.Options;
        var sections = new List<(string Path, Dictionary<string, string> Properties)> { ("source.properties", o.Source.Properties) };
        if (o.DeadLetter is { Topic: not null } dlq) sections.Add(("dead_letter.properties", dlq.Properties));
        foreach (var (path, properties) in sections)
        {
            if (properties.Count == 0) continue;
            var rejected = NativeConsumer.CheckProperties(properties);
            if (rejected is null) yield break; // librdkafka not installed
            foreach (var (key, value, reason) in rejected)
            {
                yield return pipeline.ErrorAt($"{path}.{key}", $"{path}: librdkafka {NativeConsumer.LibraryVersion()} rejects {key}={value}: {reason}",
                    "See librdkafka's CONFIGURATION.md for the property names and values of this version.");
            }
        }
    }

    /// <summary>Checks the types of an inline <c>sink.schema</c> without a server.</summary>
    public static IEnumerable<ConfigError> ValidateInlineSchema(LoadedPipeline pipeline)
    {
        foreach (var (column, type) in pipeline.Options.Sink.Schema)
        {
            string? error = null;
            try
            {
                ClickHouseType.Parse(type);
            }
            catch (FormatException ex)
            {
                error = ex.Message;
            }
            catch (ArgumentException ex)
            {
                error = ex.Message;
            }
            if (error != null)
                yield return pipeline.ErrorAt($"sink.schema.{column}", $"column '{column}': {error}", "Use a ClickHouse type as DESCRIBE TABLE prints it, e.g. `Nullable(String)` or `DateTime64(3, 'UTC')`.");
        }
    }

    /// <summary>The ClickHouse sink as the runner's <see cref="IRowSink"/>.</summary>
    internal sealed class ClickHouseRowSink(ClickHouseSink sink) : ITableSink, IDisposable
    {
        public ClickHouseSink Sink => sink;
        public Task PrepareAsync(CancellationToken ct) => sink.PrepareAsync(ct);
        public void BindColumns(RecordLayout layout) => sink.BindColumns(layout);
        public EncodedRows Encode(ReadOnlySpan<Record> records) => sink.Encode(records);
        public EncodedRows Merge(EncodedRows? batch, EncodedRows next) => sink.Merge((RowBinaryRows?)batch, (RowBinaryRows)next);

        public async Task<int> InsertAsync(IReadOnlyList<EncodedRows> parts, CancellationToken cancellationToken) =>
            (await sink.InsertAsync(parts.Cast<RowBinaryRows>().ToList(), cancellationToken).ConfigureAwait(false)).RowsInserted;

        public void BeginDrain() => sink.BeginDrain();

        public void Dispose() => sink.Dispose();
    }

    /// <summary>Dry-run sink: each row encoded exactly as an insert would, decoded back to JSON; nothing is sent.</summary>
    internal sealed class PreviewRowSink(ClickHouseSink sink) : ITableSink, IDisposable
    {
        private readonly List<string> _rows = [];
        public IReadOnlyList<string> Rows { get { lock (_rows) return [.. _rows]; } }
        public Task PrepareAsync(CancellationToken ct) => sink.PrepareAsync(ct);
        public void BindColumns(RecordLayout layout) => sink.BindColumns(layout);

        public EncodedRows Encode(ReadOnlySpan<Record> records)
        {
            var rows = new List<string>();
            foreach (var r in records)
            {
                if (!r.IsActive) continue;
                var error = sink.PreviewRow(r, out var json);
                if (error != null) r.Fail("sink", error);
                else rows.Add(json);
            }
            return new PreviewRows(rows);
        }

        public EncodedRows Merge(EncodedRows? batch, EncodedRows next)
        {
            var json = ((PreviewRows?)batch)?.Json ?? [];
            json.AddRange(((PreviewRows)next).Json);
            return new PreviewRows(json);
        }

        public void BeginDrain() { } // nothing is sent, so nothing is retried

        public Task<int> InsertAsync(IReadOnlyList<EncodedRows> parts, CancellationToken cancellationToken)
        {
            var n = 0;
            lock (_rows)
            {
                foreach (var p in parts.Cast<PreviewRows>())
                {
                    _rows.AddRange(p.Json);
                    n += p.Rows;
                }
            }
            return Task.FromResult(n);
        }

        public void Dispose() => sink.Dispose();

        private sealed class PreviewRows : EncodedRows
        {
            public PreviewRows(List<string> json)
            {
                Json = json;
                Rows = json.Count;
            }

            public List<string> Json { get; }
        }
    }

    /// <summary>The Kafka consumer as the runner's <see cref="IChunkSource"/>.</summary>
    private sealed class KafkaChunkSource(KafkaSource source) : IChunkSource
    {
        public Task RunAsync(ITargetBlock<RecordChunk> target, Func<Record> newRecord, CancellationToken stop) =>
            source.RunAsync(target, newRecord, stop);

        public void Complete(RecordChunk chunk) => source.Complete(chunk);

        public async Task CloseAsync(CancellationToken cancellationToken)
        {
            await source.CloseAsync().ConfigureAwait(false);
            source.Dispose();
        }

        public string StatusLine()
        {
            var m = source.GetMetrics();
            return $"lag {m.TotalLag}, {m.Partitions.Count} partitions{(m.Paused ? ", paused (pipeline full)" : "")}, {m.Rebalances} rebalances";
        }

        public TimeSpan WaitedForPipeline => source.WaitedForPipeline;
    }
}

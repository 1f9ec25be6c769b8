using System.Diagnostics;
using Microsoft.Extensions.Logging;
using StreamEnrich.Configuration;
using StreamEnrich.DeadLetter;
using StreamEnrich.Formats.SchemaRegistry.Embedded;
using StreamEnrich.Pipeline;
using StreamEnrich.Records;
using StreamEnrich.Sinks.ClickHouse;
using StreamEnrich.Sources.File;

namespace StreamEnrich.Cli;

/// <summary>
/// `bench --engine-only`: the engine's own ceiling, without Kafka or ClickHouse. Runs the pipeline over events in
/// memory four times, adding one part each time (decode; + stages; + RowBinary encoding; + gzip), so the cost of each
/// part shows as the drop in rows/s. Same dataflow, parallelism and batching as `run`. JSON and Avro payloads of the
/// same events run in turn (per <c>--format</c>), so the decode cost of each format shows side by side.
/// </summary>
internal static class EngineBench
{
    /// <summary>
    /// Runs the JSON pipeline over JSON events and/or the Avro pipeline over the same events Avro-encoded (schema from
    /// an <see cref="EmbeddedSchemaRegistry"/>), each part by part, and prints msg/s side by side.
    /// </summary>
    public static async Task<int> RunAsync(string? jsonPipelineFile, string? avroPipelineFile, int messages, CancellationToken ct)
    {
        using var loggers = Program.CreateLoggers("warning");
        var registry = StageRegistry.CreateDefault();
        var usersFile = Path.Combine(Path.GetTempPath(), $"streamenrich-users-{Environment.ProcessId}.csv");
        SampleEvents.WriteUsersCsv(usersFile, 100_000);
        Environment.SetEnvironmentVariable("USERS_FILE", usersFile);
        await using var schemaRegistry = EmbeddedSchemaRegistry.Start();
        Environment.SetEnvironmentVariable("SCHEMA_REGISTRY_URL", schemaRegistry.Url);
        try
        {
            var runs = new List<(string Format, LoadedPipeline Pipeline, List<byte[]?> Payloads)>();
            if (jsonPipelineFile is not null)
            {
                var gen = new SampleEvents(42, 100_000);
                runs.Add(("JSON", Load(jsonPipelineFile, registry), [.. Enumerable.Range(0, messages).Select(i => (byte[]?)gen.Next(i))]));
            }
            if (avroPipelineFile is not null)
            {
                var schemaId = schemaRegistry.Register(await File.ReadAllTextAsync(BenchCommand.WebEventSchemaPath(avroPipelineFile), ct).ConfigureAwait(false));
                var gen = new SampleEvents(42, 100_000);
                runs.Add(("Avro", Load(avroPipelineFile, registry), [.. Enumerable.Range(0, messages).Select(i => (byte[]?)gen.NextAvro(i, schemaId))]));
            }
            Console.WriteLine($"engine-only: {messages:N0} events in memory ({string.Join(", ", runs.Select(r => $"{r.Format} {r.Payloads.Average(p => p!.Length):F0} B avg"))}), parallelism {runs[0].Pipeline.Options.Parallelism}, {Environment.ProcessorCount} cores");
            // CPU time and managed allocation per message are steadier than msg/s on a shared machine.
            Console.WriteLine($"  {"",-40} {string.Join(" ", runs.Select(r => $"{r.Format + " msg/s",14} {"CPU µs/msg",11} {"alloc B/msg",12}"))}");
            foreach (var mode in new[] { Mode.Decode, Mode.Stages, Mode.Encode, Mode.Gzip })
            {
                var cells = new List<string>();
                foreach (var (_, pipeline, payloads) in runs)
                {
                    for (var round = 0; round < 2; round++) // the first round warms up the JIT
                    {
                        var (seconds, rows, cpu, alloc) = await RunOnceAsync(pipeline, registry, loggers, payloads, mode, ct).ConfigureAwait(false);
                        if (round == 1) cells.Add($"{messages / seconds,14:N0} {cpu.TotalMicroseconds / messages,11:F2} {alloc / (double)messages,12:F0}");
                        if (round == 1 && rows == 0) throw new InvalidOperationException($"{pipeline.Name}: no rows came out of the {Describe(mode)} run; the events do not fit the pipeline");
                    }
                }
                Console.WriteLine($"  {Describe(mode),-40} {string.Join(" ", cells)}");
            }
            return 0;
        }
        finally
        {
            File.Delete(usersFile);
        }
    }

    private static LoadedPipeline Load(string pipelineFile, StageRegistry registry)
    {
        var load = PipelineLoader.Load(pipelineFile, registry);
        if (!load.Success) throw new InvalidOperationException(string.Join(Environment.NewLine, load.Errors));
        var pipeline = load.Pipelines[0];
        if (pipeline.Options.Sink.Schema.Count == 0) throw new UsageException($"--engine-only needs the table columns inline (sink.schema) in {pipelineFile}");
        return pipeline;
    }

    private enum Mode { Decode, Stages, Encode, Gzip }

    private static string Describe(Mode m) => m switch
    {
        Mode.Decode => "decode",
        Mode.Stages => "decode + stages",
        Mode.Encode => "decode + stages + RowBinary",
        _ => "decode + stages + RowBinary + gzip",
    };

    private static async Task<(double Seconds, long Rows, TimeSpan Cpu, long Allocated)> RunOnceAsync(LoadedPipeline pipeline, StageRegistry registry, ILoggerFactory loggers,
        List<byte[]?> payloads, Mode mode, CancellationToken ct)
    {
        var o = pipeline.Options;
        var builder = new PipelineBuilder(registry, loggers, TimeProvider.System);
        var errors = new List<ConfigError>();
        var (layout, stages) = builder.BuildStages(pipeline, errors);
        using var sink = new ClickHouseSink(o.Sink, loggers.CreateLogger("bench"), TimeProvider.System, SchemaSource.InlineWhenGiven);
        await sink.PrepareAsync(ct).ConfigureAwait(false);
        sink.BindColumns(layout);
        if (errors.Count > 0) throw new PipelineBuildException(errors);
        layout.Freeze();
        var plan = new ProcessingPlan(layout, PipelineBuilder.BuildDecoder(pipeline, layout, loggers), mode == Mode.Decode ? [] : stages);
        var source = new MemoryChunkSource("bench", payloads, o.Source.ChunkSize);
        var rowSink = new EncodingSink(sink, mode);
        var settings = new RunnerSettings(pipeline.Name, o.Parallelism, o.Sink.InsertConcurrency, o.Batch, OnError.DeadLetter, TimeSpan.Zero);
        var runner = new PipelineRunner(settings, plan, source, rowSink, new DiscardingDeadLetters(), loggers.CreateLogger("bench"), TimeProvider.System);
        GC.Collect();
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var alloc0 = GC.GetTotalAllocatedBytes(precise: true);
        var sw = Stopwatch.StartNew();
        await runner.RunAsync(CancellationToken.None, ct).ConfigureAwait(false);
        return (sw.Elapsed.TotalSeconds, rowSink.Rows, Process.GetCurrentProcess().TotalProcessorTime - cpu0, GC.GetTotalAllocatedBytes(precise: true) - alloc0);
    }

    private sealed class EncodingSink(ClickHouseSink sink, Mode mode) : IRowSink
    {
        private long _rows;
        public long Rows => Interlocked.Read(ref _rows);

        public EncodedRows Encode(ReadOnlySpan<Record> records)
        {
            if (mode >= Mode.Encode) return sink.Encode(records);
            var n = 0;
            foreach (var r in records) if (r.IsActive) n++;
            return new Counted(n);
        }

        public EncodedRows Merge(EncodedRows? batch, EncodedRows next) => mode >= Mode.Encode
            ? sink.Merge((RowBinaryRows?)batch, (RowBinaryRows)next)
            : new Counted((batch?.Rows ?? 0) + next.Rows);

        public void BeginDrain() { } // nothing is sent, so nothing is retried

        public Task<int> InsertAsync(IReadOnlyList<EncodedRows> parts, CancellationToken cancellationToken)
        {
            var n = parts.Sum(p => p.Rows);
            if (mode == Mode.Gzip)
            {
                using var gz = new RowBinaryWriter(1 << 20);
                ClickHouseHttpClient.Gzip(parts.Cast<RowBinaryRows>().SelectMany(p => p.Segments), gz);
            }
            Interlocked.Add(ref _rows, n);
            return Task.FromResult(n);
        }

        private sealed class Counted : EncodedRows
        {
            public Counted(int rows) => Rows = rows;
        }
    }

    private sealed class DiscardingDeadLetters : IDeadLetterSink
    {
        public Task WriteAsync(IReadOnlyList<Record> failed, CancellationToken ct) => Task.CompletedTask;
        public string Description => "discarded (engine benchmark)";
        public ValueTask DisposeAsync() => default;
    }
}

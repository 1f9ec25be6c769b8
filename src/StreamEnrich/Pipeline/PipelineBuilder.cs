using Microsoft.Extensions.Logging;
using StreamEnrich.Configuration;
using StreamEnrich.Formats;
using StreamEnrich.Formats.Json;
using StreamEnrich.Records;
using StreamEnrich.Stages;

namespace StreamEnrich.Pipeline;

/// <summary>
/// Turns a loaded pipeline file into the pieces the runner needs, in the order the record layout requires:
/// stages declare their fields, then the sink declares the columns' fields, then the layout is frozen and the
/// decoder is compiled against it. Problems are reported as <see cref="ConfigError"/>s at the place in the file
/// they come from.
/// </summary>
internal sealed class PipelineBuilder(StageRegistry registry, ILoggerFactory loggers, TimeProvider time)
{
    public StageRegistry Registry => registry;

    /// <summary>Builds every stage into a new layout. A stage that cannot be built adds an error at its declaration.</summary>
    public (RecordLayout Layout, List<BuiltStage> Stages) BuildStages(LoadedPipeline pipeline, List<ConfigError> errors)
    {
        var layout = new RecordLayout();
        var stages = new List<BuiltStage>();
        var declarations = pipeline.Options.Stages;
        for (var i = 0; i < declarations.Count; i++)
        {
            var d = declarations[i];
            var name = d.DisplayName(i);
            var context = new StageBuildContext(layout, pipeline, name, loggers.CreateLogger($"StreamEnrich.Stages.{d.Type}"), time);
            try
            {
                var built = d.Spec.Factory(d.Options, context);
                switch (built)
                {
                    case IRecordStage s: stages.Add(new BuiltStage(name, d.Type, s, null)); break;
                    case IAsyncChunkStage a: stages.Add(new BuiltStage(name, d.Type, null, a)); break;
                    default:
                        errors.Add(new ConfigError(d.Location, $"stage type '{d.Type}' built a {built?.GetType().Name ?? "null"}, which is neither IRecordStage nor IAsyncChunkStage", "This is a bug in the stage's registration."));
                        break;
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                errors.Add(new ConfigError(d.Location, $"stage '{name}' ({d.Type}) cannot be built: {ex.Message}", HintFor(ex)));
            }
        }
        return (layout, stages);
    }

    /// <summary>
    /// Builds what a pipeline runs, in the order the record layout needs: the stages declare their fields, the sink reads
    /// its table and declares the columns' fields, the layout is frozen, and the decoder is compiled against it.
    /// Every problem is collected as a <see cref="ConfigError"/> and thrown together as a <see cref="PipelineBuildException"/>.
    /// </summary>
    /// <param name="sinkError">Turns a failure to read the table into an error at the right place, with a hint.</param>
    /// <param name="decoder">Replaces the decoder of the <c>format</c> section (dry-run of Avro container files).</param>
    public async Task<ProcessingPlan> BuildPlanAsync(LoadedPipeline pipeline, ITableSink sink, Func<Exception, ConfigError> sinkError,
        List<ConfigError> errors, CancellationToken ct, Func<RecordLayout, IRecordDecoder>? decoder = null)
    {
        // The sink reads its table (round trips to ClickHouse) on a thread of its own while the stages build (a lookup
        // stage loads its file): the first request sets up the HTTP client, tens of milliseconds of work before its first
        // await, and at start-up the thread pool's few threads are all busy building.
        var prepare = Task.Factory.StartNew(() => sink.PrepareAsync(ct), ct, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
        var (layout, stages) = BuildStages(pipeline, errors);
        try
        {
            await prepare.ConfigureAwait(false);
            sink.BindColumns(layout);
        }
        catch (Exception ex) when (ex is not OperationCanceledException && ex is not OutOfMemoryException)
        {
            errors.Add(sinkError(ex));
        }
        if (errors.Count > 0) throw new PipelineBuildException(errors);
        layout.Freeze();
        IRecordDecoder recordDecoder;
        try
        {
            recordDecoder = decoder?.Invoke(layout) ?? BuildDecoder(pipeline, layout, loggers);
        }
        catch (Formats.Avro.AvroSchemaException ex)
        {
            throw new PipelineBuildException([pipeline.ErrorAt("format", ex.Message)]);
        }
        return new ProcessingPlan(layout, recordDecoder, stages);
    }

    /// <summary>The decoder for the pipeline's format, compiled against the frozen layout.</summary>
    public static IRecordDecoder BuildDecoder(LoadedPipeline pipeline, RecordLayout layout, ILoggerFactory loggers)
    {
        return pipeline.Options.Format.Type switch
        {
            "json" => new JsonRecordDecoder(layout),
            "avro" => Formats.FormatFactory.CreateAvro(pipeline, layout, loggers),
            var other => throw new InvalidOperationException($"unknown format '{other}'"),
        };
    }

    private static string? HintFor(Exception ex) => ex switch
    {
        FileNotFoundException or DirectoryNotFoundException => "Paths in a pipeline file are relative to the file's folder.",
        _ => null,
    };

    private sealed class StageBuildContext(RecordLayout layout, LoadedPipeline pipeline, string stageName, ILogger logger, TimeProvider time) : IStageBuildContext
    {
        public int Field(string path) => layout.Slot(path);
        public string PipelineName => pipeline.Name;
        public string StageName => stageName;
        public string ResolvePath(string path) => pipeline.ResolvePath(path);
        public ILogger Logger => logger;
        public TimeProvider Time => time;
        public RecordLayout Layout => layout;
    }
}

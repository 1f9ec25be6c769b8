using Microsoft.Extensions.Logging;
using StreamEnrich.Configuration;
using StreamEnrich.DeadLetter;
using StreamEnrich.Records;

namespace StreamEnrich.Pipeline;

/// <summary>
/// Runs several pipelines in one process. Everything is built and health-checked before anything is consumed:
/// a pipeline whose table does not exist stops the start with that error, not after the first batch.
/// One pipeline failing stops the others (drained and committed), and the process exits non-zero.
/// </summary>
internal sealed partial class PipelineHost(PipelineBuilder builder, ILoggerFactory loggers, TimeProvider time, TimeSpan statusInterval)
{
    private readonly ILogger _logger = loggers.CreateLogger("StreamEnrich.Host");

    /// <summary>Builds one pipeline for running against Kafka and ClickHouse.</summary>
    public async Task<PipelineRunner> BuildAsync(LoadedPipeline pipeline, List<ConfigError> errors, CancellationToken ct)
    {
        var o = pipeline.Options;
        var sink = Adapters.CreateClickHouseSink(o.Sink, loggers.CreateLogger("StreamEnrich.Sinks.ClickHouse." + pipeline.Name), time);
        // The consumer connects (and, with static assignment, starts prefetching) while the stages build and the sink
        // reads its table; nothing is consumed or committed before the whole pipeline is built.
        IChunkSource source;
        try
        {
            source = Adapters.CreateKafkaSource(o.Source, pipeline.Name, loggers.CreateLogger("StreamEnrich.Sources.Kafka." + pipeline.Name), time, assignEarly: true);
        }
        catch (Exception ex) when (IsSetupFailure(ex))
        {
            sink.Dispose();
            throw Failed(errors, pipeline.ErrorAt("source", $"the Kafka consumer cannot be created: {ex.Message}"));
        }
        // The dead-letter producer (a librdkafka client of its own: tens of milliseconds to start) is made meanwhile too,
        // on a thread of its own: it blocks, and at start-up the thread pool's few threads are busy building.
        var failedSink = o.OnError == OnError.DeadLetter && o.DeadLetter is not null
            ? Task.Factory.StartNew<IDeadLetterSink?>(() => Adapters.CreateDeadLetterSink(o.DeadLetter, o.Source, pipeline, loggers.CreateLogger("StreamEnrich.DeadLetter." + pipeline.Name)),
                ct, TaskCreationOptions.LongRunning, TaskScheduler.Default)
            : Task.FromResult<IDeadLetterSink?>(null);
        ProcessingPlan plan;
        IDeadLetterSink? failed;
        ConfigError DeadLetterError(Exception ex) => pipeline.ErrorAt("dead_letter", $"the dead-letter sink cannot be created: {ex.Message}");
        var deadLetterReported = false;
        try
        {
            plan = await builder.BuildPlanAsync(pipeline, sink, ex => pipeline.ErrorAt("sink.table", $"ClickHouse table {o.Sink.Database}.{o.Sink.Table} at {o.Sink.Url}: {ex.Message}",
                "Check that the server is reachable and the table exists (`streamenrich schema` prints a CREATE TABLE for this pipeline)."), errors, ct).ConfigureAwait(false);
            try
            {
                failed = await failedSink.ConfigureAwait(false);
            }
            catch (Exception ex) when (IsSetupFailure(ex))
            {
                deadLetterReported = true;
                throw Failed(errors, DeadLetterError(ex));
            }
        }
        catch (Exception buildError)
        {
            await source.CloseAsync(CancellationToken.None).ConfigureAwait(false);
            sink.Dispose();
            try
            {
                if (await failedSink.ConfigureAwait(false) is { } made) await made.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (IsSetupFailure(ex) && !deadLetterReported && buildError is PipelineBuildException)
            {
                errors.Add(DeadLetterError(ex)); // reported with the build's own errors, not one per attempt
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // the build's own error is the one to report
            }
            throw;
        }
        return new PipelineRunner(RunnerSettings.From(o, statusInterval), plan, source, sink, failed,
            loggers.CreateLogger("StreamEnrich.Pipeline." + pipeline.Name), time);
    }

    /// <summary>What creating a Kafka client or a dead-letter file can throw for a setting or the machine (a property librdkafka
    /// rejects, librdkafka missing, a folder that cannot be written), as opposed to a bug.</summary>
    private static bool IsSetupFailure(Exception ex) =>
        ex is ArgumentException or InvalidOperationException or Confluent.Kafka.KafkaException or IOException or UnauthorizedAccessException;

    private static PipelineBuildException Failed(List<ConfigError> errors, ConfigError error)
    {
        errors.Add(error);
        return new PipelineBuildException([error]);
    }

    /// <summary>Runs all pipelines until <paramref name="stop"/>; returns the process exit code.</summary>
    public async Task<int> RunAsync(IReadOnlyList<LoadedPipeline> pipelines, CancellationToken stop, CancellationToken abort)
    {
        var runners = new List<PipelineRunner>();
        var errors = new List<ConfigError>();
        foreach (var p in pipelines)
        {
            try
            {
                runners.Add(await BuildAsync(p, errors, abort).ConfigureAwait(false));
            }
            catch (PipelineBuildException)
            {
                // collected in errors
            }
        }
        if (errors.Count > 0)
        {
            foreach (var e in errors) Console.Error.WriteLine(e);
            Console.Error.WriteLine($"{errors.Count} error(s); nothing was started.");
            return 1;
        }

        using var stopAll = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var tasks = runners.Select(r => RunOneAsync(r, stopAll, abort)).ToList();
        LogStarted(_logger, runners.Count, string.Join(", ", runners.Select(r => r.Name)));
        LogRuntime(_logger, "started", RuntimeStats.Now());
        var results = await Task.WhenAll(tasks).ConfigureAwait(false);
        LogRuntime(_logger, "stopping", RuntimeStats.Now());
        return results.Max();
    }

    private async Task<int> RunOneAsync(PipelineRunner runner, CancellationTokenSource stopAll, CancellationToken abort)
    {
        try
        {
            await runner.RunAsync(stopAll.Token, abort).ConfigureAwait(false);
            return 0;
        }
        catch (PipelineFailedException ex)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            LogStoppingOthers(_logger, runner.Name);
            await stopAll.CancelAsync().ConfigureAwait(false);
            return 1;
        }
        catch (OperationCanceledException ex)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return 3;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Running {Count} pipeline(s): {Names}")]
    private static partial void LogStarted(ILogger logger, int count, string names);

    [LoggerMessage(Level = LogLevel.Information, Message = "Runtime, {When}: {Stats}")]
    private static partial void LogRuntime(ILogger logger, string when, RuntimeStats stats);

    [LoggerMessage(Level = LogLevel.Error, Message = "Pipeline {Name} failed; stopping the other pipelines (they drain and commit first)")]
    private static partial void LogStoppingOthers(ILogger logger, string name);
}

/// <summary>A pipeline could not be built; the errors say where and why.</summary>
internal sealed class PipelineBuildException(IReadOnlyList<ConfigError> errors)
    : Exception(string.Join(Environment.NewLine, errors))
{
    public IReadOnlyList<ConfigError> Errors { get; } = errors;
}

using System.Text.Json;
using Microsoft.Extensions.Logging;
using StreamEnrich.Configuration;
using StreamEnrich.Pipeline;
using StreamEnrich.Sources.File;

namespace StreamEnrich.Cli;

/// <summary>The command-line commands other than demo and bench.</summary>
internal static class Commands
{
    /// <summary>JSON for people reading a terminal: quotes and non-ASCII text as they are, not as \u escapes.</summary>

    /// <summary>Loads pipeline files or folders; prints every error; null when there were errors.</summary>
    private static List<LoadedPipeline>? Load(IReadOnlyList<string> paths, StageRegistry registry, out List<ConfigError> errors)
    {
        if (paths.Count == 0) throw new UsageException("give at least one pipeline file or folder");
        var pipelines = new List<LoadedPipeline>();
        errors = [];
        foreach (var path in paths)
        {
            if (!File.Exists(path) && !Directory.Exists(path))
            {
                errors.Add(new ConfigError(path, 0, 0, "no such file or folder", "Give a pipeline .yaml file or a folder of them."));
                continue;
            }
            var result = PipelineLoader.Load(path, registry);
            pipelines.AddRange(result.Pipelines);
            errors.AddRange(result.Errors);
        }
        foreach (var p in pipelines) errors.AddRange(Adapters.ValidateKafkaProperties(p));
        foreach (var dup in pipelines.GroupBy(p => p.Name).Where(g => g.Count() > 1))
            errors.Add(new ConfigError(dup.Last().File, 1, 1, $"pipeline name '{dup.Key}' is used by {string.Join(" and ", dup.Select(p => p.File))}", "Pipeline names must be unique in a process; set `name:`."));
        return errors.Count == 0 ? pipelines : null;
    }

    private static void PrintErrors(IReadOnlyList<ConfigError> errors)
    {
        foreach (var e in errors) Console.Error.WriteLine(e);
        Console.Error.WriteLine($"{errors.Count} error(s).");
    }

    public static int Validate(CommandLine cmd)
    {
        cmd.EnsureAllUsed();
        var registry = StageRegistry.CreateDefault();
        using var loggers = Program.CreateLoggers("warning");
        var pipelines = Load(cmd.Positionals, registry, out var errors);
        if (pipelines != null)
        {
            // Build the stages too (expressions, lookup files, field names): everything short of network I/O.
            var builder = new PipelineBuilder(registry, loggers, TimeProvider.System);
            foreach (var p in pipelines)
            {
                builder.BuildStages(p, errors);
                errors.AddRange(Adapters.ValidateInlineSchema(p));
            }
        }
        if (errors.Count > 0)
        {
            PrintErrors(errors);
            return 1;
        }
        Console.WriteLine($"ok: {pipelines!.Count} pipeline(s) valid: {string.Join(", ", pipelines.Select(p => $"{p.Name} ({p.File})"))}");
        return 0;
    }

    public static async Task<int> RunAsync(CommandLine cmd, ShutdownSignals signals)
    {
        var statusInterval = cmd.DurationOption("status-interval", TimeSpan.FromSeconds(10));
        signals.ShutdownTimeout = cmd.DurationOption("shutdown-timeout", TimeSpan.FromSeconds(30));
        using var loggers = Program.CreateLoggers(cmd.Option("log-level"));
        cmd.EnsureAllUsed();
        var registry = StageRegistry.CreateDefault();
        var pipelines = Load(cmd.Positionals, registry, out var errors);
        if (pipelines is null)
        {
            PrintErrors(errors);
            return 1;
        }
        var host = new PipelineHost(new PipelineBuilder(registry, loggers, TimeProvider.System), loggers, TimeProvider.System, statusInterval);
        return await host.RunAsync(pipelines, signals.Stop, signals.Abort).ConfigureAwait(false);
    }

    public static async Task<int> DryRunAsync(CommandLine cmd, CancellationToken ct)
    {
        var input = cmd.Option("input") ?? throw new UsageException("dry-run needs --input <file> (JSON lines, or --framing base64 for binary messages)");
        var framing = cmd.Option("framing") ?? (input.EndsWith(".avro", StringComparison.OrdinalIgnoreCase) ? "avro" : "lines");
        cmd.EnsureAllUsed();
        if (cmd.Positionals.Count != 1) throw new UsageException("dry-run takes exactly one pipeline file");
        var registry = StageRegistry.CreateDefault();
        using var loggers = Program.CreateLoggers("warning");
        var pipelines = Load(cmd.Positionals, registry, out var errors);
        if (pipelines is null)
        {
            PrintErrors(errors);
            return 1;
        }
        var pipeline = pipelines[0];
        IReadOnlyList<byte[]?> messages;
        Func<Records.RecordLayout, Formats.IRecordDecoder>? decoder = null;
        try
        {
            if (framing == "avro")
            {
                // An object container file: bare datums with the file's writer schema, no registry.
                var container = Adapters.ReadAvroContainer(input, pipeline);
                messages = container.Messages;
                decoder = container.Decoder;
            }
            else messages = InputFile.Read(input, framing);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException or ArgumentException)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return 1;
        }
        try
        {
            var result = await new DryRunner(new PipelineBuilder(registry, loggers, TimeProvider.System), loggers, TimeProvider.System)
                .RunAsync(pipeline, messages, ct, decoder).ConfigureAwait(false);
            using var stdout = Console.OpenStandardOutput();
            foreach (var row in result.Rows)
            {
                var bytes = System.Text.Encoding.UTF8.GetBytes(row + "\n");
                stdout.Write(bytes);
            }
            foreach (var d in result.DeadLetters)
                Console.Error.WriteLine(JsonText.ToString(new Dictionary<string, object> { ["dead_letter"] = new Dictionary<string, object> { ["message"] = d.Index + 1, ["stage"] = d.Stage, ["reason"] = d.Reason } }, JsonText.Readable));
            Console.Error.WriteLine($"{messages.Count} message(s): {result.Rows.Count} row(s) would be inserted, {result.Filtered} filtered out, {result.DeadLetters.Count} dead-lettered.");
            return 0;
        }
        catch (PipelineBuildException ex)
        {
            PrintErrors(ex.Errors);
            return 1;
        }
        catch (PipelineFailedException ex)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return 1;
        }
    }

    public static async Task<int> TestAsync(CommandLine cmd, CancellationToken ct)
    {
        cmd.EnsureAllUsed();
        var registry = StageRegistry.CreateDefault();
        using var loggers = Program.CreateLoggers("warning");
        var pipelines = Load(cmd.Positionals, registry, out var errors);
        if (pipelines is null)
        {
            PrintErrors(errors);
            return 1;
        }
        var runner = new DryRunner(new PipelineBuilder(registry, loggers, TimeProvider.System), loggers, TimeProvider.System);
        int passed = 0, failed = 0;
        foreach (var p in pipelines)
        {
            foreach (var t in p.Options.Tests)
            {
                var problems = await PipelineTests.RunAsync(runner, p, t, ct).ConfigureAwait(false);
                if (problems.Count == 0)
                {
                    passed++;
                    Console.WriteLine($"PASS {p.Name}: {t.Name}");
                }
                else
                {
                    failed++;
                    Console.WriteLine($"FAIL {p.Name}: {t.Name}");
                    foreach (var problem in problems) Console.WriteLine($"  {problem}");
                }
            }
        }
        Console.WriteLine($"pipeline tests: {passed} passed, {failed} failed");
        return failed == 0 ? 0 : 1;
    }

    public static async Task<int> SchemaAsync(CommandLine cmd, CancellationToken ct)
    {
        var engine = cmd.Option("engine");
        cmd.EnsureAllUsed();
        if (cmd.Positionals.Count != 1) throw new UsageException("schema takes exactly one pipeline file");
        var registry = StageRegistry.CreateDefault();
        var pipelines = Load(cmd.Positionals, registry, out var errors);
        if (pipelines is null)
        {
            PrintErrors(errors);
            return 1;
        }
        try
        {
            Console.WriteLine(await Adapters.CreateTableDdlAsync(pipelines[0], engine, ct).ConfigureAwait(false));
            return 0;
        }
        catch (InvalidOperationException ex)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return 1;
        }
    }

    public static int Docs(CommandLine cmd)
    {
        var outFile = cmd.Option("out");
        var check = cmd.Option("check");
        cmd.EnsureAllUsed();
        var text = Configuration.Docs.ReferenceDocs.Generate(StageRegistry.CreateDefault());
        if (check != null)
        {
            var current = File.Exists(check) ? File.ReadAllText(check) : "";
            if (current.ReplaceLineEndings() != text.ReplaceLineEndings())
            {
                Console.Error.WriteLine($"error: {check} is out of date with the code; regenerate it with `streamenrich docs --out {check}`.");
                return 1;
            }
            Console.WriteLine($"ok: {check} is current");
            return 0;
        }
        if (outFile != null) File.WriteAllText(outFile, text);
        else Console.Write(text);
        return 0;
    }

    public static async Task<int> KafkaMockAsync(CommandLine cmd, CancellationToken stop)
    {
        var brokers = (int)cmd.LongOption("brokers", 1);
        var topics = cmd.Option("topic");
        var bootstrapFile = cmd.Option("bootstrap-file");
        cmd.EnsureAllUsed();
        using var cluster = Adapters.StartMockCluster(brokers);
        foreach (var spec in (topics ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = spec.Split(':');
            var partitions = parts.Length > 1 && int.TryParse(parts[1], out var n) ? n : 1;
            cluster.CreateTopic(parts[0], partitions);
        }
        Console.WriteLine(cluster.BootstrapServers);
        if (bootstrapFile != null) await File.WriteAllTextAsync(bootstrapFile, cluster.BootstrapServers, CancellationToken.None).ConfigureAwait(false);
        Console.Error.WriteLine($"Embedded Kafka (librdkafka mock cluster, {brokers} broker(s)) at {cluster.BootstrapServers}; Ctrl-C to stop. Data lives in memory only.");
        try
        {
            await Task.Delay(Timeout.Infinite, stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        return 0;
    }
}

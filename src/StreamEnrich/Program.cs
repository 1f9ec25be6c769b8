using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using StreamEnrich.Cli;

namespace StreamEnrich;

internal static class Program
{
    public const string Usage = """
        streamenrich: Kafka -> enrich -> ClickHouse, one YAML pipeline per topic.

        Usage:
          streamenrich run <pipelines...>            run pipelines (files or folders of *.yaml) until SIGTERM/Ctrl-C
              [--status-interval 10s] [--shutdown-timeout 30s] [--log-level info]
          streamenrich validate <pipelines...>       check pipeline files; every error with file:line:column and a hint
          streamenrich dry-run <pipeline.yaml> --input <file> [--framing lines|base64|avro]
                                                     print the rows that would be inserted (JSON lines on stdout) and
                                                     what would be dead-lettered and why (stderr); no Kafka, no ClickHouse
          streamenrich test <pipelines...>           run the tests carried in pipeline files (`tests:`)
          streamenrich schema <pipeline.yaml>        print a CREATE TABLE for the pipeline's output
          streamenrich docs [--out FILE | --check FILE]   generate the option and stage reference (markdown)
          streamenrich demo [--events 20000]         local ClickHouse + embedded Kafka + pipelines/web-events.yaml
          streamenrich bench [--messages 1000000]    benchmark against the kcat | clickhouse-client baseline
              [--engine-only]                        the engine alone (no Kafka/ClickHouse), part by part
              [--format json|avro|both]              payloads: JSON (default), Avro with a registry, or both side by side
              [--assignment group|static|both]       source.assignment of the runs (default both: group, then static)
              [--skip-baseline] [--keep]             no kcat baseline; keep the work directory with every process's log
              [--baseline-runs 3] [--runs 1]         baseline / StreamEnrich runs each; ratios use the fastest
              [--warmup-rounds 1]                    unmeasured rounds first (cold ClickHouse and page cache)
              [--variant NAME=VALUE,...]             also run with these environment variables, alternating (A/B);
                                                     STREAMENRICH_BENCH_BUILD=<other streamenrich.dll> runs that build
              [--kcat-config NAME=VALUE,...]         librdkafka properties for the baseline's kcat (-X), e.g.
                                                     queued.min.messages=10000000 (no prefetch stall)
          streamenrich kafka-mock [--topic name:partitions ...]  run an embedded Kafka broker (librdkafka mock cluster)

        Environment: ${VAR} and ${VAR:-default} in pipeline files are replaced from the environment.
        Exit codes: 0 ok, 1 errors (printed), 2 bad usage, 3 stopped before draining (nothing lost; not committed).
        """;

    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }
        if (args[0] is "--version" or "version")
        {
            Console.WriteLine(typeof(Program).Assembly.GetName().Version);
            return 0;
        }

        using var signals = new ShutdownSignals();
        try
        {
            return args[0] switch
            {
                "run" => await Commands.RunAsync(Parse(args, "run", "help"), signals).ConfigureAwait(false),
                "validate" => Commands.Validate(Parse(args, "validate")),
                "dry-run" => await Commands.DryRunAsync(Parse(args, "dry-run"), signals.Stop).ConfigureAwait(false),
                "test" => await Commands.TestAsync(Parse(args, "test"), signals.Stop).ConfigureAwait(false),
                "schema" => await Commands.SchemaAsync(Parse(args, "schema"), signals.Stop).ConfigureAwait(false),
                "docs" => Commands.Docs(Parse(args, "docs")),
                "demo" => await DemoCommand.RunAsync(Parse(args, "demo", "keep"), signals).ConfigureAwait(false),
                "bench" => await BenchCommand.RunAsync(Parse(args, "bench", "skip-baseline", "engine-only", "keep"), signals).ConfigureAwait(false),
                "kafka-mock" => await Commands.KafkaMockAsync(Parse(args, "kafka-mock"), signals.Stop).ConfigureAwait(false),
                _ => throw new UsageException($"unknown command '{args[0]}'"),
            };
        }
        catch (UsageException ex)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            Console.Error.WriteLine();
            Console.Error.WriteLine(Usage);
            return 2;
        }
        catch (CommandFailedException ex)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return 1;
        }
        catch (Exception ex)
        {
            // Every expected failure has its own message and exit code; this is a bug: say so plainly, exit 1 (not the
            // runtime's abort with a core dump) and keep the stack trace for the report.
            Console.Error.WriteLine($"error: {ex.Message}");
            Console.Error.WriteLine($"This is an unexpected {ex.GetType().FullName}, most likely a bug in StreamEnrich; please report it with the trace below.");
            Console.Error.WriteLine(ex); // type, message, inner exceptions and their traces
            return 1;
        }
    }

    private static CommandLine Parse(string[] args, string command, params string[] flags) =>
        new(command, args.Skip(1), new HashSet<string>(flags, StringComparer.Ordinal));

    public static ILoggerFactory CreateLoggers(string? level) => new ConsoleLoggerFactory(level?.ToLowerInvariant() switch
    {
        null or "info" or "information" => LogLevel.Information,
        "debug" => LogLevel.Debug,
        "trace" => LogLevel.Trace,
        "warn" or "warning" => LogLevel.Warning,
        "error" => LogLevel.Error,
        _ => throw new UsageException($"--log-level must be trace, debug, info, warning or error, got '{level}'"),
    });
}

/// <summary>
/// SIGTERM / SIGINT handling: the first signal asks for a graceful stop (stop consuming, drain, commit);
/// a second one, or the shutdown timeout, aborts (in-flight work is not committed and will be consumed again).
/// </summary>
internal sealed class ShutdownSignals : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly List<PosixSignalRegistration> _registrations = [];

    public ShutdownSignals()
    {
        foreach (var signal in new[] { PosixSignal.SIGTERM, PosixSignal.SIGINT })
        {
            _registrations.Add(PosixSignalRegistration.Create(signal, context =>
            {
                context.Cancel = true; // we exit ourselves, after draining
                if (_stop.IsCancellationRequested)
                {
                    Console.Error.WriteLine("Second signal: aborting without draining.");
                    _abort.Cancel();
                }
                else
                {
                    Console.Error.WriteLine($"{context.Signal}: stopping; draining and committing (send again to abort).");
                    _stop.Cancel();
                    if (ShutdownTimeout > TimeSpan.Zero) _abort.CancelAfter(ShutdownTimeout);
                }
            }));
        }
    }

    /// <summary>How long a graceful stop may take before it becomes an abort.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public CancellationToken Stop => _stop.Token;
    public CancellationToken Abort => _abort.Token;

    /// <summary>Requests a graceful stop from inside the process (demo, bench).</summary>
    public void RequestStop() => _stop.Cancel();

    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
        _stop.Dispose();
        _abort.Dispose();
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using StreamEnrich.Formats.SchemaRegistry.Embedded;
using StreamEnrich.Pipeline;

namespace StreamEnrich.Cli;

/// <summary>
/// The benchmark. In one run: a private ClickHouse server, an embedded Kafka broker in its own process, N web
/// events pre-loaded into a many-partition topic, then
/// (1) StreamEnrich running pipelines/web-events.yaml (rename, timestamp, cast, filter, lookup in a users CSV)
///     as a separate process, measured for rows/s until the last row is queryable, peak RSS, and
///     produce-to-queryable latency per message (resolution: the poll interval), and
/// (2) the raw baseline `kcat -C -e | clickhouse-client INSERT ... FORMAT JSONEachRow` on the same data;
/// both printed with their ratio. With <c>--format avro</c> the same events go Avro-encoded (Confluent wire format,
/// schemas/web-event.avsc served by an <see cref="EmbeddedSchemaRegistry"/> in this process) through
/// pipelines/web-events-avro.yaml instead; <c>--format both</c> runs JSON then Avro and prints them side by side. Separate processes keep the broker's memory (it holds the whole backlog) out of
/// StreamEnrich's RSS.
/// </summary>
internal static class BenchCommand
{
    private const string Topic = "web-events";
    private const string AvroTopic = "web-events-avro";

    public static async Task<int> RunAsync(CommandLine cmd, ShutdownSignals signals)
    {
        var messages = (int)cmd.LongOption("messages", 1_000_000);
        // The embedded broker keeps ~5 MB per partition: ~370 B events, 8,000 per partition stay well inside.
        var partitions = (int)cmd.LongOption("partitions", Math.Max(8, (messages + 7_999) / 8_000));
        var users = (int)cmd.LongOption("users", 100_000);
        var pipelineFile = Path.GetFullPath(cmd.Option("pipeline") ?? Path.Combine("pipelines", "web-events.yaml"));
        var avroPipelineFile = Path.GetFullPath(cmd.Option("avro-pipeline") ?? Path.Combine("pipelines", "web-events-avro.yaml"));
        var format = cmd.Option("format") ?? "json";
        var skipBaseline = cmd.Flag("skip-baseline");
        var baselineRuns = (int)cmd.LongOption("baseline-runs", 3);
        var outFile = cmd.Option("out");
        // How often the per-partition offsets are read for the latencies (they scan the table); the row count that ends
        // a run is read every 25 ms from the parts' metadata (the baseline's end is its process exit, so a coarser poll
        // would add up to its interval to StreamEnrich's time only).
        var pollInterval = cmd.DurationOption("poll-interval", TimeSpan.FromSeconds(1));
        var engineOnly = cmd.Flag("engine-only");
        var logLevel = cmd.Option("log-level");
        var keep = cmd.Flag("keep");
        var assignment = cmd.Option("assignment") ?? "both";
        // Repeats each StreamEnrich run (the fastest counts, as for the baseline). --variant K=V[,K=V] adds, to every
        // repetition, a run with those environment variables set (runtime knobs, ${ENV} in the pipeline), so an A/B
        // comparison alternates within one invocation instead of across noisy ones.
        var runs = (int)cmd.LongOption("runs", 1);
        // Unmeasured rounds first (each run of a round, the baseline too): the bench's ClickHouse server and the page
        // cache start cold, and the first round measured ClickHouse at up to twice its later CPU for the same inserts.
        var warmupRounds = (int)cmd.LongOption("warmup-rounds", 1);
        var variant = ParseVariant(cmd.Option("variant"));
        // --kcat-config K=V[,K=V]: librdkafka properties for the baseline's kcat (-X K=V), e.g. a larger
        // queued.min.messages so kcat's prefetch does not stall; the default baseline runs kcat as it comes.
        var kcatConfig = KcatOptions(cmd.Option("kcat-config"));
        cmd.EnsureAllUsed();
        if (runs is < 1 or > 20) throw new UsageException($"--runs must be between 1 and 20, got {runs}");
        if (warmupRounds is < 0 or > 5) throw new UsageException($"--warmup-rounds must be between 0 and 5, got {warmupRounds}");
        if (assignment is not ("group" or "static" or "both")) throw new UsageException($"--assignment must be group, static or both, got '{assignment}'");
        string[] modes = assignment == "both" ? ["group", "static"] : [assignment];
        if (format is not ("json" or "avro" or "both")) throw new UsageException($"--format must be json, avro or both, got '{format}'");
        if (baselineRuns is < 1 or > 20) throw new UsageException($"--baseline-runs must be between 1 and 20, got {baselineRuns}");
        var runJson = format is "json" or "both";
        var runAvro = format is "avro" or "both";
        if (engineOnly)
            return await EngineBench.RunAsync(runJson ? pipelineFile : null, runAvro ? avroPipelineFile : null, messages, signals.Abort).ConfigureAwait(false);
        foreach (var f in (runJson ? new[] { pipelineFile } : []).Concat(runAvro ? [avroPipelineFile] : []))
            if (!File.Exists(f)) throw new UsageException($"{f} not found; run from the repository root or pass --pipeline / --avro-pipeline");
        if (messages / partitions > 10_000) throw new UsageException($"{messages} messages over {partitions} partitions exceeds the embedded broker's retention (~5 MB per partition, ~10,000 of these events); raise --partitions");

        var dir = Path.Combine(Path.GetTempPath(), "streamenrich-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        var children = new List<Process>();
        using var clickhouse = Adapters.CreateLocalClickHouse(Path.Combine(dir, "clickhouse"));
        EmbeddedSchemaRegistry? registry = null;
        try
        {
            Console.WriteLine($"bench: {messages:N0} messages, {partitions} partitions, {users:N0}-row lookup table, format {format}; {Environment.ProcessorCount} cores; work dir {dir}");
            await clickhouse.StartAsync(ct: signals.Abort).ConfigureAwait(false);
            var url = clickhouse.Url.ToString().TrimEnd('/');
            var ch = new ClickHouseQueries(url);
            var chVersion = await ch.QueryAsync("SELECT version()").ConfigureAwait(false);

            var bootstrapFile = Path.Combine(dir, "bootstrap.txt");
            var p = partitions.ToString(CultureInfo.InvariantCulture);
            var topics = string.Join(",", (runJson || !skipBaseline ? new[] { $"{Topic}:{p}", $"{Topic}-dlq:1" } : []).Concat(runAvro ? [$"{AvroTopic}:{p}", $"{AvroTopic}-dlq:1"] : []));
            var broker = StartSelf(["kafka-mock", "--topic", topics, "--bootstrap-file", bootstrapFile], new Dictionary<string, string>(), Path.Combine(dir, "broker.log"));
            children.Add(broker);
            var brokers = await WaitForFileAsync(bootstrapFile, TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            // CPU time per process over each run: on a machine whose cores are all busy this is steadier than the
            // wall time, and it shows where the time goes (StreamEnrich vs ClickHouse vs the broker).
            var meter = new CpuMeter(("ClickHouse", clickhouse.ProcessId ?? 0), ("broker", broker.Id));

            var usersFile = Path.Combine(dir, "users.csv");
            SampleEvents.WriteUsersCsv(usersFile, users);
            var sql = await File.ReadAllTextAsync(Path.Combine(Path.GetDirectoryName(pipelineFile)!, "..", "schemas", "web_events.sql")).ConfigureAwait(false);
            var env = new Dictionary<string, string>
            {
                ["KAFKA_BROKERS"] = brokers,
                ["CLICKHOUSE_URL"] = url,
                ["USERS_FILE"] = usersFile,
            };
            foreach (var (name, value) in ImageRuntimeSettings)
            {
                var inherited = Environment.GetEnvironmentVariable(name);
                if (inherited is null) env[name] = value;
                Console.WriteLine($"bench: StreamEnrich runs with {name}={inherited ?? value} ({(inherited is null ? "as the container image" : "from this environment")})");
            }

            // Both backlogs are produced first; then the runs go in rounds: one baseline run, then every StreamEnrich
            // run (each format and mode, and the --variant), so that a slow or fast spell of this shared machine falls on
            // both sides alike. Latencies count from the produce time, so later rounds include the earlier ones' time.
            Produced? jsonProduced = null, avroProduced = null;
            if (runJson || !skipBaseline)
            {
                Console.WriteLine($"bench: producing {messages:N0} JSON events to the embedded broker at {brokers} ...");
                jsonProduced = await ProduceAsync(brokers, Topic, messages, partitions, (g, i) => g.Next(i)).ConfigureAwait(false);
                Console.WriteLine($"bench: produced in {jsonProduced.Elapsed.TotalSeconds:F1} s ({jsonProduced.Bytes / (double)messages:F0} B/message avg); {messages - jsonProduced.Heartbeats:N0} rows expected after the filter");
            }
            if (runAvro)
            {
                // The schema is served by a registry inside this process (GET /schemas/ids/{id}), as a real one would.
                registry = EmbeddedSchemaRegistry.Start(firstId: 1);
                var schemaId = registry.Register(await File.ReadAllTextAsync(WebEventSchemaPath(avroPipelineFile)).ConfigureAwait(false));
                env["SCHEMA_REGISTRY_URL"] = registry.Url;
                Console.WriteLine($"bench: producing {messages:N0} Avro events (Confluent wire format, schema id {schemaId} at {registry.Url}) ...");
                avroProduced = await ProduceAsync(brokers, AvroTopic, messages, partitions, (g, i) => g.NextAvro(i, schemaId)).ConfigureAwait(false);
                Console.WriteLine($"bench: produced in {avroProduced.Elapsed.TotalSeconds:F1} s ({avroProduced.Bytes / (double)messages:F0} B/message avg)");
            }

            // What each round runs, per format: its pipeline and backlog (the run names are what the output groups by).
            var formatRuns = new List<(string Format, string Stages, string Pipeline, Produced Produced)>();
            if (runJson) formatRuns.Add(("JSON", "(rename+timestamp+cast+filter+lookup)", pipelineFile, jsonProduced!));
            if (runAvro) formatRuns.Add(("Avro", "(same stages, same table)", avroPipelineFile, avroProduced!));
            var results = new List<Result>();
            var exit = 0;
            // The baseline is compared at its fastest: its time varies more than StreamEnrich's from run to run, and the
            // ratios must not profit from a slow baseline run.
            Result? baseline = null;
            var baselineRounds = new List<Result>();
            var rounds = Math.Max(runs, skipBaseline ? 0 : baselineRuns);
            // Rounds below 0 are the warm-up: run as the others, printed, left out of the results.
            for (var round = -warmupRounds; round < rounds; round++)
            {
                var warmup = round < 0;
                var warmupTimes = new List<string>();
                if (!skipBaseline && round < baselineRuns && baseline is not { ExitCode: not 0 })
                {
                    // The last StreamEnrich run's table would keep ClickHouse busy merging its parts during the baseline.
                    await ch.ExecuteAsync("DROP TABLE IF EXISTS web_events").ConfigureAwait(false);
                    var b = await RunBaselineAsync(ch, clickhouse.TcpPort, brokers, messages, kcatConfig, meter, signals.Abort).ConfigureAwait(false) with { Round = round };
                    if (!warmup) baselineRounds.Add(b);
                    else warmupTimes.Add($"baseline {b.Seconds:F2} s");
                    if (b.ExitCode != 0 || (!warmup && (baseline is null || b.Seconds < baseline.Seconds))) baseline = b;
                    await ch.ExecuteAsync("DROP TABLE IF EXISTS bench_raw").ConfigureAwait(false);
                }
                if (round < runs)
                {
                    foreach (var (extra, label) in Variants(variant))
                        foreach (var run in formatRuns)
                            foreach (var mode in modes)
                            {
                                var r = await MeasureAsync($"streamenrich {run.Format}, {mode}{label} {run.Stages}", run.Format, mode, label, run.Pipeline, run.Produced, messages, partitions, sql, ch, Merge(env, extra), dir, $"streamenrich-{run.Format.ToLowerInvariant()}-{mode}{LogSuffix(label)}.log", pollInterval, logLevel, children, meter, signals.Abort).ConfigureAwait(false);
                                exit |= r.ExitCode;
                                if (!warmup) results.Add(r with { Round = round });
                                else warmupTimes.Add($"{run.Format} {mode}{label} {r.Seconds:F2} s");
                            }
                }
                if (warmup) Console.WriteLine($"bench: warm-up round (not counted): {string.Join(", ", warmupTimes)}");
            }
            if (registry is not null) Console.WriteLine($"bench: the embedded schema registry answered {registry.Requests} request(s)");
            var baselineTimes = baselineRounds.Select(b => b.Seconds).ToList();
            var allRuns = results;
            results = results.GroupBy(r => r.Name).Select(g => g.MinBy(r => r.Seconds)! with { ExitCode = g.Aggregate(0, (e, r) => e | r.ExitCode) }).ToList();
            Console.WriteLine();
            Console.WriteLine($"Machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}, ClickHouse {chVersion}, librdkafka mock broker");
            Console.WriteLine($"{"",-62} {"rows",10} {"seconds",8} {"rows/s",10} {"peak RSS",9} {"p50 lat",8} {"p99 lat",8} {"steady rows/s",14}");
            foreach (var r in results.Append(baseline).Where(r => r != null))
                Console.WriteLine($"{r!.Name,-62} {r.Rows,10:N0} {r.Seconds,8:F2} {r.RowsPerSecond,10:N0} {(r.PeakRssBytes > 0 ? $"{r.PeakRssBytes / 1048576.0:F0} MB" : "-"),9} {Ms(r.P50Ms),8} {Ms(r.P99Ms),8} {(double.IsNaN(r.SteadySeconds) ? "-" : (r.Rows / r.SteadySeconds).ToString("N0", CultureInfo.CurrentCulture)),14}");
            Console.WriteLine("group: the sample pipeline as is (consumer group); static: the same with KAFKA_ASSIGNMENT=static (no group join; kcat -C reads that way too).");
            if (baselineTimes.Count > 1)
                Console.WriteLine($"baseline: fastest of {baselineTimes.Count} runs ({string.Join(", ", baselineTimes.Select(t => t.ToString("F2", CultureInfo.InvariantCulture)))} s); the ratios use it.");
            Console.WriteLine("steady rows/s: from the first row queryable to the last (no process start, no group join).");
            if (runs > 1)
                foreach (var g in allRuns.GroupBy(r => r.Name))
                {
                    Console.WriteLine($"{g.Key}: fastest of {g.Count()} runs ({string.Join(", ", g.Select(r => r.Seconds.ToString("F2", CultureInfo.InvariantCulture)))} s; median {Median(g.Select(r => r.Seconds)):F2} s)");
                    if (g.All(r => !double.IsNaN(r.StartupSeconds)))
                        Console.WriteLine($"{g.Key}: start-up (process start to pipelines running, by its log) per run ({string.Join(", ", g.Select(r => $"{r.StartupSeconds:F2}/{r.StartupCpuSeconds:F2}"))} s wall/CPU); " +
                            $"median {Median(g.Select(r => r.StartupSeconds)):F2} s wall, {Median(g.Select(r => r.StartupCpuSeconds)):F2} s CPU");
                    // CPU seconds vary much less than wall time on a shared VM: compare variants by these too.
                    if (g.All(r => r.Cpu.Count > 0))
                        Console.WriteLine($"{g.Key}: CPU seconds per run as {string.Join("/", g.First().Cpu.Select(c => c.Process))} ({string.Join(", ", g.Select(r => string.Join("/", r.Cpu.Select(c => c.Seconds.ToString("F2", CultureInfo.InvariantCulture)))))}); {g.First().Cpu[0].Process} median {Median(g.Select(r => r.Cpu[0].Seconds)):F2}, all processes median {Median(g.Select(r => r.Cpu.Sum(c => c.Seconds))):F2}" +
                            (g.All(r => r.MinorFaults >= 0) ? $"; page faults median {Median(g.Select(r => (double)r.MinorFaults)):N0}" : ""));
                }
            foreach (var r in results.Append(baseline).Where(r => r is { Cpu.Count: > 0 }))
                Console.WriteLine($"{r!.Name}: CPU seconds during the run: {string.Join(", ", r.Cpu.Select(c => $"{c.Process} {c.Seconds:F2}"))}; total {r.Cpu.Sum(c => c.Seconds):F2} of {Environment.ProcessorCount * r.Seconds:F2} available ({Environment.ProcessorCount} cores x {r.Seconds:F2} s)" +
                    (r.MinorFaults >= 0 ? $"; {r.MinorFaults:N0} page faults in streamenrich" : ""));
            foreach (var r in results.Where(r => !double.IsNaN(r.AssignedAfterSeconds)))
                Console.WriteLine($"{r.Name}: partitions assigned {r.AssignedAfterSeconds:F2} s after the process started ({(r.Mode.StartsWith("group", StringComparison.Ordinal) ? "start-up + consumer group join" : "start-up")}); " +
                    $"{r.RowsPerSecondAfterAssignment:N0} rows/s from then to the last row queryable");
            if (baseline != null)
                foreach (var r in results)
                {
                    var label = $"{r.Format}, {r.Mode}";
                    Console.WriteLine($"ratio {label} / baseline rows/s, end to end: {r.RowsPerSecond / baseline.RowsPerSecond:F2}x (target >= 1.5x)");
                    // Each run against the baseline run of its own round: the machine's slow and fast spells cancel out.
                    var paired = allRuns.Where(x => x.Name == r.Name)
                        .Select(x => (x, b: baselineRounds.FirstOrDefault(b => b.Round == x.Round && b.ExitCode == 0)))
                        .Where(p => p.b is not null).Select(p => p.x.RowsPerSecond / p.b!.RowsPerSecond).ToList();
                    if (paired.Count > 1)
                        Console.WriteLine($"ratio {label} / baseline of the same round, per round: {string.Join(", ", paired.Select(v => v.ToString("F2", CultureInfo.InvariantCulture)))}; median {Median(paired):F2}x");
                    if (!double.IsNaN(r.AssignedAfterSeconds) && r.Mode.StartsWith("group", StringComparison.Ordinal))
                        Console.WriteLine($"ratio {label} from partition assignment / baseline end to end (kcat -C joins no group): {r.RowsPerSecondAfterAssignment / baseline.RowsPerSecond:F2}x");
                    if (!double.IsNaN(r.SteadySeconds))
                        Console.WriteLine($"ratio {label} steady state / baseline end to end: {r.Rows / r.SteadySeconds / baseline.RowsPerSecond:F2}x");
                }
            foreach (var mode in modes)
                if (results.FirstOrDefault(r => r.Format == "JSON" && r.Mode == mode) is { } j && results.FirstOrDefault(r => r.Format == "Avro" && r.Mode == mode) is { } a)
                    Console.WriteLine($"ratio Avro / JSON rows/s, {mode}, end to end: {a.RowsPerSecond / j.RowsPerSecond:F2}x; payload bytes Avro / JSON: {avroProduced!.Bytes / (double)jsonProduced!.Bytes:F2}");
            Console.WriteLine("Latency = produce time to the first offsets poll that saw the row (every " + pollInterval.TotalMilliseconds.ToString(CultureInfo.InvariantCulture) + " ms; rows are counted every 25 ms); the backlog is produced before StreamEnrich starts, so it includes waiting in the backlog.");
            foreach (var r in results)
            {
                Console.WriteLine($"{r.Name}: RSS over time: {r.RssTrail}");
                Console.WriteLine($"{r.Name}: CPU over time, % of the machine as streamenrich/{string.Join("/", r.Cpu.Skip(1).Select(c => c.Process))}: {r.CpuTrail}");
                Console.WriteLine($"{r.Name}: log (last lines):");
                foreach (var line in File.ReadLines(Path.Combine(dir, r.LogFile)).TakeLast(logLevel == "debug" ? 60 : 12)) Console.WriteLine("  " + line);
            }
            if (outFile != null)
            {
                await File.WriteAllTextAsync(outFile, JsonSerializer.Serialize(new BenchReport(messages, partitions, users, format, chVersion, Environment.ProcessorCount,
                    [.. results.Select(r => new BenchRunReport(r, r.Rows / r.SteadySeconds))],
                    [.. allRuns.Select(r => new BenchRunTime(r.Name, r.Seconds, r.PeakRssBytes, r.CpuSeconds))],
                    baseline), BenchJson.Default.BenchReport)).ConfigureAwait(false);
            }
            return exit == 0 ? 0 : 1;
        }
        finally
        {
            foreach (var c in children)
            {
                try { if (!c.HasExited) c.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                c.Dispose();
            }
            if (registry is not null) await registry.DisposeAsync().ConfigureAwait(false);
            await clickhouse.StopAsync().ConfigureAwait(false);
            if (keep) Console.WriteLine($"bench: kept {dir} (logs of every process; ClickHouse is stopped)");
            else try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>One baseline run: kcat reads the JSON backlog and pipes it into clickhouse-client (JSONEachRow) into a fresh table.</summary>
    private static async Task<Result> RunBaselineAsync(ClickHouseQueries ch, int tcpPort, string brokers, long messages, string kcatConfig, CpuMeter meter, CancellationToken abort)
    {
        await ch.ExecuteAsync("DROP TABLE IF EXISTS bench_raw").ConfigureAwait(false);
        await ch.ExecuteAsync("CREATE TABLE bench_raw (ts String, user_id String, session String, event String, url String, ip String, ua String, price Float64, tags Array(String)) ENGINE = MergeTree ORDER BY tuple()").ConfigureAwait(false);
        await JitQuietAsync(abort).ConfigureAwait(false);
        var b0 = Stopwatch.GetTimestamp();
        // `times` prints the CPU time of the shell's children (kcat and clickhouse-client) on its last line.
        var shell = $"set -o pipefail; kcat -C -b {brokers} -t {Topic} -o beginning -e -q{kcatConfig} | clickhouse-client --host 127.0.0.1 --port {tcpPort.ToString(CultureInfo.InvariantCulture)} --query 'INSERT INTO bench_raw FORMAT JSONEachRow'; rc=$?; times >&2; exit $rc";
        var cpuBefore = meter.Read();
        using var proc = Process.Start(new ProcessStartInfo("bash", ["-c", shell]) { RedirectStandardError = true })!;
        var errTask = proc.StandardError.ReadToEndAsync(abort);
        await proc.WaitForExitAsync(abort).ConfigureAwait(false);
        var err = await errTask.ConfigureAwait(false);
        var seconds = Stopwatch.GetElapsedTime(b0).TotalSeconds;
        var cpu = meter.Since(cpuBefore);
        (err, var clientCpu) = CpuMeter.ParseTimes(err);
        cpu.Insert(0, ("kcat + clickhouse-client", clientCpu));
        var count = long.Parse((await ch.QueryAsync("SELECT count() FROM bench_raw").ConfigureAwait(false)).Trim(), CultureInfo.InvariantCulture);
        if (proc.ExitCode != 0 || count != messages)
            Console.WriteLine($"bench: baseline problem: exit {proc.ExitCode}, {count} rows; {err.Trim()}");
        return new Result($"kcat{kcatConfig} | clickhouse-client JSONEachRow (no enrichment)", count, seconds, 0, double.NaN, double.NaN, proc.ExitCode) { Cpu = cpu };
    }

    /// <summary>schemas/web-event.avsc beside the pipeline's folder (the schema the Avro sample events follow).</summary>
    internal static string WebEventSchemaPath(string avroPipelineFile) =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(avroPipelineFile)!, "..", "schemas", "web-event.avsc"));

    /// <summary>
    /// One StreamEnrich run: a fresh web_events table, `streamenrich run` as a child process, polled until every
    /// expected row is queryable; rows/s, peak RSS, produce-to-queryable latency.
    /// </summary>
    private static async Task<Result> MeasureAsync(string name, string format, string mode, string label, string pipelineFile, Produced produced, int messages, int partitions, string sql,
        ClickHouseQueries ch, Dictionary<string, string> baseEnv, string dir, string logFile, TimeSpan pollInterval, string? logLevel, List<Process> children, CpuMeter meter, CancellationToken abort)
    {
        abort.ThrowIfCancellationRequested();
        // Every run reads the whole backlog: a group of its own (no committed offsets), and the assignment mode.
        var env = new Dictionary<string, string>(baseEnv)
        {
            ["KAFKA_GROUP_ID"] = $"bench-{format.ToLowerInvariant()}-{mode}-{Guid.NewGuid():N}",
            ["KAFKA_ASSIGNMENT"] = mode,
        };
        await ch.ExecuteAsync("DROP TABLE IF EXISTS web_events").ConfigureAwait(false);
        await ch.ExecuteAsync(sql).ConfigureAwait(false);
        var expectedRows = messages - produced.Heartbeats;
        await WarmUpPollingAsync(ch, meter, abort).ConfigureAwait(false);
        var othersBefore = meter.Read();
        var started = Stopwatch.GetTimestamp();
        // When the consumer group handed out the partitions (the "assigned" log line): the broker's join delay is
        // reported apart from the rest, since the baseline (kcat -C) reads without a group.
        long assignedAt = 0;
        // The process's own account of its start-up (the "Runtime, started:" line): wall and CPU seconds from its start
        // until every pipeline was built and running, free of the machine's noise in processing and ClickHouse.
        // (Set on the thread that reads the process's output: one reference, published once.)
        StrongBox<(double Wall, double Cpu)>? startup = null;
        // Messages the run failed (dead-lettered or skipped), from its status lines: every bench event converts, so any
        // is a defect of the build or the pipeline, and the rows it waits for would never all arrive.
        long failedMessages = 0;
        var run = StartSelf(["run", pipelineFile, "--status-interval", "1s", "--log-level", logLevel ?? "info"], env, Path.Combine(dir, logFile),
            line =>
            {
                if (Interlocked.Read(ref assignedAt) == 0 && line.Contains(": assigned ", StringComparison.Ordinal))
                    Interlocked.Exchange(ref assignedAt, Stopwatch.GetTimestamp());
                if (Volatile.Read(ref startup) is null && ParseStartup(line) is { } s) Interlocked.CompareExchange(ref startup, new(s), null);
                if (ParseFailed(line) is > 0 and var failed) Interlocked.Exchange(ref failedMessages, failed);
            });
        children.Add(run);
        // The measured process first; it counts from its own start (0 s of CPU before it).
        var runMeter = meter.With("streamenrich", run.Id);
        double[] cpuBefore = [0, .. othersBefore];
        var visible = new long[partitions];
        Array.Fill(visible, -1);
        var latencies = new List<double>(messages);
        var nextUnseen = new int[partitions];
        long peakRss = 0, rss = 0;
        long count = 0;
        double firstRowAt = double.NaN, seconds = double.NaN;
        var lastOffsetsAt = Stopwatch.GetTimestamp();
        var rssSamples = new List<(double Seconds, long Rss)>();
        // CPU per process over time (half-second steps): shows start-up, stalls and the tail where the machine idles.
        var cpuTrail = new List<string>();
        var stepAt = started;
        var stepBefore = cpuBefore;
        while (count < expectedRows)
        {
            if (run.HasExited)
                throw new CommandFailedException($"streamenrich exited with code {run.ExitCode} before all rows arrived; its log ends:{LogTail(Path.Combine(dir, logFile))}");
            if (Interlocked.Read(ref failedMessages) is > 0 and var failed)
                throw new CommandFailedException($"streamenrich failed {failed} message(s) (dead-lettered or skipped; every bench event should convert), so not all rows can arrive: " +
                    $"a defect of this build or pipeline (the reasons are in the dead-letter topic's headers; --keep keeps the work directory); its log ends:{LogTail(Path.Combine(dir, logFile))}");
            if (Stopwatch.GetElapsedTime(started) > TimeSpan.FromMinutes(20)) throw new CommandFailedException($"only {count} of {expectedRows} rows arrived within 20 minutes; the log of streamenrich ends:{LogTail(Path.Combine(dir, logFile))}");
            (rss, var hwm) = ReadRss(run.Id);
            peakRss = Math.Max(peakRss, Math.Max(rss, hwm));
            rssSamples.Add((Stopwatch.GetElapsedTime(started).TotalSeconds, rss));
            if (Stopwatch.GetElapsedTime(stepAt) >= TimeSpan.FromMilliseconds(500))
            {
                // e.g. "1.5s:62/30/5": each process's share of the machine since the last step
                var now = Stopwatch.GetTimestamp();
                var readings = runMeter.Read();
                var capacity = Stopwatch.GetElapsedTime(stepAt, now).TotalSeconds * Environment.ProcessorCount;
                cpuTrail.Add($"{Stopwatch.GetElapsedTime(started, now).TotalSeconds:F1}s:" +
                    string.Join("/", readings.Select((v, i) => (100 * (v - stepBefore[i]) / capacity).ToString("F0", CultureInfo.InvariantCulture))));
                (stepAt, stepBefore) = (now, readings);
            }
            // The row count comes from the active parts' metadata (no data read, so the measurement costs ClickHouse
            // almost nothing); the per-partition offsets for the latencies are read every poll interval and at the end.
            count = await CountRowsAsync(ch).ConfigureAwait(false);
            if (count > 0 && double.IsNaN(firstRowAt)) firstRowAt = Stopwatch.GetElapsedTime(started).TotalSeconds;
            // The run ends when the last row is queryable: taken before the last offsets read below.
            if (count >= expectedRows) seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            if (count >= expectedRows || Stopwatch.GetElapsedTime(lastOffsetsAt) >= pollInterval)
            {
                lastOffsetsAt = Stopwatch.GetTimestamp();
                var rows = await ch.QueryAsync(OffsetsQuery).ConfigureAwait(false);
                var nowMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                foreach (var line in rows.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    var f = line.Split('\t');
                    visible[int.Parse(f[0], CultureInfo.InvariantCulture)] = long.Parse(f[1], CultureInfo.InvariantCulture);
                }
                for (var p = 0; p < partitions; p++)
                {
                    var list = produced.TimesByPartition[p];
                    while (nextUnseen[p] < list.Count && list[nextUnseen[p]].Offset <= visible[p])
                    {
                        latencies.Add(nowMs - list[nextUnseen[p]].TimestampMs);
                        nextUnseen[p]++;
                    }
                }
            }
            if (count < expectedRows) await Task.Delay(CountInterval, abort).ConfigureAwait(false);
        }
        var cpu = runMeter.Since(cpuBefore);
        var faults = CpuMeter.MinorFaults(run.Id);
        var assignedSeconds = Interlocked.Read(ref assignedAt) is var a and > 0 ? (a - started) / (double)Stopwatch.Frequency : double.NaN;
        (_, var finalHwm) = ReadRss(run.Id);
        peakRss = Math.Max(peakRss, finalHwm);
        var stopping = Stopwatch.GetTimestamp();
        var exit = await StopAsync(run, TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        var stopSeconds = Stopwatch.GetElapsedTime(stopping).TotalSeconds;
        var exact = await ch.QueryAsync("SELECT count(), uniqExact(kafka_partition, kafka_offset) FROM web_events FORMAT TabSeparated").ConfigureAwait(false);
        latencies.Sort();
        Console.WriteLine($"bench: {name} done: {exact.Replace('\t', ' ')} (count, distinct offsets); exit code {exit}, {stopSeconds:F2} s after SIGTERM (drain, commit, close)");
        var rssTrail = string.Join(" ", rssSamples.Where((_, i) => i % Math.Max(1, rssSamples.Count / 12) == 0).Select(s => $"{s.Seconds:F0}s:{s.Rss / 1048576}MB"));
        return new Result(name, expectedRows, seconds, peakRss, Percentile(latencies, 0.5), Percentile(latencies, 0.99), exit)
        {
            Format = format,
            Mode = mode + label,
            // Less than one poll interval between the first and the last row seen means too few rows to tell.
            SteadySeconds = seconds - firstRowAt >= 0.2 ? seconds - firstRowAt : double.NaN,
            AssignedAfterSeconds = assignedSeconds,
            StartupSeconds = Volatile.Read(ref startup)?.Value.Wall ?? double.NaN,
            StartupCpuSeconds = Volatile.Read(ref startup)?.Value.Cpu ?? double.NaN,
            LogFile = logFile,
            RssTrail = rssTrail,
            Cpu = cpu,
            CpuTrail = string.Join(" ", cpuTrail),
            MinorFaults = faults,
        };
    }

    /// <summary>
    /// Waits until this process has stopped compiling (no method JIT-compiled for 300 ms; at most 5 s, or 10 s while
    /// <paramref name="keepBusy"/> runs). Producing the backlog leaves many methods due for their optimised re-compilation;
    /// done on a background thread while the measured process runs, it took about 5% of the machine's CPU from it (perf).
    /// With <paramref name="keepBusy"/>, that work runs every few milliseconds meanwhile, at least <paramref name="minRounds"/>
    /// times, so that what it calls has been re-compiled too (the runtime does that after 30 calls).
    /// </summary>
    private static async Task JitQuietAsync(CancellationToken abort, Func<Task>? keepBusy = null, int minRounds = 0)
    {
        var deadline = Stopwatch.GetTimestamp() + (keepBusy is null ? 5 : 10) * Stopwatch.Frequency;
        var count = System.Runtime.JitInfo.GetCompiledMethodCount();
        var quietSince = Stopwatch.GetTimestamp();
        for (var round = 0; Stopwatch.GetTimestamp() < deadline; round++)
        {
            if (keepBusy is not null) await keepBusy().ConfigureAwait(false);
            await Task.Delay(keepBusy is null ? 50 : 5, abort).ConfigureAwait(false);
            var now = System.Runtime.JitInfo.GetCompiledMethodCount();
            if (now != count) { count = now; quietSince = Stopwatch.GetTimestamp(); }
            else if (round >= minRounds && Stopwatch.GetElapsedTime(quietSince) >= TimeSpan.FromMilliseconds(300)) return;
        }
    }

    /// <summary>
    /// Runs what the measuring loop runs (row count, offsets, RSS and CPU readings) until this process compiles nothing
    /// more. With 3 rounds only, the runtime's re-compilation of that code ran during the measured run: ~70 ms of CPU on
    /// a 0.6 s run at 100k (perf), taken from StreamEnrich but not from the baseline, which the bench only waits for.
    /// </summary>
    private static Task WarmUpPollingAsync(ClickHouseQueries ch, CpuMeter meter, CancellationToken abort)
    {
        var self = meter.With("bench", Environment.ProcessId);
        return JitQuietAsync(abort, async () =>
        {
            _ = await CountRowsAsync(ch).ConfigureAwait(false);
            _ = await ch.QueryAsync(OffsetsQuery).ConfigureAwait(false);
            _ = ReadRss(Environment.ProcessId);
            _ = string.Join("/", self.Read().Select(v => v.ToString("F0", CultureInfo.InvariantCulture)));
        }, minRounds: 60);
    }

    private static async Task<long> CountRowsAsync(ClickHouseQueries ch) =>
        long.Parse((await ch.QueryAsync(CountQuery).ConfigureAwait(false)).Trim() is { Length: > 0 } c ? c : "0", CultureInfo.InvariantCulture);

    /// <summary>Rows in the active parts of web_events: what a SELECT sees, read from the parts' metadata.</summary>
    private const string CountQuery = "SELECT sum(rows) FROM system.parts WHERE database = currentDatabase() AND table = 'web_events' AND active";
    /// <summary>The highest offset queryable per partition (for the latencies).</summary>
    private const string OffsetsQuery = "SELECT kafka_partition, max(kafka_offset) FROM web_events GROUP BY kafka_partition FORMAT TabSeparated";
    /// <summary>How often the row count is checked (the end of a run is known to within this).</summary>
    private static readonly TimeSpan CountInterval = TimeSpan.FromMilliseconds(25);

    private static readonly System.Text.RegularExpressions.Regex StartupLine =
        new(@"Runtime, started: (\d+\.\d+) s since the process started, (\d+\.\d+) s CPU", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    /// <summary>The wall and CPU seconds of a <c>Runtime, started:</c> log line (see RuntimeStats); null for any other line.</summary>
    internal static (double Wall, double Cpu)? ParseStartup(string line)
    {
        if (!line.Contains("Runtime, started: ", StringComparison.Ordinal)) return null;
        var m = StartupLine.Match(line);
        return m.Success
            ? (double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture))
            : null;
    }

    /// <summary>The last lines of a run's log (still open for writing by the run's output readers), one per line, indented.</summary>
    private static string LogTail(string path, int lines = 15)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            var tail = new Queue<string>();
            while (reader.ReadLine() is { } line)
            {
                tail.Enqueue(line.Length > 400 ? line[..400] + "..." : line);
                if (tail.Count > lines) tail.Dequeue();
            }
            return string.Concat(tail.Select(l => Environment.NewLine + "  " + l));
        }
        catch (IOException e)
        {
            return $" (cannot read {path}: {e.Message})";
        }
    }

    /// <summary>The failed count of a pipeline's status line (<c>total N consumed, N inserted, N filtered, N failed;</c>), else null.</summary>
    internal static long? ParseFailed(string line)
    {
        var m = StatusLine.Match(line);
        return m.Success ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : null;
    }

    private static readonly System.Text.RegularExpressions.Regex StatusLine = new(@" consumed, \d+ inserted, \d+ filtered, (\d+) failed;", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    private static string Ms(double ms) => double.IsNaN(ms) ? "-" : ms >= 10_000 ? $"{ms / 1000:F1} s" : $"{ms:F0} ms";

    internal sealed record Result(string Name, long Rows, double Seconds, long PeakRssBytes, double P50Ms, double P99Ms, int ExitCode)
    {
        public double RowsPerSecond => Rows / Seconds;
        /// <summary>From the first row queryable to the last (excludes process start and the consumer group join).</summary>
        public double SteadySeconds { get; init; } = double.NaN;
        /// <summary>From the process start to the consumer group's first assignment (process start-up plus the group join).</summary>
        public double AssignedAfterSeconds { get; init; } = double.NaN;
        /// <summary>From the process start until its pipelines were running (its <c>Runtime, started:</c> log line), and the CPU used by then.</summary>
        public double StartupSeconds { get; init; } = double.NaN;
        public double StartupCpuSeconds { get; init; } = double.NaN;
        /// <summary>Rows per second from the first assignment to the last row queryable.</summary>
        public double RowsPerSecondAfterAssignment => double.IsNaN(AssignedAfterSeconds) ? double.NaN : Rows / (Seconds - AssignedAfterSeconds);
        public string Format { get; init; } = "";
        /// <summary>Which round of runs (one baseline run, then each StreamEnrich run) this run belongs to.</summary>
        public int Round { get; init; }
        /// <summary>group or static (source.assignment).</summary>
        public string Mode { get; init; } = "";
        [System.Text.Json.Serialization.JsonIgnore] public string LogFile { get; init; } = "";
        [System.Text.Json.Serialization.JsonIgnore] public string RssTrail { get; init; } = "";
        [System.Text.Json.Serialization.JsonIgnore] public string CpuTrail { get; init; } = "";
        /// <summary>CPU seconds (user + system) per process during the run.</summary>
        [System.Text.Json.Serialization.JsonIgnore] public List<(string Process, double Seconds)> Cpu { get; init; } = [];
        /// <summary>Minor page faults of the StreamEnrich process from its start to the last row (-1: unknown, e.g. the baseline).</summary>
        public long MinorFaults { get; init; } = -1;
        [System.Text.Json.Serialization.JsonPropertyName("cpuSeconds")]
        public Dictionary<string, double> CpuSeconds => Cpu.ToDictionary(c => c.Process, c => Math.Round(c.Seconds, 2));
    }

    private sealed record Produced(TimeSpan Elapsed, long Bytes, int Heartbeats, List<(long Offset, long TimestampMs)>[] TimesByPartition);

    private static async Task<Produced> ProduceAsync(string brokers, string topic, int messages, int partitions, Func<SampleEvents, long, byte[]> next)
    {
        var times = Enumerable.Range(0, partitions).Select(_ => new List<(long, long)>(messages / partitions + 16)).ToArray();
        // Partition by partition, so each partition's log is a few large record batches, as a busy producer writes them.
        // Round-robin over the partitions made batches of a few dozen messages; librdkafka's mock answers a fetch with
        // ONE record batch per partition (a real broker fills max.partition.fetch.bytes) and finds it by a linear scan,
        // so small batches cost every consumer many round trips and the broker quadratic CPU (18 CPU s at 5M, for the
        // baseline as much as for StreamEnrich).
        var config = new ProducerConfig { BootstrapServers = brokers, LingerMs = 50, BatchNumMessages = 10_000, BatchSize = 1_000_000, QueueBufferingMaxMessages = 500_000, Acks = Acks.Leader };
        using var producer = new ProducerBuilder<byte[]?, byte[]>(config).Build();
        // The topic's leaders first: messages produced before librdkafka knows them went out in batches of one (67 of
        // them at the head of partition 0), each a fetch round trip of its own for the consumers.
        using (var admin = new DependentAdminClientBuilder(producer.Handle).Build())
            admin.GetMetadata(topic, TimeSpan.FromSeconds(30));
        var gen = new SampleEvents(seed: 42, users: 100_000);
        var sw = Stopwatch.StartNew();
        long bytes = 0;
        var heartbeats = 0;
        var failures = 0;
        var gate = new object();
        for (var partition = 0; partition < partitions; partition++)
        for (long i = partition; i < messages; i += partitions)
        {
            var value = next(gen, i);
            bytes += value.Length;
            if (gen.LastWasHeartbeat) heartbeats++;
            var msg = new Message<byte[]?, byte[]> { Value = value };
            var producedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            while (true)
            {
                try
                {
                    producer.Produce(new TopicPartition(topic, partition), msg, r =>
                    {
                        lock (gate)
                        {
                            if (r.Error.IsError) failures++;
                            else times[r.Partition.Value].Add((r.Offset.Value, producedAt));
                        }
                    });
                    break;
                }
                catch (ProduceException<byte[]?, byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
                {
                    producer.Poll(TimeSpan.FromMilliseconds(50));
                }
            }
        }
        await Task.Run(() => producer.Flush(TimeSpan.FromMinutes(5))).ConfigureAwait(false);
        if (failures > 0) throw new InvalidOperationException($"{failures} messages could not be produced to the embedded broker");
        foreach (var t in times) t.Sort();
        return new Produced(sw.Elapsed, bytes, heartbeats, times);
    }

    private static (long Rss, long Hwm) ReadRss(int pid)
    {
        try
        {
            long rss = 0, hwm = 0;
            foreach (var line in File.ReadLines($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = ParseKb(line);
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) hwm = ParseKb(line);
            }
            return (rss, hwm);
        }
        catch (IOException)
        {
            return (0, 0);
        }
        static long ParseKb(string line) => long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }

    private static double Median(IEnumerable<double> values)
    {
        var v = values.Order().ToArray();
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }

    /// <summary>--kcat-config K=V[,K=V] as kcat arguments (" -X K=V ..."; empty when not given). Names and values are
    /// limited to the characters librdkafka properties use, since they go into a shell command.</summary>
    internal static string KcatOptions(string? text)
    {
        var pairs = ParsePairs(text, "--kcat-config");
        if (pairs is null) return "";
        var sb = new StringBuilder();
        foreach (var (k, v) in pairs)
        {
            if (!k.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_') || !v.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or ':'))
                throw new UsageException($"--kcat-config takes librdkafka properties as NAME=VALUE (letters, digits, '.', '_', '-', ':'), got '{k}={v}'");
            sb.Append(" -X ").Append(k).Append('=').Append(v);
        }
        return sb.ToString();
    }

    /// <summary>--variant K=V[,K=V]: environment variables for the variant run; null when not given.</summary>
    internal static Dictionary<string, string>? ParseVariant(string? text) => ParsePairs(text, "--variant");

    /// <summary>NAME=VALUE pairs separated by commas (the value of <paramref name="option"/>); null when not given.</summary>
    private static Dictionary<string, string>? ParsePairs(string? text, string option)
    {
        if (text is null) return null;
        var env = new Dictionary<string, string>();
        foreach (var pair in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = pair.IndexOf('=');
            if (eq <= 0) throw new UsageException($"{option} takes NAME=VALUE pairs separated by commas, got '{pair}'");
            env[pair[..eq]] = pair[(eq + 1)..];
        }
        if (env.Count == 0) throw new UsageException($"{option} needs at least one NAME=VALUE pair");
        return env;
    }

    /// <summary>The StreamEnrich runs of one round: the pipeline as is, then the variant (if any).</summary>
    private static IEnumerable<(Dictionary<string, string>? Extra, string Label)> Variants(Dictionary<string, string>? variant)
    {
        yield return (null, "");
        if (variant != null) yield return (variant, " + " + string.Join(",", variant.Select(kv => $"{kv.Key}={kv.Value}")));
    }

    private static Dictionary<string, string> Merge(Dictionary<string, string> env, Dictionary<string, string>? extra)
    {
        if (extra is null) return env;
        var merged = new Dictionary<string, string>(env);
        foreach (var (k, v) in extra) merged[k] = v;
        return merged;
    }

    private static string LogSuffix(string label) => label.Length == 0 ? "" : "-variant";

    private static double Percentile(List<double> sorted, double q) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(q * sorted.Count) - 1)];

    /// <summary>
    /// Runtime settings the container image sets (its <c>ENV</c> lines in the Dockerfile; a test keeps the two in step):
    /// the StreamEnrich runs get them too, unless the bench's own environment sets the variable.
    /// </summary>
    internal static readonly IReadOnlyList<KeyValuePair<string, string>> ImageRuntimeSettings =
    [
        // none today: the image's build is compiled ahead of time, so the JIT settings it had (DOTNET_TC_CallCountThreshold) no longer apply
    ];

    /// <summary>Set to 0 for the bench process by scripts/bench.sh; not passed on to the processes it starts.</summary>
    internal const string BenchTieredCompilationVariable = "DOTNET_TieredCompilation";

    /// <summary>In a --variant, runs that build of StreamEnrich (a streamenrich.dll) instead of this one.</summary>
    internal const string OtherBuildVariable = "STREAMENRICH_BENCH_BUILD";

    /// <summary>Starts this same program with other arguments (works both as `dotnet streamenrich.dll` and as the apphost).</summary>
    internal static Process StartSelf(IEnumerable<string> args, Dictionary<string, string> env, string logFile, Action<string>? onLine = null)
    {
        var self = Environment.ProcessPath!;
        var psi = new ProcessStartInfo(self) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Environment.CurrentDirectory };
        if (env.TryGetValue(OtherBuildVariable, out var otherBuild))
        {
            // A/B between two builds: --variant STREAMENRICH_BENCH_BUILD=/path/to/other/streamenrich.dll
            // (a streamenrich.dll, run with `dotnet`, or an executable such as a self-contained build's apphost).
            if (!File.Exists(otherBuild)) throw new UsageException($"{OtherBuildVariable}: no such file {otherBuild}");
            if (otherBuild.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
            {
                psi.FileName = "dotnet";
                psi.ArgumentList.Add(otherBuild);
            }
            else psi.FileName = otherBuild;
        }
        else if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "streamenrich.dll")); // the JIT build, run as `dotnet streamenrich.dll`
        }
        foreach (var a in args) psi.ArgumentList.Add(a);
        // scripts/bench.sh turns tiered compilation off for the bench process itself (see there); the processes it starts
        // run as they would anywhere, unless a --variant sets it.
        psi.Environment.Remove(BenchTieredCompilationVariable);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        var p = Process.Start(psi)!;
        var log = new StreamWriter(logFile) { AutoFlush = true };
        var sync = new object();
        p.OutputDataReceived += (_, e) => { if (e.Data != null) { onLine?.Invoke(e.Data); lock (sync) log.WriteLine(e.Data); } };
        p.ErrorDataReceived += (_, e) => { if (e.Data != null) { onLine?.Invoke(e.Data); lock (sync) log.WriteLine(e.Data); } };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        p.Exited += (_, _) => { lock (sync) log.Dispose(); };
        p.EnableRaisingEvents = true;
        return p;
    }

    private static async Task<string> WaitForFileAsync(string path, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            if (File.Exists(path))
            {
                var text = (await File.ReadAllTextAsync(path).ConfigureAwait(false)).Trim();
                if (text.Length > 0) return text;
            }
            await Task.Delay(50).ConfigureAwait(false);
        }
        throw new TimeoutException($"the embedded broker did not start within {timeout.TotalSeconds} s");
    }

    /// <summary>SIGTERM, then wait for the graceful drain; kill if it overruns.</summary>
    private static async Task<int> StopAsync(Process p, TimeSpan timeout)
    {
        _ = Kill(p.Id, 15);
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await p.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            return -1;
        }
        return p.ExitCode;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}

/// <summary>CPU time (user + system) of processes, from /proc/PID/stat (Linux).</summary>
internal sealed class CpuMeter(params (string Name, int Pid)[] processes)
{
    public double[] Read() => processes.Select(p => Seconds(p.Pid)).ToArray();

    /// <summary>The same processes with <paramref name="name"/> in front.</summary>
    public CpuMeter With(string name, int pid) => new([(name, pid), .. processes]);

    /// <summary>CPU seconds each process used since <paramref name="before"/>.</summary>
    public List<(string Process, double Seconds)> Since(double[] before) =>
        processes.Select((p, i) => (p.Name, Seconds(p.Pid) - before[i])).ToList();

    /// <summary>utime + stime of the process (0 when it is gone or the platform has no /proc).</summary>
    public static double Seconds(int pid) =>
        StatFields(pid) is { } f ? (long.Parse(f[11], CultureInfo.InvariantCulture) + long.Parse(f[12], CultureInfo.InvariantCulture)) / (double)ClockTicks : 0;

    /// <summary>
    /// Minor page faults of the process so far (-1 when unknown): each is a page the kernel had to map and clear, which
    /// perf showed costing a sixth of StreamEnrich's CPU when buffers are allocated fresh rather than reused.
    /// </summary>
    public static long MinorFaults(int pid) => StatFields(pid) is { } f ? long.Parse(f[7], CultureInfo.InvariantCulture) : -1;

    /// <summary>The fields of /proc/PID/stat after the command name (so [0] is field 3, the state); null when unreadable.</summary>
    private static string[]? StatFields(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            // The command name (field 2) may hold spaces; the fields after its closing parenthesis are fixed.
            var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return f.Length > 12 ? f : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Splits bash's `times` output (its last two lines) off <paramref name="stderr"/>; returns the rest and the children's CPU seconds.</summary>
    public static (string Remaining, double ChildSeconds) ParseTimes(string stderr)
    {
        var lines = stderr.TrimEnd().Split('\n');
        if (lines.Length < 2) return (stderr, double.NaN);
        var children = lines[^1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (children.Length != 2 || !TryDuration(children[0], out var user) || !TryDuration(children[1], out var sys)) return (stderr, double.NaN);
        return (string.Join('\n', lines[..^2]), user + sys);

        static bool TryDuration(string s, out double seconds)
        {
            // e.g. 0m1.234s
            seconds = 0;
            var m = s.IndexOf('m');
            return m > 0 && s.EndsWith('s') && int.TryParse(s[..m], CultureInfo.InvariantCulture, out var min)
                && double.TryParse(s[(m + 1)..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var sec)
                && (seconds = min * 60 + sec) >= 0;
        }
    }

    // sysconf(_SC_CLK_TCK) is 100 on every Linux architecture .NET runs on.
    private const int ClockTicks = 100;
}

/// <summary>What <c>bench --out FILE</c> writes.</summary>
internal sealed record BenchReport(int Messages, int Partitions, int Users, string Format, string Clickhouse, int Cores,
    List<BenchRunReport> Runs, List<BenchRunTime> AllRuns, BenchCommand.Result? Baseline);

internal sealed record BenchRunReport(BenchCommand.Result Result, double SteadyRowsPerSecond);

internal sealed record BenchRunTime(string Name, double Seconds, long PeakRssBytes, Dictionary<string, double> CpuSeconds);

/// <summary>The bench report's JSON, generated at build time (see <see cref="StreamEnrichJson"/>); NaN (a value not measured) is written as "NaN".</summary>
[System.Text.Json.Serialization.JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase,
    NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[System.Text.Json.Serialization.JsonSerializable(typeof(BenchReport))]
internal sealed partial class BenchJson : System.Text.Json.Serialization.JsonSerializerContext;

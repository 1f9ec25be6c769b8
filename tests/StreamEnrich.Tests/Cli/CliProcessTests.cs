using System.Diagnostics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using StreamEnrich.Tests.Fixtures;

namespace StreamEnrich.Tests.Cli;

/// <summary>
/// The `streamenrich` program as a user runs it: a separate process, real signals, real exit codes.
/// </summary>
[Collection("Integration")]
public sealed class CliProcessTests(ClickHouseServerFixture clickhouse, KafkaFixture kafka)
{
    /// <summary>
    /// The program in its own build output (same configuration as these tests), with its own dependencies; or the
    /// executable named by <c>STREAMENRICH_CLI</c> (scripts/test.sh runs these tests again against the image's native
    /// AOT build, where reflection that the JIT build allows can fail).
    /// </summary>
    private static readonly string Program = FindProgram();

    public const string ProgramVariable = "STREAMENRICH_CLI";

    private static string FindProgram()
    {
        if (Environment.GetEnvironmentVariable(ProgramVariable) is { Length: > 0 } given)
            return File.Exists(given) ? Path.GetFullPath(given) : throw new FileNotFoundException($"{ProgramVariable}: no such file {given}");
        var testBin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)); // .../bin/<Configuration>/net10.0
        var configuration = testBin.Parent!.Name;
        for (var dir = testBin; dir != null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "src", "StreamEnrich", "bin", configuration, testBin.Name, "streamenrich.dll");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException($"streamenrich.dll ({configuration}) not found above {testBin.FullName}; build the solution first.");
    }

    /// <summary>Starts the program; its output is collected by events (no reads pending on the test's context).</summary>
    private static Process Start(string directory, StringBuilder stdout, StringBuilder stderr, params string[] args)
    {
        var isDll = Program.EndsWith(".dll", StringComparison.Ordinal);
        var psi = new ProcessStartInfo(isDll ? "dotnet" : Program) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        if (isDll) psi.ArgumentList.Add(Program);
        foreach (var a in args) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, e) => { if (e.Data != null) lock (stdout) stdout.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (stderr) stderr.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    private static async Task<(int Exit, string Out, string Err)> RunToEndAsync(string directory, params string[] args)
    {
        StringBuilder stdout = new(), stderr = new();
        using var p = Start(directory, stdout, stderr, args);
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (p.ExitCode, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Runs <paramref name="test"/> with a fresh temporary folder, deleted afterwards.</summary>
    private static async Task InTempDirAsync(Func<string, Task> test)
    {
        var dir = Directory.CreateTempSubdirectory("se-cli-").FullName;
        try
        {
            await test(dir);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    /// <summary>Produces <c>{"id": first}</c> .. <c>{"id": first + count - 1}</c> over the topic's 2 partitions.</summary>
    private void ProduceIds(string topic, int count, int first = 0) =>
        kafka.Produce(topic, 2, count, i => new Message<byte[]?, byte[]?> { Value = Encoding.UTF8.GetBytes($"{{\"id\":{first + i}}}") });

    [Fact]
    public async Task Run_Sigterm_DrainsCommitsAndExitsZero()
    {
        var topic = kafka.CreateTopic(2, "sigterm");
        var table = await clickhouse.CreateUniqueTableAsync("id UInt32, kafka_partition UInt16, kafka_offset UInt64", "MergeTree ORDER BY id");
        const int n = 5000;
        ProduceIds(topic, n);
        var group = KafkaFixture.UniqueName("g");
        await InTempDirAsync(async dir =>
        {
            await File.WriteAllTextAsync(Path.Combine(dir, "p.yaml"), $$"""
                source: { brokers: "{{kafka.BootstrapServers}}", topic: {{topic}}, group_id: {{group}} }
                sink: { url: "{{clickhouse.Url}}", table: {{table}}, columns: { kafka_partition: _partition, kafka_offset: _offset } }
                batch: { max_wait: 5s }
                on_error: fail
                """);
            StringBuilder stdout = new(), stderr = new();
            using var p = Start(dir, stdout, stderr, "run", "p.yaml", "--status-interval", "1s");
            // Rows arrive; then, with a batch still filling (max_wait 5 s), SIGTERM must flush it, commit, and exit 0.
            await WaitForRowsAsync(clickhouse, table, 1, p, stderr);
            ProduceIds(topic, 100, first: n);
            await Task.Delay(1000);
            var sent = Kill(p.Id, 15);
            Assert.True(sent == 0, $"kill({p.Id}, SIGTERM) failed: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
            await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));

            Assert.True(p.ExitCode == 0, $"exit code {p.ExitCode}; stderr: {stderr}");
            Assert.Contains("draining", stderr.ToString(), StringComparison.Ordinal);
            // What the runtime spent, at the start and at the end (start-up cost and GC, without a profiler).
            var output = stdout.ToString() + stderr;
            Assert.Matches(@"Runtime, started: \d+\.\d\d s since the process started, \d+\.\d\d s CPU; JIT \d+ methods in \d+ ms; GC \d+/\d+/\d+", output);
            Assert.Matches(@"Runtime, stopping: \d+\.\d\d s since the process started", output);
            Assert.Equal(n + 100, long.Parse((await clickhouse.QueryAsync($"SELECT uniqExact(kafka_partition, kafka_offset) FROM default.{table}")).Trim(), CultureInfo.InvariantCulture));
            Assert.Equal(kafka.EndOffsets(topic, 2), kafka.Committed(topic, 2, group));
        });
    }

    [Fact]
    public async Task Run_SigtermWhileClickHouseDownThenBack_DrainsWithoutSleepingOutTheBackoffAndExitsZero()
    {
        await using var dedicated = await ClickHouseServerFixture.StartDedicatedAsync();
        var topic = kafka.CreateTopic(2, "sigterm-down");
        var table = await dedicated.CreateUniqueTableAsync("id UInt32, kafka_partition UInt16, kafka_offset UInt64", "MergeTree ORDER BY id");
        const int n = 1000;
        ProduceIds(topic, n);
        var group = KafkaFixture.UniqueName("g");
        await InTempDirAsync(async dir =>
        {
            // A retry backoff of up to an hour stands for one grown during a long outage (30 s by default, as long as
            // the default shutdown timeout).
            await File.WriteAllTextAsync(Path.Combine(dir, "p.yaml"), $$"""
                source: { brokers: "{{kafka.BootstrapServers}}", topic: {{topic}}, group_id: {{group}} }
                sink: { url: "{{dedicated.Url}}", table: {{table}}, columns: { kafka_partition: _partition, kafka_offset: _offset }, retry_backoff: 1h, retry_max_backoff: 1h }
                batch: { max_wait: 200ms }
                on_error: fail
                """);
            StringBuilder stdout = new(), stderr = new();
            using var p = Start(dir, stdout, stderr, "run", "p.yaml", "--shutdown-timeout", "60s");
            await WaitForRowsAsync(dedicated, table, n, p, stderr);

            await dedicated.StopAsync();
            ProduceIds(topic, 100, first: n);
            var sw = Stopwatch.StartNew();
            while (!Logged(stdout, "Retrying in") && sw.Elapsed < TimeSpan.FromSeconds(30)) await Task.Delay(50);
            Assert.True(Logged(stdout, "Retrying in"), "the insert did not fail while ClickHouse was down: " + stdout);

            Assert.True(Kill(p.Id, 15) == 0, "kill(SIGTERM) failed");
            await dedicated.StartAsync();
            sw.Restart();
            await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(70));

            // Back right after the signal: the drain retries within a second or so and ends well before the 60 s timeout
            // (sleeping out the backoff, it would have been aborted with exit 3 and nothing committed past the batch).
            Assert.True(p.ExitCode == 0, $"exit code {p.ExitCode}; stderr: {stderr}");
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20), $"the drain took {sw.Elapsed.TotalSeconds:0.0} s after ClickHouse was back");
            Assert.True(Logged(stdout, "(shutting down: retried at least every second"), "no retry was logged as shutting down: " + stdout);
            Assert.Equal(n + 100, long.Parse((await dedicated.QueryAsync($"SELECT uniqExact(kafka_partition, kafka_offset) FROM default.{table}")).Trim(), CultureInfo.InvariantCulture));
            Assert.Equal(kafka.EndOffsets(topic, 2), kafka.Committed(topic, 2, group));
        });
    }

    /// <summary>Waits (up to 60 s) until the table holds <paramref name="atLeast"/> rows; fails if the program exits first.</summary>
    private static async Task WaitForRowsAsync(ClickHouseServerFixture server, string table, long atLeast, Process program, StringBuilder stderr)
    {
        var sw = Stopwatch.StartNew();
        while (long.Parse((await server.QueryAsync($"SELECT count() FROM default.{table}")).Trim(), CultureInfo.InvariantCulture) < atLeast
               && sw.Elapsed < TimeSpan.FromSeconds(60) && !program.HasExited)
            await Task.Delay(100);
        Assert.False(program.HasExited, $"streamenrich exited before {atLeast} row(s) arrived: " + stderr);
    }

    private static bool Logged(StringBuilder output, string text)
    {
        lock (output) return output.ToString().Contains(text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_BrokenPipeline_ExitsOneWithEveryErrorAndItsPosition()
    {
        await InTempDirAsync(async dir =>
        {
            await File.WriteAllTextAsync(Path.Combine(dir, "bad.yaml"), """
                source:
                  brokers: localhost:9092
                  topic: t
                stages:
                  - type: filter
                    where: "a == (1"
                sink:
                  url: http://localhost:8123
                  table: t
                  max_retry: 3
                on_error: skip
                """);
            var (exit, _, err) = await RunToEndAsync(dir, "validate", "bad.yaml");

            Assert.Equal(1, exit);
            Assert.Contains("bad.yaml:10:3: error: unknown key 'max_retry'", err, StringComparison.Ordinal);
            Assert.Contains("max_retries", err, StringComparison.Ordinal); // the did-you-mean hint
            Assert.Contains("bad.yaml:6:", err, StringComparison.Ordinal); // the predicate error, at the filter's where
        });
    }

    [Fact]
    public async Task DryRun_JsonSchemaWithARefToAnotherFile_PrintsTheRowAndEachViolation()
    {
        // NJsonSchema reads the schema files and fills its model through Newtonsoft.Json, both by reflection: the case
        // that needs the image's AOT build to keep those types (Image.roots.xml). Exercises the dead-letter JSON too.
        await InTempDirAsync(async dir =>
        {
            await File.WriteAllTextAsync(Path.Combine(dir, "defs.json"),
                """{"definitions": {"name": {"type": "string", "maxLength": 5, "pattern": "^[a-z]+$"}, "kind": {"enum": ["a", "b"]}}}""");
            await File.WriteAllTextAsync(Path.Combine(dir, "event.schema.json"), """
                {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "required": ["id", "name"],
                 "properties": {"id": {"type": "integer", "minimum": 1}, "name": {"$ref": "defs.json#/definitions/name"},
                  "kind": {"$ref": "defs.json#/definitions/kind"}, "mail": {"type": "string", "format": "email"},
                  "tags": {"type": "array", "items": {"type": "string"}}}}
                """);
            await File.WriteAllTextAsync(Path.Combine(dir, "p.yaml"), """
                name: js
                source: { brokers: localhost:9092, topic: js }
                format: { type: json }
                stages:
                  - type: json_schema
                    file: event.schema.json
                sink:
                  url: http://localhost:1
                  table: t
                  schema: { id: UInt64, name: String, kind: String }
                dead_letter: { file: dlq.jsonl }
                """);
            await File.WriteAllTextAsync(Path.Combine(dir, "in.jsonl"), """
                {"id": 1, "name": "ab", "kind": "a", "mail": "x@example.com", "tags": ["q"]}
                {"id": 0, "name": "AB", "kind": "c", "mail": "nope", "tags": [1]}
                {"name": "ab"}
                """);

            var (exit, stdout, err) = await RunToEndAsync(dir, "dry-run", "p.yaml", "--input", "in.jsonl");

            Assert.True(exit == 0, err);
            Assert.Equal("""{"id":1,"name":"ab","kind":"a"}""", stdout.Trim());
            Assert.Contains("""{"dead_letter":{"message":2,"stage":"json_schema#1","reason":"json_schema: #/id: NumberTooSmall; #/name: PatternMismatch; #/kind: NotInEnumeration; #/mail: EmailExpected; #/tags[0]: ArrayItemNotValid (StringExpected)"}}""", err, StringComparison.Ordinal);
            Assert.Contains("""{"dead_letter":{"message":3,"stage":"json_schema#1","reason":"json_schema: #/id: PropertyRequired"}}""", err, StringComparison.Ordinal);
            Assert.Contains("3 message(s): 1 row(s) would be inserted, 0 filtered out, 2 dead-lettered.", err, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task KafkaPropertyLibrdkafkaRejects_ValidateAndRunExitOneAtItsPosition()
    {
        // A typo in a librdkafka property used to pass validate and crash run with an unhandled exception (exit 134).
        await InTempDirAsync(async dir =>
        {
            await File.WriteAllTextAsync(Path.Combine(dir, "p.yaml"), """
                source:
                  brokers: localhost:9092
                  topic: t
                  properties: { fetch.wait.max.mss: "100" }
                sink: { url: "http://localhost:8123", table: t }
                on_error: dead_letter
                dead_letter:
                  topic: t-dlq
                  properties: { acks: banana }
                """);
            foreach (var command in new[] { "validate", "run" })
            {
                var (exit, _, err) = await RunToEndAsync(dir, command, "p.yaml");
                Assert.True(exit == 1, $"{command}: exit {exit}; stderr: {err}");
                Assert.Contains("p.yaml:4:17: error: source.properties: librdkafka ", err, StringComparison.Ordinal);
                Assert.Contains("rejects fetch.wait.max.mss=100: No such configuration property: \"fetch.wait.max.mss\"", err, StringComparison.Ordinal);
                Assert.Contains("p.yaml:9:17: error: dead_letter.properties: librdkafka ", err, StringComparison.Ordinal);
                Assert.Contains("rejects acks=banana: Invalid value", err, StringComparison.Ordinal);
                Assert.DoesNotContain("Unhandled exception", err, StringComparison.Ordinal);
            }
        });
    }

    [Fact]
    public async Task Run_DeadLetterProducerCannotBeCreated_ExitsOneNamingTheSection()
    {
        // Each property is valid on its own, so validate accepts them; librdkafka refuses the combination when the
        // producer is created (the dead-letter producer is idempotent by default, which needs acks=all).
        var table = await clickhouse.CreateUniqueTableAsync("id UInt32", "MergeTree ORDER BY id");
        await InTempDirAsync(async dir =>
        {
            await File.WriteAllTextAsync(Path.Combine(dir, "p.yaml"), $$"""
                source: { brokers: "{{kafka.BootstrapServers}}", topic: {{kafka.CreateTopic(1, "dlqfail")}}, group_id: {{KafkaFixture.UniqueName("g")}} }
                sink: { url: "{{clickhouse.Url}}", table: {{table}} }
                on_error: dead_letter
                dead_letter: { topic: dlq, properties: { acks: "1" } }
                """);
            var (exit, _, err) = await RunToEndAsync(dir, "run", "p.yaml");
            Assert.True(exit == 1, $"exit {exit}; stderr: {err}");
            Assert.Contains("p.yaml:4:1: error: the dead-letter sink cannot be created: ", err, StringComparison.Ordinal);
            Assert.Contains("acks", err, StringComparison.Ordinal); // librdkafka's reason
            Assert.Contains("1 error(s); nothing was started", err, StringComparison.Ordinal);
            Assert.DoesNotContain("Unhandled exception", err, StringComparison.Ordinal);

            // With the table missing too, both problems are reported at once.
            var yaml = await File.ReadAllTextAsync(Path.Combine(dir, "p.yaml"));
            await File.WriteAllTextAsync(Path.Combine(dir, "p.yaml"), yaml.Replace($"table: {table}", "table: no_such_table_here", StringComparison.Ordinal));
            (exit, _, err) = await RunToEndAsync(dir, "run", "p.yaml");
            Assert.True(exit == 1, $"exit {exit}; stderr: {err}");
            Assert.Contains("p.yaml:2:", err, StringComparison.Ordinal); // the sink's table
            Assert.Contains("no_such_table_here", err, StringComparison.Ordinal);
            Assert.Contains("p.yaml:4:1: error: the dead-letter sink cannot be created: ", err, StringComparison.Ordinal);
            Assert.Contains("2 error(s); nothing was started", err, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task UnknownOption_ExitsTwoWithUsage()
    {
        var (exit, _, err) = await RunToEndAsync(AppContext.BaseDirectory, "validate", "--no-such-option", "x", "some.yaml");
        Assert.Equal(2, exit);
        Assert.Contains("unknown option", err, StringComparison.Ordinal);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}

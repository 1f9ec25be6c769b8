using System.Diagnostics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using StreamEnrich.Configuration;
using StreamEnrich.Pipeline;

namespace StreamEnrich.Cli;

/// <summary>
/// The demo: starts a private ClickHouse server and an embedded Kafka broker, produces sample web events (plus two
/// broken ones), runs pipelines/web-events.yaml until every event is accounted for, and prints what arrived.
/// Everything lives in a temp folder and is removed afterwards, so it can run any number of times.
/// </summary>
internal static class DemoCommand
{
    public static async Task<int> RunAsync(CommandLine cmd, ShutdownSignals signals)
    {
        var events = (int)cmd.LongOption("events", 20_000);
        var pipelineFile = cmd.Option("pipeline") ?? Path.Combine("pipelines", "web-events.yaml");
        var keep = cmd.Flag("keep");
        cmd.EnsureAllUsed();
        if (!File.Exists(pipelineFile))
            throw new UsageException($"{pipelineFile} not found; run the demo from the repository root or pass --pipeline");

        using var loggers = Program.CreateLoggers("warning");
        var dir = Path.Combine(Path.GetTempPath(), "streamenrich-demo-" + Guid.NewGuid().ToString("N")[..8]);
        Console.WriteLine($"Starting ClickHouse (private server in {dir}) and an embedded Kafka broker...");
        using var clickhouse = Adapters.CreateLocalClickHouse(Path.Combine(dir, "clickhouse"));
        try
        {
            await clickhouse.StartAsync(ct: signals.Abort).ConfigureAwait(false);
            using var kafka = Adapters.StartMockCluster(1);
            kafka.CreateTopic("web-events", 4);
            kafka.CreateTopic("web-events-dlq", 1);
            var url = clickhouse.Url.ToString().TrimEnd('/');
            Environment.SetEnvironmentVariable("KAFKA_BROKERS", kafka.BootstrapServers);
            Environment.SetEnvironmentVariable("CLICKHOUSE_URL", url);
            var ch = new ClickHouseQueries(url);
            await ch.ExecuteAsync(await File.ReadAllTextAsync(Path.Combine("schemas", "web_events.sql")).ConfigureAwait(false)).ConfigureAwait(false);
            Console.WriteLine($"ClickHouse {await ch.QueryAsync("SELECT version()").ConfigureAwait(false)} at {url}; Kafka at {kafka.BootstrapServers}");

            var heartbeats = await ProduceAsync(kafka.BootstrapServers, events).ConfigureAwait(false);
            Console.WriteLine($"Produced {events} sample events ({heartbeats} heartbeats, to be filtered) and 2 broken ones to topic web-events.");

            var registry = StageRegistry.CreateDefault();
            var load = PipelineLoader.Load(pipelineFile, registry);
            if (!load.Success)
            {
                foreach (var e in load.Errors) Console.Error.WriteLine(e);
                return 1;
            }
            var host = new PipelineHost(new PipelineBuilder(registry, loggers, TimeProvider.System), loggers, TimeProvider.System, TimeSpan.Zero);
            var runner = await host.BuildAsync(load.Pipelines[0], [], signals.Abort).ConfigureAwait(false);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(signals.Stop);
            var sw = Stopwatch.StartNew();
            var run = runner.RunAsync(stop.Token, signals.Abort);
            var total = events + 2;
            while (!run.IsCompleted)
            {
                var m = runner.Metrics.Take();
                if (m.Inserted + m.Filtered + m.DeadLettered + m.Skipped >= total) break;
                if (sw.Elapsed > TimeSpan.FromMinutes(5)) throw new TimeoutException($"the demo pipeline did not finish within 5 minutes ({m.Inserted} inserted of {total})");
                await Task.Delay(100).ConfigureAwait(false);
            }
            await stop.CancelAsync().ConfigureAwait(false);
            await run.ConfigureAwait(false);
            var final = runner.Metrics.Take();
            Console.WriteLine($"Pipeline web-events: {final.Consumed} consumed, {final.Inserted} inserted, {final.Filtered} filtered, {final.DeadLettered} dead-lettered in {sw.Elapsed.TotalSeconds:F1} s.");

            var count = await ch.QueryAsync("SELECT count() FROM web_events").ConfigureAwait(false);
            Console.WriteLine();
            Console.WriteLine($"Rows in ClickHouse table web_events: {count}");
            Console.WriteLine(await ch.QueryAsync("SELECT event_time, user_id, event_type, price, country, plan, tags FROM web_events ORDER BY event_time LIMIT 5 FORMAT PrettyCompactNoEscapes").ConfigureAwait(false));
            Console.WriteLine(await ch.QueryAsync("SELECT country, count() AS events, sum(price) AS revenue FROM web_events GROUP BY country ORDER BY events DESC LIMIT 5 FORMAT PrettyCompactNoEscapes").ConfigureAwait(false));
            Console.WriteLine("Dead-letter topic web-events-dlq (original message + reason headers):");
            foreach (var line in ReadDeadLetters(kafka.BootstrapServers, (int)final.DeadLettered)) Console.WriteLine("  " + line);
            return count.Trim() == (events - heartbeats).ToString(CultureInfo.InvariantCulture) ? 0 : 1;
        }
        finally
        {
            await clickhouse.StopAsync().ConfigureAwait(false);
            if (!keep)
            {
                try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            }
            else Console.WriteLine($"Kept {dir}");
        }
    }

    private static async Task<int> ProduceAsync(string brokers, int events)
    {
        using var producer = new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig { BootstrapServers = brokers, LingerMs = 5, Acks = Acks.All }).Build();
        var gen = new SampleEvents(seed: 42, users: 1000);
        var heartbeats = 0;
        for (long i = 0; i < events; i++)
        {
            var value = gen.Next(i);
            if (gen.LastWasHeartbeat) heartbeats++;
            producer.Produce("web-events", new Message<byte[]?, byte[]> { Key = Encoding.UTF8.GetBytes("s" + (i % 97).ToString(CultureInfo.InvariantCulture)), Value = value });
        }
        producer.Produce("web-events", new Message<byte[]?, byte[]> { Value = "{\"ts\": \"2026-11-20T10:00:00Z\", \"user_id\": \"7\", oops"u8.ToArray() });
        producer.Produce("web-events", new Message<byte[]?, byte[]> { Value = "{\"ts\": \"not a time\", \"user_id\": \"7\", \"event\": \"page_view\"}"u8.ToArray() });
        await Task.Run(() => producer.Flush(TimeSpan.FromSeconds(60))).ConfigureAwait(false);
        return heartbeats;
    }

    private static IEnumerable<string> ReadDeadLetters(string brokers, int expected)
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig { BootstrapServers = brokers, GroupId = "demo-dlq-reader", EnableAutoCommit = false }).Build();
        consumer.Assign(new TopicPartitionOffset("web-events-dlq", 0, Offset.Beginning));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        var seen = 0;
        while (seen < expected && DateTime.UtcNow < deadline)
        {
            var m = consumer.Consume(TimeSpan.FromMilliseconds(500));
            if (m is null) continue;
            seen++;
            string Header(string k) => m.Message.Headers.TryGetLastBytes(k, out var v) ? Encoding.UTF8.GetString(v) : "?";
            yield return $"offset {Header("streamenrich.source.offset")} in stage '{Header("streamenrich.error.stage")}': {Header("streamenrich.error.reason")}";
        }
        if (seen < expected) yield return $"(only {seen} of {expected} read back)";
    }
}

/// <summary>Plain queries over ClickHouse's HTTP interface for the demo and benchmark output.</summary>
internal sealed class ClickHouseQueries(string url)
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromMinutes(5) };

    public async Task<string> QueryAsync(string sql)
    {
        using var content = new StringContent(sql, Encoding.UTF8);
        using var response = await Http.PostAsync(new Uri(url + "/"), content).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"ClickHouse: {body.Trim()}");
        return body.TrimEnd('\n');
    }

    public Task ExecuteAsync(string sql) => QueryAsync(sql);
}

using System.Collections.Concurrent;
using System.Text;
using System.Threading.Tasks.Dataflow;
using Confluent.Kafka;
using StreamEnrich.Configuration;
using StreamEnrich.Pipeline;
using StreamEnrich.Sources.Kafka;
using StreamEnrich.Tests.Fixtures;
using Record = StreamEnrich.Records.Record;

namespace StreamEnrich.Tests.Sources.Kafka;

[Collection(KafkaCollection.Name)]
public sealed class KafkaSourceTests(KafkaFixture kafka)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private KafkaSourceOptions Options(string topic, string group, int chunkSize = 100, TimeSpan? commitInterval = null, params (string Key, string Value)[] properties)
    {
        var o = new KafkaSourceOptions
        {
            Brokers = kafka.BootstrapServers,
            Topic = topic,
            GroupId = group,
            ChunkSize = chunkSize,
            CommitInterval = commitInterval ?? TimeSpan.FromMilliseconds(200),
            Properties =
            {
                ["session.timeout.ms"] = "6000",
                ["heartbeat.interval.ms"] = "500",
                ["topic.metadata.refresh.interval.ms"] = "1000",
            },
        };
        foreach (var (k, v) in properties) o.Properties[k] = v;
        return o;
    }

    private static Message<byte[]?, byte[]?> Message(int i) => new()
    {
        Key = BitConverter.GetBytes(i),
        Value = Encoding.UTF8.GetBytes($"{{\"n\":{i}}}"),
        Headers = new Headers { { "h", Encoding.UTF8.GetBytes($"x{i}") } },
    };

    /// <summary>Drains chunks from a bounded buffer, completing each unless <paramref name="hold"/> says to keep it.</summary>
    private sealed class Drainer
    {
        public readonly ConcurrentQueue<Record> Records = new();
        public readonly ConcurrentQueue<RecordChunk> Held = new();
        public Task Task = Task.CompletedTask;

        public static Drainer Start(BufferBlock<RecordChunk> buffer, KafkaSource source, Func<RecordChunk, bool>? hold = null,
            Func<Task>? beforeEach = null)
        {
            var d = new Drainer();
            d.Task = Task.Run(async () =>
            {
                while (await buffer.OutputAvailableAsync())
                {
                    if (beforeEach is not null) await beforeEach();
                    if (!buffer.TryReceive(out var chunk)) continue;
                    if (chunk.Count == 0)
                    {
                        source.Complete(chunk); // a "caught up" marker: nothing to hold
                        continue;
                    }
                    foreach (var r in chunk.Span) d.Records.Enqueue(r);
                    if (hold?.Invoke(chunk) == true) d.Held.Enqueue(chunk);
                    else source.Complete(chunk);
                }
            });
            return d;
        }
    }

    private static async Task WaitUntil(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Timeout);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Timed out waiting for: {what}");
            await Task.Delay(50);
        }
        Console.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {what}");
    }

    /// <summary>Receives (and completes) chunks until one says the source caught up; returns the records received by then.</summary>
    private static async Task<int> RecordsUpToFirstCaughtUp(BufferBlock<RecordChunk> buffer, KafkaSource source)
    {
        var seen = 0;
        while (true)
        {
            var chunk = await buffer.ReceiveAsync(Timeout);
            seen += chunk.Count;
            source.Complete(chunk);
            if (chunk.CaughtUp) return seen;
        }
    }

    private static async Task Stop(KafkaSource source, Task run, CancellationTokenSource stop)
    {
        await stop.CancelAsync();
        await run.WaitAsync(Timeout);
        await source.CloseAsync().WaitAsync(Timeout);
        source.Dispose();
    }

    private static async Task Stop(KafkaSource source, Task run, CancellationTokenSource stop, Drainer drainer)
    {
        await stop.CancelAsync();
        await run.WaitAsync(Timeout);
        await drainer.Task.WaitAsync(Timeout);
        await source.CloseAsync().WaitAsync(Timeout);
        source.Dispose();
    }

    [Fact]
    public async Task RunAsync_FourPartitions_DeliversEveryMessageOnceAndCommitsEndOffsets()
    {
        const int n = 4000;
        var topic = kafka.CreateTopic(4);
        var group = KafkaFixture.UniqueName("g");
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 1000;
        kafka.Produce(topic, 4, n, Message);

        var log = new KafkaTestLogger();
        var source = new KafkaSource(Options(topic, group), "p", log, TimeProvider.System);
        var buffer = new BufferBlock<RecordChunk>(new DataflowBlockOptions { BoundedCapacity = 4 });
        using var stop = new CancellationTokenSource();
        var run = source.RunAsync(buffer, () => new Record(0), stop.Token);
        var drainer = Drainer.Start(buffer, source);

        await WaitUntil(() => drainer.Records.Count >= n, $"{n} records (got {drainer.Records.Count})");
        await WaitUntil(() => source.GetMetrics().Partitions.Sum(p => p.Committed) == n, "commits at end offsets");
        var metrics = source.GetMetrics();
        await Stop(source, run, stop, drainer);

        Assert.Equal(n, drainer.Records.Count);
        foreach (var r in drainer.Records)
        {
            var i = BitConverter.ToInt32(r.Key!);
            Assert.Equal(topic, r.Topic);
            Assert.Equal(i % 4, r.Partition);
            Assert.Equal(i / 4, r.Offset);
            Assert.Equal($"{{\"n\":{i}}}", Encoding.UTF8.GetString(r.Payload!));
            var h = Assert.Single(r.Headers!);
            Assert.Equal("h", h.Key);
            Assert.Equal($"x{i}", Encoding.UTF8.GetString(h.Value!));
            Assert.InRange(r.TimestampMs, before, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        }
        Assert.Equal(n, drainer.Records.Select(r => BitConverter.ToInt32(r.Key!)).Distinct().Count());
        Assert.Equal(kafka.EndOffsets(topic, 4), kafka.Committed(topic, 4, group));
        Assert.Equal(n, metrics.MessagesConsumed);
        Assert.All(metrics.Partitions, p => Assert.Equal(0, p.Lag));
    }

    [Fact]
    public async Task RunAsync_FewerMessagesThanChunkSize_HandsOverPartialChunkAtOnce()
    {
        var topic = kafka.CreateTopic(1);
        var group = KafkaFixture.UniqueName("g");
        var source = new KafkaSource(Options(topic, group, chunkSize: 500), "p", new KafkaTestLogger(), TimeProvider.System);
        var buffer = new BufferBlock<RecordChunk>(new DataflowBlockOptions { BoundedCapacity = 8 });
        using var stop = new CancellationTokenSource();
        var run = source.RunAsync(buffer, () => new Record(0), stop.Token);
        var drainer = Drainer.Start(buffer, source);
        await WaitUntil(() => source.GetMetrics().Partitions.Count == 1, "assignment");

        kafka.Produce(topic, 1, 3, Message);
        var produced = DateTime.UtcNow;
        await WaitUntil(() => drainer.Records.Count == 3, "three records in a partial chunk", TimeSpan.FromSeconds(10));
        Assert.True(DateTime.UtcNow - produced < TimeSpan.FromSeconds(2), "a partial chunk must not wait for more messages");
        await Stop(source, run, stop, drainer);
        Assert.Equal(3, kafka.Committed(topic, 1, group)[0]);
    }

    [Fact]
    public async Task CommitFinished_ChunksCompletedOutOfOrder_CommitsOnlyContiguousPrefix()
    {
        const int n = 100;
        var topic = kafka.CreateTopic(1);
        var group = KafkaFixture.UniqueName("g");
        kafka.Produce(topic, 1, n, Message);

        var source = new KafkaSource(Options(topic, group, chunkSize: 10, commitInterval: TimeSpan.FromHours(1)), "p", new KafkaTestLogger(), TimeProvider.System);
        var buffer = new BufferBlock<RecordChunk>(new DataflowBlockOptions { BoundedCapacity = 100 });
        using var stop = new CancellationTokenSource();
        var run = source.RunAsync(buffer, () => new Record(0), stop.Token);
        var drainer = Drainer.Start(buffer, source, hold: _ => true);
        await WaitUntil(() => drainer.Records.Count >= n, "all records");

        var chunks = drainer.Held.ToArray();
        Assert.True(chunks.Length >= 2, "needs at least two chunks");
        foreach (var c in chunks.Skip(1).Reverse()) source.Complete(c);
        source.CommitFinished();
        Assert.Equal(Offset.Unset.Value, kafka.Committed(topic, 1, group)[0]); // first chunk unfinished: nothing committed

        source.Complete(chunks[0]);
        source.CommitFinished();
        Assert.Equal(n, kafka.Committed(topic, 1, group)[0]);
        await Stop(source, run, stop, drainer);
    }

    [Fact]
    public async Task RunAsync_TargetRefusesLongerThanMaxPollInterval_PausesKeepsAssignmentAndDeliversAll()
    {
        const int n = 3000;
        var topic = kafka.CreateTopic(2);
        var group = KafkaFixture.UniqueName("g");
        kafka.Produce(topic, 2, n, Message);

        var log = new KafkaTestLogger();
        var source = new KafkaSource(Options(topic, group, chunkSize: 100, properties: ("max.poll.interval.ms", "6000")), "p", log, TimeProvider.System);
        var buffer = new BufferBlock<RecordChunk>(new DataflowBlockOptions { BoundedCapacity = 1 });
        using var stop = new CancellationTokenSource();
        var run = source.RunAsync(buffer, () => new Record(0), stop.Token);

        await WaitUntil(() => source.GetMetrics().Paused, "source paused on a full target");
        await Task.Delay(TimeSpan.FromSeconds(10)); // longer than max.poll.interval.ms
        Assert.True(source.GetMetrics().Paused);
        var drainer = Drainer.Start(buffer, source);

        await WaitUntil(() => drainer.Records.Count >= n, $"{n} records (got {drainer.Records.Count})");
        await WaitUntil(() => source.GetMetrics().Partitions.Sum(p => p.Committed) == n, "commits at end offsets");
        var metrics = source.GetMetrics();
        var rebalanceLines = log.Count("revoked") + log.Count("lost");
        await Stop(source, run, stop, drainer);

        Assert.Equal(n, drainer.Records.Count); // no duplicates: no re-read after pause/resume
        Assert.Equal(n, drainer.Records.Select(r => BitConverter.ToInt32(r.Key!)).Distinct().Count());
        Assert.True(metrics.Pauses >= 1);
        Assert.Equal(1, metrics.Rebalances); // only the initial assignment: membership never lost
        Assert.Equal(0, rebalanceLines);
        Assert.Equal(kafka.EndOffsets(topic, 2), kafka.Committed(topic, 2, group));
    }

    [Theory]
    [InlineData("range,roundrobin")] // eager: everything revoked on every rebalance
    [InlineData("cooperative-sticky")] // incremental: only moved partitions are revoked
    public async Task RunAsync_SecondMemberJoinsThenLeaves_NothingLostAndCommitsReachEnd(string strategy)
    {
        const int n = 4000;
        var topic = kafka.CreateTopic(4);
        var group = KafkaFixture.UniqueName("g");
        kafka.Produce(topic, 4, n, Message);
        var slow = true;
        Func<Task> pace = () => slow ? Task.Delay(30) : Task.CompletedTask;

        var logA = new KafkaTestLogger();
        var a = new KafkaSource(Options(topic, group, chunkSize: 20, properties: ("partition.assignment.strategy", strategy)), "p", logA, TimeProvider.System);
        var bufA = new BufferBlock<RecordChunk>(new DataflowBlockOptions { BoundedCapacity = 2 });
        using var stopA = new CancellationTokenSource();
        var runA = a.RunAsync(bufA, () => new Record(0), stopA.Token);
        var drainA = Drainer.Start(bufA, a, beforeEach: pace);
        await WaitUntil(() => drainA.Records.Count >= 200, "first member consuming");

        var logB = new KafkaTestLogger();
        var b = new KafkaSource(Options(topic, group, chunkSize: 20, properties: ("partition.assignment.strategy", strategy)), "p", logB, TimeProvider.System);
        var bufB = new BufferBlock<RecordChunk>(new DataflowBlockOptions { BoundedCapacity = 2 });
        using var stopB = new CancellationTokenSource();
        var runB = b.RunAsync(bufB, () => new Record(0), stopB.Token);
        var drainB = Drainer.Start(bufB, b, beforeEach: pace);
        await WaitUntil(() => drainB.Records.Count >= 100, "second member got partitions and consumed");
        await Stop(b, runB, stopB, drainB); // leaves the group: its partitions go back to the first member
        slow = false;

        var keys = () => drainA.Records.Concat(drainB.Records).Select(r => BitConverter.ToInt32(r.Key!)).ToHashSet();
        await WaitUntil(() => keys().Count == n, "every message seen by one of the members");
        await WaitUntil(() => kafka.Committed(topic, 4, group).Sum() == n, "commits at end offsets");
        await Stop(a, runA, stopA, drainA);

        var all = drainA.Records.Concat(drainB.Records).ToList();
        Assert.Equal(n, keys().Count);
        Assert.True(all.Count >= n);
        Assert.True(logA.Count("revoked") >= 1, "the first member saw a rebalance:\n" + logA);
        Assert.Equal(kafka.EndOffsets(topic, 4), kafka.Committed(topic, 4, group));
        Console.WriteLine($"rebalance test ({strategy}): {all.Count - n} duplicates of {n}");
    }

    /// <summary>
    /// librdkafka 2.0.x loses messages when pause/resume or a rebalance runs concurrently with a batch read; the source
    /// never lets them overlap. This churns both at once: the first member pauses and resumes every few chunks (its
    /// consumer sleeps past the pause threshold) while three more members join and leave one after another, with new
    /// messages arriving throughout. Every message must be delivered by someone and the commits must reach the end.
    /// </summary>
    [Theory]
    [InlineData("range")]
    [InlineData("cooperative-sticky")]
    public async Task RunAsync_PauseResumeChurnDuringRepeatedRebalances_NothingLost(string strategy)
    {
        const int before = 8_000, during = 2_000, partitions = 6;
        var topic = kafka.CreateTopic(partitions);
        var group = KafkaFixture.UniqueName("g");
        kafka.Produce(topic, partitions, before, Message);
        KafkaSource Member(KafkaTestLogger log) => new(Options(topic, group, chunkSize: 20,
            properties: [("partition.assignment.strategy", strategy), ("max.poll.interval.ms", "6000")]), "p", log, TimeProvider.System);
        var chunksA = 0;
        // Every 40th chunk the consumer stalls past the pause threshold (max.poll.interval.ms / 10 = 600 ms).
        Func<Task> churn = () => Interlocked.Increment(ref chunksA) % 40 == 0 ? Task.Delay(700) : Task.CompletedTask;

        var logA = new KafkaTestLogger();
        var a = Member(logA);
        var bufA = new BufferBlock<RecordChunk>(new DataflowBlockOptions { BoundedCapacity = 1 });
        using var stopA = new CancellationTokenSource();
        var runA = a.RunAsync(bufA, () => new Record(0), stopA.Token);
        var drainA = Drainer.Start(bufA, a, beforeEach: churn);
        await WaitUntil(() => drainA.Records.Count >= 300, "first member consuming");

        var others = new List<Drainer>();
        var producing = Task.Run(() => kafka.Produce(topic, partitions, during, i => Message(before + i)));
        for (var m = 0; m < 3; m++)
        {
            var b = Member(new KafkaTestLogger());
            var bufB = new BufferBlock<RecordChunk>(new DataflowBlockOptions { BoundedCapacity = 1 });
            using var stopB = new CancellationTokenSource();
            var runB = b.RunAsync(bufB, () => new Record(0), stopB.Token);
            var chunksB = 0;
            var drainB = Drainer.Start(bufB, b, beforeEach: () => Interlocked.Increment(ref chunksB) % 3 == 0 ? Task.Delay(700) : Task.CompletedTask);
            others.Add(drainB);
            await WaitUntil(() => drainB.Records.Count >= 100, $"member {m + 2} got partitions and consumed");
            await Stop(b, runB, stopB, drainB); // leaves: its partitions go back to the first member
        }
        await producing;

        const int n = before + during;
        HashSet<int> Keys() => drainA.Records.Concat(others.SelectMany(d => d.Records)).Select(r => BitConverter.ToInt32(r.Key!)).ToHashSet();
        try
        {
            await WaitUntil(() => Keys().Count == n, $"every message seen by a member (got {Keys().Count})", TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException)
        {
            Console.WriteLine($"A: {drainA.Records.Count} records, metrics paused={a.GetMetrics().Paused} pauses={a.GetMetrics().Pauses}\n{logA}");
            throw;
        }
        await WaitUntil(() => kafka.Committed(topic, partitions, group).Sum() == n, "commits at end offsets", TimeSpan.FromSeconds(60));
        var metrics = a.GetMetrics();
        await Stop(a, runA, stopA, drainA);

        Assert.Equal(n, Keys().Count);
        Assert.Equal(kafka.EndOffsets(topic, partitions), kafka.Committed(topic, partitions, group));
        Assert.True(metrics.Pauses >= 3, $"the first member paused {metrics.Pauses} times");
        // Against the mock broker a cooperative rebalance often shows as lost partitions (stale generation): either counts.
        Assert.True(logA.Count("revoked") + logA.Count(": lost ") >= 3, "the first member saw every rebalance:\n" + logA);
        var all = drainA.Records.Count + others.Sum(d => d.Records.Count);
        Console.WriteLine($"churn test ({strategy}): {metrics.Pauses} pauses, {all - n} duplicates of {n}");
    }

    [Fact]
    public async Task Revocation_CommitsFinishedPrefixAndIgnoresStaleCompletions()
    {
        const int n = 100;
        var topic = kafka.CreateTopic(1);
        var group = KafkaFixture.UniqueName("g");
        kafka.Produce(topic, 1, n, Message);

        var logA = new KafkaTestLogger();
        var a = new KafkaSource(Options(topic, group, chunkSize: 10, commitInterval: TimeSpan.FromHours(1)), "p", logA, TimeProvider.System);
        var bufA = new BufferBlock<RecordChunk>(new DataflowBlockOptions { BoundedCapacity = 1000 });
        using var stopA = new CancellationTokenSource();
        var runA = a.RunAsync(bufA, () => new Record(0), stopA.Token);
        var drainA = Drainer.Start(bufA, a, hold: _ => true);
        await WaitUntil(() => drainA.Records.Count >= n, "all records");

        var chunks = drainA.Held.ToArray();
        Assert.True(chunks.Length >= 4);
        a.Complete(chunks[0]);
        a.Complete(chunks[1]);
        a.Complete(chunks[3]); // chunk 2 unfinished: the revocation commit must stop before it
        var expected = chunks[1].Span[^1].Offset + 1;
        var oldGenerationLeft = chunks.Skip(2).ToArray();
        var heldBefore = drainA.Held.Count;

        var logB = new KafkaTestLogger();
        var b = new KafkaSource(Options(topic, group, chunkSize: 10, commitInterval: TimeSpan.FromHours(1)), "p", logB, TimeProvider.System);
        var bufB = new BufferBlock<RecordChunk>(new DataflowBlockOptions { BoundedCapacity = 1000 });
        using var stopB = new CancellationTokenSource();
        var runB = b.RunAsync(bufB, () => new Record(0), stopB.Token);
        var drainB = Drainer.Start(bufB, b, hold: _ => true);

        await WaitUntil(() => logA.Count("revoked") >= 1, "revocation on the first member");
        var committedAtRevocation = kafka.Committed(topic, 1, group)[0];

        // The partition is read again by whoever owns it now, from what the first member finished.
        await WaitUntil(() => drainA.Held.Count > heldBefore || !drainB.Held.IsEmpty, "partition re-read after the rebalance");
        var ownerIsA = drainA.Held.Count > heldBefore;
        var reread = ownerIsA ? drainA.Held.Skip(heldBefore).First() : drainB.Held.First();
        if (ownerIsA || committedAtRevocation == expected)
        {
            // Committed on revocation (real Kafka), or refused during the rebalance (mock cluster) and resumed by the same member.
            Assert.Equal(expected, reread.Span[0].Offset);
        }
        else
        {
            // The mock refused the revocation commit and another member took over: it re-reads from the last commit.
            Assert.Equal(Offset.Unset.Value, committedAtRevocation);
            Assert.Equal(0, reread.Span[0].Offset);
        }
        var newStart = reread.Span[0].Offset;
        Assert.True(committedAtRevocation is -1001 || committedAtRevocation == expected, $"revocation committed {committedAtRevocation}, finished prefix ends at {expected}");

        foreach (var c in oldGenerationLeft) a.Complete(c); // stale: they belong to the revoked assignment
        a.CommitFinished();
        b.CommitFinished();
        if (newStart != 0)
        {
            // The mock may still refuse a commit right after the rebalance (RebalanceInProgress, logged as such);
            // the finished position is committed again later, so ask until one is accepted.
            await WaitUntil(() =>
            {
                if (kafka.Committed(topic, 1, group)[0] != Offset.Unset.Value) return true;
                a.CommitFinished();
                b.CommitFinished();
                return false;
            }, "a commit accepted after the rebalance");
        }
        var committed = kafka.Committed(topic, 1, group)[0];
        Assert.True(committed == newStart || (newStart == 0 && committed == Offset.Unset.Value),
            $"stale completions must not move the commit: committed {committed}, new owner started at {newStart}\n{logA}");

        await Stop(b, runB, stopB, drainB);
        await Stop(a, runA, stopA, drainA);
        Assert.Equal(committed, kafka.Committed(topic, 1, group)[0]); // closing commits nothing unfinished either
    }

    [Fact]
    public async Task WaitedForPipeline_CountsTheTimeAChunkFoundNoRoom()
    {
        const int n = 100;
        var topic = kafka.CreateTopic(1);
        kafka.Produce(topic, 1, n, Message);
        var options = Options(topic, KafkaFixture.UniqueName("g"), chunkSize: 10);
        options.Assignment = "static";
        var source = new KafkaSource(options, "p", new KafkaTestLogger(), TimeProvider.System);
        var buffer = new BufferBlock<RecordChunk>(new DataflowBlockOptions { BoundedCapacity = 1 }); // nobody takes chunks yet
        using var stop = new CancellationTokenSource();
        var run = source.RunAsync(buffer, () => new Record(0), stop.Token);
        // The 20th message fills the second chunk, which the poll thread offers at once: it waits from there.
        await WaitUntil(() => buffer.Count == 1 && source.GetMetrics().MessagesConsumed >= 20, "the second chunk built");
        await Task.Delay(600);
        var drainer = Drainer.Start(buffer, source);
        await WaitUntil(() => drainer.Records.Count >= n, $"{n} records");
        Assert.True(source.WaitedForPipeline >= TimeSpan.FromMilliseconds(500), $"waited {source.WaitedForPipeline}");
        await Stop(source, run, stop, drainer);
    }

    [Fact]
    public async Task FetchWaker_RestartsFetchingWhenThePrefetchQueueDrains()
    {
        // librdkafka 2.0 stops fetching while its queue holds queued.max.messages.kbytes and looks again only when its
        // broker thread wakes (up to a second later). A 64 KB queue in front of 1 MB over four partitions fills a dozen
        // times or more; a pipeline that drains it within a few milliseconds then waits for each of those wake-ups unless
        // the source's FetchWaker sends one.
        const int n = 1000, partitions = 4;
        var topic = kafka.CreateTopic(partitions);
        using (var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig
        {
            BootstrapServers = kafka.BootstrapServers,
            LingerMs = 5,
            BatchSize = 16 * 1024, // small record batches: the broker returns at most one per partition and fetch
        }).Build())
        {
            var payload = new byte[1000];
            for (var i = 0; i < n; i++)
            {
                BitConverter.TryWriteBytes(payload, i);
                producer.Produce(new TopicPartition(topic, new Partition(i % partitions)), new Message<byte[]?, byte[]?> { Value = payload.ToArray() });
            }
            producer.Flush(Timeout);
        }

        async Task<(TimeSpan Elapsed, long Wakeups)> ConsumeAll(bool wakeFetcher)
        {
            var options = Options(topic, KafkaFixture.UniqueName("g"), chunkSize: 10, properties:
                [("queued.max.messages.kbytes", "64"), ("message.max.bytes", "65536"), ("fetch.max.bytes", "65536"), ("max.partition.fetch.bytes", "32768")]);
            options.Assignment = "static"; // no group join in the timing
            var source = new KafkaSource(options, "p", new KafkaTestLogger(), TimeProvider.System, wakeFetcher);
            var buffer = new BufferBlock<RecordChunk>(new DataflowBlockOptions { BoundedCapacity = 4 });
            using var stop = new CancellationTokenSource();
            var started = DateTime.UtcNow;
            var run = source.RunAsync(buffer, () => new Record(0), stop.Token);
            var drainer = Drainer.Start(buffer, source, beforeEach: () => Task.Delay(1)); // slower than the fetches: the queue fills
            await WaitUntil(() => drainer.Records.Count >= n, $"{n} records (wake-ups {(wakeFetcher ? "on" : "off")})");
            var elapsed = DateTime.UtcNow - started;
            foreach (var g in drainer.Records.GroupBy(r => r.Partition)) // each message once, in order
                Assert.Equal(Enumerable.Range(0, n / partitions).Select(i => (long)i), g.Select(r => r.Offset));
            var wakeups = source.FetchWakeups;
            await Stop(source, run, stop, drainer);
            return (elapsed, wakeups);
        }

        var with = await ConsumeAll(wakeFetcher: true);
        var without = await ConsumeAll(wakeFetcher: false);
        var report = $"with the waker {with.Elapsed.TotalSeconds:F1} s ({with.Wakeups} wake-ups), without {without.Elapsed.TotalSeconds:F1} s";
        Console.WriteLine(report);
        Assert.True(with.Wakeups > 0, "the queue filled and drained, so the waker should have sent requests; " + report);
        Assert.Equal(0, without.Wakeups);
        // Without the waker every refill waits for librdkafka's own wake-up; with it the refills follow at once. Should
        // librdkafka stop pausing (2.1+: fetch.queue.backoff.ms), this fails and the waker is moot.
        Assert.True(with.Elapsed * 3 < without.Elapsed, report);
    }

    [Fact]
    public async Task Stop_DrainLongerThanMaxPollInterval_CommitsWhileDrainingAndKeepsMembership()
    {
        const int n = 500;
        var topic = kafka.CreateTopic(2);
        var group = KafkaFixture.UniqueName("g");
        kafka.Produce(topic, 2, n, Message);

        var log = new KafkaTestLogger();
        var source = new KafkaSource(Options(topic, group, chunkSize: 50, properties: ("max.poll.interval.ms", "6000")), "p", log, TimeProvider.System);
        var buffer = new BufferBlock<RecordChunk>(new DataflowBlockOptions { BoundedCapacity = 100 });
        using var stop = new CancellationTokenSource();
        var run = source.RunAsync(buffer, () => new Record(0), stop.Token);
        var drainer = Drainer.Start(buffer, source, hold: _ => true);
        await WaitUntil(() => drainer.Records.Count >= n, "all records");

        await stop.CancelAsync();
        await run.WaitAsync(Timeout);
        await drainer.Task.WaitAsync(Timeout); // the source completed the target
        await Task.Delay(TimeSpan.FromSeconds(8)); // the engine drains for longer than max.poll.interval.ms
        foreach (var c in drainer.Held) source.Complete(c);
        await WaitUntil(() => kafka.Committed(topic, 2, group).Sum() == n, "periodic commit while draining, before CloseAsync");
        var rebalanceLines = log.Count("revoked") + log.Count("lost");
        await source.CloseAsync().WaitAsync(Timeout);
        source.Dispose();

        Assert.Equal(0, rebalanceLines); // still a member: nothing was revoked while draining
        Assert.Equal(kafka.EndOffsets(topic, 2), kafka.Committed(topic, 2, group));
    }

    [Fact]
    public async Task RunAsync_BrokerDownForAWhile_RecoversAndDeliversEverything()
    {
        if (kafka.Cluster is null) return; // fault injection needs the mock cluster
        const int n = 2000;
        var topic = kafka.CreateTopic(2);
        var group = KafkaFixture.UniqueName("g");
        kafka.Produce(topic, 2, n / 2, Message);

        var source = new KafkaSource(Options(topic, group), "p", new KafkaTestLogger(), TimeProvider.System);
        var buffer = new BufferBlock<RecordChunk>(new DataflowBlockOptions { BoundedCapacity = 4 });
        using var stop = new CancellationTokenSource();
        var run = source.RunAsync(buffer, () => new Record(0), stop.Token);
        var drainer = Drainer.Start(buffer, source);
        await WaitUntil(() => drainer.Records.Count >= n / 2, "first half");

        kafka.Cluster.SetBrokerDown(1);
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(3));
            Assert.False(run.IsCompleted, "a broker outage is not fatal");
        }
        finally
        {
            kafka.Cluster.SetBrokerUp(1);
        }
        kafka.Produce(topic, 2, n / 2, i => Message(i + n / 2));

        await WaitUntil(() => drainer.Records.Count >= n, $"{n} records after the outage (got {drainer.Records.Count})");
        await WaitUntil(() => kafka.Committed(topic, 2, group).Sum() == n, "commits at end offsets");
        await Stop(source, run, stop, drainer);
        Assert.Equal(n, drainer.Records.Select(r => BitConverter.ToInt32(r.Key!)).Distinct().Count());
    }

    [Fact]
    public async Task RunAsync_GroupAuthorizationFailed_FaultsNamingTheCause()
    {
        if (kafka.Cluster is null) return; // fault injection needs the mock cluster
        var topic = kafka.CreateTopic(1);
        var group = KafkaFixture.UniqueName("g");
        kafka.Cluster.PushRequestErrors(10 /* FindCoordinator */, 30, 30, 30, 30, 30, 30 /* GROUP_AUTHORIZATION_FAILED */);
        try
        {
            var source = new KafkaSource(Options(topic, group), "p", new KafkaTestLogger(), TimeProvider.System);
            var buffer = new BufferBlock<RecordChunk>();
            using var stop = new CancellationTokenSource();
            var run = source.RunAsync(buffer, () => new Record(0), stop.Token);

            var e = await Assert.ThrowsAsync<KafkaSourceException>(() => run.WaitAsync(Timeout));
            Assert.Contains("GroupAuthorizationFailed", e.Message, StringComparison.Ordinal);
            Assert.Contains(group, e.Message, StringComparison.Ordinal);
            Assert.True(buffer.Completion.IsCompleted || buffer.Count == 0);
            await source.CloseAsync().WaitAsync(Timeout);
            source.Dispose();
        }
        finally
        {
            kafka.Cluster.ClearRequestErrors(10);
        }
    }

    [Fact]
    public async Task RunAsync_BacklogReadToTheEnd_FlagsTheLastChunkCaughtUpAndNoEarlierOne()
    {
        var topic = kafka.CreateTopic(2);
        kafka.Produce(topic, 2, 250, Message);
        var source = new KafkaSource(Options(topic, KafkaFixture.UniqueName("g"), chunkSize: 100), "p", new KafkaTestLogger(), TimeProvider.System);
        var buffer = new BufferBlock<RecordChunk>(new DataflowBlockOptions { BoundedCapacity = 16 });
        using var stop = new CancellationTokenSource();
        var run = source.RunAsync(buffer, () => new Record(0), stop.Token);
        var seenAtFirstCaughtUp = await RecordsUpToFirstCaughtUp(buffer, source);
        Assert.Equal(250, seenAtFirstCaughtUp); // not before the last record of both partitions

        await Stop(source, run, stop);
    }

    [Fact]
    public async Task RunAsync_NoEndOfPartitionEvents_CaughtUpIsToldFromTheHighWatermark()
    {
        // The end-of-partition event only comes with the next, empty fetch response, which the broker holds back for
        // fetch.wait.max.ms; the source must not need it. Here it never comes at all.
        var topic = kafka.CreateTopic(3);
        kafka.Produce(topic, 3, 300, Message);
        var source = new KafkaSource(Options(topic, KafkaFixture.UniqueName("g"), chunkSize: 50,
            properties: [("enable.partition.eof", "false"), ("fetch.wait.max.ms", "5000")]), "p", new KafkaTestLogger(), TimeProvider.System);
        var buffer = new BufferBlock<RecordChunk>(new DataflowBlockOptions { BoundedCapacity = 16 });
        using var stop = new CancellationTokenSource();
        var run = source.RunAsync(buffer, () => new Record(0), stop.Token);
        var seenAtFirstCaughtUp = await RecordsUpToFirstCaughtUp(buffer, source);
        Assert.Equal(300, seenAtFirstCaughtUp);
        await Stop(source, run, stop);
    }

    [Fact]
    public async Task RunAsync_BacklogEndsOnAFullChunk_AnEmptyChunkSaysCaughtUp()
    {
        var topic = kafka.CreateTopic(1);
        kafka.Produce(topic, 1, 5, Message);
        // Chunks of one message are always full, so the end can only be told by an empty chunk.
        var source = new KafkaSource(Options(topic, KafkaFixture.UniqueName("g"), chunkSize: 1), "p", new KafkaTestLogger(), TimeProvider.System);
        var buffer = new BufferBlock<RecordChunk>(new DataflowBlockOptions { BoundedCapacity = 16 });
        using var stop = new CancellationTokenSource();
        var run = source.RunAsync(buffer, () => new Record(0), stop.Token);
        var chunks = new List<RecordChunk>();
        while (chunks.Count == 0 || !chunks[^1].CaughtUp)
        {
            var chunk = await buffer.ReceiveAsync(Timeout);
            chunks.Add(chunk);
            source.Complete(chunk);
        }
        Assert.Equal([1, 1, 1, 1, 1, 0], chunks.Select(c => c.Count));
        Assert.Equal([false, false, false, false, false, true], chunks.Select(c => c.CaughtUp));
        // Told as soon as the last message was read, not after an idle poll came back empty.
        Assert.Equal(0, source.IdleWaitsBeforeCaughtUp);
        await Task.Delay(300);
        Assert.Equal(0, buffer.Count); // one signal, not one per idle poll
        await Stop(source, run, stop);
    }

    private KafkaSourceOptions Static(string topic, string group, params int[] partitions)
    {
        var o = Options(topic, group);
        o.Assignment = "static";
        o.Partitions = [.. partitions];
        o.PartitionDiscoveryInterval = TimeSpan.FromMilliseconds(300);
        return o;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Static_AllPartitions_DeliversEverythingCommitsAndARestartResumesAfterTheCommit(bool assignEarly)
    {
        const int n = 2000;
        var topic = kafka.CreateTopic(4);
        var group = KafkaFixture.UniqueName("g");
        kafka.Produce(topic, 4, n, Message);

        var log = new KafkaTestLogger();
        var source = new KafkaSource(Static(topic, group), "p", log, TimeProvider.System);
        if (assignEarly)
        {
            // As while the pipeline builds: librdkafka fetches into its queue before RunAsync, nothing is consumed yet.
            source.AssignEarly();
            await WaitUntil(() => source.PrefetchedMessages > 0, "messages prefetched before RunAsync");
            Assert.Equal(0, source.GetMetrics().MessagesConsumed);
        }
        var buffer = new BufferBlock<RecordChunk>(new DataflowBlockOptions { BoundedCapacity = 4 });
        using (var stop = new CancellationTokenSource())
        {
            var run = source.RunAsync(buffer, () => new Record(0), stop.Token);
            var drainer = Drainer.Start(buffer, source);
            await WaitUntil(() => drainer.Records.Count >= n, $"{n} records (got {drainer.Records.Count})");
            await WaitUntil(() => source.GetMetrics().Partitions.Sum(p => p.Committed) == n, "commits at end offsets");
            await Stop(source, run, stop, drainer);
            Assert.Equal(n, drainer.Records.Select(r => (r.Partition, r.Offset)).Distinct().Count());
            Assert.Equal(n, drainer.Records.Count);
            foreach (var partition in drainer.Records.GroupBy(r => r.Partition))
                Assert.Equal(partition.Select(r => r.Offset).Order(), partition.Select(r => r.Offset));
        }
        Assert.Equal(kafka.EndOffsets(topic, 4), kafka.Committed(topic, 4, group));
        Assert.Equal(1, log.Count("assigned 4 partitions (static"));
        Assert.Equal(0, log.Count("revoked")); // never in a group

        // A second run of the same group starts after the committed offsets: only the new messages arrive.
        kafka.Produce(topic, 4, 40, i => Message(n + i));
        var again = new KafkaSource(Static(topic, group), "p", new KafkaTestLogger(), TimeProvider.System);
        var buffer2 = new BufferBlock<RecordChunk>(new DataflowBlockOptions { BoundedCapacity = 4 });
        using var stop2 = new CancellationTokenSource();
        var run2 = again.RunAsync(buffer2, () => new Record(0), stop2.Token);
        var drainer2 = Drainer.Start(buffer2, again);
        await WaitUntil(() => drainer2.Records.Count >= 40, "the 40 new records");
        await Task.Delay(500); // anything re-read would arrive with them
        await Stop(again, run2, stop2, drainer2);
        Assert.Equal(Enumerable.Range(n, 40), drainer2.Records.Select(r => BitConverter.ToInt32(r.Key!)).Order());
    }

    [Theory]
    [InlineData("static")]
    [InlineData("group")]
    public async Task StartOffsets_CommittedWhereThereIsOneElseStartFrom_ResolvedBeforeLibrdkafkaFetches(string assignment)
    {
        var topic = kafka.CreateTopic(3);
        var group = KafkaFixture.UniqueName("g");
        kafka.Produce(topic, 3, 30, Message); // 10 a partition
        using (var committer = kafka.CreateConsumer(group))
            committer.Commit([new TopicPartitionOffset(topic, 0, 4)]);

        // start_from latest: partition 0 resumes at its commit, the others start at their end.
        var options = assignment == "static" ? Static(topic, group) : Options(topic, group);
        options.StartFrom = "latest";
        options.Properties["debug"] = "topic"; // librdkafka logs each offset it has to look up itself
        var log = new KafkaTestLogger(Microsoft.Extensions.Logging.LogLevel.Debug);
        var source = new KafkaSource(options, "p", log, TimeProvider.System);
        source.AssignEarly(); // static only
        var buffer = new BufferBlock<RecordChunk>(new DataflowBlockOptions { BoundedCapacity = 4 });
        using var stop = new CancellationTokenSource();
        var run = source.RunAsync(buffer, () => new Record(0), stop.Token);
        var drainer = Drainer.Start(buffer, source);
        await WaitUntil(() => log.Count("assigned 3 partitions") == 1, "the assignment");
        await Task.Delay(500);
        kafka.Produce(topic, 3, 6, i => Message(100 + i)); // 2 more a partition, after the start
        await WaitUntil(() => drainer.Records.Count >= 6 + 2, "partition 0 from offset 4, the others' new messages");
        await Task.Delay(300);
        await Stop(source, run, stop, drainer);

        var byPartition = drainer.Records.GroupBy(r => r.Partition).ToDictionary(g => g.Key, g => g.Select(r => r.Offset).Order().ToList());
        Assert.Equal(Enumerable.Range(4, 8).Select(o => (long)o), byPartition[0]);
        Assert.Equal([10L, 11L], byPartition[1]);
        Assert.Equal([10L, 11L], byPartition[2]);
        // No partition went through librdkafka's own offset lookup, which queues behind a waiting fetch.
        Assert.Equal(0, log.Count("offset reset"));
        Assert.Equal(0, log.Count("offset query"));
    }

    [Fact]
    public async Task Static_PartitionList_ReadsOnlyThosePartitions()
    {
        var topic = kafka.CreateTopic(4);
        var group = KafkaFixture.UniqueName("g");
        kafka.Produce(topic, 4, 400, Message);
        var source = new KafkaSource(Static(topic, group, 1, 3), "p", new KafkaTestLogger(), TimeProvider.System);
        var buffer = new BufferBlock<RecordChunk>(new DataflowBlockOptions { BoundedCapacity = 4 });
        using var stop = new CancellationTokenSource();
        var run = source.RunAsync(buffer, () => new Record(0), stop.Token);
        var drainer = Drainer.Start(buffer, source);
        await WaitUntil(() => drainer.Records.Count >= 200, "partitions 1 and 3");
        await Task.Delay(500);
        await Stop(source, run, stop, drainer);
        Assert.Equal(200, drainer.Records.Count);
        Assert.All(drainer.Records, r => Assert.Contains(r.Partition, new[] { 1, 3 }));
        Assert.Equal(new long[] { Offset.Unset.Value, 100, Offset.Unset.Value, 100 }, kafka.Committed(topic, 4, group));
    }

    [Fact]
    public async Task AssignEarly_ClosedWithoutRunning_CommitsNothing()
    {
        var topic = kafka.CreateTopic(2);
        var group = KafkaFixture.UniqueName("g");
        kafka.Produce(topic, 2, 100, Message);
        var source = new KafkaSource(Static(topic, group), "p", new KafkaTestLogger(), TimeProvider.System);
        source.AssignEarly();
        await WaitUntil(() => source.PrefetchedMessages > 0, "messages prefetched");
        // What a pipeline whose build failed does with its source.
        await source.CloseAsync().WaitAsync(Timeout);
        source.Dispose();
        Assert.All(kafka.Committed(topic, 2, group), c => Assert.True(c < 0, $"committed {c} without running"));
    }

    [Fact]
    public async Task AssignEarly_TheRunDeliversThePrefetchWithoutFetchingItAgain()
    {
        if (kafka.Cluster is null) return; // needs the mock cluster to take the brokers down
        const int n = 200;
        var topic = kafka.CreateTopic(2);
        var group = KafkaFixture.UniqueName("g");
        kafka.Produce(topic, 2, n, Message);
        var source = new KafkaSource(Static(topic, group), "p", new KafkaTestLogger(), TimeProvider.System);
        source.AssignEarly();
        await WaitUntil(() => source.PrefetchedMessages >= n, "every message prefetched");
        // With the brokers gone only the prefetch can deliver: anything that made librdkafka drop it (a resume bumps
        // the fetch version) would leave the run without messages.
        var brokers = Enumerable.Range(1, kafka.Cluster.BrokerCount).ToList();
        foreach (var b in brokers) kafka.Cluster.SetBrokerDown(b);
        var buffer = new BufferBlock<RecordChunk>(new DataflowBlockOptions { BoundedCapacity = 4 });
        using var stop = new CancellationTokenSource();
        var run = source.RunAsync(buffer, () => new Record(0), stop.Token);
        var drainer = Drainer.Start(buffer, source);
        try
        {
            await WaitUntil(() => drainer.Records.Count >= n, $"{n} records from the prefetch (got {drainer.Records.Count})");
        }
        finally
        {
            foreach (var b in brokers) kafka.Cluster.SetBrokerUp(b);
        }
        await Stop(source, run, stop, drainer);
        Assert.Equal(n, drainer.Records.Select(r => (r.Partition, r.Offset)).Distinct().Count());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Static_ListedPartitionDoesNotExist_FaultsNamingItAndTheTopicsPartitions(bool assignEarly)
    {
        var topic = kafka.CreateTopic(2);
        var source = new KafkaSource(Static(topic, KafkaFixture.UniqueName("g"), 0, 7), "p", new KafkaTestLogger(), TimeProvider.System);
        if (assignEarly) source.AssignEarly();
        var buffer = new BufferBlock<RecordChunk>();
        using var stop = new CancellationTokenSource();
        var run = source.RunAsync(buffer, () => new Record(0), stop.Token);
        var e = await Assert.ThrowsAsync<KafkaSourceException>(() => run.WaitAsync(Timeout));
        Assert.Contains("source.partitions lists 7", e.Message, StringComparison.Ordinal);
        Assert.Contains($"topic {topic} has partitions 0..1", e.Message, StringComparison.Ordinal);
        await source.CloseAsync().WaitAsync(Timeout);
        source.Dispose();
    }

    [Fact]
    public async Task Static_TopicAppearsAfterStart_IsFoundAndReadFromItsFirstOffsetDespiteStartFromLatest()
    {
        if (kafka.Cluster is null) return; // "no such topic" is simulated with the mock's topic error
        var topic = kafka.CreateTopic(3, "later");
        var group = KafkaFixture.UniqueName("g");
        kafka.Produce(topic, 3, 300, Message);
        kafka.Cluster.SetTopicError(topic, 3 /* UNKNOWN_TOPIC_OR_PART: the brokers say it does not exist */);
        var options = Static(topic, group);
        options.StartFrom = "latest";
        var log = new KafkaTestLogger();
        var source = new KafkaSource(options, "p", log, TimeProvider.System);
        var buffer = new BufferBlock<RecordChunk>(new DataflowBlockOptions { BoundedCapacity = 4 });
        using var stop = new CancellationTokenSource();
        var run = source.RunAsync(buffer, () => new Record(0), stop.Token);
        var drainer = Drainer.Start(buffer, source);
        try
        {
            await WaitUntil(() => log.Count($"no partitions of topic {topic} yet") > 0, "the missing-topic warning");
        }
        finally
        {
            kafka.Cluster.SetTopicError(topic, 0); // "created"
        }
        await WaitUntil(() => drainer.Records.Count >= 300, $"300 records (got {drainer.Records.Count})");
        await Stop(source, run, stop, drainer);
        Assert.Equal(300, drainer.Records.Select(r => BitConverter.ToInt32(r.Key!)).Distinct().Count());
        Assert.Equal(1, log.Count("added 3 partitions (static"));
        Assert.False(run.IsFaulted);
    }

    [Fact]
    public void BuildConfig_UserProperties_OverrideDefaults()
    {
        var o = new KafkaSourceOptions { Brokers = "b:9092", Topic = "t", StartFrom = "latest", Properties = { ["fetch.max.bytes"] = "1024", ["security.protocol"] = "ssl" } };
        var c = KafkaSource.BuildConfig(o, "g", "p");
        Assert.Equal("1024", c["fetch.max.bytes"]);
        Assert.Equal("ssl", c["security.protocol"]);
        Assert.Equal("latest", c["auto.offset.reset"]);
        Assert.Equal("false", c["enable.auto.commit"]);
        Assert.Equal("false", c["enable.auto.offset.store"]);
        Assert.Equal("1048576", c["max.partition.fetch.bytes"]);
        Assert.Equal("1000000", c["queued.min.messages"]);
        Assert.Equal("8192", c["queued.max.messages.kbytes"]);
    }

    [Fact]
    public void Constructor_NoGroupId_DefaultsToPipelineName()
    {
        using var s = new KafkaSource(new KafkaSourceOptions { Brokers = kafka.BootstrapServers, Topic = "t" }, "web", new KafkaTestLogger(), TimeProvider.System);
        Assert.Equal("streamenrich-web", s.GroupId);
    }
}

using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using StreamEnrich.Sources.Kafka.Native;

namespace StreamEnrich.Sources.Kafka;

/// <summary>
/// Restarts librdkafka's fetching as soon as its prefetch queue has room again.
/// <para>
/// librdkafka 2.0 stops fetching a partition once the consumer queue holds <c>queued.max.messages.kbytes</c> (or
/// <c>queued.min.messages</c>), and its broker thread looks again only when something wakes it: at the latest after
/// about a second (librdkafka 2.1 made this <c>fetch.queue.backoff.ms</c>). A pipeline that drains the queue faster
/// than that then waits for the rest of the second with nothing to read: in the benchmark, stalls of 0.3-0.5 s
/// every second, with both cores half idle.
/// </para>
/// <para>
/// The poll thread reports the queue's length before each read (<see cref="Observe"/>). Once the queue has been near
/// its limit (three quarters) and has drained below half, this class asks the leaders of the assigned partitions
/// for their latest offsets, from its own thread so the poll thread never waits for the answer. The request wakes
/// each leader's broker thread, which finds room in the queue and fetches at once. Nothing else changes: no pause,
/// no seek, so the prefetched messages and the fetch positions stay as they are. At most one request per
/// <see cref="MinInterval"/>, and none while the queue stays short (a consumer that keeps up never sends any).
/// </para>
/// </summary>
internal sealed class FetchWaker : IDisposable
{
    /// <summary>The least time between two wake-up requests.</summary>
    internal static readonly TimeSpan MinInterval = TimeSpan.FromMilliseconds(20);

    private readonly NativeConsumer _consumer;
    private readonly long _limitBytes;
    private readonly long _limitMessages;
    private readonly ILogger _logger;
    private readonly string _pipeline;
    private readonly AutoResetEvent _signal = new(false);
    private readonly Thread _thread;
    private readonly Func<IReadOnlyList<PartitionKey>> _partitions;
    private volatile bool _stopping;
    private bool _wasHigh; // poll thread only
    private long _wakeups;

    /// <param name="partitions">The assigned partitions (called from this class's thread): their leaders are asked.</param>
    public FetchWaker(NativeConsumer consumer, IReadOnlyDictionary<string, string> config, Func<IReadOnlyList<PartitionKey>> partitions, ILogger logger, string pipeline)
    {
        _consumer = consumer;
        _partitions = partitions;
        _logger = logger;
        _pipeline = pipeline;
        // librdkafka's defaults where the configuration leaves them out.
        _limitBytes = Setting(config, "queued.max.messages.kbytes", 65536) * 1024;
        _limitMessages = Setting(config, "queued.min.messages", 100000);
        _thread = new Thread(Run) { IsBackground = true, Name = $"kafka-wake-{pipeline}" };
        _thread.Start();
    }

    /// <summary>Wake-up requests sent so far.</summary>
    public long Wakeups => Interlocked.Read(ref _wakeups);

    /// <summary>
    /// Poll thread, before a read: <paramref name="queuedMessages"/> in librdkafka's consumer queue, of about
    /// <paramref name="averageMessageBytes"/> each (key + value, as librdkafka counts them).
    /// </summary>
    public void Observe(long queuedMessages, double averageMessageBytes)
    {
        var bytes = queuedMessages * averageMessageBytes;
        if (bytes * 4 >= _limitBytes * 3 || queuedMessages * 4 >= _limitMessages * 3)
        {
            _wasHigh = true; // librdkafka may stop fetching from here on
        }
        else if (_wasHigh && bytes * 2 < _limitBytes && queuedMessages * 2 < _limitMessages)
        {
            _wasHigh = false;
            _signal.Set();
        }
    }

    private void Run()
    {
        long lastAt = 0;
        while (true)
        {
            _signal.WaitOne();
            if (_stopping) return;
            var since = Stopwatch.GetElapsedTime(lastAt);
            if (lastAt != 0 && since < MinInterval) Thread.Sleep(MinInterval - since);
            if (_stopping) return;
            var partitions = _partitions();
            if (partitions.Count == 0) continue;
            lastAt = Stopwatch.GetTimestamp();
            try
            {
                // The answer is not used: asking wakes the leaders' broker threads (see ListOffsets).
                _consumer.ListOffsets(partitions, latest: true, 1000, out var error);
                Interlocked.Increment(ref _wakeups);
                if (error.IsError)
                    _logger.LogDebug("Pipeline {Pipeline}: fetch wake-up request failed: {Reason} (fetching resumes within a second anyway)", _pipeline, error.Reason);
            }
            catch (ObjectDisposedException)
            {
                return; // the consumer is closed
            }
        }
    }

    private static long Setting(IReadOnlyDictionary<string, string> config, string key, long librdkafkaDefault) =>
        config.TryGetValue(key, out var text) && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v > 0
            ? v : librdkafkaDefault;

    public void Dispose()
    {
        _stopping = true;
        _signal.Set();
        // At most one request is in flight (1 s timeout); the event stays undisposed if the thread is somehow still in it.
        if (_thread.Join(TimeSpan.FromSeconds(5))) _signal.Dispose();
    }
}

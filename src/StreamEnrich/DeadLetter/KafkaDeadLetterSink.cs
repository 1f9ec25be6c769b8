using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using StreamEnrich.Records;

namespace StreamEnrich.DeadLetter;

/// <summary>
/// Writes failed records to a Kafka topic: the original key and value, the original headers, and
/// <see cref="DeadLetterHeaders"/> saying where and why the record failed. Idempotent producer with acks=all;
/// <see cref="WriteAsync"/> waits for every delivery report and retries transient failures.
/// </summary>
internal sealed class KafkaDeadLetterSink : IDeadLetterSink
{
    private readonly IProducer<byte[]?, byte[]?> _producer;
    private readonly string _topic;
    private readonly string _pipeline;
    private readonly ILogger _logger;
    private readonly int _maxAttempts;
    private readonly TimeSpan _retryBackoff;

    public KafkaDeadLetterSink(string topic, string pipelineName, IEnumerable<KeyValuePair<string, string>> producerConfig, ILogger logger,
        int maxAttempts = 5, TimeSpan? retryBackoff = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        _topic = topic;
        _pipeline = pipelineName;
        _logger = logger;
        _maxAttempts = Math.Max(1, maxAttempts);
        _retryBackoff = retryBackoff ?? TimeSpan.FromMilliseconds(500);
        _producer = new ProducerBuilder<byte[]?, byte[]?>(producerConfig)
            .SetErrorHandler((_, e) => _logger.Log(e.IsFatal ? LogLevel.Error : LogLevel.Warning,
                "Pipeline {Pipeline}: dead-letter producer: {Reason} ({Code})", _pipeline, e.Reason, e.Code))
            .Build();
    }

    /// <summary>Producer defaults for dead letters (durable, ordered, small linger); user properties are applied after.</summary>
    internal static Dictionary<string, string> BuildConfig(string brokers, string pipelineName, IEnumerable<KeyValuePair<string, string>> properties)
    {
        var config = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["bootstrap.servers"] = brokers,
            ["client.id"] = $"streamenrich-{pipelineName}-dlq",
            ["acks"] = "all",
            ["enable.idempotence"] = "true",
            ["linger.ms"] = "5",
            ["message.timeout.ms"] = "30000",
        };
        foreach (var (k, v) in properties) config[k] = v;
        return config;
    }

    public string Description => $"kafka topic {_topic}";

    public async Task WriteAsync(IReadOnlyList<Record> failed, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(failed);
        var pending = failed.ToList();
        for (var attempt = 1; pending.Count > 0; attempt++)
        {
            ct.ThrowIfCancellationRequested();
            var tasks = new Task<DeliveryResult<byte[]?, byte[]?>>[pending.Count];
            for (var i = 0; i < pending.Count; i++)
                tasks[i] = ProduceAsync(pending[i], ct);
            try
            {
                await Task.WhenAll(tasks).ConfigureAwait(false);
                return;
            }
            catch (Exception) when (tasks.All(t => t.IsCompleted))
            {
                // Inspected per record below.
            }

            var retry = new List<Record>();
            Error? last = null;
            for (var i = 0; i < tasks.Length; i++)
            {
                if (tasks[i].IsCompletedSuccessfully) continue;
                if (tasks[i].IsCanceled) throw new OperationCanceledException(ct);
                var error = tasks[i].Exception?.InnerException switch
                {
                    ProduceException<byte[]?, byte[]?> pe => pe.Error,
                    KafkaException ke => ke.Error,
                    var other => throw new DeadLetterException(
                        $"Pipeline {_pipeline}: writing a dead letter to topic '{_topic}' failed: {other?.Message}", other!),
                };
                if (!IsTransient(error) || attempt >= _maxAttempts)
                {
                    throw new DeadLetterException(
                        $"Pipeline {_pipeline}: could not write {tasks.Count(t => !t.IsCompletedSuccessfully)} record(s) to dead-letter topic '{_topic}' " +
                        $"after {attempt} attempt(s): {error.Reason} ({error.Code}). {Hint(error.Code)}" +
                        "Their offsets are not committed; they are processed again after a restart.",
                        new KafkaException(error));
                }
                retry.Add(pending[i]);
                last = error;
            }
            _logger.LogWarning("Pipeline {Pipeline}: {Count} dead letter(s) to '{Topic}' failed transiently ({Reason}); retry {Attempt}/{Max}",
                _pipeline, retry.Count, _topic, last?.Reason, attempt, _maxAttempts - 1);
            await Task.Delay(_retryBackoff * attempt, ct).ConfigureAwait(false);
            pending = retry;
        }
    }

    private Task<DeliveryResult<byte[]?, byte[]?>> ProduceAsync(Record r, CancellationToken ct)
    {
        var headers = new Headers();
        if (r.Headers is not null)
            foreach (var h in r.Headers) headers.Add(h.Key, h.Value);
        headers.Add(DeadLetterHeaders.Stage, Encoding.UTF8.GetBytes(DeadLetterHeaders.StageOf(r)));
        headers.Add(DeadLetterHeaders.Reason, Encoding.UTF8.GetBytes(DeadLetterHeaders.ReasonOf(r)));
        headers.Add(DeadLetterHeaders.SourceTopic, Encoding.UTF8.GetBytes(r.Topic));
        headers.Add(DeadLetterHeaders.SourcePartition, Encoding.UTF8.GetBytes(r.Partition.ToString(CultureInfo.InvariantCulture)));
        headers.Add(DeadLetterHeaders.SourceOffset, Encoding.UTF8.GetBytes(r.Offset.ToString(CultureInfo.InvariantCulture)));
        headers.Add(DeadLetterHeaders.SourceTimestamp, Encoding.UTF8.GetBytes(r.TimestampMs.ToString(CultureInfo.InvariantCulture)));
        headers.Add(DeadLetterHeaders.Pipeline, Encoding.UTF8.GetBytes(_pipeline));
        var message = new Message<byte[]?, byte[]?>
        {
            Key = r.Key,
            Value = r.Payload,
            Headers = headers,
            Timestamp = new Timestamp(r.TimestampMs, TimestampType.CreateTime),
        };
        // The cancellation token only abandons the wait; the delivery report still arrives.
        return _producer.ProduceAsync(_topic, message, ct);
    }

    private static bool IsTransient(Error e) => e.Code is ErrorCode.Local_MsgTimedOut or ErrorCode.Local_TimedOut or ErrorCode.Local_Transport
        or ErrorCode.Local_AllBrokersDown or ErrorCode.Local_QueueFull or ErrorCode.RequestTimedOut or ErrorCode.LeaderNotAvailable
        or ErrorCode.NotLeaderForPartition or ErrorCode.NotEnoughReplicas or ErrorCode.NotEnoughReplicasAfterAppend
        or ErrorCode.NetworkException or ErrorCode.BrokerNotAvailable || (!e.IsFatal && e.Code == ErrorCode.Local_Retry);

    private string Hint(ErrorCode code) => code switch
    {
        ErrorCode.TopicAuthorizationFailed => $"Grant the producer's principal Write on topic '{_topic}'. ",
        ErrorCode.UnknownTopicOrPart or ErrorCode.Local_UnknownTopic => $"Create topic '{_topic}' (or enable auto-creation). ",
        ErrorCode.MsgSizeTooLarge => "The record is larger than the topic's max.message.bytes; raise it or use a dead_letter file. ",
        _ => "",
    };

    public ValueTask DisposeAsync()
    {
        try
        {
            _producer.Flush(TimeSpan.FromSeconds(10));
        }
        finally
        {
            _producer.Dispose();
        }
        return ValueTask.CompletedTask;
    }
}

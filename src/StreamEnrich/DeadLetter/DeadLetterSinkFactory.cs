using Microsoft.Extensions.Logging;
using StreamEnrich.Configuration;

namespace StreamEnrich.DeadLetter;

/// <summary>Builds the dead-letter sink a pipeline's <see cref="DeadLetterOptions"/> ask for.</summary>
internal static class DeadLetterSinkFactory
{
    /// <summary>
    /// A topic goes to the source's cluster (<paramref name="source"/> brokers, with its security settings:
    /// <c>security.*</c>, <c>sasl.*</c>, <c>ssl.*</c>), then <see cref="DeadLetterOptions.Properties"/> on top.
    /// </summary>
    public static IDeadLetterSink Create(DeadLetterOptions options, KafkaSourceOptions source, string pipelineName, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(source);
        if (options.File is { } file)
            return new FileDeadLetterSink(file, pipelineName);
        if (options.Topic is not { } topic)
            throw new InvalidOperationException("dead_letter needs exactly one of `topic` or `file`.");

        return new KafkaDeadLetterSink(topic, pipelineName, ProducerConfig(options, source, pipelineName), logger);
    }

    /// <summary>The dead-letter producer's configuration: defaults, the source's security settings, then the user's.</summary>
    internal static Dictionary<string, string> ProducerConfig(DeadLetterOptions options, KafkaSourceOptions source, string pipelineName)
    {
        var inherited = source.Properties.Where(p =>
            p.Key.StartsWith("security.", StringComparison.Ordinal) ||
            p.Key.StartsWith("sasl.", StringComparison.Ordinal) ||
            p.Key.StartsWith("ssl.", StringComparison.Ordinal));
        return KafkaDeadLetterSink.BuildConfig(source.Brokers, pipelineName, inherited.Concat(options.Properties));
    }
}

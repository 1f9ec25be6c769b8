using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace StreamEnrich.Tests.Fixtures;

/// <summary>Collects log lines (Information and above, or from <paramref name="minLevel"/>) so tests can assert what the Kafka components reported.</summary>
public sealed class KafkaTestLogger(LogLevel minLevel = LogLevel.Information) : ILogger
{
    public ConcurrentQueue<(LogLevel Level, string Message)> Lines { get; } = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= minLevel;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (IsEnabled(logLevel)) Lines.Enqueue((logLevel, $"{DateTime.UtcNow:HH:mm:ss.fff} {formatter(state, exception)}"));
    }

    public int Count(string contains) => Lines.Count(l => l.Message.Contains(contains, StringComparison.Ordinal));

    public override string ToString() => string.Join(Environment.NewLine, Lines.Select(l => $"{l.Level}: {l.Message}"));
}

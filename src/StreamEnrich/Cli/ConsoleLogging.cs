using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace StreamEnrich.Cli;

/// <summary>
/// The process's loggers: one line per entry on standard output, in the format of Microsoft's simple console formatter
/// with <c>SingleLine</c> and a UTC timestamp (<c>2026-11-20T10:15:30.123Z info: Category[0] message</c>).
/// </summary>
/// <remarks>
/// <c>LoggerFactory.Create(b => b.AddSimpleConsole(...))</c> builds a dependency-injection container, options and a
/// queue thread first. On two cores, the ~170 framework methods that setup compiles at start-up took a measurable share
/// of a short run (see README, benchmark), and nothing here needs filters, scopes or extra providers. A line is written
/// whole, under <see cref="Console.Out"/>'s lock, so lines from several threads never interleave.
/// </remarks>
internal sealed class ConsoleLoggerFactory : ILoggerFactory
{
    private readonly ConcurrentDictionary<string, ConsoleLineLogger> _loggers = new(StringComparer.Ordinal);
    private readonly LogLevel _minimum;
    private readonly TextWriter _output;
    private readonly bool _colors;

    /// <param name="output">Where lines go (standard output when null).</param>
    /// <param name="colors">Color the level when writing to a terminal (null: when standard output is not redirected).</param>
    public ConsoleLoggerFactory(LogLevel minimum, TextWriter? output = null, bool? colors = null)
    {
        _minimum = minimum;
        _output = output ?? Console.Out;
        _colors = colors ?? (output is null && !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("NO_COLOR") is null);
    }

    public ILogger CreateLogger(string categoryName) =>
        _loggers.GetOrAdd(categoryName, static (name, f) => new ConsoleLineLogger(name, f), this);

    /// <summary>Not supported: these loggers write to the console only.</summary>
    public void AddProvider(ILoggerProvider provider) =>
        throw new NotSupportedException("StreamEnrich's console loggers take no other providers.");

    public void Dispose() => _output.Flush();

    private sealed class ConsoleLineLogger(string category, ConsoleLoggerFactory factory) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= factory._minimum && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            var message = formatter(state, exception);
            if (exception is null && message is null) return;
            factory._output.Write(Format(DateTimeOffset.UtcNow, logLevel, category, eventId.Id, message, exception, factory._colors));
        }
    }

    /// <summary>One entry as one line, ending in a newline; line breaks inside the message and exception become spaces.</summary>
    internal static string Format(DateTimeOffset utcNow, LogLevel level, string category, int eventId, string? message, Exception? exception, bool colors = false)
    {
        var sb = new StringBuilder(64 + category.Length + (message?.Length ?? 0));
        sb.Append(utcNow.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ ", CultureInfo.InvariantCulture));
        var (name, color) = level switch
        {
            LogLevel.Trace => ("trce", "\u001b[37m"),
            LogLevel.Debug => ("dbug", "\u001b[37m"),
            LogLevel.Information => ("info", "\u001b[32m"),
            LogLevel.Warning => ("warn", "\u001b[1m\u001b[33m"),
            LogLevel.Error => ("fail", "\u001b[41m\u001b[30m"),
            LogLevel.Critical => ("crit", "\u001b[41m\u001b[1m\u001b[37m"),
            _ => throw new ArgumentOutOfRangeException(nameof(level), level, "not a level that writes"),
        };
        if (colors) sb.Append(color).Append(name).Append("\u001b[0m");
        else sb.Append(name);
        sb.Append(": ").Append(category).Append('[').Append(eventId.ToString(CultureInfo.InvariantCulture)).Append(']');
        AppendOneLine(sb, message);
        if (exception is not null) AppendOneLine(sb, exception.ToString());
        sb.Append(Environment.NewLine);
        return sb.ToString();
    }

    private static void AppendOneLine(StringBuilder sb, string? text)
    {
        if (string.IsNullOrEmpty(text)) return;
        sb.Append(' ');
        var start = sb.Length;
        sb.Append(text);
        sb.Replace("\r\n", " ", start, sb.Length - start).Replace('\n', ' ', start, sb.Length - start);
    }
}

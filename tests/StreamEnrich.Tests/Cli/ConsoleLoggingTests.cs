using Microsoft.Extensions.Logging;
using StreamEnrich.Cli;
using Xunit;

namespace StreamEnrich.Tests.Cli;

public partial class ConsoleLoggingTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 20, 10, 15, 30, 123, TimeSpan.Zero);

    [Theory]
    [InlineData(LogLevel.Trace, "trce")]
    [InlineData(LogLevel.Debug, "dbug")]
    [InlineData(LogLevel.Information, "info")]
    [InlineData(LogLevel.Warning, "warn")]
    [InlineData(LogLevel.Error, "fail")]
    [InlineData(LogLevel.Critical, "crit")]
    public void Format_IsTheSimpleConsoleSingleLineWithUtcTimestamp(LogLevel level, string name)
    {
        Assert.Equal($"2026-11-20T10:15:30.123Z {name}: StreamEnrich.Host[7] Running 1 pipeline(s): web-events{Environment.NewLine}",
            ConsoleLoggerFactory.Format(At, level, "StreamEnrich.Host", 7, "Running 1 pipeline(s): web-events", null));
    }

    [Fact]
    public void Format_KeepsMessageAndExceptionOnOneLine()
    {
        Exception ex;
        try { throw new InvalidOperationException("first\nsecond"); }
        catch (InvalidOperationException e) { ex = e; }

        var line = ConsoleLoggerFactory.Format(At, LogLevel.Error, "C", 0, "insert failed\r\nretrying", ex);

        Assert.EndsWith(Environment.NewLine, line, StringComparison.Ordinal);
        var body = line[..^Environment.NewLine.Length];
        Assert.DoesNotContain('\n', body);
        Assert.DoesNotContain('\r', body);
        Assert.StartsWith("2026-11-20T10:15:30.123Z fail: C[0] insert failed retrying System.InvalidOperationException: first second", body, StringComparison.Ordinal);
        Assert.Contains(nameof(Format_KeepsMessageAndExceptionOnOneLine), body, StringComparison.Ordinal); // the stack trace is kept
    }

    [Fact]
    public void Format_ColorsOnlyTheLevel()
    {
        var line = ConsoleLoggerFactory.Format(At, LogLevel.Warning, "C", 0, "m", null, colors: true);
        Assert.Equal($"2026-11-20T10:15:30.123Z \u001b[1m\u001b[33mwarn\u001b[0m: C[0] m{Environment.NewLine}", line);
    }

    [Fact]
    public void Loggers_WriteFromTheMinimumLevelUp_OneLineEach_ThroughLoggerMessage()
    {
        var output = new StringWriter();
        using (var factory = new ConsoleLoggerFactory(LogLevel.Information, output, colors: false))
        {
            var logger = factory.CreateLogger("StreamEnrich.Test");
            Assert.Same(logger, factory.CreateLogger("StreamEnrich.Test"));
            Assert.False(logger.IsEnabled(LogLevel.Debug));
            Assert.True(logger.IsEnabled(LogLevel.Information));
            Assert.False(logger.IsEnabled(LogLevel.None));
            LogInserted(logger, 42, "db.t");
            logger.LogDebug("not written");
            logger.LogWarning("careful {What}", "x");
            Assert.Throws<NotSupportedException>(() => factory.AddProvider(null!));
        }

        var lines = output.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info: StreamEnrich\.Test\[11\] Inserted 42 rows into db\.t$", lines[0]);
        Assert.EndsWith(" warn: StreamEnrich.Test[0] careful x", lines[1], StringComparison.Ordinal);
    }

    [LoggerMessage(EventId = 11, Level = LogLevel.Information, Message = "Inserted {Rows} rows into {Table}")]
    private static partial void LogInserted(ILogger logger, int rows, string table);
}

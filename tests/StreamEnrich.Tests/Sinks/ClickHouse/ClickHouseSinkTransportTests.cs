using System.Net;
using System.Net.Sockets;
using StreamEnrich.Configuration;
using StreamEnrich.Records;
using StreamEnrich.Sinks.ClickHouse;

namespace StreamEnrich.Tests.Sinks.ClickHouse;

/// <summary>Transport failures without a ClickHouse server: a port that accepts and never answers, and a closed port.</summary>
public sealed class ClickHouseSinkTransportTests
{
    private static async Task<(ClickHouseSink, Records.Record)> SinkAsync(string url, Action<ClickHouseSinkOptions> configure, ListLogger logger)
    {
        var o = new ClickHouseSinkOptions
        {
            Url = url, Table = "t", Schema = { ["id"] = "UInt32" },
            RetryBackoff = TimeSpan.FromMilliseconds(20), RetryMaxBackoff = TimeSpan.FromMilliseconds(50),
        };
        configure(o);
        var sink = new ClickHouseSink(o, logger, TimeProvider.System, SchemaSource.InlineWhenGiven);
        await sink.PrepareAsync(CancellationToken.None);
        var layout = new RecordLayout();
        sink.BindColumns(layout);
        layout.Freeze();
        var r = layout.NewRecord();
        r[0] = Value.FromInt(1);
        return (sink, r);
    }

    [Fact]
    public async Task InsertAsync_ServerNeverAnswers_TimesOutAndRetriesThenGivesUp()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        var logger = new ListLogger();
        var (sink, r) = await SinkAsync($"http://127.0.0.1:{port}", o => { o.Timeout = TimeSpan.FromMilliseconds(300); o.MaxRetries = 1; }, logger);
        using var _ = sink;

        var e = await Assert.ThrowsAsync<ClickHouseSinkException>(() => sink.InsertAsync([r], CancellationToken.None));

        Assert.Contains("failed after 2 attempts (max_retries 1)", e.Message, StringComparison.Ordinal);
        Assert.Contains("within 0.3s", e.Message, StringComparison.Ordinal);
        Assert.Single(logger.Warnings);
        Assert.Contains("Retrying in", logger.Warnings[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task InsertAsync_RetryingForeverAndCancelled_StopsWithCancellation()
    {
        int port;
        using (var l = new TcpListener(IPAddress.Loopback, 0)) { l.Start(); port = ((IPEndPoint)l.LocalEndpoint).Port; l.Stop(); }
        var logger = new ListLogger();
        var (sink, r) = await SinkAsync($"http://127.0.0.1:{port}", o => o.MaxRetries = -1, logger);
        using var _ = sink;
        using var cts = new CancellationTokenSource();

        var insert = sink.InsertAsync([r], cts.Token);
        // Cancelled once it has retried twice (not after a fixed time: a loaded machine may not get there in time).
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (WarningCount() < 2 && !insert.IsCompleted && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.False(insert.IsCompleted, "an endless retry must not end on its own");
        Assert.True(WarningCount() >= 2, $"expected several logged retries, got {WarningCount()}");
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => insert);
        lock (logger.Warnings) Assert.Contains("Cannot reach ClickHouse", logger.Warnings[0], StringComparison.Ordinal);

        int WarningCount()
        {
            lock (logger.Warnings) return logger.Warnings.Count;
        }
    }

    [Fact]
    public void Backoff_GrowsExponentiallyWithinTheCap()
    {
        var o = new ClickHouseSinkOptions { Url = "http://x:1", Table = "t", RetryBackoff = TimeSpan.FromMilliseconds(100), RetryMaxBackoff = TimeSpan.FromSeconds(1) };
        using var sink = new ClickHouseSink(o, new ListLogger(), TimeProvider.System);
        for (var i = 0; i < 200; i++)
        {
            Assert.InRange(sink.Backoff(1).TotalMilliseconds, 0, 100);
            Assert.InRange(sink.Backoff(3).TotalMilliseconds, 0, 400);
            Assert.InRange(sink.Backoff(40).TotalMilliseconds, 0, 1000);
        }
        // full jitter: over many draws attempt 3 must sometimes exceed attempt 1's cap
        Assert.Contains(Enumerable.Range(0, 200).Select(_ => sink.Backoff(3).TotalMilliseconds), d => d > 100);
    }
}

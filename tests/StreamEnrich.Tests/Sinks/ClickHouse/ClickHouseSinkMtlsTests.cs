using StreamEnrich.Configuration;
using StreamEnrich.Records;
using StreamEnrich.Sinks.ClickHouse;

namespace StreamEnrich.Tests.Sinks.ClickHouse;

/// <summary>Mutual TLS: the sink against a real ClickHouse whose https_port demands a client certificate from its CA.</summary>
public sealed class ClickHouseSinkMtlsTests(MtlsClickHouseServerFixture server) : IClassFixture<MtlsClickHouseServerFixture>
{
    private ClickHouseSinkOptions Options(string table, Action<ClickHouseSinkOptions>? configure = null) =>
        ClickHouseSinkIntegrationTests.Options(server.HttpsUrl, table, o =>
        {
            o.MaxRetries = 0;
            o.TlsCaFile = server.CaFile;
            configure?.Invoke(o);
        });

    private static Records.Record Row(RecordLayout layout, int id, string name) => ClickHouseSinkIntegrationTests.Row(layout, id, name);

    [Theory]
    [InlineData(nameof(TestKeyFormat.Pkcs8), false)]
    [InlineData(nameof(TestKeyFormat.EcPrivateKey), true)]
    [InlineData(nameof(TestKeyFormat.RsaPkcs1), false)]
    public async Task InsertAsync_ClientCertificateFromTheServersCa_RowsAreQueryable(string keyFormat, bool gzip)
    {
        var table = await server.CreateUniqueTableAsync("id UInt32, name String");
        var (cert, key) = server.ClientCertificate(Enum.Parse<TestKeyFormat>(keyFormat));
        var logger = new ListLogger();
        var (sink, layout) = await ClickHouseSinkIntegrationTests.PrepareAsync(Options(table, o =>
        {
            o.TlsCertFile = cert;
            o.TlsKeyFile = key;
            o.Compress = gzip;
        }), logger);
        using (sink)
        {
            var result = await sink.InsertAsync([Row(layout, 1, "mutual"), Row(layout, 2, "tls")], CancellationToken.None);
            Assert.Equal(2, result.RowsInserted);
        }

        Assert.Equal("1\tmutual\n2\ttls\n", await server.QueryAsync($"SELECT id, name FROM default.{table} ORDER BY id"));
        Assert.Empty(logger.Warnings);
    }

    [Fact]
    public async Task PrepareAsync_NoClientCertificate_FailsNamingTheCertificateOptions()
    {
        using var sink = new ClickHouseSink(Options("whatever"), new ListLogger(), TimeProvider.System);

        var e = await Assert.ThrowsAsync<ClickHouseSinkException>(() => sink.PrepareAsync(CancellationToken.None));

        Assert.Contains($"ClickHouse at {server.HttpsUrl} requires a TLS client certificate (mutual TLS) and closed the connection because none was sent",
            e.Message, StringComparison.Ordinal);
        Assert.Contains("Set sink.tls_cert_file and sink.tls_key_file", e.Message, StringComparison.Ordinal);
        var transport = Assert.IsType<ClickHouseTransportException>(e.InnerException);
        Assert.True(transport.IsPermanent);
    }

    [Fact]
    public async Task InsertAsync_NoClientCertificateWithEndlessRetries_FailsAtOnceInsteadOfRetrying()
    {
        // The server refuses every connection without a certificate until the configuration changes: retrying forever
        // (the default) would only hide that behind warnings while the consumer stays paused.
        var table = await server.CreateUniqueTableAsync("id UInt32, name String");

        var e = await ClickHouseSinkIntegrationTests.InsertFailingAtOnceAsync(Options(table));

        Assert.Contains("requires a TLS client certificate", e.Message, StringComparison.Ordinal);
        Assert.Equal("0\n", await server.QueryAsync($"SELECT count() FROM default.{table}"));
    }

    [Fact]
    public async Task PrepareAsync_ClientCertificateFromAnotherCa_FailsNamingTheCertificateAndTheOptions()
    {
        var (cert, key) = server.UntrustedClientCertificate();
        using var sink = new ClickHouseSink(Options("whatever", o => { o.TlsCertFile = cert; o.TlsKeyFile = key; }), new ListLogger(), TimeProvider.System);

        var e = await Assert.ThrowsAsync<ClickHouseSinkException>(() => sink.PrepareAsync(CancellationToken.None));

        Assert.Contains($"ClickHouse at {server.HttpsUrl} refused the TLS client certificate in sink.tls_cert_file '{cert}'", e.Message, StringComparison.Ordinal);
        Assert.Contains("issued by 'CN=StreamEnrich test CA", e.Message, StringComparison.Ordinal);
        Assert.Contains("Set sink.tls_cert_file and sink.tls_key_file to a certificate and key issued by a CA the server trusts", e.Message, StringComparison.Ordinal);
        Assert.True(Assert.IsType<ClickHouseTransportException>(e.InnerException).IsPermanent);
    }

    [Fact]
    public async Task InsertAsync_ClientCertificateFromAnotherCaWithEndlessRetries_FailsAtOnce()
    {
        var table = await server.CreateUniqueTableAsync("id UInt32, name String");
        var (cert, key) = server.UntrustedClientCertificate();

        var e = await ClickHouseSinkIntegrationTests.InsertFailingAtOnceAsync(Options(table, o => { o.TlsCertFile = cert; o.TlsKeyFile = key; }));

        Assert.Contains("refused the TLS client certificate in sink.tls_cert_file", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InsertAsync_MtlsServerDownThenBack_RetriesAndDeliversInsteadOfBlamingTheCertificate()
    {
        // An outage with a good certificate is a passing failure: the refusal check must not turn it into a permanent one.
        using var own = new LocalClickHouseServer(options: new LocalClickHouseServerOptions { Https = true, RequireClientCertificate = true });
        await own.StartAsync(TimeSpan.FromSeconds(60));
        using var http = new HttpClient();
        using (var create = await http.PostAsync(own.Url, new StringContent("CREATE TABLE default.t (id UInt32, name String) ENGINE = MergeTree ORDER BY id")))
            Assert.True(create.IsSuccessStatusCode, await create.Content.ReadAsStringAsync());
        var logger = new ListLogger();
        var (sink, layout) = await ClickHouseSinkIntegrationTests.PrepareAsync(ClickHouseSinkIntegrationTests.Options(own.HttpsUrl!, "t", o =>
        {
            o.MaxRetries = -1;
            o.TlsCaFile = own.CaFile;
            o.TlsCertFile = own.ClientCertificateFile;
            o.TlsKeyFile = own.ClientKeyFile;
        }), logger);
        using (sink)
        {
            await own.StopAsync();
            var insert = sink.InsertAsync([Row(layout, 7, "after restart")], CancellationToken.None);
            var waited = System.Diagnostics.Stopwatch.StartNew();
            while (true)
            {
                lock (logger.Warnings) if (logger.Warnings.Any(w => w.Contains("Retrying", StringComparison.Ordinal))) break;
                Assert.False(insert.IsCompleted, insert.Exception?.ToString() ?? "the insert finished while the server was down");
                Assert.True(waited.Elapsed < TimeSpan.FromSeconds(30), "no retry warning within 30 s");
                await Task.Delay(50);
            }
            await own.StartAsync(TimeSpan.FromSeconds(60));
            var result = await insert.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(1, result.RowsInserted);
        }
        lock (logger.Warnings) Assert.DoesNotContain(logger.Warnings, w => w.Contains("client certificate", StringComparison.Ordinal));
        Assert.Equal("7\tafter restart\n", await http.GetStringAsync(new Uri(own.Url, "?query=SELECT%20id,%20name%20FROM%20default.t")));
    }
}

using StreamEnrich.Configuration;
using StreamEnrich.Records;
using StreamEnrich.Sinks.ClickHouse;

namespace StreamEnrich.Tests.Sinks.ClickHouse;

/// <summary>
/// Mutual TLS: the sink against a real ClickHouse whose https_port demands a client certificate from its CA (TLS 1.3,
/// where the server judges the certificate after the handshake). The refusals are in <see cref="MtlsRefusalTests{TFixture}"/>,
/// run against this server and against one that speaks TLS 1.2 at most.
/// </summary>
public sealed class ClickHouseSinkMtlsTests(MtlsClickHouseServerFixture server)
    : MtlsRefusalTests<MtlsClickHouseServerFixture>(server), IClassFixture<MtlsClickHouseServerFixture>
{

    private static Records.Record Row(RecordLayout layout, int id, string name) => ClickHouseSinkIntegrationTests.Row(layout, id, name);

    [Theory]
    [InlineData(nameof(TestKeyFormat.Pkcs8), false)]
    [InlineData(nameof(TestKeyFormat.EcPrivateKey), true)]
    [InlineData(nameof(TestKeyFormat.RsaPkcs1), false)]
    public async Task InsertAsync_ClientCertificateFromTheServersCa_RowsAreQueryable(string keyFormat, bool gzip)
    {
        var table = await Server.CreateUniqueTableAsync("id UInt32, name String");
        var (cert, key) = Server.ClientCertificate(Enum.Parse<TestKeyFormat>(keyFormat));
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

        Assert.Equal("1\tmutual\n2\ttls\n", await Server.QueryAsync($"SELECT id, name FROM default.{table} ORDER BY id"));
        Assert.Empty(logger.Warnings);
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

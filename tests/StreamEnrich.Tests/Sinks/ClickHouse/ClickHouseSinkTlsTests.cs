using System.Security.Cryptography.X509Certificates;
using StreamEnrich.Configuration;
using StreamEnrich.Records;
using StreamEnrich.Sinks.ClickHouse;

namespace StreamEnrich.Tests.Sinks.ClickHouse;

/// <summary>The sink over HTTPS against a real ClickHouse server (its own https_port and a throwaway CA).</summary>
public sealed class ClickHouseSinkTlsTests(TlsClickHouseServerFixture server) : IClassFixture<TlsClickHouseServerFixture>
{
    private static ClickHouseSinkOptions Options(Uri url, string table, Action<ClickHouseSinkOptions>? configure = null) =>
        ClickHouseSinkIntegrationTests.Options(url, table, o =>
        {
            o.MaxRetries = 0;
            configure?.Invoke(o);
        });

    private static Records.Record Row(RecordLayout layout, int id, string name) => ClickHouseSinkIntegrationTests.Row(layout, id, name);

    private async Task<string> InsertTwoRowsAsync(ClickHouseSinkOptions o, ListLogger? logger = null)
    {
        var (sink, layout) = await ClickHouseSinkIntegrationTests.PrepareAsync(o, logger);
        using var lease = sink;
        var result = await sink.InsertAsync([Row(layout, 1, "über"), Row(layout, 2, "tls")], CancellationToken.None);
        Assert.Equal(2, result.RowsInserted);
        return await server.QueryAsync($"SELECT id, name FROM default.{o.Table} ORDER BY id");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task InsertAsync_HttpsWithCaFile_RowsAreQueryable(bool gzip)
    {
        var table = await server.CreateUniqueTableAsync("id UInt32, name String");
        var logger = new ListLogger();
        var rows = await InsertTwoRowsAsync(Options(server.HttpsUrl, table, o => { o.TlsCaFile = server.CaFile; o.Compress = gzip; }), logger);
        Assert.Equal("1\tüber\n2\ttls\n", rows);
        Assert.Empty(logger.Warnings);
    }

    [Fact]
    public async Task InsertAsync_HttpsWithUserAndPassword_RowsAreQueryable()
    {
        var table = await server.CreateUniqueTableAsync("id UInt32, name String");
        var rows = await InsertTwoRowsAsync(Options(server.HttpsUrl, table, o =>
        {
            o.TlsCaFile = server.CaFile;
            o.User = TlsClickHouseServerFixture.User;
            o.Password = TlsClickHouseServerFixture.Password;
        }));
        Assert.Equal("1\tüber\n2\ttls\n", rows);
    }

    [Fact]
    public async Task InsertAsync_ClientCertificateForAServerThatAsksNone_RowsAreQueryable()
    {
        // A client certificate is only sent when the server asks for one: configuring it must not break plain https.
        var table = await server.CreateUniqueTableAsync("id UInt32, name String");
        var (cert, key) = server.Server.CreateClientCertificate(Path.Combine(server.Server.Directory, "client-certs"));
        var rows = await InsertTwoRowsAsync(Options(server.HttpsUrl, table, o => { o.TlsCaFile = server.CaFile; o.TlsCertFile = cert; o.TlsKeyFile = key; }));
        Assert.Equal("1\tüber\n2\ttls\n", rows);
    }

    [Fact]
    public async Task PrepareAsync_HttpsWrongPassword_FailsWithAuthErrorNotTls()
    {
        using var sink = new ClickHouseSink(Options(server.HttpsUrl, "whatever", o =>
        {
            o.TlsCaFile = server.CaFile;
            o.User = TlsClickHouseServerFixture.User;
            o.Password = "wrong";
        }), new ListLogger(), TimeProvider.System);
        var e = await Assert.ThrowsAsync<ClickHouseSinkException>(() => sink.PrepareAsync(CancellationToken.None));
        Assert.True(e.Code is 193 or 516, $"code {e.Code}: {e.Message}");
        Assert.Contains("check sink.user and sink.password", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PrepareAsync_HttpsWithoutCaFile_FailsNamingCertificateValidationAndTheOptions()
    {
        var table = await server.CreateUniqueTableAsync("id UInt32, name String");
        using var sink = new ClickHouseSink(Options(server.HttpsUrl, table), new ListLogger(), TimeProvider.System);

        var e = await Assert.ThrowsAsync<ClickHouseSinkException>(() => sink.PrepareAsync(CancellationToken.None));

        Assert.Contains($"TLS certificate validation failed for ClickHouse at {server.HttpsUrl}", e.Message, StringComparison.Ordinal);
        Assert.Contains("is not trusted by this machine", e.Message, StringComparison.Ordinal);
        Assert.Contains("issued by 'CN=StreamEnrich test CA", e.Message, StringComparison.Ordinal);
        Assert.Contains("Set sink.tls_ca_file", e.Message, StringComparison.Ordinal);
        Assert.Contains("sink.tls_skip_verify", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("inner exception", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InsertAsync_InlineSchemaHttpsWithoutCaFile_FailsNamingCertificateValidation()
    {
        var table = await server.CreateUniqueTableAsync("id UInt32, name String");
        var o = Options(server.HttpsUrl, table, x => { x.Schema["id"] = "UInt32"; x.Schema["name"] = "String"; });

        // A sink that inserts reads the live table first, so even with an inline schema it fails at start.
        using (var run = new ClickHouseSink(o, new ListLogger(), TimeProvider.System))
        {
            var atStart = await Assert.ThrowsAsync<ClickHouseSinkException>(() => run.PrepareAsync(CancellationToken.None));
            Assert.Contains("TLS certificate validation failed", atStart.Message, StringComparison.Ordinal);
        }

        // One that takes the inline schema (as dry-run does) sends nothing until an insert, which fails the same way.
        using var sink = new ClickHouseSink(o, new ListLogger(), TimeProvider.System, SchemaSource.InlineWhenGiven);
        await sink.PrepareAsync(CancellationToken.None);
        var layout = new RecordLayout();
        sink.BindColumns(layout);
        layout.Freeze();

        var e = await Assert.ThrowsAsync<ClickHouseSinkException>(() => sink.InsertAsync([Row(layout, 1, "x")], CancellationToken.None));

        Assert.Contains("TLS certificate validation failed", e.Message, StringComparison.Ordinal);
        Assert.Contains("Set sink.tls_ca_file", e.Message, StringComparison.Ordinal);
        Assert.Equal("0\n", await server.QueryAsync($"SELECT count() FROM default.{table}"));
    }

    [Fact]
    public async Task InsertAsync_RejectedCertificateWithEndlessRetries_FailsAtOnceInsteadOfRetrying()
    {
        // A certificate that fails validation will not pass on the next attempt; retrying forever (the default) would
        // only hide it behind warnings while the consumer stays paused.
        var table = await server.CreateUniqueTableAsync("id UInt32, name String");

        var e = await ClickHouseSinkIntegrationTests.InsertFailingAtOnceAsync(Options(server.HttpsUrl, table));

        Assert.Contains("TLS certificate validation failed", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PrepareAsync_CaFileOfAnotherCa_FailsSayingTheChainDoesNotReachIt()
    {
        var dir = Directory.CreateTempSubdirectory("streamenrich-otherca-");
        try
        {
            var otherCa = Path.Combine(dir.FullName, "ca.pem");
            LocalClickHouseServer.WriteCertificates(["localhost"], otherCa, Path.Combine(dir.FullName, "s.crt"), Path.Combine(dir.FullName, "s.key"));
            using var sink = new ClickHouseSink(Options(server.HttpsUrl, "whatever", o => o.TlsCaFile = otherCa), new ListLogger(), TimeProvider.System);

            var e = await Assert.ThrowsAsync<ClickHouseSinkException>(() => sink.PrepareAsync(CancellationToken.None));

            Assert.Contains($"does not chain to a CA in sink.tls_ca_file '{otherCa}'", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task PrepareAsync_HostNotInCertificate_FailsNamingHostAndCertificateNames()
    {
        using var sink = new ClickHouseSink(Options(server.HttpsUrlByIp, "whatever", o => o.TlsCaFile = server.CaFile), new ListLogger(), TimeProvider.System);

        var e = await Assert.ThrowsAsync<ClickHouseSinkException>(() => sink.PrepareAsync(CancellationToken.None));

        Assert.Contains("TLS certificate validation failed", e.Message, StringComparison.Ordinal);
        Assert.Contains("for localhost) does not cover the host '127.0.0.1' of sink.url", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PrepareAsync_UntrustedAndWrongHost_NamesBothProblems()
    {
        using var sink = new ClickHouseSink(Options(server.HttpsUrlByIp, "whatever"), new ListLogger(), TimeProvider.System);

        var e = await Assert.ThrowsAsync<ClickHouseSinkException>(() => sink.PrepareAsync(CancellationToken.None));

        Assert.Contains("is not trusted by this machine", e.Message, StringComparison.Ordinal);
        Assert.Contains("It also does not cover the host '127.0.0.1' of sink.url", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InsertAsync_SkipVerify_AcceptsUntrustedCertificateAndWrongHostWithOneWarning()
    {
        var table = await server.CreateUniqueTableAsync("id UInt32, name String");
        var logger = new ListLogger();

        // 127.0.0.1 is not in the certificate and no CA is given: only skip-verify lets this through
        var rows = await InsertTwoRowsAsync(Options(server.HttpsUrlByIp, table, o => { o.TlsSkipVerify = true; o.Compress = true; }), logger);

        Assert.Equal("1\tüber\n2\ttls\n", rows);
        var warning = Assert.Single(logger.Warnings);
        Assert.Contains("sink.tls_skip_verify is set", warning, StringComparison.Ordinal);
        Assert.Contains(server.HttpsUrlByIp.ToString(), warning, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PrepareAsync_HttpsUrlOnThePlainHttpPort_FailsSayingThePortIsNotHttps()
    {
        var url = new UriBuilder(server.HttpUrl) { Scheme = "https" }.Uri;
        using var sink = new ClickHouseSink(Options(url, "whatever", o => { o.TlsCaFile = server.CaFile; o.Timeout = TimeSpan.FromSeconds(4); }),
            new ListLogger(), TimeProvider.System);

        var e = await Assert.ThrowsAsync<ClickHouseSinkException>(() => sink.PrepareAsync(CancellationToken.None));

        // ClickHouse's http_port either answers the ClientHello with an HTTP error (a failed handshake) or waits for
        // more bytes (no TLS session within the connect timeout): both must point at the port.
        Assert.True(e.Message.Contains($"TLS handshake with ClickHouse at {url} failed", StringComparison.Ordinal)
                    || e.Message.Contains($"Cannot connect to ClickHouse at {url}: no TLS session within 2s", StringComparison.Ordinal), e.ToString());
        Assert.True(e.Message.Contains("Check that the port in sink.url serves https", StringComparison.Ordinal), e.ToString());
    }

    [Fact]
    public async Task PrepareAsync_HandshakeNeverCompletes_FailsAfterTheTimeoutNamingTheTlsSession()
    {
        using var silent = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0); // accepts, never answers
        silent.Start();
        var url = new Uri($"https://127.0.0.1:{((System.Net.IPEndPoint)silent.LocalEndpoint).Port}/");
        // Connect timeout = half the request timeout: 2 s against 4 s leaves a loaded machine room to fire the first one first.
        using var sink = new ClickHouseSink(Options(url, "t", o => o.Timeout = TimeSpan.FromSeconds(4)), new ListLogger(), TimeProvider.System);
        var started = System.Diagnostics.Stopwatch.StartNew();

        var e = await Assert.ThrowsAsync<ClickHouseSinkException>(() => sink.PrepareAsync(CancellationToken.None));

        Assert.InRange(started.Elapsed.TotalSeconds, 1.9, 20);
        Assert.Contains($"Cannot connect to ClickHouse at {url}: no TLS session within 2s.", e.Message, StringComparison.Ordinal);
        Assert.Contains("Check that the port in sink.url serves https", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PrepareAsync_HttpUrlOnTheHttpsPort_FailsSuggestingHttps()
    {
        var url = new UriBuilder(server.HttpsUrl) { Scheme = "http" }.Uri;
        using var sink = new ClickHouseSink(Options(url, "whatever"), new ListLogger(), TimeProvider.System);

        var e = await Assert.ThrowsAsync<ClickHouseSinkException>(() => sink.PrepareAsync(CancellationToken.None));

        Assert.Contains($"Cannot reach ClickHouse at {url}", e.Message, StringComparison.Ordinal);
        Assert.Contains("If this port serves https (ClickHouse's https_port), use an https:// url.", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_CaFileWithoutCertificate_ThrowsNamingTheOption()
    {
        var o = Options(server.HttpsUrl, "t", x => x.TlsCaFile = server.Server.PrivateKeyFile);
        var e = Assert.Throws<ClickHouseSinkException>(() => new ClickHouseHttpClient(o).Dispose());
        Assert.Contains($"sink.tls_ca_file '{server.Server.PrivateKeyFile}' holds no PEM certificate", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_CaFileMissing_ReportsTheOption()
    {
        var o = Options(server.HttpsUrl, "t", x => x.TlsCaFile = "/no/such/ca.pem");
        var ctx = new OptionsValidationContext();
        o.Validate(ctx);
        var error = Assert.Single(ctx.Errors);
        Assert.Equal(nameof(ClickHouseSinkOptions.TlsCaFile), error.Property);
        Assert.Contains("/no/such/ca.pem", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Server_Certificate_IsIssuedByTheCaForTheConfiguredNames()
    {
        using var ca = X509Certificate2.CreateFromPem(File.ReadAllText(server.CaFile));
        using var cert = X509Certificate2.CreateFromPemFile(server.Server.CertificateFile!, server.Server.PrivateKeyFile);
        Assert.True(cert.HasPrivateKey);
        Assert.Equal(ca.Subject, cert.Issuer);
        Assert.True(cert.MatchesHostname("localhost"));
        Assert.False(cert.MatchesHostname("127.0.0.1"));
        Assert.Contains("<https_port>" + server.Server.HttpsPort, File.ReadAllText(server.Server.ConfigPath), StringComparison.Ordinal);
    }
}

using StreamEnrich.Configuration;
using StreamEnrich.Sinks.ClickHouse;

namespace StreamEnrich.Tests.Sinks.ClickHouse;

/// <summary>
/// A server that demands client certificates refuses a missing or untrusted one: the sink names the cause and the
/// options to set, and does not retry (it cannot pass until the configuration changes). Run once per TLS version: under
/// TLS 1.3 the server judges the certificate after the handshake and drops the connection, under TLS 1.2 it fails the
/// handshake itself.
/// </summary>
public abstract class MtlsRefusalTests<TFixture>(TFixture server) where TFixture : MtlsClickHouseServerFixture
{
    protected TFixture Server { get; } = server;

    protected ClickHouseSinkOptions Options(string table, Action<ClickHouseSinkOptions>? configure = null) =>
        ClickHouseSinkIntegrationTests.Options(Server.HttpsUrl, table, o =>
        {
            o.MaxRetries = 0;
            o.TlsCaFile = Server.CaFile;
            configure?.Invoke(o);
        });

    [Fact]
    public async Task PrepareAsync_NoClientCertificate_FailsNamingTheCertificateOptions()
    {
        using var sink = new ClickHouseSink(Options("whatever"), new ListLogger(), TimeProvider.System);

        var e = await Assert.ThrowsAsync<ClickHouseSinkException>(() => sink.PrepareAsync(CancellationToken.None));

        Assert.Contains($"ClickHouse at {Server.HttpsUrl} requires a TLS client certificate (mutual TLS) and closed the connection because none was sent",
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
        var table = await Server.CreateUniqueTableAsync("id UInt32, name String");

        var e = await ClickHouseSinkIntegrationTests.InsertFailingAtOnceAsync(Options(table));

        Assert.Contains("requires a TLS client certificate", e.Message, StringComparison.Ordinal);
        Assert.Equal("0\n", await Server.QueryAsync($"SELECT count() FROM default.{table}"));
    }

    [Fact]
    public async Task PrepareAsync_ClientCertificateFromAnotherCa_FailsNamingTheCertificateAndTheOptions()
    {
        var (cert, key) = Server.UntrustedClientCertificate();
        using var sink = new ClickHouseSink(Options("whatever", o => { o.TlsCertFile = cert; o.TlsKeyFile = key; }), new ListLogger(), TimeProvider.System);

        var e = await Assert.ThrowsAsync<ClickHouseSinkException>(() => sink.PrepareAsync(CancellationToken.None));

        Assert.Contains($"ClickHouse at {Server.HttpsUrl} refused the TLS client certificate in sink.tls_cert_file '{cert}'", e.Message, StringComparison.Ordinal);
        Assert.Contains("issued by 'CN=StreamEnrich test CA", e.Message, StringComparison.Ordinal);
        Assert.Contains("Set sink.tls_cert_file and sink.tls_key_file to a certificate and key issued by a CA the server trusts", e.Message, StringComparison.Ordinal);
        Assert.True(Assert.IsType<ClickHouseTransportException>(e.InnerException).IsPermanent);
    }

    [Fact]
    public async Task InsertAsync_ClientCertificateFromAnotherCaWithEndlessRetries_FailsAtOnce()
    {
        var table = await Server.CreateUniqueTableAsync("id UInt32, name String");
        var (cert, key) = Server.UntrustedClientCertificate();

        var e = await ClickHouseSinkIntegrationTests.InsertFailingAtOnceAsync(Options(table, o => { o.TlsCertFile = cert; o.TlsKeyFile = key; }));

        Assert.Contains("refused the TLS client certificate in sink.tls_cert_file", e.Message, StringComparison.Ordinal);
    }
}

using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using StreamEnrich.Configuration;
using StreamEnrich.Sinks.ClickHouse;

namespace StreamEnrich.Tests.Sinks.ClickHouse;

/// <summary>
/// Mutual TLS against a real ClickHouse that speaks TLS 1.2 at most. There the server refuses a missing or untrusted
/// client certificate inside the handshake (an alert before it completes), where under TLS 1.3 the handshake completes
/// and the server drops the connection after it: the sink must name the cause in both cases, not retry forever.
/// </summary>
public sealed class ClickHouseSinkMtlsTls12Tests(MtlsTls12ClickHouseServerFixture server) : IClassFixture<MtlsTls12ClickHouseServerFixture>
{
    private ClickHouseSinkOptions Options(string table, Action<ClickHouseSinkOptions>? configure = null) =>
        ClickHouseSinkIntegrationTests.Options(server.HttpsUrl, table, o =>
        {
            o.MaxRetries = 0;
            o.TlsCaFile = server.CaFile;
            configure?.Invoke(o);
        });

    [Fact]
    public async Task Server_NegotiatesTls12AndRefusesTheUntrustedCertificateInsideTheHandshake()
    {
        // What the tests below rely on: TLS 1.2, and a refusal that fails the handshake itself.
        var (cert, key) = server.ClientCertificate();
        using (var good = X509Certificate2.CreateFromPemFile(cert, key))
            Assert.Equal(SslProtocols.Tls12, await HandshakeAsync(good, ping: true));

        var (otherCert, otherKey) = server.UntrustedClientCertificate();
        using var untrusted = X509Certificate2.CreateFromPemFile(otherCert, otherKey);
        await Assert.ThrowsAsync<AuthenticationException>(() => HandshakeAsync(untrusted, ping: false));
    }

    [Fact]
    public async Task InsertAsync_ClientCertificateFromTheServersCa_RowsAreQueryable()
    {
        var table = await server.CreateUniqueTableAsync("id UInt32, name String");
        var (cert, key) = server.ClientCertificate();
        var (sink, layout) = await ClickHouseSinkIntegrationTests.PrepareAsync(Options(table, o => { o.TlsCertFile = cert; o.TlsKeyFile = key; }), new ListLogger());
        using (sink)
        {
            var result = await sink.InsertAsync([ClickHouseSinkIntegrationTests.Row(layout, 1, "tls 1.2")], CancellationToken.None);
            Assert.Equal(1, result.RowsInserted);
        }
        Assert.Equal("1\ttls 1.2\n", await server.QueryAsync($"SELECT id, name FROM default.{table}"));
    }

    [Fact]
    public async Task PrepareAsync_NoClientCertificate_FailsNamingTheCertificateOptions()
    {
        using var sink = new ClickHouseSink(Options("whatever"), new ListLogger(), TimeProvider.System);

        var e = await Assert.ThrowsAsync<ClickHouseSinkException>(() => sink.PrepareAsync(CancellationToken.None));

        Assert.Contains($"ClickHouse at {server.HttpsUrl} requires a TLS client certificate (mutual TLS) and closed the connection because none was sent",
            e.Message, StringComparison.Ordinal);
        Assert.True(Assert.IsType<ClickHouseTransportException>(e.InnerException).IsPermanent);
    }

    [Fact]
    public async Task PrepareAsync_ClientCertificateFromAnotherCa_FailsNamingTheCertificate()
    {
        var (cert, key) = server.UntrustedClientCertificate();
        using var sink = new ClickHouseSink(Options("whatever", o => { o.TlsCertFile = cert; o.TlsKeyFile = key; }), new ListLogger(), TimeProvider.System);

        var e = await Assert.ThrowsAsync<ClickHouseSinkException>(() => sink.PrepareAsync(CancellationToken.None));

        Assert.Contains($"ClickHouse at {server.HttpsUrl} refused the TLS client certificate in sink.tls_cert_file '{cert}'", e.Message, StringComparison.Ordinal);
        Assert.True(Assert.IsType<ClickHouseTransportException>(e.InnerException).IsPermanent);
    }

    [Fact]
    public async Task InsertAsync_ClientCertificateFromAnotherCaWithEndlessRetries_FailsAtOnce()
    {
        var table = await server.CreateUniqueTableAsync("id UInt32, name String");
        var (cert, key) = server.UntrustedClientCertificate();

        var e = await ClickHouseSinkIntegrationTests.InsertFailingAtOnceAsync(Options(table, o => { o.TlsCertFile = cert; o.TlsKeyFile = key; }));

        Assert.Contains("refused the TLS client certificate in sink.tls_cert_file", e.Message, StringComparison.Ordinal);
        Assert.Equal("0\n", await server.QueryAsync($"SELECT count() FROM default.{table}"));
    }

    /// <summary>A TLS handshake with the server's https port presenting <paramref name="clientCertificate"/> (then, with
    /// <paramref name="ping"/>, GET /ping); the protocol it negotiated.</summary>
    private async Task<SslProtocols> HandshakeAsync(X509Certificate2 clientCertificate, bool ping)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.HttpsUrl.Host, server.HttpsUrl.Port);
        await using var tls = new SslStream(tcp.GetStream());
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = server.HttpsUrl.Host,
            ClientCertificates = [clientCertificate],
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        });
        if (!ping) return tls.SslProtocol;
        await tls.WriteAsync("GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"u8.ToArray());
        var buffer = new byte[256];
        var read = await tls.ReadAsync(buffer);
        if (read == 0) throw new IOException("the server closed the connection without an answer");
        return tls.SslProtocol;
    }
}

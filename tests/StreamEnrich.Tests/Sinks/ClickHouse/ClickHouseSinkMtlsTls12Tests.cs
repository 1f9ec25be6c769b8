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
/// and the server drops the connection after it: the sink must name the cause in both cases, not retry forever (the
/// refusal tests are in <see cref="MtlsRefusalTests{TFixture}"/>).
/// </summary>
public sealed class ClickHouseSinkMtlsTls12Tests(MtlsTls12ClickHouseServerFixture server)
    : MtlsRefusalTests<MtlsTls12ClickHouseServerFixture>(server), IClassFixture<MtlsTls12ClickHouseServerFixture>
{
    [Fact]
    public async Task Server_NegotiatesTls12AndRefusesTheUntrustedCertificateInsideTheHandshake()
    {
        // What the tests below rely on: TLS 1.2, and a refusal that fails the handshake itself.
        var (cert, key) = Server.ClientCertificate();
        using (var good = X509Certificate2.CreateFromPemFile(cert, key))
            Assert.Equal(SslProtocols.Tls12, await HandshakeAsync(good, ping: true));

        var (otherCert, otherKey) = Server.UntrustedClientCertificate();
        using var untrusted = X509Certificate2.CreateFromPemFile(otherCert, otherKey);
        await Assert.ThrowsAsync<AuthenticationException>(() => HandshakeAsync(untrusted, ping: false));
    }

    [Fact]
    public async Task InsertAsync_ClientCertificateFromTheServersCa_RowsAreQueryable()
    {
        var table = await Server.CreateUniqueTableAsync("id UInt32, name String");
        var (cert, key) = Server.ClientCertificate();
        var (sink, layout) = await ClickHouseSinkIntegrationTests.PrepareAsync(Options(table, o => { o.TlsCertFile = cert; o.TlsKeyFile = key; }), new ListLogger());
        using (sink)
        {
            var result = await sink.InsertAsync([ClickHouseSinkIntegrationTests.Row(layout, 1, "tls 1.2")], CancellationToken.None);
            Assert.Equal(1, result.RowsInserted);
        }
        Assert.Equal("1\ttls 1.2\n", await Server.QueryAsync($"SELECT id, name FROM default.{table}"));
    }

    /// <summary>A TLS handshake with the server's https port presenting <paramref name="clientCertificate"/> (then, with
    /// <paramref name="ping"/>, GET /ping); the protocol it negotiated.</summary>
    private async Task<SslProtocols> HandshakeAsync(X509Certificate2 clientCertificate, bool ping)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(Server.HttpsUrl.Host, Server.HttpsUrl.Port);
        await using var tls = new SslStream(tcp.GetStream());
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = Server.HttpsUrl.Host,
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

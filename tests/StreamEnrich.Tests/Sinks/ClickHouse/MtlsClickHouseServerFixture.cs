using StreamEnrich.Sinks.ClickHouse;
using StreamEnrich.Tests.Fixtures;

namespace StreamEnrich.Tests.Sinks.ClickHouse;

/// <summary>
/// A private ClickHouse server whose HTTPS listener demands a client certificate issued by its throwaway CA (mutual TLS),
/// plus a second, unrelated CA for certificates the server must refuse. Always a local process:
/// STREAMENRICH_CLICKHOUSE_URL does not apply. Setup queries go over plain HTTP.
/// </summary>
public class MtlsClickHouseServerFixture : IAsyncLifetime
{
    private LocalClickHouseServer? _server;
    private int _counter;

    internal LocalClickHouseServer Server => _server ?? throw new InvalidOperationException("Not started.");

    /// <summary><c>https://127.0.0.1:port/</c>.</summary>
    public Uri HttpsUrl => Server.HttpsUrl!;
    public string CaFile => Server.CaFile!;

    /// <summary>Where the tests write their certificates (inside the server's directory, deleted with it).</summary>
    public string CertificateDirectory => Path.Combine(Server.Directory, "test-certs");

    /// <summary>A CA the server does not trust, with its key.</summary>
    public string OtherCaFile => Path.Combine(CertificateDirectory, "other-ca.pem");
    public string OtherCaKeyFile => Path.Combine(CertificateDirectory, "other-ca.key");

    /// <summary>The server speaks TLS 1.2 at most (see <see cref="LocalClickHouseServerOptions.MaxTls12"/>).</summary>
    protected virtual bool MaxTls12 => false;

    public async Task InitializeAsync()
    {
        _server = new LocalClickHouseServer(options: new LocalClickHouseServerOptions { Https = true, RequireClientCertificate = true, MaxTls12 = MaxTls12 });
        Directory.CreateDirectory(CertificateDirectory);
        LocalClickHouseServer.WriteCertificates(["other.invalid"], OtherCaFile, Path.Combine(CertificateDirectory, "other-server.crt"),
            Path.Combine(CertificateDirectory, "other-server.key"), OtherCaKeyFile);
        await _server.StartAsync(TimeSpan.FromSeconds(60));
    }

    /// <summary>A fresh client certificate and key issued by the server's CA.</summary>
    internal (string Cert, string Key) ClientCertificate(TestKeyFormat format = TestKeyFormat.Pkcs8) =>
        Server.CreateClientCertificate(CertificateDirectory, $"client-{Interlocked.Increment(ref _counter)}", format);

    /// <summary>A client certificate and key issued by <see cref="OtherCaFile"/>, which the server does not trust.</summary>
    public (string Cert, string Key) UntrustedClientCertificate()
    {
        var name = $"untrusted-{Interlocked.Increment(ref _counter)}";
        var cert = Path.Combine(CertificateDirectory, name + ".crt");
        var key = Path.Combine(CertificateDirectory, name + ".key");
        LocalClickHouseServer.WriteClientCertificate(OtherCaFile, OtherCaKeyFile, cert, key, name);
        return (cert, key);
    }

    public Task<string> QueryAsync(string sql) => ClickHouseHttp.QueryAsync(Server.Url, sql);

    public Task<string> CreateUniqueTableAsync(string columnsDdl) => ClickHouseHttp.CreateUniqueTableAsync(Server.Url, "mtls", columnsDdl);

    public Task DisposeAsync()
    {
        _server?.Dispose();
        _server = null;
        return Task.CompletedTask;
    }
}

/// <summary>The same mutual-TLS server, speaking TLS 1.2 at most: it refuses a client certificate inside the handshake.</summary>
public sealed class MtlsTls12ClickHouseServerFixture : MtlsClickHouseServerFixture
{
    protected override bool MaxTls12 => true;
}

using StreamEnrich.Sinks.ClickHouse;

namespace StreamEnrich.Tests.Sinks.ClickHouse;

/// <summary>The HTTPS listener of <see cref="LocalClickHouseServer"/> is opt-in: without it the config is the plain one.</summary>
public sealed class LocalClickHouseServerTlsTests
{
    [Fact]
    public void Constructor_Default_HasNoHttpsListenerNorCertificates()
    {
        using var server = new LocalClickHouseServer();
        var config = File.ReadAllText(server.ConfigPath);
        Assert.Null(server.HttpsPort);
        Assert.Null(server.HttpsUrl);
        Assert.Null(server.CaFile);
        Assert.DoesNotContain("https_port", config, StringComparison.Ordinal);
        Assert.DoesNotContain("openSSL", config, StringComparison.Ordinal);
        Assert.Contains("<users_config>/etc/clickhouse-server/users.xml</users_config>", config, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(server.Directory, "tls")));
    }

    [Fact]
    public void Constructor_Https_WritesCertificatesAndDefaultNamesBothLoopbackForms()
    {
        using var server = new LocalClickHouseServer(options: new LocalClickHouseServerOptions { Https = true });
        Assert.NotNull(server.HttpsPort);
        Assert.NotEqual(server.HttpPort, server.HttpsPort);
        Assert.Equal($"https://127.0.0.1:{server.HttpsPort}/", server.HttpsUrl!.ToString());
        using var cert = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(server.CertificateFile!));
        Assert.True(cert.MatchesHostname("127.0.0.1"));
        Assert.True(cert.MatchesHostname("localhost"));
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(server.PrivateKeyFile!));
    }
}

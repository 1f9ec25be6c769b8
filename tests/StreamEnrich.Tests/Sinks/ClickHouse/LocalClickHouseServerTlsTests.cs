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

    [Fact]
    public void Constructor_RequireClientCertificate_ConfiguresStrictVerificationAgainstTheCaAndIssuesAClientCertificate()
    {
        using var server = new LocalClickHouseServer(options: new LocalClickHouseServerOptions { Https = true, RequireClientCertificate = true });
        var config = File.ReadAllText(server.ConfigPath);
        Assert.Contains("<verificationMode>strict</verificationMode>", config, StringComparison.Ordinal);
        Assert.Contains($"<caConfig>{server.CaFile}</caConfig>", config, StringComparison.Ordinal);
        Assert.Contains("<name>RejectCertificateHandler</name>", config, StringComparison.Ordinal);
        Assert.DoesNotContain("<verificationMode>none</verificationMode>", config, StringComparison.Ordinal);

        using var ca = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(server.CaFile!));
        using var client = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(server.ClientCertificateFile!, server.ClientKeyFile);
        Assert.True(client.HasPrivateKey);
        Assert.Equal(ca.Subject, client.Issuer);
        var eku = Assert.Single(client.Extensions.OfType<System.Security.Cryptography.X509Certificates.X509EnhancedKeyUsageExtension>());
        Assert.Equal("1.3.6.1.5.5.7.3.2", Assert.Single(eku.EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>()).Value); // clientAuth
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(server.ClientKeyFile!));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(server.CaKeyFile!));
        }
    }

    [Fact]
    public void Constructor_RequireClientCertificateWithoutHttps_ThrowsBeforeMakingAnything()
    {
        var directory = Path.Combine(Path.GetTempPath(), "streamenrich-ch-test-" + Guid.NewGuid().ToString("N")[..8]);
        var e = Assert.Throws<ArgumentException>(() => new LocalClickHouseServer(directory, options: new LocalClickHouseServerOptions { RequireClientCertificate = true }));
        Assert.Contains("RequireClientCertificate needs Https", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(directory), "the options are checked before the working directory is made (it was left behind)");
    }

    [Fact]
    public void Constructor_MaxTls12WithoutHttps_ThrowsBeforeMakingAnything()
    {
        var directory = Path.Combine(Path.GetTempPath(), "streamenrich-ch-test-" + Guid.NewGuid().ToString("N")[..8]);
        var e = Assert.Throws<ArgumentException>(() => new LocalClickHouseServer(directory, options: new LocalClickHouseServerOptions { MaxTls12 = true }));
        Assert.Contains("MaxTls12 needs Https", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(directory));
    }

    [Fact]
    public void Constructor_Https_AsksNoClientCertificate()
    {
        using var server = new LocalClickHouseServer(options: new LocalClickHouseServerOptions { Https = true });
        Assert.Contains("<verificationMode>none</verificationMode>", File.ReadAllText(server.ConfigPath), StringComparison.Ordinal);
        Assert.Null(server.ClientCertificateFile);
        Assert.Null(server.OpenSslConfigFile); // TLS 1.3 allowed unless asked otherwise
    }
}

using System.Security.Cryptography;
using StreamEnrich.Configuration;
using StreamEnrich.Sinks.ClickHouse;

namespace StreamEnrich.Tests.Sinks.ClickHouse;

/// <summary>
/// The TLS file options without a server: validation (both-or-neither, files that exist, paths relative to the pipeline
/// file) and what loading a client certificate and key says when they are wrong.
/// </summary>
public sealed class ClickHouseSinkTlsOptionsTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("streamenrich-tlsopts-");
    private readonly string _ca;
    private readonly string _caKey;

    public ClickHouseSinkTlsOptionsTests()
    {
        _ca = Path.Combine(_dir.FullName, "ca.pem");
        _caKey = Path.Combine(_dir.FullName, "ca.key");
        LocalClickHouseServer.WriteCertificates(["localhost"], _ca, Path.Combine(_dir.FullName, "server.crt"), Path.Combine(_dir.FullName, "server.key"), _caKey);
    }

    public void Dispose() => _dir.Delete(recursive: true);

    private (string Cert, string Key) Client(string name, TestKeyFormat format = TestKeyFormat.Pkcs8)
    {
        var cert = Path.Combine(_dir.FullName, name + ".crt");
        var key = Path.Combine(_dir.FullName, name + ".key");
        LocalClickHouseServer.WriteClientCertificate(_ca, _caKey, cert, key, name, format);
        return (cert, key);
    }

    private static ClickHouseSinkOptions Https(Action<ClickHouseSinkOptions> configure)
    {
        var o = new ClickHouseSinkOptions { Url = "https://localhost:8443", Table = "t" };
        configure(o);
        return o;
    }

    private static IReadOnlyList<OptionError> Validate(ClickHouseSinkOptions o, string? baseDirectory = null)
    {
        var ctx = new OptionsValidationContext { BaseDirectory = baseDirectory };
        o.Validate(ctx);
        return ctx.Errors;
    }

    // ---- validation -----------------------------------------------------------------------------------------

    [Fact]
    public void Validate_CertWithoutKey_ReportsTheKeyIsMissingWithAHint()
    {
        var (cert, _) = Client("a");
        var error = Assert.Single(Validate(Https(o => o.TlsCertFile = cert)));
        Assert.Equal(nameof(ClickHouseSinkOptions.TlsCertFile), error.Property);
        Assert.Equal("tls_cert_file is set without tls_key_file: a client certificate needs its private key.", error.Message);
        Assert.Contains("Set both `tls_cert_file`", error.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_KeyWithoutCert_ReportsTheCertIsMissing()
    {
        var (_, key) = Client("a");
        var error = Assert.Single(Validate(Https(o => o.TlsKeyFile = key)));
        Assert.Equal(nameof(ClickHouseSinkOptions.TlsKeyFile), error.Property);
        Assert.Equal("tls_key_file is set without tls_cert_file: a private key needs its client certificate.", error.Message);
    }

    [Fact]
    public void Validate_CertAndKeyFilesMissing_ReportsEachFile()
    {
        var errors = Validate(Https(o => { o.TlsCertFile = "/no/such/client.crt"; o.TlsKeyFile = "/no/such/client.key"; }));
        Assert.Equal(2, errors.Count);
        Assert.Contains(errors, e => e.Property == nameof(ClickHouseSinkOptions.TlsCertFile) && e.Message == "tls_cert_file '/no/such/client.crt' does not exist.");
        Assert.Contains(errors, e => e.Property == nameof(ClickHouseSinkOptions.TlsKeyFile) && e.Message == "tls_key_file '/no/such/client.key' does not exist.");
    }

    [Fact]
    public void Validate_CertAndKeyPresent_NoErrors()
    {
        var (cert, key) = Client("a");
        Assert.Empty(Validate(Https(o => { o.TlsCertFile = cert; o.TlsKeyFile = key; o.TlsCaFile = _ca; })));
    }

    [Fact]
    public void Validate_KeyOfAnotherCertificate_ReportedAtValidationNotOnlyAtStart()
    {
        var (cert, _) = Client("a");
        var (_, otherKey) = Client("b");
        var error = Assert.Single(Validate(Https(o => { o.TlsCertFile = cert; o.TlsKeyFile = otherKey; })));
        Assert.Equal(nameof(ClickHouseSinkOptions.TlsKeyFile), error.Property);
        Assert.Contains($"sink.tls_key_file '{otherKey}' is not the private key of the certificate in sink.tls_cert_file '{cert}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_CertFileNotPem_ReportedAtTheCertOption()
    {
        var (_, key) = Client("a");
        var error = Assert.Single(Validate(Https(o => { o.TlsCertFile = key; o.TlsKeyFile = key; })));
        Assert.Equal(nameof(ClickHouseSinkOptions.TlsCertFile), error.Property);
        Assert.Contains("holds no PEM certificate", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_ClientCertificateWithPlainHttpUrl_ReportsItIsForHttps()
    {
        var (cert, key) = Client("a");
        var error = Assert.Single(Validate(Https(o => { o.Url = "http://localhost:8123"; o.TlsCertFile = cert; o.TlsKeyFile = key; })));
        Assert.Contains("url is plain http", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_RelativePaths_AreCheckedAgainstTheBaseDirectoryNotTheWorkingDirectory()
    {
        Client("rel");
        var o = Https(x => { x.TlsCaFile = "ca.pem"; x.TlsCertFile = "rel.crt"; x.TlsKeyFile = "rel.key"; });

        Assert.Empty(Validate(o, _dir.FullName));

        // the working directory does not hold them: checked against it, all three are missing
        Assert.NotEqual(Path.GetFullPath(Environment.CurrentDirectory), _dir.FullName);
        var errors = Validate(o, baseDirectory: null);
        Assert.Equal(3, errors.Count);
        var missing = Assert.Single(Validate(Https(x => x.TlsCaFile = "certs/none.pem"), _dir.FullName));
        Assert.Equal($"tls_ca_file 'certs/none.pem' ({Path.Combine(_dir.FullName, "certs", "none.pem")}) does not exist.", missing.Message);
        Assert.Contains("relative path is taken from the pipeline file's folder", missing.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_RelativeTlsPaths_ResolveFromThePipelineFolder()
    {
        Client("client");
        var pipelines = Directory.CreateDirectory(Path.Combine(_dir.FullName, "pipelines"));
        File.Move(Path.Combine(_dir.FullName, "client.crt"), Path.Combine(_dir.FullName, "pipelines", "client.crt"));
        var file = Path.Combine(pipelines.FullName, "web.yaml");
        File.WriteAllText(file, """
            source:
              brokers: localhost:9092
              topic: web
            sink:
              url: https://localhost:8443
              table: events
              tls_ca_file: ../ca.pem
              tls_cert_file: client.crt
              tls_key_file: ../client.key
            on_error: skip
            """);

        var result = PipelineLoader.Load(file, StageRegistry.CreateDefault(), _ => null);

        Assert.True(result.Success, string.Join("\n", result.Errors));
        var sink = Assert.Single(result.Pipelines).Options.Sink;
        Assert.Equal(_ca, sink.TlsCaFile);
        Assert.Equal(Path.Combine(pipelines.FullName, "client.crt"), sink.TlsCertFile);
        Assert.Equal(Path.Combine(_dir.FullName, "client.key"), sink.TlsKeyFile);
        // the resolved paths load as a client certificate
        using var loaded = new ClickHouseHttpClient(sink);
    }

    [Fact]
    public void Load_RelativeTlsFileMissingBesideThePipeline_ReportsTheResolvedPathAtTheKey()
    {
        var file = Path.Combine(_dir.FullName, "web.yaml");
        File.WriteAllText(file, """
            source:
              brokers: localhost:9092
              topic: web
            sink:
              url: https://localhost:8443
              table: events
              tls_cert_file: certs/client.crt
              tls_key_file: ca.key
            on_error: skip
            """);

        var result = PipelineLoader.Load(file, StageRegistry.CreateDefault(), _ => null);

        var error = Assert.Single(result.Errors);
        Assert.Equal(7, error.Line);
        Assert.Contains($"tls_cert_file 'certs/client.crt' ({Path.Combine(_dir.FullName, "certs", "client.crt")}) does not exist", error.Message, StringComparison.Ordinal);
    }

    // ---- loading the certificate ----------------------------------------------------------------------------

    private static ClickHouseSinkException LoadFails(string? cert, string? key) =>
        Assert.Throws<ClickHouseSinkException>(() => ClickHouseHttpClient.LoadClientCertificate(cert, key));

    [Theory]
    [InlineData(nameof(TestKeyFormat.Pkcs8))]
    [InlineData(nameof(TestKeyFormat.EcPrivateKey))]
    [InlineData(nameof(TestKeyFormat.RsaPkcs1))]
    public void LoadClientCertificate_EachKeyFormat_HasAUsablePrivateKey(string format)
    {
        var (cert, key) = Client("c", Enum.Parse<TestKeyFormat>(format));
        var (certificate, intermediates) = ClickHouseHttpClient.LoadClientCertificate(cert, key);
        using (certificate)
        {
            Assert.True(certificate.HasPrivateKey);
            Assert.Equal("CN=c", certificate.Subject);
            Assert.Empty(intermediates);
        }
    }

    [Fact]
    public void LoadClientCertificate_ChainInTheCertFile_KeepsTheRestAsIntermediates()
    {
        var (cert, key) = Client("c");
        File.AppendAllText(cert, File.ReadAllText(_ca));
        var (certificate, intermediates) = ClickHouseHttpClient.LoadClientCertificate(cert, key);
        using (certificate)
        {
            Assert.Equal("CN=c", certificate.Subject);
            Assert.Equal(certificate.Issuer, Assert.Single(intermediates).Subject);
        }
    }

    [Fact]
    public void LoadClientCertificate_MissingFiles_NameTheOptionAndFile()
    {
        var (cert, key) = Client("c");
        Assert.Equal("sink.tls_cert_file '/no/such.crt' does not exist.", LoadFails("/no/such.crt", key).Message);
        Assert.Equal("sink.tls_key_file '/no/such.key' does not exist.", LoadFails(cert, "/no/such.key").Message);
        Assert.Contains("sink.tls_cert_file is set without sink.tls_key_file", LoadFails(cert, null).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadClientCertificate_CertFileHoldsAKey_SaysItHoldsNoCertificate()
    {
        var (_, key) = Client("c");
        var e = LoadFails(key, key);
        Assert.Contains($"sink.tls_cert_file '{key}' holds no PEM certificate", e.Message, StringComparison.Ordinal);
        Assert.Contains("it holds 'PRIVATE KEY'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadClientCertificate_NotPemAtAll_SaysSo()
    {
        var (_, key) = Client("c");
        var der = Path.Combine(_dir.FullName, "c.der");
        File.WriteAllBytes(der, Convert.FromBase64String("MIIBkTCB+wIJAKHHIG"[..16]));
        Assert.Contains($"sink.tls_cert_file '{der}' holds no PEM certificate", LoadFails(der, key).Message, StringComparison.Ordinal);
        Assert.Contains("the file is not PEM at all", LoadFails(der, key).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadClientCertificate_KeyFileHoldsACertificate_SaysItHoldsNoPrivateKey()
    {
        var (cert, _) = Client("c");
        var e = LoadFails(cert, cert);
        Assert.Contains($"sink.tls_key_file '{cert}' holds no PEM private key", e.Message, StringComparison.Ordinal);
        Assert.Contains("it holds 'CERTIFICATE'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(nameof(TestKeyFormat.Pkcs8))]   // same algorithm, another key
    [InlineData(nameof(TestKeyFormat.RsaPkcs1))] // another algorithm
    public void LoadClientCertificate_KeyOfAnotherCertificate_SaysTheKeyIsNotTheCertificates(string otherFormat)
    {
        var (cert, _) = Client("c");
        var (_, otherKey) = Client("other", Enum.Parse<TestKeyFormat>(otherFormat));
        var e = LoadFails(cert, otherKey);
        Assert.Contains($"sink.tls_key_file '{otherKey}' is not the private key of the certificate in sink.tls_cert_file '{cert}'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadClientCertificate_EncryptedKey_SaysItMustBeUnencrypted()
    {
        var (cert, _) = Client("c");
        var encrypted = Path.Combine(_dir.FullName, "enc.key");
        using (var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256))
            File.WriteAllText(encrypted, ec.ExportEncryptedPkcs8PrivateKeyPem("secret", new PbeParameters(PbeEncryptionAlgorithm.Aes128Cbc, HashAlgorithmName.SHA256, 1000)));
        var e = LoadFails(cert, encrypted);
        Assert.Contains($"sink.tls_key_file '{encrypted}' holds an encrypted private key; it must be unencrypted", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_HttpsWithBadClientKey_ThrowsBeforeAnyConnection()
    {
        var (cert, _) = Client("c");
        var o = Https(x => { x.TlsCertFile = cert; x.TlsKeyFile = cert; });
        var e = Assert.Throws<ClickHouseSinkException>(() => new ClickHouseHttpClient(o).Dispose());
        Assert.Contains("sink.tls_key_file", e.Message, StringComparison.Ordinal);
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Net.Security;
using System.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace StreamEnrich.Sinks.ClickHouse;

/// <summary>Opt-in extras of a <see cref="LocalClickHouseServer"/>; the defaults give the plain HTTP server.</summary>
internal sealed class LocalClickHouseServerOptions
{
    /// <summary>
    /// Also serve HTTPS on a free loopback port, with a throwaway CA and server certificate created at construction
    /// (<see cref="LocalClickHouseServer.CaFile"/>, <see cref="LocalClickHouseServer.HttpsUrl"/>). Plain HTTP stays on.
    /// </summary>
    public bool Https { get; init; }

    /// <summary>The names the server certificate is issued for (IP addresses or DNS names); the first is the host of <see cref="LocalClickHouseServer.HttpsUrl"/>.</summary>
    public IReadOnlyList<string> TlsHostNames { get; init; } = ["127.0.0.1", "localhost"];

    /// <summary>
    /// HTTPS only: the server demands a client certificate issued by its throwaway CA (<c>verificationMode strict</c>,
    /// mutual TLS) and refuses the handshake without one. The server makes one for itself
    /// (<see cref="LocalClickHouseServer.ClientCertificateFile"/>, used for its readiness check); more come from
    /// <see cref="LocalClickHouseServer.CreateClientCertificate"/>.
    /// </summary>
    public bool RequireClientCertificate { get; init; }

    /// <summary>
    /// HTTPS only: the server speaks TLS 1.2 at most (its OpenSSL is given a configuration with <c>MaxProtocol = TLSv1.2</c>).
    /// Under TLS 1.2 a server refuses a client certificate inside the handshake; under TLS 1.3 only after it, so the
    /// client sees the two refusals differently.
    /// </summary>
    public bool MaxTls12 { get; init; }

    /// <summary>Users with a password (name → password), added to a private users file next to the built-in <c>default</c> user.</summary>
    public IReadOnlyDictionary<string, string> Users { get; init; } = new Dictionary<string, string>();
}

/// <summary>The PEM encodings of a private key <see cref="LocalClickHouseServer.WriteClientCertificate"/> can write.</summary>
internal enum TestKeyFormat
{
    /// <summary>ECDSA P-256, <c>-----BEGIN PRIVATE KEY-----</c>.</summary>
    Pkcs8,
    /// <summary>ECDSA P-256, <c>-----BEGIN EC PRIVATE KEY-----</c>.</summary>
    EcPrivateKey,
    /// <summary>RSA 2048, <c>-----BEGIN RSA PRIVATE KEY-----</c>.</summary>
    RsaPkcs1,
}

/// <summary>
/// A private ClickHouse server process (Debian's <c>clickhouse-server</c>) with its own config, data directory and free
/// loopback ports. Used by the tests, the demo and the benchmark. The ports and the data directory stay the same across
/// <see cref="StopAsync"/> / <see cref="StartAsync"/>, so a test can kill the server and bring it back with its data.
/// </summary>
internal sealed class LocalClickHouseServer : IDisposable
{
    private static readonly string[] KnownLocations = ["/usr/bin/clickhouse-server", "/usr/sbin/clickhouse-server", "/usr/local/bin/clickhouse-server"];

    /// <summary>The name of the macro that carries <see cref="InstanceId"/> in the server's config.</summary>
    internal const string InstanceMacro = "streamenrich_instance";

    /// <summary>
    /// While the server process is not running (before its first start, and from a kill to the restart): a socket bound,
    /// not listening, to each of its ports (see <see cref="HoldPorts"/>).
    /// </summary>
    private readonly List<Socket> _holds = [];
    private readonly object _gate = new();
    private readonly Queue<string> _output = new();
    private readonly bool _ownsDirectory;
    private readonly LocalClickHouseServerOptions _options;
    private Process? _process;
    private bool _disposed;

    /// <param name="directory">Working directory for config, data and logs; a fresh temp directory (deleted on dispose) when null.</param>
    /// <param name="executable">The server binary; found with <see cref="FindExecutable"/> when null.</param>
    /// <param name="options">HTTPS and extra users (off by default).</param>
    public LocalClickHouseServer(string? directory = null, string? executable = null, LocalClickHouseServerOptions? options = null)
    {
        _options = options ?? new LocalClickHouseServerOptions();
        if (_options.Https && _options.TlsHostNames.Count == 0) throw new ArgumentException("TlsHostNames must name at least one host.", nameof(options));
        if (_options.RequireClientCertificate && !_options.Https) throw new ArgumentException("RequireClientCertificate needs Https.", nameof(options));
        if (_options.MaxTls12 && !_options.Https) throw new ArgumentException("MaxTls12 needs Https.", nameof(options));
        Executable = executable ?? FindExecutable() ?? throw new InvalidOperationException(
            "clickhouse-server was not found (looked in $STREAMENRICH_CLICKHOUSE_SERVER, /usr/bin, /usr/sbin, /usr/local/bin and PATH). " +
            "Install it with `apt-get install clickhouse-server`, or point STREAMENRICH_CLICKHOUSE_URL at a running server.");
        _ownsDirectory = directory is null;
        Directory = directory ?? Path.Combine(Path.GetTempPath(), "streamenrich-ch-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(Directory);
        try
        {
            PickPorts();
            if (_options.Https)
            {
                var tls = Path.Combine(Directory, "tls");
                System.IO.Directory.CreateDirectory(tls);
                CaFile = Path.Combine(tls, "ca.pem");
                CertificateFile = Path.Combine(tls, "server.crt");
                PrivateKeyFile = Path.Combine(tls, "server.key");
                CaKeyFile = Path.Combine(tls, "ca.key");
                WriteCertificates(_options.TlsHostNames, CaFile, CertificateFile, PrivateKeyFile, CaKeyFile);
                if (_options.MaxTls12)
                {
                    OpenSslConfigFile = Path.Combine(tls, "openssl.cnf");
                    File.WriteAllText(OpenSslConfigFile, """
                        openssl_conf = streamenrich_test
                        [streamenrich_test]
                        ssl_conf = streamenrich_ssl
                        [streamenrich_ssl]
                        system_default = streamenrich_tls
                        [streamenrich_tls]
                        MaxProtocol = TLSv1.2

                        """);
                }
                if (_options.RequireClientCertificate)
                {
                    ClientCertificateFile = Path.Combine(tls, "client.crt");
                    ClientKeyFile = Path.Combine(tls, "client.key");
                    WriteClientCertificate(CaFile, CaKeyFile, ClientCertificateFile, ClientKeyFile);
                }
            }
            if (_options.Users.Count > 0)
            {
                UsersPath = Path.Combine(Directory, "users.xml");
                File.WriteAllText(UsersPath, BuildUsers(_options.Users));
            }
            ConfigPath = Path.Combine(Directory, "config.xml");
            File.WriteAllText(ConfigPath, BuildConfig());
        }
        catch
        {
            Dispose(); // the held ports and the temp directory made so far
            throw;
        }
    }

    public string Executable { get; }

    /// <summary>
    /// A token unique to this server, in its config as the macro <see cref="InstanceMacro"/>. Start-up waits until the
    /// HTTP port answers with it: a 200 to <c>/ping</c> alone may come from another server that holds the port.
    /// </summary>
    public string InstanceId { get; } = Guid.NewGuid().ToString("N");
    public string Directory { get; }
    public string ConfigPath { get; }
    public int HttpPort { get; private set; }
    public int TcpPort { get; private set; }
    public int InterserverPort { get; private set; }
    public Uri Url => new($"http://127.0.0.1:{HttpPort.ToString(CultureInfo.InvariantCulture)}/");

    /// <summary>The HTTPS port (null unless <see cref="LocalClickHouseServerOptions.Https"/>).</summary>
    public int? HttpsPort { get; private set; }

    /// <summary><c>https://&lt;first TLS host name&gt;:&lt;port&gt;/</c> (null unless HTTPS is on).</summary>
    public Uri? HttpsUrl => HttpsPort is { } p ? new UriBuilder("https", _options.TlsHostNames[0], p, "/").Uri : null;

    /// <summary>PEM file of the throwaway CA that issued the server certificate: what a client sets as its CA file.</summary>
    public string? CaFile { get; }

    /// <summary>PKCS#8 PEM private key of the throwaway CA (to issue client certificates with).</summary>
    public string? CaKeyFile { get; }

    /// <summary>
    /// With <see cref="LocalClickHouseServerOptions.RequireClientCertificate"/>: a PEM client certificate issued by the CA
    /// and its PKCS#8 PEM key (null otherwise).
    /// </summary>
    public string? ClientCertificateFile { get; }
    public string? ClientKeyFile { get; }

    /// <summary>With <see cref="LocalClickHouseServerOptions.MaxTls12"/>: the OpenSSL configuration the server process runs with.</summary>
    public string? OpenSslConfigFile { get; }

    /// <summary>Whether the HTTPS listener demands a client certificate.</summary>
    public bool RequiresClientCertificate => _options.RequireClientCertificate;

    /// <summary>PEM server certificate and its PKCS#8 PEM private key.</summary>
    public string? CertificateFile { get; }
    public string? PrivateKeyFile { get; }

    /// <summary>The private users file (null when the system's <c>/etc/clickhouse-server/users.xml</c> is used).</summary>
    public string? UsersPath { get; }
    public string LogPath => Path.Combine(Directory, "log", "clickhouse-server.log");
    public string ErrorLogPath => Path.Combine(Directory, "log", "clickhouse-server.err.log");
    public bool IsRunning { get { lock (_gate) return _process is { HasExited: false }; } }
    /// <summary>The running server's process id (null when it is not running); the benchmark reads its CPU time.</summary>
    public int? ProcessId { get { lock (_gate) return _process is { HasExited: false } p ? p.Id : null; } }

    /// <summary>The server binary: <c>$STREAMENRICH_CLICKHOUSE_SERVER</c>, a known location, or <c>clickhouse-server</c> on PATH.</summary>
    public static string? FindExecutable()
    {
        var env = Environment.GetEnvironmentVariable("STREAMENRICH_CLICKHOUSE_SERVER");
        if (!string.IsNullOrEmpty(env) && File.Exists(env)) return env;
        foreach (var p in KnownLocations) if (File.Exists(p)) return p;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var p = Path.Combine(dir, "clickhouse-server");
            if (File.Exists(p)) return p;
        }
        return null;
    }

    /// <summary>
    /// Starts the server and waits until <c>GET /ping</c> answers; throws with the log tail when it does not. The ports
    /// are picked free when the server is created, but another process may take one before the server binds it (a
    /// client's ephemeral port, another test's server): the first start then picks new ports and tries again, up to
    /// three times. Read <see cref="Url"/> and the ports after the first start; later starts keep them.
    /// </summary>
    public async Task StartAsync(TimeSpan? timeout = null, CancellationToken ct = default)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await StartOnceAsync(timeout, ct).ConfigureAwait(false);
                _startedOnce = true;
                return;
            }
            catch (InvalidOperationException e) when (!_startedOnce && attempt < 3 && e.Message.Contains("Address already in use", StringComparison.Ordinal))
            {
                PickPorts();
                File.WriteAllText(ConfigPath, BuildConfig());
            }
        }
    }

    private bool _startedOnce;

    private async Task StartOnceAsync(TimeSpan? timeout, CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_gate)
        {
            if (_process is { HasExited: false }) return;
            _process?.Dispose();
            _output.Clear();
            var psi = new ProcessStartInfo(Executable)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
                UseShellExecute = false,
                WorkingDirectory = Directory,
            };
            psi.ArgumentList.Add("--config-file=" + ConfigPath);
            if (OpenSslConfigFile is not null) psi.Environment["OPENSSL_CONF"] = OpenSslConfigFile;
            var p = new Process { StartInfo = psi, EnableRaisingEvents = true };
            p.OutputDataReceived += (_, e) => Remember(e.Data);
            p.ErrorDataReceived += (_, e) => Remember(e.Data);
            p.Start();
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            _process = p;
        }

        var limit = timeout ?? TimeSpan.FromSeconds(60);
        var sw = Stopwatch.StartNew();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var ping = new Uri(Url, "ping");
        var answeredByAnother = false;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            try
            {
                using var resp = await http.GetAsync(ping, ct).ConfigureAwait(false);
                if (resp.IsSuccessStatusCode && await AnswersAsThisServerAsync(http, ct).ConfigureAwait(false))
                {
                    if (HttpsUrl is not null) await WaitForHttpsAsync(limit - sw.Elapsed, ct).ConfigureAwait(false);
                    ReleasePorts();
                    return;
                }
                // A 200 from a server that is not this one: another holds the port (ours then exits with "Address already in
                // use", below, and a first start picks new ports).
                answeredByAnother |= resp.IsSuccessStatusCode;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested) { }

            int? exit = null;
            lock (_gate) if (_process is { HasExited: true } ex) exit = ex.ExitCode;
            if (exit is not null)
                throw new InvalidOperationException(
                    $"clickhouse-server ({Executable}, config {ConfigPath}) exited with code {exit} before answering /ping on port {HttpPort}.\n{Tail()}");
            if (sw.Elapsed > limit)
            {
                await StopAsync().ConfigureAwait(false);
                throw new TimeoutException(
                    (answeredByAnother
                        ? $"another server answers GET {ping} (not this one: its {InstanceMacro} macro differs) and clickhouse-server did not take the port within {limit.TotalSeconds:0}s"
                        : $"clickhouse-server did not answer GET {ping} within {limit.TotalSeconds:0}s") + $" (config {ConfigPath}).\n{Tail()}");
            }
            await Task.Delay(100, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Whether the server on <see cref="HttpPort"/> is this one: it reports <see cref="InstanceId"/> as its
    /// <see cref="InstanceMacro"/> macro. Another server that took the port before this server bound it (a test's
    /// server, another process's) answers <c>/ping</c> too, then goes away with its test.
    /// </summary>
    private async Task<bool> AnswersAsThisServerAsync(HttpClient http, CancellationToken ct)
    {
        var query = new Uri(Url, "?query=" + Uri.EscapeDataString($"SELECT substitution FROM system.macros WHERE macro = '{InstanceMacro}'"));
        using var resp = await http.GetAsync(query, ct).ConfigureAwait(false);
        return resp.IsSuccessStatusCode && (await resp.Content.ReadAsStringAsync(ct).ConfigureAwait(false)).Trim() == InstanceId;
    }

    /// <summary>Pings the HTTPS listener, trusting only <see cref="CaFile"/> and checking the host name, as a client would.</summary>
    private async Task WaitForHttpsAsync(TimeSpan limit, CancellationToken ct)
    {
        var ca = new X509Certificate2Collection();
        ca.ImportFromPemFile(CaFile!);
        using var handler = new SocketsHttpHandler();
        X509Certificate2? client = null;
        if (ClientCertificateFile is not null)
        {
            (client, _) = ClickHouseHttpClient.LoadClientCertificate(ClientCertificateFile, ClientKeyFile); // as the sink loads it
            handler.SslOptions.ClientCertificates = [client];
        }
        using var clientCertificate = client;
        string? lastError = null;
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, errors) =>
        {
            if (cert is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != 0) { lastError = errors.ToString(); return false; }
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            using var leaf = new X509Certificate2(cert);
            return chain.Build(leaf);
        };
        using var https = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(2) };
        var ping = new Uri(HttpsUrl!, "ping");
        var sw = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var resp = await https.GetAsync(ping, ct).ConfigureAwait(false);
                if (resp.IsSuccessStatusCode) return;
                lastError = "HTTP " + ((int)resp.StatusCode).ToString(CultureInfo.InvariantCulture);
            }
            catch (HttpRequestException e) { lastError ??= e.InnerException?.Message ?? e.Message; }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested) { }
            if (sw.Elapsed > limit)
            {
                await StopAsync().ConfigureAwait(false);
                throw new TimeoutException(
                    $"clickhouse-server answers http but not GET {ping} with its own certificate within {limit.TotalSeconds:0}s ({lastError}; config {ConfigPath}).\n{Tail()}");
            }
            await Task.Delay(100, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Writes a throwaway CA (<paramref name="caFile"/>, and its key in <paramref name="caKeyFile"/> when given) and a server
    /// certificate for <paramref name="hostNames"/> signed by it (<paramref name="certificateFile"/>, key in
    /// <paramref name="keyFile"/>, readable by the owner only), all PEM, ECDSA P-256.
    /// </summary>
    internal static void WriteCertificates(IReadOnlyList<string> hostNames, string caFile, string certificateFile, string keyFile, string? caKeyFile = null)
    {
        var notBefore = DateTimeOffset.UtcNow.AddHours(-1);
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=StreamEnrich test CA " + Guid.NewGuid().ToString("N")[..8], caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using var ca = caRequest.CreateSelfSigned(notBefore, notBefore.AddDays(60));

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var serverRequest = new CertificateRequest("CN=" + hostNames[0], serverKey, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in hostNames)
        {
            if (IPAddress.TryParse(name, out var ip)) san.AddIpAddress(ip);
            else san.AddDnsName(name);
        }
        serverRequest.CertificateExtensions.Add(san.Build(true));
        serverRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        serverRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        serverRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(serverRequest.PublicKey, false));
        serverRequest.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        var serial = new byte[16];
        RandomNumberGenerator.Fill(serial);
        serial[0] &= 0x7F;
        using var server = serverRequest.Create(ca, notBefore, notBefore.AddDays(59), serial);

        File.WriteAllText(caFile, ca.ExportCertificatePem() + "\n");
        File.WriteAllText(certificateFile, server.ExportCertificatePem() + "\n");
        WritePrivateFile(keyFile, serverKey.ExportPkcs8PrivateKeyPem() + "\n");
        if (caKeyFile is not null) WritePrivateFile(caKeyFile, caKey.ExportPkcs8PrivateKeyPem() + "\n");
    }

    /// <summary>
    /// Writes a client certificate (for TLS client authentication, subject <c>CN=<paramref name="commonName"/></c>) issued by
    /// the CA in <paramref name="caFile"/> / <paramref name="caKeyFile"/>: PEM certificate in <paramref name="certificateFile"/>,
    /// unencrypted PEM key in <paramref name="keyFile"/> (owner-only) in the given <paramref name="keyFormat"/>.
    /// </summary>
    internal static void WriteClientCertificate(string caFile, string caKeyFile, string certificateFile, string keyFile,
        string commonName = "streamenrich-client", TestKeyFormat keyFormat = TestKeyFormat.Pkcs8)
    {
        using var ca = X509Certificate2.CreateFromPemFile(caFile, caKeyFile);
        var notBefore = DateTimeOffset.UtcNow.AddHours(-1);
        using var rsa = keyFormat == TestKeyFormat.RsaPkcs1 ? RSA.Create(2048) : null;
        using var ec = rsa is null ? ECDsa.Create(ECCurve.NamedCurves.nistP256) : null;
        var request = rsa is not null
            ? new CertificateRequest("CN=" + commonName, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            : new CertificateRequest("CN=" + commonName, ec!, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.DigitalSignature | (rsa is not null ? X509KeyUsageFlags.KeyEncipherment : X509KeyUsageFlags.KeyAgreement), true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false)); // clientAuth
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        var serial = new byte[16];
        RandomNumberGenerator.Fill(serial);
        serial[0] &= 0x7F;
        var caNotAfter = new DateTimeOffset(ca.NotAfter.ToUniversalTime());
        using var caKey = ca.GetECDsaPrivateKey() ?? throw new ArgumentException($"{caKeyFile} is not the ECDSA key of {caFile}.", nameof(caKeyFile));
        using var cert = request.Create(ca.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey), notBefore, caNotAfter.AddDays(-1), serial);
        File.WriteAllText(certificateFile, cert.ExportCertificatePem() + "\n");
        WritePrivateFile(keyFile, keyFormat switch
        {
            TestKeyFormat.RsaPkcs1 => rsa!.ExportRSAPrivateKeyPem(),
            TestKeyFormat.EcPrivateKey => ec!.ExportECPrivateKeyPem(),
            _ => ec!.ExportPkcs8PrivateKeyPem(),
        } + "\n");
    }

    /// <summary>
    /// A new client certificate issued by this server's CA (see <see cref="WriteClientCertificate"/>), written to
    /// <paramref name="directory"/> as <c>&lt;commonName&gt;.crt</c> and <c>&lt;commonName&gt;.key</c>.
    /// </summary>
    public (string CertificateFile, string KeyFile) CreateClientCertificate(string directory, string commonName = "streamenrich-client",
        TestKeyFormat keyFormat = TestKeyFormat.Pkcs8)
    {
        if (CaFile is null || CaKeyFile is null) throw new InvalidOperationException("Client certificates need a server with Https.");
        System.IO.Directory.CreateDirectory(directory);
        var cert = Path.Combine(directory, commonName + ".crt");
        var key = Path.Combine(directory, commonName + ".key");
        WriteClientCertificate(CaFile, CaKeyFile, cert, key, commonName, keyFormat);
        return (cert, key);
    }

    private static void WritePrivateFile(string path, string text)
    {
        File.WriteAllText(path, "");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.WriteAllText(path, text);
    }

    /// <summary>Kills the server with SIGKILL (no clean shutdown), as a crash would, and waits for it to exit.</summary>
    public async Task StopAsync()
    {
        Process? p;
        lock (_gate) p = _process;
        if (p is null) return;
        try
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException) { }
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try { await p.WaitForExitAsync(cts.Token).ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        HoldPorts();
    }

    /// <summary>The last lines of the server's console output and error log, for failure messages.</summary>
    public string Tail(int lines = 30)
    {
        var sb = new StringBuilder();
        lock (_gate)
        {
            if (_output.Count > 0) sb.Append("--- console ---\n").AppendJoin('\n', _output).Append('\n');
        }
        foreach (var path in new[] { ErrorLogPath, LogPath })
        {
            try
            {
                if (!File.Exists(path)) continue;
                using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var reader = new StreamReader(fs);
                var all = reader.ReadToEnd().Split('\n');
                sb.Append("--- ").Append(path).Append(" ---\n").AppendJoin('\n', all.Skip(Math.Max(0, all.Length - lines))).Append('\n');
                break;
            }
            catch (IOException) { }
        }
        return sb.ToString();
    }

    private void Remember(string? line)
    {
        if (line is null) return;
        lock (_gate)
        {
            _output.Enqueue(line);
            while (_output.Count > 50) _output.Dequeue();
        }
    }

    private string BuildConfig()
    {
        string D(string sub) => SecurityElement.Escape(Path.Combine(Directory, sub) + "/");
        var logDir = Path.Combine(Directory, "log");
        System.IO.Directory.CreateDirectory(logDir);
        var inv = CultureInfo.InvariantCulture;
        return $"""
            <?xml version="1.0"?>
            <yandex>
              <logger>
                <level>information</level>
                <log>{SecurityElement.Escape(LogPath)}</log>
                <errorlog>{SecurityElement.Escape(ErrorLogPath)}</errorlog>
                <size>100M</size>
                <count>2</count>
                <console>0</console>
              </logger>
              <listen_host>127.0.0.1</listen_host>
              <http_port>{HttpPort.ToString(inv)}</http_port>
              <tcp_port>{TcpPort.ToString(inv)}</tcp_port>
            {HttpsConfig()}
              <interserver_http_port>{InterserverPort.ToString(inv)}</interserver_http_port>
              <interserver_http_host>127.0.0.1</interserver_http_host>
              <max_connections>256</max_connections>
              <keep_alive_timeout>10</keep_alive_timeout>
              <path>{D("data")}</path>
              <tmp_path>{D("tmp")}</tmp_path>
              <user_files_path>{D("user_files")}</user_files_path>
              <format_schema_path>{D("format_schemas")}</format_schema_path>
              <users_config>{SecurityElement.Escape(UsersPath ?? "/etc/clickhouse-server/users.xml")}</users_config>
              <default_profile>default</default_profile>
              <default_database>default</default_database>
              <timezone>UTC</timezone>
              <mark_cache_size>268435456</mark_cache_size>
              <uncompressed_cache_size>268435456</uncompressed_cache_size>
              <mlock_executable>false</mlock_executable>
              <macros><{InstanceMacro}>{InstanceId}</{InstanceMacro}></macros>
            </yandex>
            """;
    }

    private string HttpsConfig()
    {
        if (HttpsPort is not { } port) return "";
        // verificationMode none: the server asks no client certificate; strict: it demands one issued by a CA in caConfig
        // and refuses the handshake otherwise (RejectCertificateHandler: Poco's default handler would ask on the console).
        // No dhParamsFile: ECDHE needs none.
        var verification = _options.RequireClientCertificate
            ? $"""
                  <verificationMode>strict</verificationMode>
                  <caConfig>{SecurityElement.Escape(CaFile)}</caConfig>
                  <invalidCertificateHandler><name>RejectCertificateHandler</name></invalidCertificateHandler>
              """
            : """
                  <verificationMode>none</verificationMode>
              """;
        return $"""
              <https_port>{port.ToString(CultureInfo.InvariantCulture)}</https_port>
              <openSSL>
                <server>
                  <certificateFile>{SecurityElement.Escape(CertificateFile)}</certificateFile>
                  <privateKeyFile>{SecurityElement.Escape(PrivateKeyFile)}</privateKeyFile>
            {verification}
                  <loadDefaultCAFile>false</loadDefaultCAFile>
                  <cacheSessions>true</cacheSessions>
                  <disableProtocols>sslv2,sslv3,tlsv1,tlsv1_1</disableProtocols>
                  <preferServerCiphers>true</preferServerCiphers>
                </server>
              </openSSL>
            """;
    }

    private static string BuildUsers(IReadOnlyDictionary<string, string> users)
    {
        var sb = new StringBuilder();
        foreach (var (name, password) in users)
        {
            var tag = SecurityElement.Escape(name);
            sb.Append(CultureInfo.InvariantCulture, $"""
                    <{tag}>
                      <password>{SecurityElement.Escape(password)}</password>
                      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
                      <profile>default</profile>
                      <quota>default</quota>
                    </{tag}>

                """);
        }
        return $"""
            <?xml version="1.0"?>
            <yandex>
              <profiles><default><max_memory_usage>10000000000</max_memory_usage><load_balancing>random</load_balancing></default></profiles>
              <users>
                <default>
                  <password></password>
                  <networks><ip>::/0</ip></networks>
                  <profile>default</profile>
                  <quota>default</quota>
                </default>
            {sb}  </users>
              <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
            </yandex>
            """;
    }

    private IEnumerable<int> Ports => HttpsPort is { } https ? [HttpPort, TcpPort, InterserverPort, https] : [HttpPort, TcpPort, InterserverPort];

    /// <summary>New free loopback ports for every listener, each held (<see cref="HoldPorts"/>) until the server is up.</summary>
    private void PickPorts()
    {
        ReleasePorts();
        HttpPort = HoldFreePort();
        TcpPort = HoldFreePort();
        InterserverPort = HoldFreePort();
        if (_options.Https) HttpsPort = HoldFreePort();
    }

    private int HoldFreePort()
    {
        var s = NewHold();
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        lock (_gate) _holds.Add(s);
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    private static Socket NewHold()
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        // SO_REUSEADDR alone (.NET's ReuseAddress option adds SO_REUSEPORT, which would let another listener share the
        // port). .NET sets it on every TCP bind on Unix anyway; said here because the server's bind depends on it.
        if (OperatingSystem.IsLinux()) s.SetRawSocketOption(1 /* SOL_SOCKET */, 2 /* SO_REUSEADDR */, BitConverter.GetBytes(1));
        return s;
    }

    /// <summary>
    /// Binds a socket, not listening, to each of the server's ports while its process is not running. A port merely
    /// known to be free is handed by the kernel to the next socket bound to port 0 or connecting out (another test's
    /// server or broker, a client), and a server killed for a test (down for up to a minute) would then not come back
    /// on its port. A bound socket keeps the port out of those, and a client is refused as by a dead server; the server
    /// still binds it (both sockets set SO_REUSEADDR and the hold does not listen), and the hold is closed once the
    /// server answers. Best effort: a port another socket took meanwhile is left, and the start reports it.
    /// </summary>
    private void HoldPorts()
    {
        lock (_gate)
        {
            if (_holds.Count > 0 || _disposed) return;
            foreach (var port in Ports)
            {
                var s = NewHold();
                try
                {
                    s.Bind(new IPEndPoint(IPAddress.Loopback, port));
                    _holds.Add(s);
                }
                catch (SocketException)
                {
                    s.Dispose();
                }
            }
        }
    }

    /// <summary>Closes the sockets <see cref="HoldPorts"/> bound (the server listens on the ports now, or is disposed).</summary>
    private void ReleasePorts()
    {
        lock (_gate)
        {
            foreach (var s in _holds) s.Dispose();
            _holds.Clear();
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        StopAsync().GetAwaiter().GetResult();
        lock (_gate) _process?.Dispose();
        ReleasePorts();
        if (_ownsDirectory)
        {
            for (var i = 0; i < 5; i++)
            {
                try { System.IO.Directory.Delete(Directory, recursive: true); break; }
                catch (IOException) { Thread.Sleep(100); }
                catch (UnauthorizedAccessException) { break; }
            }
        }
    }
}

using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.Extensions.Logging;
using StreamEnrich.Configuration;

namespace StreamEnrich.Sinks.ClickHouse;

/// <summary>One column as <c>DESCRIBE TABLE</c> reports it.</summary>
internal sealed record ClickHouseColumnInfo(string Name, string Type, string DefaultKind, string DefaultExpression);

/// <summary>
/// ClickHouse's HTTP interface over one pooled <see cref="HttpClient"/> (one per sink). Errors come back as
/// <see cref="ClickHouseServerException"/> (with the server's code and text) or <see cref="ClickHouseTransportException"/>.
/// </summary>
internal sealed class ClickHouseHttpClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _base;
    private readonly ClickHouseSinkOptions _options;
    private readonly TimeSpan _connectTimeout;
    // Why the last TLS certificate check failed, in words, for the exception that follows the failed handshake.
    private string? _tlsRejection;
    // sink.tls_cert_file with its key (null without mutual TLS), and the intermediates that followed it in the file.
    private readonly X509Certificate2? _clientCertificate;
    private readonly X509Certificate2Collection? _clientIntermediates;
    private readonly SslStreamCertificateContext? _clientCertificateContext;

    /// <param name="logger">Receives the warning that <c>tls_skip_verify</c> is on.</param>
    /// <exception cref="ClickHouseSinkException">
    /// sink.tls_ca_file cannot be read or holds no certificate, or sink.tls_cert_file / sink.tls_key_file cannot be loaded
    /// (missing, not PEM, encrypted, or a key that is not the certificate's).
    /// </exception>
    public ClickHouseHttpClient(ClickHouseSinkOptions options, ILogger? logger = null)
    {
        _options = options;
        var url = options.Url.EndsWith('/') ? options.Url : options.Url + "/";
        _base = new Uri(url);
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(8), // below ClickHouse's keep_alive_timeout (10 s)
            MaxConnectionsPerServer = Math.Max(2, options.InsertConcurrency + 2),
            AutomaticDecompression = DecompressionMethods.None,
            // TCP connect plus, for https, the TLS handshake: at most half the request timeout, so that a stuck connect
            // is reported as such (and not as a slow answer)
            ConnectTimeout = options.Timeout / 2 < TimeSpan.FromSeconds(10) ? options.Timeout / 2 : TimeSpan.FromSeconds(10),
        };
        if (_base.Scheme == Uri.UriSchemeHttps)
        {
            try
            {
                ConfigureTls(handler, logger);
                if (!string.IsNullOrEmpty(options.TlsCertFile) || !string.IsNullOrEmpty(options.TlsKeyFile))
                {
                    (_clientCertificate, _clientIntermediates) = LoadClientCertificate(options.TlsCertFile, options.TlsKeyFile);
                    _clientCertificateContext = SslStreamCertificateContext.Create(_clientCertificate, _clientIntermediates, offline: true);
                    handler.SslOptions.ClientCertificateContext = _clientCertificateContext;
                }
            }
            catch
            {
                handler.Dispose();
                throw;
            }
        }
        _connectTimeout = handler.ConnectTimeout;
        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    public Uri BaseUrl => _base;

    /// <summary>
    /// https only: <c>tls_skip_verify</c> accepts any certificate (with a warning); otherwise the certificate must chain to
    /// the system's CAs or to one in <c>tls_ca_file</c>, and must name the host of <c>url</c> either way. A rejected
    /// certificate leaves its reason in <see cref="_tlsRejection"/> for the error message.
    /// </summary>
    private void ConfigureTls(SocketsHttpHandler handler, ILogger? logger)
    {
        if (_options.TlsSkipVerify)
        {
            logger?.LogWarning(
                "sink.tls_skip_verify is set: the certificate of ClickHouse at {Url} is not checked, so anyone on the network path can " +
                "pose as the server and read the rows and the password. Use it for tests only; set sink.tls_ca_file to trust a private CA.", _base);
            handler.SslOptions.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
            return;
        }
        var trusted = string.IsNullOrEmpty(_options.TlsCaFile) ? null : LoadCaFile(_options.TlsCaFile);
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, chain, errors) =>
        {
            var rejection = CheckCertificate(cert, chain, errors, trusted);
            if (rejection is not null) _tlsRejection = rejection;
            return rejection is null;
        };
    }

    private static X509Certificate2Collection LoadCaFile(string path)
    {
        var ca = new X509Certificate2Collection();
        try
        {
            ca.ImportFromPemFile(path); // a bundle may hold several CA certificates; other PEM blocks are skipped
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new ClickHouseSinkException($"sink.tls_ca_file '{path}' cannot be read: {e.Message}", e);
        }
        if (ca.Count == 0)
            throw new ClickHouseSinkException(
                $"sink.tls_ca_file '{path}' holds no PEM certificate (a block starting -----BEGIN CERTIFICATE-----). " +
                "Give the CA certificate that issued the server's certificate, in PEM (convert DER with `openssl x509 -inform der -in ca.der -out ca.pem`).");
        return ca;
    }

    /// <summary>
    /// sink.tls_cert_file and sink.tls_key_file as a certificate with its private key, usable by <see cref="SslStream"/>, plus
    /// the certificates after the first in the certificate file (intermediates, sent along). Every failure names the option,
    /// the file and what is wrong.
    /// </summary>
    internal static (X509Certificate2 Certificate, X509Certificate2Collection Intermediates) LoadClientCertificate(string? certFile, string? keyFile)
    {
        if (string.IsNullOrEmpty(certFile) || string.IsNullOrEmpty(keyFile))
            throw new ClickHouseSinkException(string.IsNullOrEmpty(certFile)
                ? "sink.tls_key_file is set without sink.tls_cert_file: set both (the PEM client certificate and its private key) for mutual TLS, or neither."
                : "sink.tls_cert_file is set without sink.tls_key_file: set both (the PEM client certificate and its private key) for mutual TLS, or neither.");
        var certText = ReadPemFile("sink.tls_cert_file", certFile);
        var keyText = ReadPemFile("sink.tls_key_file", keyFile);
        var labels = PemLabels(certText);
        if (!labels.Contains("CERTIFICATE"))
            throw new ClickHouseSinkException(
                $"sink.tls_cert_file '{certFile}' holds no PEM certificate (a block starting -----BEGIN CERTIFICATE-----){Found(labels)}. " +
                "Give the client certificate in PEM (convert DER with `openssl x509 -inform der -in client.der -out client.pem`); its key goes in sink.tls_key_file.");
        var keyLabels = PemLabels(keyText);
        if (keyLabels.Contains("ENCRYPTED PRIVATE KEY") || keyText.Contains("Proc-Type: 4,ENCRYPTED", StringComparison.Ordinal))
            throw new ClickHouseSinkException(
                $"sink.tls_key_file '{keyFile}' holds an encrypted private key; it must be unencrypted. " +
                "Decrypt it with `openssl pkey -in client.key -out client-plain.key` and keep that file readable by this service only.");
        if (!keyLabels.Overlaps(["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"]))
            throw new ClickHouseSinkException(
                $"sink.tls_key_file '{keyFile}' holds no PEM private key (a block starting -----BEGIN PRIVATE KEY-----, -----BEGIN RSA PRIVATE KEY----- " +
                $"or -----BEGIN EC PRIVATE KEY-----){Found(keyLabels)}. Give the private key of the certificate in sink.tls_cert_file.");

        X509Certificate2 pem;
        try
        {
            pem = X509Certificate2.CreateFromPemFile(certFile, keyFile);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            throw new ClickHouseSinkException(
                $"sink.tls_key_file '{keyFile}' is not the private key of the certificate in sink.tls_cert_file '{certFile}' ({e.Message.TrimEnd('.')}). " +
                "Give the key the certificate was issued for (`openssl x509 -noout -pubkey -in <cert>` and `openssl pkey -pubout -in <key>` must print the same).", e);
        }
        using (pem)
        {
            if (pem.NotAfter.ToUniversalTime() < DateTime.UtcNow)
                throw new ClickHouseSinkException(
                    $"sink.tls_cert_file '{certFile}' (subject '{pem.Subject}') expired on {pem.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm} UTC; ClickHouse would refuse it. Renew the client certificate.");
            // SslStream on Linux cannot sign with the ephemeral key CreateFromPemFile attaches on every platform
            // (Windows refuses it): a PKCS#12 round trip gives a key every platform's TLS stack can use.
            var certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
            var all = new X509Certificate2Collection();
            all.ImportFromPem(certText);
            var intermediates = new X509Certificate2Collection();
            foreach (var c in all)
            {
                if (c.RawDataMemory.Span.SequenceEqual(certificate.RawDataMemory.Span)) { c.Dispose(); continue; }
                intermediates.Add(c);
            }
            return (certificate, intermediates);
        }
    }

    private static string ReadPemFile(string option, string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ClickHouseSinkException($"{option} '{path}' does not exist.", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ClickHouseSinkException($"{option} '{path}' cannot be read: {e.Message}", e);
        }
    }

    private static HashSet<string> PemLabels(string text)
    {
        var labels = new HashSet<string>(StringComparer.Ordinal);
        var rest = text.AsSpan();
        while (PemEncoding.TryFind(rest, out var fields))
        {
            labels.Add(rest[fields.Label].ToString());
            rest = rest[fields.Location.End..];
        }
        return labels;
    }

    private static string Found(HashSet<string> labels) =>
        labels.Count == 0 ? "; the file is not PEM at all" : $"; it holds {string.Join(", ", labels.Select(l => $"'{l}'"))}";

    /// <summary>Null when the server certificate is acceptable, else why not (naming the sink options that change it).</summary>
    private string? CheckCertificate(X509Certificate? cert, X509Chain? chain, SslPolicyErrors errors, X509Certificate2Collection? trusted)
    {
        if (errors == SslPolicyErrors.None) return null;
        if (cert is null || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
            return "the server sent no certificate.";
        var leaf = cert as X509Certificate2 ?? new X509Certificate2(cert);
        var who = $"the server's certificate (subject '{leaf.Subject}', issued by '{leaf.Issuer}', for {Names(leaf)})";
        string? chainProblem = null;
        if ((errors & SslPolicyErrors.RemoteCertificateChainErrors) != 0)
        {
            if (trusted is null)
            {
                chainProblem = $"is not trusted by this machine ({Status(chain)}). Set sink.tls_ca_file to the PEM file of the CA that issued it " +
                               "(or add that CA to the system's trust store); sink.tls_skip_verify: true turns all checks off, for tests only.";
            }
            else
            {
                using var own = new X509Chain();
                own.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                own.ChainPolicy.CustomTrustStore.AddRange(trusted);
                own.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                own.ChainPolicy.DisableCertificateDownloads = true;
                if (chain is not null) own.ChainPolicy.ExtraStore.AddRange(chain.ChainPolicy.ExtraStore); // intermediates the server sent
                if (!own.Build(leaf))
                    chainProblem = $"does not chain to a CA in sink.tls_ca_file '{_options.TlsCaFile}' ({Status(own)}), nor to one this machine trusts. " +
                                   "Set sink.tls_ca_file to the CA that issued the server's certificate (its subject is the issuer above).";
            }
        }
        var nameProblem = (errors & SslPolicyErrors.RemoteCertificateNameMismatch) == 0 ? null
            : $"does not cover the host '{_base.Host}' of sink.url. Use a host name the certificate is issued for in sink.url, or reissue the " +
              $"certificate with '{_base.Host}' among its subject alternative names (sink.tls_ca_file does not relax the host name check).";
        return (chainProblem, nameProblem) switch
        {
            (null, null) => null,
            (not null, null) => $"{who} {chainProblem}",
            (null, not null) => $"{who} {nameProblem}",
            _ => $"{who} {chainProblem} It also {nameProblem}",
        };
    }

    private static string Names(X509Certificate2 cert)
    {
        foreach (var ext in cert.Extensions)
        {
            if (ext is not X509SubjectAlternativeNameExtension san) continue;
            var names = san.EnumerateDnsNames().Concat(san.EnumerateIPAddresses().Select(ip => ip.ToString())).ToList();
            if (names.Count > 0) return string.Join(", ", names);
        }
        return "no subject alternative names";
    }

    private static string Status(X509Chain? chain)
    {
        var statuses = chain?.ChainStatus.Select(s => s.Status).Where(s => s != X509ChainStatusFlags.NoError).Distinct().ToList();
        return statuses is { Count: > 0 } ? string.Join(", ", statuses) : "chain errors";
    }

    public async Task PingAsync(CancellationToken ct)
    {
        using var req = new HttpRequestMessage(HttpMethod.Get, new Uri(_base, "ping"));
        using var resp = await SendAsync(req, ct).ConfigureAwait(false);
    }

    /// <summary>Runs a statement and returns the response text.</summary>
    public async Task<string> ExecuteAsync(string sql, CancellationToken ct, IEnumerable<KeyValuePair<string, string>>? settings = null)
    {
        using var req = new HttpRequestMessage(HttpMethod.Post, BuildUri(null, settings));
        req.Content = new StringContent(sql, Encoding.UTF8, new MediaTypeHeaderValue("text/plain"));
        using var resp = await SendAsync(req, ct).ConfigureAwait(false);
        return await resp.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
    }

    /// <summary>The server version, e.g. <c>18.16.1</c> or <c>24.3.2.23</c>.</summary>
    public async Task<Version> GetVersionAsync(CancellationToken ct)
    {
        var text = (await ExecuteAsync("SELECT version()", ct).ConfigureAwait(false)).Trim();
        var parts = text.Split('.');
        var nums = new int[Math.Min(4, Math.Max(2, parts.Length))];
        for (var i = 0; i < nums.Length && i < parts.Length; i++)
            int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out nums[i]);
        return nums.Length switch
        {
            2 => new Version(nums[0], nums[1]),
            3 => new Version(nums[0], nums[1], nums[2]),
            _ => new Version(nums[0], nums[1], nums[2], nums[3]),
        };
    }

    public async Task<string> GetTimeZoneAsync(CancellationToken ct) => (await ExecuteAsync("SELECT timezone()", ct).ConfigureAwait(false)).Trim();

    public async Task<IReadOnlyList<ClickHouseColumnInfo>> DescribeAsync(string database, string table, CancellationToken ct)
    {
        var text = await ExecuteAsync($"DESCRIBE TABLE {QuoteIdentifier(database)}.{QuoteIdentifier(table)} FORMAT TabSeparated", ct).ConfigureAwait(false);
        var result = new List<ClickHouseColumnInfo>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0) continue;
            var f = line.Split('\t');
            if (f.Length < 2) throw new FormatException($"Unexpected DESCRIBE line: '{line}'.");
            result.Add(new ClickHouseColumnInfo(UnescapeTsv(f[0]), UnescapeTsv(f[1]),
                f.Length > 2 ? UnescapeTsv(f[2]) : "", f.Length > 3 ? UnescapeTsv(f[3]) : ""));
        }
        return result;
    }

    /// <summary>
    /// <c>INSERT INTO db.table (cols) FORMAT &lt;format&gt;</c> with the <paramref name="segments"/>, one after the other,
    /// as the data (streamed from the buffers, not copied into one; already gzip-compressed when <paramref name="gzipped"/>).
    /// </summary>
    public async Task InsertAsync(string insertQuery, IReadOnlyList<ReadOnlyMemory<byte>> segments, bool gzipped, string queryId, CancellationToken ct)
    {
        var settings = new List<KeyValuePair<string, string>>(_options.Settings.Count + 1) { new("query", insertQuery), new("query_id", queryId) };
        using var req = new HttpRequestMessage(HttpMethod.Post, BuildUri(null, settings.Concat(_options.Settings)));
        HttpContent content = segments.Count == 1 ? new ReadOnlyMemoryContent(segments[0]) : new SegmentsContent(segments);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        if (gzipped) content.Headers.ContentEncoding.Add("gzip");
        req.Content = content;
        using var resp = await SendAsync(req, ct).ConfigureAwait(false);
    }

    /// <summary>A request body made of several buffers sent one after the other, with a Content-Length.</summary>
    private sealed class SegmentsContent(IReadOnlyList<ReadOnlyMemory<byte>> segments) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            foreach (var s in segments) await stream.WriteAsync(s, cancellationToken).ConfigureAwait(false);
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            foreach (var s in segments) length += s.Length;
            return true;
        }
    }

    public static string BuildInsertQuery(string database, string table, IEnumerable<string> columns, string format) =>
        $"INSERT INTO {QuoteIdentifier(database)}.{QuoteIdentifier(table)} ({string.Join(", ", columns.Select(QuoteIdentifier))}) FORMAT {format}";

    /// <summary>gzip (fastest level) of <paramref name="data"/> into <paramref name="target"/> (reset first).</summary>
    public static void Gzip(ReadOnlySpan<byte> data, RowBinaryWriter target)
    {
        target.Reset();
        using var gz = new GZipStream(target.AsStream(), CompressionLevel.Fastest, leaveOpen: true);
        gz.Write(data);
    }

    /// <summary>gzips several buffers, one after the other, as one gzip stream.</summary>
    public static void Gzip(IEnumerable<ReadOnlyMemory<byte>> parts, RowBinaryWriter target)
    {
        target.Reset();
        using var gz = new GZipStream(target.AsStream(), CompressionLevel.Fastest, leaveOpen: true);
        foreach (var p in parts) gz.Write(p.Span);
    }

    private Uri BuildUri(string? path, IEnumerable<KeyValuePair<string, string>>? query)
    {
        var sb = new StringBuilder();
        sb.Append("?database=").Append(Uri.EscapeDataString(_options.Database));
        if (query is not null)
            foreach (var kv in query)
                sb.Append('&').Append(Uri.EscapeDataString(kv.Key)).Append('=').Append(Uri.EscapeDataString(kv.Value));
        return new Uri(_base, (path ?? "") + sb);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage req, CancellationToken ct)
    {
        req.Headers.TryAddWithoutValidation("X-ClickHouse-User", _options.User);
        if (!string.IsNullOrEmpty(_options.Password)) req.Headers.TryAddWithoutValidation("X-ClickHouse-Key", _options.Password);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_options.Timeout);
        HttpResponseMessage resp;
        try
        {
            resp = await _http.SendAsync(req, HttpCompletionOption.ResponseContentRead, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested && e.InnerException is TimeoutException)
        {
            // SocketsHttpHandler.ConnectTimeout: no connection, or (https) no completed handshake, in time
            var https = _base.Scheme == Uri.UriSchemeHttps;
            throw new ClickHouseTransportException(
                $"Cannot connect to ClickHouse at {_base}: no {(https ? "TLS session" : "connection")} within {_connectTimeout.TotalSeconds:0.###}s." +
                (https ? " Check that the port in sink.url serves https (ClickHouse's https_port, not the plain-http http_port, where a TLS handshake can hang)."
                       : " Check sink.url and that ClickHouse is running."), e);
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new ClickHouseTransportException($"No answer from ClickHouse at {_base} within {_options.Timeout.TotalSeconds:0.###}s.", e);
        }
        catch (HttpRequestException e) when (e.HttpRequestError == HttpRequestError.SecureConnectionError)
        {
            var (message, rejected) = TlsFailure(e);
            if (!rejected && await ClientCertificateRefusalAsync(ct).ConfigureAwait(false) is { } refusal)
                throw new ClickHouseTransportException(refusal, e, isPermanent: true);
            throw new ClickHouseTransportException(message, e, isPermanent: rejected);
        }
        catch (HttpRequestException e)
        {
            // TLS 1.3: the server judges the client certificate after the client finished its handshake, so a refusal
            // surfaces as a reset or a failed read of the first request, not as a failed handshake
            if (e.HttpRequestError is HttpRequestError.Unknown or HttpRequestError.ResponseEnded
                && await ClientCertificateRefusalAsync(ct).ConfigureAwait(false) is { } refusal)
                throw new ClickHouseTransportException(refusal, e, isPermanent: true);
            var inner = Innermost(e);
            var what = e.Message.Contains(inner.Message, StringComparison.Ordinal) ? e.Message : $"{e.Message.TrimEnd('.')} ({inner.Message.TrimEnd('.')}).";
            // An https_port drops a plain-text request with a reset (ClickHouse 18.16 does, without an answer).
            var hint = _base.Scheme == Uri.UriSchemeHttp && inner is SocketException { SocketErrorCode: SocketError.ConnectionReset }
                ? " If this port serves https (ClickHouse's https_port), use an https:// url."
                : " Check sink.url and that ClickHouse is running.";
            throw new ClickHouseTransportException($"Cannot reach ClickHouse at {_base}: {what}{hint}", e);
        }
        if (resp.IsSuccessStatusCode) return resp;
        using (resp)
        {
            var body = await resp.Content.ReadAsStringAsync(CancellationToken.None).ConfigureAwait(false);
            resp.Headers.TryGetValues("X-ClickHouse-Exception-Code", out var codes);
            throw ClickHouseServerException.FromResponse((int)resp.StatusCode, body, codes?.FirstOrDefault());
        }
    }

    /// <summary>
    /// The message for a failed TLS handshake: the certificate check's verdict (Rejected: true), or the handshake's own
    /// error (which may be transient, e.g. a server restarting).
    /// </summary>
    private (string Message, bool Rejected) TlsFailure(HttpRequestException e)
    {
        var rejection = Interlocked.Exchange(ref _tlsRejection, null);
        if (rejection is not null) return ($"TLS certificate validation failed for ClickHouse at {_base}: {rejection}", true);
        var inner = Innermost(e);
        var hint = inner is AuthenticationException or IOException
            ? " Check that the port in sink.url serves https (ClickHouse's https_port, 8443 by default; http_port 8123 is plain http, use an http:// url for it)."
            : "";
        return ($"TLS handshake with ClickHouse at {_base} failed: {inner.Message}{hint}", false);
    }

    /// <summary>
    /// After an https request failed without an answer: whether the server refuses this client's certificate (it demands
    /// one and none is configured, or it does not trust the one in sink.tls_cert_file). A fresh connection sends
    /// <c>GET /ping</c>: if the server asked for a client certificate in that handshake and then drops the connection instead
    /// of answering, that is the cause, and retrying cannot help until the configuration changes. If it answers, cannot be
    /// reached, or did not ask for a certificate, the failure was something else (null), and stays retryable.
    /// </summary>
    private async Task<string?> ClientCertificateRefusalAsync(CancellationToken ct)
    {
        if (_base.Scheme != Uri.UriSchemeHttps || ct.IsCancellationRequested) return null;
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(_connectTimeout);
        try
        {
            var probe = await ProbeAsync(_clientCertificateContext, limit.Token).ConfigureAwait(false);
            if (_clientCertificateContext is null)
            {
                if (!probe.Asked || probe.Outcome is ProbeOutcome.Answered or ProbeOutcome.Unreachable) return null;
                return $"ClickHouse at {_base} requires a TLS client certificate (mutual TLS) and closed the connection because none was sent{Detail(probe)}. " +
                       "Set sink.tls_cert_file and sink.tls_key_file to a PEM client certificate and its private key, issued by a CA the server " +
                       "trusts (openSSL.server.caConfig in its config).";
            }
            var refused = probe.Outcome switch
            {
                ProbeOutcome.Dropped => probe.Asked,
                // a refusal inside the handshake (TLS 1.2): refused if the server asks for a certificate at all
                ProbeOutcome.HandshakeFailed => (await ProbeAsync(null, limit.Token).ConfigureAwait(false)).Asked,
                _ => false,
            };
            if (!refused) return null;
            var cert = _clientCertificate!;
            return $"ClickHouse at {_base} refused the TLS client certificate in sink.tls_cert_file '{_options.TlsCertFile}' (subject '{cert.Subject}', " +
                   $"issued by '{cert.Issuer}'){Detail(probe)}. Set sink.tls_cert_file and sink.tls_key_file to a certificate and key issued by a CA " +
                   "the server trusts (openSSL.server.caConfig in its config), or add its issuer there.";
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return null; // the probe did not finish in time: no verdict
        }

        static string Detail(ProbeResult p) => p.Error is { } e ? $" (the connection ended with: {e.TrimEnd('.')})" : "";
    }

    private enum ProbeOutcome { Unreachable, HandshakeFailed, Answered, Dropped }

    /// <param name="Asked">The server sent a certificate request in the handshake.</param>
    private readonly record struct ProbeResult(ProbeOutcome Outcome, bool Asked, string? Error);

    /// <summary>One connection: handshake (with <paramref name="clientCertificate"/>, or none), then <c>GET /ping</c>.</summary>
    private async Task<ProbeResult> ProbeAsync(SslStreamCertificateContext? clientCertificate, CancellationToken ct)
    {
        using var tcp = new TcpClient { NoDelay = true };
        try
        {
            await tcp.ConnectAsync(_base.Host, _base.Port, ct).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            return new ProbeResult(ProbeOutcome.Unreachable, false, e.Message);
        }
        var asked = false;
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = _base.IdnHost,
            // only the server's verdict on the client matters here; its own certificate was accepted by the failed request
            // (a rejection is reported as such before any probe)
            RemoteCertificateValidationCallback = static (_, _, _, _) => true,
        };
        if (clientCertificate is not null)
        {
            options.ClientCertificateContext = clientCertificate;
        }
        else
        {
            // called once before the handshake (no server certificate yet), and again only if the server asks for one
            options.LocalCertificateSelectionCallback = (_, _, _, remote, _) =>
            {
                if (remote is not null) asked = true;
                return null!;
            };
        }
        var tls = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
        await using (tls.ConfigureAwait(false))
        {
            try
            {
                await tls.AuthenticateAsClientAsync(options, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is AuthenticationException or IOException)
            {
                return new ProbeResult(ProbeOutcome.HandshakeFailed, asked, Innermost(e).Message);
            }
            // a client certificate is only ever sent when the server asks for one
            if (clientCertificate is not null) asked = tls.IsMutuallyAuthenticated;
            try
            {
                var request = Encoding.ASCII.GetBytes($"GET /ping HTTP/1.1\r\nHost: {_base.Authority}\r\nConnection: close\r\n\r\n");
                await tls.WriteAsync(request, ct).ConfigureAwait(false);
                await tls.FlushAsync(ct).ConfigureAwait(false);
                var buffer = new byte[64];
                var read = await tls.ReadAsync(buffer, ct).ConfigureAwait(false);
                return new ProbeResult(read > 0 ? ProbeOutcome.Answered : ProbeOutcome.Dropped, asked, null);
            }
            catch (Exception e) when (e is IOException or AuthenticationException)
            {
                return new ProbeResult(ProbeOutcome.Dropped, asked, Innermost(e).Message);
            }
        }
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }

    /// <summary>Backquotes an identifier (escaping backquotes and backslashes).</summary>
    public static string QuoteIdentifier(string name) => "`" + name.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("`", "\\`", StringComparison.Ordinal) + "`";

    /// <summary>Undoes TabSeparated escaping (<c>\t \n \\ \'</c>...).</summary>
    public static string UnescapeTsv(string s)
    {
        if (!s.Contains('\\', StringComparison.Ordinal)) return s;
        var sb = new StringBuilder(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (c != '\\' || i + 1 == s.Length) { sb.Append(c); continue; }
            var e = s[++i];
            sb.Append(e switch { 't' => '\t', 'n' => '\n', 'r' => '\r', '0' => '\0', 'b' => '\b', 'f' => '\f', _ => e });
        }
        return sb.ToString();
    }

    public void Dispose()
    {
        _http.Dispose();
        _clientCertificate?.Dispose();
        if (_clientIntermediates is not null)
            foreach (var c in _clientIntermediates) c.Dispose();
    }
}

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

    /// <param name="logger">Receives the warning that <c>tls_skip_verify</c> is on.</param>
    /// <exception cref="ClickHouseSinkException">sink.tls_ca_file cannot be read or holds no certificate.</exception>
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
        if (_base.Scheme == Uri.UriSchemeHttps) ConfigureTls(handler, logger);
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
            throw new ClickHouseTransportException(message, e, isPermanent: rejected);
        }
        catch (HttpRequestException e)
        {
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

    public void Dispose() => _http.Dispose();
}

using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
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

    public ClickHouseHttpClient(ClickHouseSinkOptions options)
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
            ConnectTimeout = TimeSpan.FromSeconds(10),
        };
        if (options.TlsSkipVerify)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
        }
        else if (!string.IsNullOrEmpty(options.TlsCaFile))
        {
            var ca = X509Certificate2.CreateFromPemFile(options.TlsCaFile);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, errors) =>
            {
                if (errors == SslPolicyErrors.None) return true;
                if (cert is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0) return false;
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(ca);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(new X509Certificate2(cert));
            };
        }
        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    public Uri BaseUrl => _base;

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
    /// <c>INSERT INTO db.table (cols) FORMAT &lt;format&gt;</c> with <paramref name="body"/> as the data
    /// (already gzip-compressed when <paramref name="gzipped"/>).
    /// </summary>
    public Task InsertAsync(string insertQuery, ReadOnlyMemory<byte> body, bool gzipped, string queryId, CancellationToken ct) =>
        InsertAsync(insertQuery, [body], gzipped, queryId, ct);

    /// <summary>
    /// <c>INSERT INTO db.table (cols) FORMAT &lt;format&gt;</c> with the <paramref name="segments"/>, one after the other,
    /// as the data (streamed from the buffers, not copied into one).
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
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new ClickHouseTransportException($"No answer from ClickHouse at {_base} within {_options.Timeout.TotalSeconds:0.###}s.", e);
        }
        catch (HttpRequestException e)
        {
            throw new ClickHouseTransportException($"Cannot reach ClickHouse at {_base}: {e.Message}", e);
        }
        if (resp.IsSuccessStatusCode) return resp;
        using (resp)
        {
            var body = await resp.Content.ReadAsStringAsync(CancellationToken.None).ConfigureAwait(false);
            resp.Headers.TryGetValues("X-ClickHouse-Exception-Code", out var codes);
            throw ClickHouseServerException.FromResponse((int)resp.StatusCode, body, codes?.FirstOrDefault());
        }
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

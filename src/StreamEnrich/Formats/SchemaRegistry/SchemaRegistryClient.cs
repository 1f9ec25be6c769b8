using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace StreamEnrich.Formats.SchemaRegistry;

/// <summary>A schema as the registry returns it by id.</summary>
internal sealed record RegisteredSchema(int Id, string Schema, string SchemaType, IReadOnlyList<SchemaReference> References);

/// <summary>A reference from one schema to another registered one (named types defined elsewhere).</summary>
internal sealed record SchemaReference(string Name, string Subject, int Version);

/// <summary>One version of a subject.</summary>
internal sealed record SubjectSchema(string Subject, int Version, int Id, string Schema, string SchemaType, IReadOnlyList<SchemaReference> References);

/// <summary>Why a registry call failed.</summary>
internal enum SchemaRegistryErrorKind
{
    /// <summary>The schema, subject or version does not exist (HTTP 404): permanent.</summary>
    NotFound,
    /// <summary>HTTP 401/403: credentials wrong or missing.</summary>
    Unauthorized,
    /// <summary>Still failing transiently (5xx, 429, connection, timeout) after every retry.</summary>
    Unavailable,
    /// <summary>Any other answer (4xx, malformed response).</summary>
    Invalid,
}

internal sealed class SchemaRegistryException : Exception
{
    public SchemaRegistryException(SchemaRegistryErrorKind kind, string message, int? statusCode = null, int? errorCode = null, Exception? inner = null)
        : base(message, inner)
    {
        Kind = kind;
        StatusCode = statusCode;
        ErrorCode = errorCode;
    }

    public SchemaRegistryErrorKind Kind { get; }
    public int? StatusCode { get; }
    /// <summary>The registry's <c>error_code</c> (e.g. 40403 schema not found), when it sent one.</summary>
    public int? ErrorCode { get; }
}

/// <summary>What the Avro decoder needs from a registry (the HTTP client, or a fixed set of schemas in tools and tests).</summary>
internal interface ISchemaRegistry
{
    /// <summary>The schema with this id, from the cache when it was fetched before. Throws <see cref="SchemaRegistryException"/>.</summary>
    ValueTask<RegisteredSchema> GetSchemaAsync(int id, CancellationToken cancellationToken);

    /// <summary>One version (a number or <c>latest</c>) of a subject. Throws <see cref="SchemaRegistryException"/>.</summary>
    Task<SubjectSchema> GetSubjectVersionAsync(string subject, string version, CancellationToken cancellationToken);
}

/// <summary>
/// Confluent Schema Registry REST client over <see cref="HttpClient"/>: <c>GET /schemas/ids/{id}</c>,
/// <c>GET /subjects/{subject}/versions</c>, <c>GET /subjects/{subject}/versions/{version|latest}</c>. Basic or bearer
/// auth, TLS options, a timeout per attempt, retries with exponential backoff and jitter on transient failures
/// (5xx, 429, connection errors, timeouts) but not on 4xx. Schemas by id are cached for the life of the process
/// (ids are immutable), so a registry outage does not stop a pipeline whose ids are all cached. Thread-safe.
/// </summary>
internal sealed class SchemaRegistryClient : ISchemaRegistry, IDisposable
{
    private readonly ConcurrentDictionary<int, RegisteredSchema> _byId = new();
    private readonly ConcurrentDictionary<int, Lazy<Task<RegisteredSchema>>> _inflight = new();
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly SchemaRegistryOptions _options;
    private readonly IReadOnlyList<Uri> _urls;
    private readonly TimeProvider _time;
    private int _urlIndex;

    public SchemaRegistryClient(SchemaRegistryOptions options, TimeProvider? timeProvider = null, HttpMessageHandler? handler = null)
    {
        var ctx = new Configuration.OptionsValidationContext();
        options.Validate(ctx);
        if (ctx.Errors.Count > 0)
            throw new ArgumentException("Invalid schema registry options: " + string.Join(" ", ctx.Errors.Select(e => e.Message)), nameof(options));
        _options = options;
        _urls = options.Urls();
        _time = timeProvider ?? TimeProvider.System;
        _ownsHttp = true;
        _http = new HttpClient(handler ?? CreateHandler(options), disposeHandler: true) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.Accept.ParseAdd("application/vnd.schemaregistry.v1+json");
        _http.DefaultRequestHeaders.Accept.ParseAdd("application/json");
        if (options.Token is { } token)
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        else if (options.User is { } user)
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
                Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + options.Password)));
    }

    private static SocketsHttpHandler CreateHandler(SchemaRegistryOptions options)
    {
        var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), ConnectTimeout = options.Timeout };
        if (options.TlsSkipVerify)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        }
        else if (options.TlsCaFile is { } caFile)
        {
            var ca = new X509Certificate2Collection();
            ca.ImportFromPemFile(caFile); // a bundle may hold several CA certificates
            if (ca.Count == 0) throw new ArgumentException($"The CA file {caFile} holds no PEM certificate.", nameof(options));
            handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, errors) =>
            {
                if (cert is null) return false;
                if (errors == SslPolicyErrors.None) return true;
                if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0) return false;
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(ca);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(new X509Certificate2(cert));
            };
        }
        return handler;
    }

    /// <summary>True when the schema with this id is cached (no I/O).</summary>
    public bool TryGetCached(int id, out RegisteredSchema schema) => _byId.TryGetValue(id, out schema!);

    public ValueTask<RegisteredSchema> GetSchemaAsync(int id, CancellationToken cancellationToken)
    {
        if (_byId.TryGetValue(id, out var cached)) return ValueTask.FromResult(cached);
        return new ValueTask<RegisteredSchema>(FetchOnce(id, cancellationToken));
    }

    private async Task<RegisteredSchema> FetchOnce(int id, CancellationToken cancellationToken)
    {
        // Concurrent callers asking for the same id share one request.
        var lazy = _inflight.GetOrAdd(id, i => new Lazy<Task<RegisteredSchema>>(() => FetchById(i, CancellationToken.None)));
        if (lazy.Value.IsFaulted)
        {
            // A failure left over from callers that gave up: ask again instead of repeating it.
            _inflight.TryRemove(new(id, lazy));
            lazy = _inflight.GetOrAdd(id, i => new Lazy<Task<RegisteredSchema>>(() => FetchById(i, CancellationToken.None)));
        }
        try
        {
            var schema = await lazy.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
            _byId.TryAdd(id, schema);
            return schema;
        }
        finally
        {
            if (lazy.IsValueCreated && lazy.Value.IsCompleted) _inflight.TryRemove(new(id, lazy));
        }
    }

    private async Task<RegisteredSchema> FetchById(int id, CancellationToken ct)
    {
        var dto = await GetJsonAsync($"schemas/ids/{id}", $"schema id {id}", StreamEnrichJson.Default.SchemaDto, ct).ConfigureAwait(false);
        if (dto.Schema is null) throw new SchemaRegistryException(SchemaRegistryErrorKind.Invalid, $"The schema registry's answer for schema id {id} has no 'schema' field.");
        return new RegisteredSchema(id, dto.Schema, string.IsNullOrEmpty(dto.SchemaType) ? "AVRO" : dto.SchemaType, Refs(dto.References));
    }

    /// <summary>The versions registered under a subject.</summary>
    public async Task<IReadOnlyList<int>> GetSubjectVersionsAsync(string subject, CancellationToken cancellationToken) =>
        await GetJsonAsync($"subjects/{Uri.EscapeDataString(subject)}/versions", $"subject '{subject}'", StreamEnrichJson.Default.Int32Array, cancellationToken).ConfigureAwait(false);

    public async Task<SubjectSchema> GetSubjectVersionAsync(string subject, string version, CancellationToken cancellationToken)
    {
        if (version != "latest" && !int.TryParse(version, out _))
            throw new ArgumentException($"Version must be a number or 'latest', got '{version}'.", nameof(version));
        var dto = await GetJsonAsync($"subjects/{Uri.EscapeDataString(subject)}/versions/{version}", $"subject '{subject}' version {version}", StreamEnrichJson.Default.SchemaDto, cancellationToken).ConfigureAwait(false);
        if (dto.Schema is null || dto.Id is null)
            throw new SchemaRegistryException(SchemaRegistryErrorKind.Invalid, $"The schema registry's answer for subject '{subject}' version {version} lacks 'schema' or 'id'.");
        var result = new SubjectSchema(dto.Subject ?? subject, dto.Version ?? 0, dto.Id.Value, dto.Schema, string.IsNullOrEmpty(dto.SchemaType) ? "AVRO" : dto.SchemaType, Refs(dto.References));
        _byId.TryAdd(result.Id, new RegisteredSchema(result.Id, result.Schema, result.SchemaType, result.References));
        return result;
    }

    private static List<SchemaReference> Refs(List<ReferenceDto>? refs) =>
        refs is null ? [] : [.. refs.Select(r => new SchemaReference(r.Name ?? "", r.Subject ?? "", r.Version))];

    private async Task<T> GetJsonAsync<T>(string relative, string what, JsonTypeInfo<T> type, CancellationToken ct)
    {
        Exception? last = null;
        for (var attempt = 0; ; attempt++)
        {
            var baseUrl = _urls[(int)((uint)Volatile.Read(ref _urlIndex) % (uint)_urls.Count)];
            var url = new Uri(baseUrl, relative);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(_options.Timeout);
            string? transient;
            try
            {
                using var response = await _http.GetAsync(url, HttpCompletionOption.ResponseContentRead, timeout.Token).ConfigureAwait(false);
                var body = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    try
                    {
                        return JsonSerializer.Deserialize(body, type)
                            ?? throw new SchemaRegistryException(SchemaRegistryErrorKind.Invalid, $"The schema registry at {baseUrl} answered null for {what}.");
                    }
                    catch (JsonException e)
                    {
                        throw new SchemaRegistryException(SchemaRegistryErrorKind.Invalid, $"The schema registry at {baseUrl} sent a malformed answer for {what}: {e.Message}", (int)response.StatusCode, null, e);
                    }
                }
                var (code, message) = ParseError(body);
                var status = (int)response.StatusCode;
                var detail = $"HTTP {status}{(code is null ? "" : $", error {code}")}{(message is null ? "" : $": {message}")}";
                if (response.StatusCode == HttpStatusCode.NotFound)
                    throw new SchemaRegistryException(SchemaRegistryErrorKind.NotFound,
                        relative.StartsWith("schemas/ids/", StringComparison.Ordinal)
                            ? $"unknown schema id {what["schema id ".Length..]}: the schema registry at {baseUrl} does not have it ({detail})."
                            : $"{what} not found in the schema registry at {baseUrl} ({detail}).", status, code);
                if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
                    throw new SchemaRegistryException(SchemaRegistryErrorKind.Unauthorized,
                        $"The schema registry at {baseUrl} refused access to {what} ({detail}). Check the credentials: `user` and `password` (basic auth) or `token` (bearer) of the `registry` section.", status, code);
                if (status >= 500 || response.StatusCode == HttpStatusCode.TooManyRequests || response.StatusCode == HttpStatusCode.RequestTimeout)
                    transient = detail;
                else
                    throw new SchemaRegistryException(SchemaRegistryErrorKind.Invalid, $"The schema registry at {baseUrl} rejected the request for {what} ({detail}).", status, code);
                last = null;
            }
            catch (HttpRequestException e) when (e.InnerException is System.Security.Authentication.AuthenticationException)
            {
                throw new SchemaRegistryException(SchemaRegistryErrorKind.Invalid,
                    $"TLS with the schema registry at {baseUrl} failed for {what}: {e.InnerException.Message} Trust its CA with tls_ca_file (or tls_skip_verify for tests).", null, null, e);
            }
            catch (HttpRequestException e)
            {
                transient = e.Message;
                last = e;
            }
            catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
            {
                transient = $"no answer within {_options.Timeout.TotalSeconds:0.###} s";
                last = e;
            }
            if (attempt >= _options.MaxRetries)
                throw new SchemaRegistryException(SchemaRegistryErrorKind.Unavailable,
                    $"The schema registry at {baseUrl} is unavailable for {what} after {attempt + 1} attempt(s): {transient}.", null, null, last);
            Interlocked.Increment(ref _urlIndex);
            await Task.Delay(Backoff(attempt), _time, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Exponential backoff with ±25% jitter, capped.</summary>
    internal TimeSpan Backoff(int attempt) => StreamEnrich.Backoff.Jittered(_options.RetryBackoff, _options.RetryMaxBackoff, attempt);

    private static (int? Code, string? Message) ParseError(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return (null, null);
            int? code = root.TryGetProperty("error_code", out var c) && c.TryGetInt32(out var ci) ? ci : null;
            var msg = root.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            return (code, msg);
        }
        catch (JsonException)
        {
            return (null, body.Length > 200 ? body[..200] : body.Length == 0 ? null : body);
        }
    }

    internal sealed class SchemaDto
    {
        [JsonPropertyName("schema")] public string? Schema { get; set; }
        [JsonPropertyName("schemaType")] public string? SchemaType { get; set; }
        [JsonPropertyName("references")] public List<ReferenceDto>? References { get; set; }
        [JsonPropertyName("subject")] public string? Subject { get; set; }
        [JsonPropertyName("version")] public int? Version { get; set; }
        [JsonPropertyName("id")] public int? Id { get; set; }
    }

    internal sealed class ReferenceDto
    {
        [JsonPropertyName("name")] public string? Name { get; set; }
        [JsonPropertyName("subject")] public string? Subject { get; set; }
        [JsonPropertyName("version")] public int Version { get; set; }
    }

    public void Dispose()
    {
        if (_ownsHttp) _http.Dispose();
    }
}

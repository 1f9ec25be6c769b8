using StreamEnrich.Configuration;

namespace StreamEnrich.Formats.SchemaRegistry;

/// <summary>
/// How to reach a Confluent-compatible Schema Registry: the <c>registry:</c> section of <c>format</c> and of the
/// <c>json_schema</c> stage (one options class, so both are written, validated and documented the same way).
/// </summary>
public sealed class SchemaRegistryOptions : IValidatableOptions, IRelativePaths
{
    [Option("Registry base URL; several, comma-separated, are tried in turn on transient failures.", Required = true, Example = "http://localhost:8081")]
    public string Url { get; set; } = "";

    [Option("Basic-auth user (with `password`).")]
    public string? User { get; set; }

    [Option("Basic-auth password.")]
    public string? Password { get; set; }

    [Option("Bearer token (instead of basic auth).")]
    public string? Token { get; set; }

    [Option("Timeout of one request.")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    [Option("Quick retries of one request after a transient failure (5xx, 429, connection error, timeout).")]
    public int MaxRetries { get; set; } = 5;

    [Option("format avro, a schema id not cached yet while the registry is unavailable (after `max_retries`): the pipeline holds those messages back (the consumer pauses, nothing is committed past them), warns, and asks again after `retry_backoff` doubling to `retry_max_backoff`, this many times before it stops; -1 waits forever.")]
    public int OutageMaxRetries { get; set; } = -1;

    [Option("First retry delay; doubles per attempt (with jitter) up to `retry_max_backoff`.")]
    public TimeSpan RetryBackoff { get; set; } = TimeSpan.FromMilliseconds(200);

    [Option("Longest delay between retries.")]
    public TimeSpan RetryMaxBackoff { get; set; } = TimeSpan.FromSeconds(5);

    [Option("Skip TLS certificate validation (testing only).")]
    public bool TlsSkipVerify { get; set; }

    [Option("CA certificate file (PEM) to trust for https, instead of the system store; relative to the pipeline file.")]
    public string? TlsCaFile { get; set; }

    /// <summary>Makes <see cref="TlsCaFile"/> absolute, a relative one taken from <paramref name="baseDirectory"/> (the pipeline file's folder).</summary>
    public void ResolvePaths(string baseDirectory) => TlsCaFile = RelativePaths.Resolve(baseDirectory, TlsCaFile);

    public IReadOnlyList<Uri> Urls() =>
        [.. Url.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(u => new Uri(u.EndsWith('/') ? u : u + "/"))];

    public void Validate(OptionsValidationContext context)
    {
        var parts = Url.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0)
            context.Error(nameof(Url), "the schema registry URL is empty.", "Set `registry: { url: http://<schema-registry>:8081 }`.");
        foreach (var p in parts)
            if (!Uri.TryCreate(p, UriKind.Absolute, out var u) || (u.Scheme != "http" && u.Scheme != "https"))
                context.Error(nameof(Url), $"registry URL must be an absolute http(s) URL, got '{p}'.", "Example: `registry: { url: http://localhost:8081 }`.");
        if (User is not null != Password is not null)
            context.Error(nameof(User), "basic auth needs both registry user and password.");
        if (Token is not null && User is not null)
            context.Error(nameof(Token), "use either the registry token (bearer) or user/password (basic), not both.");
        if (Timeout <= TimeSpan.Zero) context.Error(nameof(Timeout), "the registry timeout must be positive.");
        if (MaxRetries < 0) context.Error(nameof(MaxRetries), "registry max retries must be at least 0.");
        if (OutageMaxRetries < -1)
            context.Error(nameof(OutageMaxRetries), $"registry outage_max_retries must be -1 (wait forever) or at least 0, got {OutageMaxRetries}.");
        if (RetryBackoff <= TimeSpan.Zero || RetryMaxBackoff < RetryBackoff)
            context.Error(nameof(RetryBackoff), "registry retry backoff must be positive and not above the maximum backoff.");
        if (!string.IsNullOrEmpty(TlsCaFile))
        {
            var resolved = RelativePaths.Resolve(context.BaseDirectory, TlsCaFile)!;
            if (!File.Exists(resolved))
                context.Error(nameof(TlsCaFile), $"CA file '{TlsCaFile}'{(resolved == TlsCaFile ? "" : $" ({resolved})")} does not exist.",
                    "Give the PEM file of the CA that issued the registry's certificate; a relative path is taken from the pipeline file's folder.");
        }
    }
}

using StreamEnrich.Configuration;

namespace StreamEnrich.Formats.SchemaRegistry;

/// <summary>How to reach a Confluent-compatible Schema Registry.</summary>
internal sealed class SchemaRegistryOptions : IValidatableOptions
{
    /// <summary>Registry base URL; several may be given comma-separated (tried in turn on transient failures).</summary>
    public string Url { get; set; } = "";

    /// <summary>Basic-auth user (with <see cref="Password"/>).</summary>
    public string? User { get; set; }

    public string? Password { get; set; }

    /// <summary>Bearer token (instead of basic auth).</summary>
    public string? Token { get; set; }

    /// <summary>Timeout of one HTTP attempt. Default 10 s.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Retries after a transient failure (5xx, 429, connection error, timeout). Default 5.</summary>
    public int MaxRetries { get; set; } = 5;

    /// <summary>First retry delay; doubles per attempt (with jitter) up to <see cref="RetryMaxBackoff"/>. Default 200 ms.</summary>
    public TimeSpan RetryBackoff { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Longest delay between retries. Default 5 s.</summary>
    public TimeSpan RetryMaxBackoff { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Skip TLS certificate validation (testing only).</summary>
    public bool TlsSkipVerify { get; set; }

    /// <summary>CA certificate file (PEM) to trust for https, instead of the system store.</summary>
    public string? TlsCaFile { get; set; }

    /// <summary>The registry settings of a pipeline's <c>format</c> section.</summary>
    public static SchemaRegistryOptions From(FormatOptions format) => new()
    {
        Url = format.RegistryUrl ?? "",
        User = format.RegistryUser,
        Password = format.RegistryPassword,
        Token = format.RegistryToken,
        Timeout = format.RegistryTimeout,
        MaxRetries = format.RegistryMaxRetries,
        TlsCaFile = format.RegistryTlsCaFile,
        TlsSkipVerify = format.RegistryTlsSkipVerify,
    };

    public IReadOnlyList<Uri> Urls() =>
        [.. Url.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(u => new Uri(u.EndsWith('/') ? u : u + "/"))];

    public void Validate(OptionsValidationContext context)
    {
        var parts = Url.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0)
            context.Error(nameof(Url), "the schema registry URL is empty.", "Set `registry_url: http://<schema-registry>:8081`.");
        foreach (var p in parts)
            if (!Uri.TryCreate(p, UriKind.Absolute, out var u) || (u.Scheme != "http" && u.Scheme != "https"))
                context.Error(nameof(Url), $"registry URL must be an absolute http(s) URL, got '{p}'.", "Example: `registry_url: http://localhost:8081`.");
        if (User is not null != Password is not null)
            context.Error(nameof(User), "basic auth needs both registry_user and registry_password.");
        if (Token is not null && User is not null)
            context.Error(nameof(Token), "use either registry_token (bearer) or registry_user/registry_password (basic), not both.");
        if (Timeout <= TimeSpan.Zero) context.Error(nameof(Timeout), "the registry timeout must be positive.");
        if (MaxRetries < 0) context.Error(nameof(MaxRetries), "registry max retries must be at least 0.");
        if (RetryBackoff <= TimeSpan.Zero || RetryMaxBackoff < RetryBackoff)
            context.Error(nameof(RetryBackoff), "registry retry backoff must be positive and not above the maximum backoff.");
        if (TlsCaFile is not null && !File.Exists(TlsCaFile))
            context.Error(nameof(TlsCaFile), $"CA file '{TlsCaFile}' does not exist.");
    }
}

using StreamEnrich.Configuration;

namespace StreamEnrich.Stages.JsonSchema;

public sealed class JsonSchemaStageOptions : IValidatableOptions
{
    [Option("JSON Schema file (draft 4 to 2019-09 keywords as NJsonSchema supports them), relative to the pipeline file.",
        Example = "../schemas/event.schema.json")]
    public string? File { get; set; }

    [Option("Schema Registry subject holding the JSON Schema (schemaType JSON), instead of `file`.", Example = "web-events-value")]
    public string? RegistrySubject { get; set; }

    [Option("Version of `registry_subject`: a number or `latest`. Read once, when the pipeline starts.")]
    public string RegistryVersion { get; set; } = "latest";

    [Option("Schema Registry URL for `registry_subject` (the stage does not read the `format` section; `${SCHEMA_REGISTRY_URL}` keeps them in one place).",
        Example = "http://localhost:8081")]
    public string? RegistryUrl { get; set; }

    [Option("Schema Registry user (basic auth).")]
    public string? RegistryUser { get; set; }

    [Option("Schema Registry password (basic auth).")]
    public string? RegistryPassword { get; set; }

    [Option("Schema Registry bearer token.")]
    public string? RegistryToken { get; set; }

    [Option("Timeout of one Schema Registry request.")]
    public TimeSpan RegistryTimeout { get; set; } = TimeSpan.FromSeconds(10);

    [Option("Longest failure reason written to the dead-letter record; further errors are counted, not listed.")]
    public int MaxReasonLength { get; set; } = 1000;

    public void Validate(OptionsValidationContext context)
    {
        var hasFile = !string.IsNullOrWhiteSpace(File);
        var hasSubject = !string.IsNullOrWhiteSpace(RegistrySubject);
        if (hasFile == hasSubject)
            context.Error(hasFile ? nameof(RegistrySubject) : nameof(File),
                hasFile ? "json_schema takes either `file` or `registry_subject`, not both." : "json_schema needs `file` or `registry_subject`.",
                "Example: `file: ../schemas/event.schema.json`, or `registry_subject: events-value` with `registry_url`.");
        if (hasSubject && string.IsNullOrWhiteSpace(RegistryUrl))
            context.Error(nameof(RegistryUrl), "`registry_subject` needs `registry_url`.", "Add `registry_url: http://<schema-registry>:8081`.");
        if (!hasSubject && (RegistryUrl ?? RegistryUser ?? RegistryPassword ?? RegistryToken) is not null)
            context.Error(nameof(RegistryUrl), "registry settings are only used with `registry_subject`.", "Remove them, or set `registry_subject`.");
        if (RegistryVersion != "latest" && !(int.TryParse(RegistryVersion, out var v) && v > 0))
            context.Error(nameof(RegistryVersion), $"registry_version must be a positive number or `latest`, got '{RegistryVersion}'.");
        if (RegistryUser is not null != RegistryPassword is not null)
            context.Error(nameof(RegistryUser), "basic auth needs both registry_user and registry_password.");
        if (RegistryToken is not null && RegistryUser is not null)
            context.Error(nameof(RegistryToken), "use either registry_token or registry_user/registry_password, not both.");
        if (RegistryTimeout <= TimeSpan.Zero)
            context.Error(nameof(RegistryTimeout), "registry_timeout must be positive.");
        if (MaxReasonLength < 80)
            context.Error(nameof(MaxReasonLength), $"max_reason_length must be at least 80, got {MaxReasonLength}.");
    }
}

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

    [Option("The Schema Registry for `registry_subject`, as in `format.registry` (the stage does not read the `format` section; `${SCHEMA_REGISTRY_URL}` keeps them in one place).")]
    public Formats.SchemaRegistry.SchemaRegistryOptions? Registry { get; set; }

    [Option("Longest failure reason written to the dead-letter record; further errors are counted, not listed.")]
    public int MaxReasonLength { get; set; } = 1000;

    public void Validate(OptionsValidationContext context)
    {
        var hasFile = !string.IsNullOrWhiteSpace(File);
        var hasSubject = !string.IsNullOrWhiteSpace(RegistrySubject);
        if (hasFile == hasSubject)
            context.Error(hasFile ? nameof(RegistrySubject) : nameof(File),
                hasFile ? "json_schema takes either `file` or `registry_subject`, not both." : "json_schema needs `file` or `registry_subject`.",
                "Example: `file: ../schemas/event.schema.json`, or `registry_subject: events-value` with `registry: { url: ... }`.");
        if (hasSubject && Registry is null)
            context.Error(nameof(Registry), "`registry_subject` needs `registry`.", "Add `registry: { url: http://<schema-registry>:8081 }`.");
        if (!hasSubject && Registry is not null)
            context.Error(nameof(Registry), "`registry` is only used with `registry_subject`.", "Remove it, or set `registry_subject`.");
        if (RegistryVersion != "latest" && !(int.TryParse(RegistryVersion, out var v) && v > 0))
            context.Error(nameof(RegistryVersion), $"registry_version must be a positive number or `latest`, got '{RegistryVersion}'.");
        if (MaxReasonLength < 80)
            context.Error(nameof(MaxReasonLength), $"max_reason_length must be at least 80, got {MaxReasonLength}.");
    }
}

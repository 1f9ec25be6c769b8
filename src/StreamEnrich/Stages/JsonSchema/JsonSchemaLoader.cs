using Newtonsoft.Json;
using StreamEnrich.Formats.SchemaRegistry;
using Schema = NJsonSchema.JsonSchema;

namespace StreamEnrich.Stages.JsonSchema;

/// <summary>Loads the schema of a <c>json_schema</c> stage, turning every failure into a message naming the file or subject.</summary>
internal static class JsonSchemaLoader
{
    /// <summary>Reads a schema file; relative <c>$ref</c>s resolve against the file's folder.</summary>
    public static (Schema Schema, string Source) FromFile(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"JSON Schema file {path} does not exist.", path);
        try
        {
            return (Schema.FromFileAsync(path).GetAwaiter().GetResult(), path);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NotSupportedException or ArgumentException or IOException)
        {
            throw new InvalidDataException($"JSON Schema file {path} is not a valid schema: {e.Message}", e);
        }
    }

    /// <summary>Fetches the subject's version from the registry (once, at build) and parses it.</summary>
    public static (Schema Schema, string Source) FromRegistry(JsonSchemaStageOptions options)
    {
        var subject = options.RegistrySubject ?? throw new ArgumentException("json_schema needs `file` or `registry_subject`.", nameof(options));
        var registryOptions = options.Registry ?? throw new ArgumentException("`registry_subject` needs `registry`.", nameof(options));
        SubjectSchema found;
        using (var client = new SchemaRegistryClient(registryOptions))
        {
            try
            {
                found = client.GetSubjectVersionAsync(subject, options.RegistryVersion, CancellationToken.None).GetAwaiter().GetResult();
            }
            catch (SchemaRegistryException e)
            {
                throw new InvalidOperationException($"cannot read subject '{subject}' version {options.RegistryVersion} from {registryOptions.Url}: {e.Message}", e);
            }
        }
        var source = $"subject '{subject}' version {found.Version} (id {found.Id}) at {registryOptions.Url}";
        if (!string.Equals(found.SchemaType, "JSON", StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException($"{source} is a {found.SchemaType} schema; json_schema needs a JSON Schema (schemaType JSON).");
        if (found.References.Count > 0)
            throw new NotSupportedException($"{source} references other schemas ({string.Join(", ", found.References.Select(r => r.Name))}); json_schema does not resolve registry references. Inline them, or use `file`.");
        try
        {
            return (Schema.FromJsonAsync(found.Schema).GetAwaiter().GetResult(), source);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NotSupportedException or ArgumentException)
        {
            throw new InvalidDataException($"{source} is not a valid JSON Schema: {e.Message}", e);
        }
    }
}

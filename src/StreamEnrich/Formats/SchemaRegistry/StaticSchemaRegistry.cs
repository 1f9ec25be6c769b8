namespace StreamEnrich.Formats.SchemaRegistry;

/// <summary>
/// A fixed set of schemas by id, no I/O: hands the Avro decoder known writer schemas where there is no registry
/// (pipeline tests). An id it does not hold is "not found", as a registry would answer.
/// </summary>
internal sealed class StaticSchemaRegistry(IReadOnlyDictionary<int, string> schemas) : ISchemaRegistry
{
    public ValueTask<RegisteredSchema> GetSchemaAsync(int id, CancellationToken cancellationToken) =>
        schemas.TryGetValue(id, out var schema)
            ? ValueTask.FromResult(new RegisteredSchema(id, schema, "AVRO", []))
            : ValueTask.FromException<RegisteredSchema>(new SchemaRegistryException(SchemaRegistryErrorKind.NotFound, $"unknown schema id {id} (only {string.Join(", ", schemas.Keys)} are given)."));

    public Task<SubjectSchema> GetSubjectVersionAsync(string subject, string version, CancellationToken cancellationToken) =>
        Task.FromException<SubjectSchema>(new SchemaRegistryException(SchemaRegistryErrorKind.NotFound, $"subject '{subject}' is not available without a schema registry."));
}

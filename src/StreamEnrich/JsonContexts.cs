using System.Text.Json.Serialization;
using StreamEnrich.Formats.SchemaRegistry;

namespace StreamEnrich;

/// <summary>
/// Every type StreamEnrich reads with <see cref="System.Text.Json.JsonSerializer"/>, with its deserialisation code
/// generated at build time (plain values are written with <see cref="JsonText"/>; the bench's report with BenchJson). The container image is compiled ahead of time (native AOT), where reflection-based
/// serialisation cannot work; the project turns it off in every build (<c>JsonSerializerIsReflectionEnabledByDefault</c>),
/// so a type missing here fails in the tests, not in production.
/// </summary>
[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = true)]
[JsonSerializable(typeof(SchemaRegistryClient.SchemaDto))]
[JsonSerializable(typeof(int[]))]
internal sealed partial class StreamEnrichJson : JsonSerializerContext;

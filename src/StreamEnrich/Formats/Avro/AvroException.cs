namespace StreamEnrich.Formats.Avro;

/// <summary>
/// Avro data could not be decoded: truncated, malformed or hostile input, or a value the reader schema
/// cannot accept. The one exception type every Avro decoding path throws for bad data.
/// </summary>
public sealed class AvroException : Exception
{
    public AvroException(string message) : base(message) { }

    public AvroException(string message, Exception inner) : base(message, inner) { }

    public AvroException() { }

    /// <summary>Byte offset in the decoded buffer where the problem was found, or -1.</summary>
    public long Offset { get; init; } = -1;
}

/// <summary>
/// An Avro schema is invalid, or a writer schema cannot be resolved against a reader schema. The message
/// names the problem and the JSON path of the offending part (e.g. <c>$.fields[2].type</c>).
/// </summary>
public sealed class AvroSchemaException : Exception
{
    public AvroSchemaException(string message) : base(message) { }

    public AvroSchemaException(string message, Exception inner) : base(message, inner) { }

    public AvroSchemaException() { }

    /// <summary>The JSON path of the problem, when known.</summary>
    public string? JsonPath { get; init; }

    internal static AvroSchemaException At(string path, string problem) =>
        new($"Invalid Avro schema at {path}: {problem}") { JsonPath = path };
}

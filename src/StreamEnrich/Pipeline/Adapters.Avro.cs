using StreamEnrich.Configuration;

namespace StreamEnrich.Pipeline;

internal static partial class Adapters
{
    /// <summary>Messages of an Avro object container file for dry-run (not implemented yet).</summary>
    public static IReadOnlyList<byte[]?> ReadAvroContainerAsMessages(string path, LoadedPipeline pipeline) =>
        throw new NotSupportedException("dry-run of Avro container files is not implemented yet; use --framing base64 with Confluent wire-format messages");
}

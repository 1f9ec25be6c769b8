using System.Buffers.Binary;
using StreamEnrich.Records;

namespace StreamEnrich.Formats.Avro;

/// <summary>
/// Avro single-object encoding (specification: "Single-object encoding"): the marker <c>C3 01</c>, the
/// writer schema's CRC-64-AVRO fingerprint (8 bytes, little-endian), then the binary datum. Writer schemas are
/// registered up front; each is compiled once against the layout. Thread-safe after registration.
/// </summary>
internal sealed class AvroSingleObjectReader
{
    public const int HeaderLength = 10;
    private readonly Dictionary<ulong, AvroDecodingPlan> _plans = [];
    private readonly RecordLayout _layout;
    private readonly AvroSchema? _reader;

    public AvroSingleObjectReader(RecordLayout layout, AvroSchema? readerSchema = null)
    {
        _layout = layout;
        _reader = readerSchema;
    }

    /// <summary>Registers a writer schema; returns its fingerprint.</summary>
    public ulong Register(AvroSchema writer)
    {
        var fp = writer.Fingerprint();
        _plans[fp] = AvroDecodingPlan.Compile(writer, _reader, _layout);
        return fp;
    }

    /// <summary>The fingerprint in a single-object message header; throws <see cref="AvroException"/> when there is no valid header.</summary>
    public static ulong ReadFingerprint(ReadOnlySpan<byte> message)
    {
        if (message.Length < HeaderLength)
            throw new AvroException($"Single-object message truncated at byte {message.Length}: the header needs {HeaderLength} bytes.") { Offset = message.Length };
        if (message[0] != 0xC3 || message[1] != 0x01)
            throw new AvroException($"Invalid single-object message at byte 0: marker {message[0]:X2} {message[1]:X2}, expected C3 01.") { Offset = 0 };
        return BinaryPrimitives.ReadUInt64LittleEndian(message[2..]);
    }

    /// <summary>Decodes a whole message into <paramref name="slots"/>; trailing bytes are an error.</summary>
    public void Decode(byte[] message, Value[] slots)
    {
        var fp = ReadFingerprint(message);
        if (!_plans.TryGetValue(fp, out var plan))
            throw new AvroException($"Single-object message has schema fingerprint {fp:X16}, which no registered schema has.") { Offset = 2 };
        var end = plan.Decode(message, HeaderLength, message.Length, slots);
        if (end != message.Length)
            throw new AvroException($"Invalid single-object message at byte {end}: {message.Length - end} trailing byte(s) after the datum.") { Offset = end };
    }
}

using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace StreamEnrich.Formats.Avro;

/// <summary>
/// Writes Avro binary encoding (spec "Binary Encoding") and the Confluent wire-format header into a buffer. Used by
/// the benchmark and the demo to produce Avro messages, and by <see cref="AvroJsonEncoder"/> for pipeline tests; the
/// caller writes fields in schema order.
/// </summary>
internal sealed class AvroBinaryWriter(int initialCapacity = 512)
{
    private readonly ArrayBufferWriter<byte> _buffer = new(initialCapacity);

    public ReadOnlySpan<byte> Written => _buffer.WrittenSpan;

    public void Reset() => _buffer.ResetWrittenCount();

    public byte[] ToArray() => _buffer.WrittenSpan.ToArray();

    /// <summary>Magic byte 0 and the 4-byte big-endian schema id.</summary>
    public void WriteConfluentHeader(int schemaId)
    {
        var span = _buffer.GetSpan(5);
        span[0] = 0;
        BinaryPrimitives.WriteInt32BigEndian(span[1..], schemaId);
        _buffer.Advance(5);
    }

    public void WriteBoolean(bool value)
    {
        _buffer.GetSpan(1)[0] = value ? (byte)1 : (byte)0;
        _buffer.Advance(1);
    }

    /// <summary>int and long: zig-zag varint.</summary>
    public void WriteLong(long value)
    {
        var span = _buffer.GetSpan(10);
        var n = (ulong)((value << 1) ^ (value >> 63));
        var i = 0;
        while (n >= 0x80)
        {
            span[i++] = (byte)(n | 0x80);
            n >>= 7;
        }
        span[i++] = (byte)n;
        _buffer.Advance(i);
    }

    public void WriteDouble(double value)
    {
        BinaryPrimitives.WriteDoubleLittleEndian(_buffer.GetSpan(8), value);
        _buffer.Advance(8);
    }

    public void WriteFloat(float value)
    {
        BinaryPrimitives.WriteSingleLittleEndian(_buffer.GetSpan(4), value);
        _buffer.Advance(4);
    }

    public void WriteBytes(ReadOnlySpan<byte> value)
    {
        WriteLong(value.Length);
        value.CopyTo(_buffer.GetSpan(value.Length));
        _buffer.Advance(value.Length);
    }

    /// <summary>fixed: the bytes without a length.</summary>
    public void WriteFixed(ReadOnlySpan<byte> value)
    {
        value.CopyTo(_buffer.GetSpan(value.Length));
        _buffer.Advance(value.Length);
    }

    public void WriteString(string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        WriteLong(length);
        Encoding.UTF8.GetBytes(value, _buffer.GetSpan(length));
        _buffer.Advance(length);
    }

    /// <summary>The union branch index (then write the branch's value).</summary>
    public void WriteUnionIndex(int branch) => WriteLong(branch);

    /// <summary>Starts an array or map block of <paramref name="count"/> items; end it with <see cref="WriteBlockEnd"/>.</summary>
    public void WriteBlockStart(int count) => WriteLong(count);

    public void WriteBlockEnd() => WriteLong(0);
}

using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace StreamEnrich.Tests.Formats.Avro;

/// <summary>
/// A test-side Avro binary encoder written from the spec ("Binary Encoding"), independent of the engine's code:
/// zig-zag varints, little-endian doubles, length-prefixed bytes/strings, blocked arrays, union indexes, big-endian
/// two's-complement decimals; plus the Confluent wire-format header (magic 0, 4-byte big-endian schema id).
/// </summary>
internal sealed class AvroPipelineWireFormat
{
    private readonly MemoryStream _out = new();

    public static AvroPipelineWireFormat Confluent(int schemaId)
    {
        var w = new AvroPipelineWireFormat();
        Span<byte> header = stackalloc byte[5];
        header[0] = 0;
        BinaryPrimitives.WriteInt32BigEndian(header[1..], schemaId);
        w._out.Write(header);
        return w;
    }

    public byte[] ToArray() => _out.ToArray();

    public AvroPipelineWireFormat Long(long value)
    {
        var n = (ulong)((value << 1) ^ (value >> 63));
        do
        {
            var b = (byte)(n & 0x7F);
            n >>= 7;
            _out.WriteByte(n != 0 ? (byte)(b | 0x80) : b);
        } while (n != 0);
        return this;
    }

    public AvroPipelineWireFormat Bytes(ReadOnlySpan<byte> value)
    {
        Long(value.Length);
        _out.Write(value);
        return this;
    }

    public AvroPipelineWireFormat String(string value) => Bytes(Encoding.UTF8.GetBytes(value));

    public AvroPipelineWireFormat Double(double value)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteDoubleLittleEndian(b, value);
        _out.Write(b);
        return this;
    }

    /// <summary>A union: the branch index, then the branch's value (nothing for null).</summary>
    public AvroPipelineWireFormat Branch(int index) => Long(index);

    /// <summary>decimal on bytes: the unscaled value, big-endian two's complement, minimal length.</summary>
    public AvroPipelineWireFormat Decimal(BigInteger unscaled) => Bytes(unscaled.ToByteArray(isUnsigned: false, isBigEndian: true));

    /// <summary>An array of longs in one block (or none when empty), then the 0 terminator.</summary>
    public AvroPipelineWireFormat LongArray(IReadOnlyList<long> items)
    {
        if (items.Count > 0)
        {
            Long(items.Count);
            foreach (var i in items) Long(i);
        }
        return Long(0);
    }
}

using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace StreamEnrich.Formats.Avro;

/// <summary>
/// Cursor over Avro binary data in a byte array (specification: "Binary Encoding"). Every read checks the
/// remaining bytes first, so truncated or hostile input ends in an <see cref="AvroException"/> that names the
/// byte offset, never in an out-of-range access or an oversized allocation.
/// </summary>
internal struct AvroBinaryReader
{
    public readonly byte[] Buffer;
    public int Position;
    public readonly int End;

    public AvroBinaryReader(byte[] buffer, int offset, int end)
    {
        Buffer = buffer;
        Position = offset;
        End = end;
    }

    public readonly int Remaining => End - Position;

    /// <summary>A zig-zag varint of at most 32 bits (5 bytes, the last carrying at most 4 bits).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int ReadInt()
    {
        var p = Position;
        if (p < End)
        {
            var b = Buffer[p];
            if (b < 0x80)
            {
                Position = p + 1;
                return (int)((uint)b >> 1) ^ -(b & 1);
            }
        }
        return ReadIntSlow();
    }

    private int ReadIntSlow()
    {
        var start = Position;
        uint v = 0;
        for (var shift = 0; shift < 35; shift += 7)
        {
            if (Position >= End) throw Truncated(start, "int");
            uint b = Buffer[Position++];
            if (shift == 28 && b > 0x0F)
                throw Error(start, "int varint does not fit 32 bits");
            v |= (b & 0x7F) << shift;
            if (b < 0x80) return (int)(v >> 1) ^ -(int)(v & 1);
        }
        throw Error(start, "int varint does not fit 32 bits");
    }

    /// <summary>A zig-zag varint of at most 64 bits (10 bytes, the last carrying at most 1 bit).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long ReadLong()
    {
        var p = Position;
        if (p < End)
        {
            var b = Buffer[p];
            if (b < 0x80)
            {
                Position = p + 1;
                return (long)((uint)b >> 1) ^ -(long)(b & 1);
            }
        }
        return ReadLongSlow();
    }

    private long ReadLongSlow()
    {
        var start = Position;
        ulong v = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            if (Position >= End) throw Truncated(start, "long");
            ulong b = Buffer[Position++];
            if (shift == 63 && b > 0x01)
                throw Error(start, "long varint does not fit 64 bits");
            v |= (b & 0x7F) << shift;
            if (b < 0x80) return (long)(v >> 1) ^ -(long)(v & 1);
        }
        throw Error(start, "long varint does not fit 64 bits");
    }

    /// <summary>Skips a varint (int or long) after checking it is well formed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SkipVarint(bool is32)
    {
        if (is32) ReadInt();
        else ReadLong();
    }

    public bool ReadBoolean()
    {
        if (Position >= End) throw Truncated(Position, "boolean");
        var b = Buffer[Position];
        if (b > 1) throw Error(Position, $"boolean byte must be 0 or 1, found {b}");
        Position++;
        return b == 1;
    }

    public float ReadFloat()
    {
        if (End - Position < 4) throw Truncated(Position, "float");
        var f = BinaryPrimitives.ReadSingleLittleEndian(Buffer.AsSpan(Position, 4));
        Position += 4;
        return f;
    }

    public double ReadDouble()
    {
        if (End - Position < 8) throw Truncated(Position, "double");
        var d = BinaryPrimitives.ReadDoubleLittleEndian(Buffer.AsSpan(Position, 8));
        Position += 8;
        return d;
    }

    /// <summary>Reads a length prefix (long) and checks that many bytes remain; returns the length.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int ReadLength(string what)
    {
        var start = Position;
        var len = ReadLong();
        if ((ulong)len > (ulong)(End - Position))
            throw len < 0 ? Error(start, $"negative {what} length {len}") : Error(start, $"{what} length {len} exceeds the {End - Position} remaining bytes");
        return (int)len;
    }

    /// <summary>Advances over <paramref name="count"/> bytes after checking they exist.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Advance(int count, string what)
    {
        if (End - Position < count) throw Truncated(Position, what);
        Position += count;
    }

    /// <summary>
    /// Reads an array or map block header. Returns the item count (0 ends the collection). A negative count
    /// is followed by the block's byte size, which is checked and returned in <paramref name="byteSize"/> (else -1).
    /// </summary>
    public long ReadBlockCount(out long byteSize)
    {
        var start = Position;
        var count = ReadLong();
        byteSize = -1;
        if (count < 0)
        {
            if (count == long.MinValue) throw Error(start, "block count out of range");
            count = -count;
            var sizeAt = Position;
            byteSize = ReadLong();
            if (byteSize < 0 || byteSize > End - Position)
                throw Error(sizeAt, $"block byte size {byteSize} is negative or exceeds the {End - Position} remaining bytes");
        }
        return count;
    }

    public readonly AvroException Truncated(int at, string what) =>
        new($"Avro data truncated at byte {at}: expected {what}, {End - at} byte(s) left.") { Offset = at };

    public static AvroException Error(int at, string problem) => new($"Invalid Avro data at byte {at}: {problem}.") { Offset = at };
}

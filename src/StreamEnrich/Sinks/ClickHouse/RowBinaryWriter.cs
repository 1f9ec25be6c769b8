using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace StreamEnrich.Sinks.ClickHouse;

/// <summary>
/// A growable byte buffer with little-endian primitives for RowBinary. Reused across inserts (call <see cref="Reset"/>;
/// the sink pools whole writers); <see cref="Position"/> can be set back to roll a row back. Buffers are plain arrays,
/// not <see cref="ArrayPool{T}"/>'s: a growing batch buffer would leave every intermediate size (1, 2, 4, 8 MB...) in
/// the shared pool's per-thread and per-core caches, which measurably raised peak RSS.
/// </summary>
internal sealed class RowBinaryWriter : IDisposable
{
    private byte[] _buffer;

    public RowBinaryWriter(int initialCapacity = 64 * 1024) => _buffer = GC.AllocateUninitializedArray<byte>(initialCapacity);

    /// <summary>Bytes written so far; set it lower to discard what was written after that point.</summary>
    public int Position;

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, Position);
    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, Position);
    public int Capacity => _buffer.Length;

    public void Reset() => Position = 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<byte> GetSpan(int size)
    {
        if (_buffer.Length - Position < size) Grow(size);
        return _buffer.AsSpan(Position, size);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Grow(int size)
    {
        var needed = (long)Position + size;
        var newSize = Math.Max(needed, (long)_buffer.Length * 2);
        if (newSize > Array.MaxLength) newSize = Math.Max(needed, Array.MaxLength);
        if (newSize > Array.MaxLength) throw new InsufficientMemoryException($"RowBinary buffer would exceed {Array.MaxLength} bytes; lower batch.max_rows/max_bytes.");
        var next = GC.AllocateUninitializedArray<byte>((int)newSize);
        _buffer.AsSpan(0, Position).CopyTo(next);
        _buffer = next;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteByte(byte b)
    {
        if (Position >= _buffer.Length) Grow(1);
        _buffer[Position++] = b;
    }

    public void WriteInt16(short v) { BinaryPrimitives.WriteInt16LittleEndian(GetSpan(2), v); Position += 2; }
    public void WriteUInt16(ushort v) { BinaryPrimitives.WriteUInt16LittleEndian(GetSpan(2), v); Position += 2; }
    public void WriteInt32(int v) { BinaryPrimitives.WriteInt32LittleEndian(GetSpan(4), v); Position += 4; }
    public void WriteUInt32(uint v) { BinaryPrimitives.WriteUInt32LittleEndian(GetSpan(4), v); Position += 4; }
    public void WriteInt64(long v) { BinaryPrimitives.WriteInt64LittleEndian(GetSpan(8), v); Position += 8; }
    public void WriteUInt64(ulong v) { BinaryPrimitives.WriteUInt64LittleEndian(GetSpan(8), v); Position += 8; }
    public void WriteInt128(Int128 v) { BinaryPrimitives.WriteInt128LittleEndian(GetSpan(16), v); Position += 16; }
    public void WriteSingle(float v) { BinaryPrimitives.WriteSingleLittleEndian(GetSpan(4), v); Position += 4; }
    public void WriteDouble(double v) { BinaryPrimitives.WriteDoubleLittleEndian(GetSpan(8), v); Position += 8; }

    /// <summary>An unsigned LEB128 varint (string lengths, array sizes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteVarUInt(ulong v)
    {
        var span = GetSpan(10);
        var i = 0;
        while (v >= 0x80)
        {
            span[i++] = (byte)(v | 0x80);
            v >>= 7;
        }
        span[i++] = (byte)v;
        Position += i;
    }

    public void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(GetSpan(bytes.Length));
        Position += bytes.Length;
    }

    public void WriteZeros(int count)
    {
        GetSpan(count).Clear();
        Position += count;
    }

    public void Dispose() => _buffer = [];

    /// <summary>A write-only stream appending to this writer (the gzip target).</summary>
    public Stream AsStream() => new WriterStream(this);

    private sealed class WriterStream(RowBinaryWriter writer) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => writer.Position;
        public override long Position { get => writer.Position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => writer.WriteBytes(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer) => writer.WriteBytes(buffer);
        public override void WriteByte(byte value) => writer.WriteByte(value);
    }
}

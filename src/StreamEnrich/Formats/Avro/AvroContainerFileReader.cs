using System.IO.Compression;
using System.Text;
using StreamEnrich.Records;

namespace StreamEnrich.Formats.Avro;

/// <summary>
/// Reads Avro object container files (specification: "Object Container Files"): the header (magic
/// <c>Obj\x01</c>, metadata with <c>avro.schema</c> and <c>avro.codec</c>, 16-byte sync marker), then blocks of
/// datums, each followed by the sync marker. Codecs: <c>null</c> and <c>deflate</c> (raw RFC 1951). Blocks are
/// read one at a time; a block larger than <see cref="MaxBlockBytes"/> (compressed or not) is refused so a hostile
/// file cannot exhaust memory.
/// </summary>
internal sealed class AvroContainerFileReader : IDisposable
{
    public const long DefaultMaxBlockBytes = 256L * 1024 * 1024;
    private static readonly byte[] Magic = "Obj\u0001"u8.ToArray();

    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly byte[] _sync;
    private long _position;

    private AvroContainerFileReader(Stream stream, bool leaveOpen, AvroSchema schema, string codec, IReadOnlyDictionary<string, byte[]> metadata, byte[] sync, long position, long maxBlockBytes)
    {
        _stream = stream;
        _leaveOpen = leaveOpen;
        Schema = schema;
        Codec = codec;
        Metadata = metadata;
        _sync = sync;
        _position = position;
        MaxBlockBytes = maxBlockBytes;
    }

    /// <summary>The writer schema from <c>avro.schema</c>.</summary>
    public AvroSchema Schema { get; }

    /// <summary><c>null</c> or <c>deflate</c>.</summary>
    public string Codec { get; }

    public IReadOnlyDictionary<string, byte[]> Metadata { get; }

    public long MaxBlockBytes { get; }

    public static AvroContainerFileReader Open(string path, long maxBlockBytes = DefaultMaxBlockBytes) =>
        Open(File.OpenRead(path), leaveOpen: false, maxBlockBytes);

    /// <summary>Reads and checks the header. Throws <see cref="AvroException"/> for anything wrong in the file, its schema included.</summary>
    public static AvroContainerFileReader Open(Stream stream, bool leaveOpen = false, long maxBlockBytes = DefaultMaxBlockBytes)
    {
        var pos = 0L;
        try
        {
            var magic = ReadExact(stream, 4, ref pos, "magic");
            if (!magic.AsSpan().SequenceEqual(Magic))
                throw new AvroException($"Not an Avro object container file: the first 4 bytes are {Convert.ToHexString(magic)}, expected 4F626A01 ('Obj' 1).") { Offset = 0 };
            var meta = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            long total = 0;
            while (true)
            {
                var count = ReadLong(stream, ref pos);
                if (count == 0) break;
                if (count < 0)
                {
                    count = count == long.MinValue ? throw new AvroException($"Invalid container header at byte {pos}: bad metadata block count.") { Offset = pos } : -count;
                    ReadLong(stream, ref pos); // block byte size, unused
                }
                if (count > 10_000) throw new AvroException($"Invalid container header at byte {pos}: {count} metadata entries.") { Offset = pos };
                for (var i = 0; i < count; i++)
                {
                    var key = Encoding.UTF8.GetString(ReadSized(stream, ref pos, 1 << 20, "metadata key"));
                    var value = ReadSized(stream, ref pos, 64 << 20, "metadata value");
                    total += value.Length;
                    if (total > 64 << 20) throw new AvroException($"Invalid container header at byte {pos}: metadata larger than 64 MiB.") { Offset = pos };
                    meta[key] = value;
                }
            }
            var sync = ReadExact(stream, 16, ref pos, "sync marker");
            if (!meta.TryGetValue("avro.schema", out var schemaBytes))
                throw new AvroException("Invalid container header: no avro.schema metadata entry.") { Offset = pos };
            var codec = meta.TryGetValue("avro.codec", out var c) ? Encoding.UTF8.GetString(c) : "null";
            if (codec.Length == 0) codec = "null";
            if (codec is not ("null" or "deflate"))
                throw new AvroException($"Unsupported Avro container codec '{codec}': only null and deflate are supported.") { Offset = pos };
            AvroSchema schema;
            try
            {
                schema = AvroSchema.Parse(Encoding.UTF8.GetString(schemaBytes));
            }
            catch (AvroSchemaException e)
            {
                throw new AvroException($"Invalid container header: the avro.schema entry is not a valid schema ({e.Message})", e) { Offset = pos };
            }
            return new AvroContainerFileReader(stream, leaveOpen, schema, codec, meta, sync, pos, maxBlockBytes);
        }
        catch
        {
            if (!leaveOpen) stream.Dispose();
            throw;
        }
    }

    /// <summary>One decoded block: its datum count and the (decompressed) bytes holding them.</summary>
    public readonly record struct Block(long Count, byte[] Data, long FileOffset);

    /// <summary>The blocks that follow the header, checked against the sync marker.</summary>
    public IEnumerable<Block> Blocks()
    {
        while (true)
        {
            var start = _position;
            if (!TryReadLong(_stream, ref _position, out var count)) yield break; // clean end of file
            if (count < 0) throw new AvroException($"Invalid container block at byte {start}: negative datum count {count}.") { Offset = start };
            var size = ReadLong(_stream, ref _position);
            if (size < 0 || size > MaxBlockBytes)
                throw new AvroException($"Invalid container block at byte {start}: block size {size} is negative or above the {MaxBlockBytes}-byte limit.") { Offset = start };
            var raw = ReadExact(_stream, (int)size, ref _position, "block data");
            var sync = ReadExact(_stream, 16, ref _position, "sync marker");
            if (!sync.AsSpan().SequenceEqual(_sync))
                throw new AvroException($"Invalid container block at byte {start}: the sync marker after the block does not match the header's (corrupt or truncated file).") { Offset = _position - 16 };
            var data = Codec == "deflate" ? Inflate(raw, start) : raw;
            if (count > data.Length && count > AvroNode.MaxZeroByteItems)
                throw new AvroException($"Invalid container block at byte {start}: {count} datums cannot fit in {data.Length} bytes.") { Offset = start };
            yield return new Block(count, data, start);
        }
    }

    /// <summary>
    /// Every datum decoded into a new record through <paramref name="plan"/> (compile it with <see cref="Schema"/> as writer).
    /// A datum that fails to decode ends the iteration with an <see cref="AvroException"/>: the next datum's
    /// position is unknowable after a bad one.
    /// </summary>
    public IEnumerable<Record> ReadRecords(AvroDecodingPlan plan, RecordLayout layout)
    {
        long index = 0;
        foreach (var block in Blocks())
        {
            var pos = 0;
            for (long i = 0; i < block.Count; i++)
            {
                var record = layout.NewRecord();
                record.Payload = block.Data;
                record.Offset = index++;
                try
                {
                    pos = plan.Decode(block.Data, pos, block.Data.Length, record.Fields);
                }
                catch (AvroException e)
                {
                    throw new AvroException($"Datum {index - 1} (block at file byte {block.FileOffset}): {e.Message}", e) { Offset = e.Offset };
                }
                yield return record;
            }
            CheckBlockEnd(block, pos);
        }
    }

    /// <summary>Every datum decoded into a new record (for <c>dry-run --input file.avro</c>): compiles the plan from the file's schema.</summary>
    public IEnumerable<Record> ReadRecords(RecordLayout layout, AvroSchema? readerSchema = null) =>
        ReadRecords(AvroDecodingPlan.Compile(Schema, readerSchema, layout), layout);

    /// <summary>Every datum as a whole <see cref="Value"/> (records as Maps).</summary>
    public IEnumerable<Value> ReadValues(AvroSchema? readerSchema = null)
    {
        var reader = AvroValueReader.Compile(Schema, readerSchema);
        foreach (var block in Blocks())
        {
            var pos = 0;
            for (long i = 0; i < block.Count; i++) yield return reader.Read(block.Data, ref pos, block.Data.Length);
            CheckBlockEnd(block, pos);
        }
    }

    private static void CheckBlockEnd(Block block, int pos)
    {
        if (pos != block.Data.Length)
            throw new AvroException($"Invalid container block at byte {block.FileOffset}: {block.Data.Length - pos} byte(s) left after its {block.Count} datums.") { Offset = block.FileOffset };
    }

    private byte[] Inflate(byte[] raw, long at)
    {
        try
        {
            using var input = new DeflateStream(new MemoryStream(raw), CompressionMode.Decompress);
            using var output = new MemoryStream();
            var buf = new byte[81920];
            int n;
            while ((n = input.Read(buf, 0, buf.Length)) > 0)
            {
                if (output.Length + n > MaxBlockBytes)
                    throw new AvroException($"Invalid container block at byte {at}: inflates beyond the {MaxBlockBytes}-byte limit.") { Offset = at };
                output.Write(buf, 0, n);
            }
            return output.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new AvroException($"Invalid container block at byte {at}: deflate data is corrupt ({e.Message}).", e) { Offset = at };
        }
    }

    private static byte[] ReadSized(Stream s, ref long pos, int max, string what)
    {
        var at = pos;
        var len = ReadLong(s, ref pos);
        if (len < 0 || len > max) throw new AvroException($"Invalid container header at byte {at}: {what} length {len}.") { Offset = at };
        return ReadExact(s, (int)len, ref pos, what);
    }

    private static byte[] ReadExact(Stream s, int count, ref long pos, string what)
    {
        // Allocates in steps of at most 1 MiB as data actually arrives: a lying length on a short file
        // fails before allocating much more than the file holds.
        var buf = new byte[Math.Min(count, 1 << 20)];
        var read = 0;
        while (read < count)
        {
            if (read == buf.Length) Array.Resize(ref buf, (int)Math.Min(count, (long)buf.Length * 2));
            var n = s.Read(buf, read, buf.Length - read);
            if (n == 0) throw new AvroException($"Avro container file truncated at byte {pos + read}: expected {what} ({count - read} more byte(s)).") { Offset = pos + read };
            read += n;
        }
        pos += count;
        return buf;
    }

    private static long ReadLong(Stream s, ref long pos) =>
        TryReadLong(s, ref pos, out var v) ? v : throw new AvroException($"Avro container file truncated at byte {pos}: expected a varint.") { Offset = pos };

    private static bool TryReadLong(Stream s, ref long pos, out long value)
    {
        ulong v = 0;
        value = 0;
        var start = pos;
        for (var shift = 0; shift < 70; shift += 7)
        {
            var b = s.ReadByte();
            if (b < 0)
            {
                if (pos == start) return false;
                throw new AvroException($"Avro container file truncated at byte {pos}: incomplete varint.") { Offset = pos };
            }
            pos++;
            if (shift == 63 && b > 1) throw new AvroException($"Invalid varint at byte {start}: does not fit 64 bits.") { Offset = start };
            v |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                value = (long)(v >> 1) ^ -(long)(v & 1);
                return true;
            }
        }
        throw new AvroException($"Invalid varint at byte {start}: does not fit 64 bits.") { Offset = start };
    }

    public void Dispose()
    {
        if (!_leaveOpen) _stream.Dispose();
    }
}

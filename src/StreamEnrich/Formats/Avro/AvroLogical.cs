using System.Buffers.Binary;
using System.Buffers.Text;
using System.Runtime.CompilerServices;
using StreamEnrich.Records;

namespace StreamEnrich.Formats.Avro;

/// <summary>
/// Logical type conversions to <see cref="Value"/>s:
/// <list type="bullet">
/// <item>decimal (bytes or fixed): two's-complement big-endian unscaled integer → <see cref="ValueKind.Decimal"/> (up to 128 bits).</item>
/// <item>uuid (string, or fixed 16) → <see cref="ValueKind.Uuid"/>.</item>
/// <item>date → <see cref="ValueKind.Date"/> (days since 1970-01-01).</item>
/// <item>time-millis / time-micros → <see cref="ValueKind.Int"/> holding milliseconds / microseconds after midnight, unchanged.</item>
/// <item>timestamp-* and local-timestamp-* → <see cref="ValueKind.Timestamp"/> (nanoseconds since the epoch; a value
/// outside ±292 years of 1970 at nanosecond precision is an error, not a wrapped number). Local timestamps
/// carry their wall-clock reading as if it were UTC.</item>
/// <item>duration (fixed 12: three little-endian unsigned 32-bit integers) → <see cref="ValueKind.Map"/>
/// <c>{months, days, millis}</c> of Ints.</item>
/// </list>
/// </summary>
internal static class AvroLogical
{
    public const string DurationMonths = "months", DurationDays = "days", DurationMillis = "millis";

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Value FromLong(AvroLogicalType lt, long raw) => lt switch
    {
        AvroLogicalType.None or AvroLogicalType.TimeMillis or AvroLogicalType.TimeMicros => Value.FromInt(raw),
        AvroLogicalType.Date => Value.FromDate(checked((int)raw)),
        AvroLogicalType.TimestampMillis or AvroLogicalType.LocalTimestampMillis => Value.FromTimestampNanos(Scale(raw, 1_000_000)),
        AvroLogicalType.TimestampMicros or AvroLogicalType.LocalTimestampMicros => Value.FromTimestampNanos(Scale(raw, 1_000)),
        AvroLogicalType.TimestampNanos or AvroLogicalType.LocalTimestampNanos => Value.FromTimestampNanos(raw),
        _ => Value.FromInt(raw),
    };

    private static long Scale(long raw, long factor)
    {
        var r = raw * factor;
        if (raw != 0 && (r / factor != raw))
            throw new AvroException($"timestamp {raw} is out of range (nanoseconds since the epoch must fit 64 bits, i.e. years 1677-2262).");
        return r;
    }

    /// <summary>Bytes or fixed content (with decimal / uuid / duration logical types applied).</summary>
    public static Value FromBytes(AvroSchema s, byte[] buffer, int offset, int length)
    {
        switch (s.LogicalType)
        {
            case AvroLogicalType.Decimal:
                return Value.FromDecimal(new DecimalValue(Unscaled(buffer.AsSpan(offset, length)), s.Scale));
            case AvroLogicalType.Uuid when length == 16:
                return Value.FromUuid(BinaryPrimitives.ReadUInt64BigEndian(buffer.AsSpan(offset)), BinaryPrimitives.ReadUInt64BigEndian(buffer.AsSpan(offset + 8)));
            case AvroLogicalType.Duration when length == 12:
                var span = buffer.AsSpan(offset, 12);
                return Value.FromMap([
                    new(DurationMonths, Value.FromInt(BinaryPrimitives.ReadUInt32LittleEndian(span))),
                    new(DurationDays, Value.FromInt(BinaryPrimitives.ReadUInt32LittleEndian(span[4..]))),
                    new(DurationMillis, Value.FromInt(BinaryPrimitives.ReadUInt32LittleEndian(span[8..]))),
                ]);
            default:
                return Value.FromBytes(buffer, offset, length);
        }
    }

    /// <summary>Two's-complement big-endian integer of any length, as long as its value fits 128 bits.</summary>
    public static Int128 Unscaled(ReadOnlySpan<byte> b)
    {
        if (b.IsEmpty) return Int128.Zero;
        var negative = (b[0] & 0x80) != 0;
        // Strip redundant sign-extension bytes beyond 16.
        while (b.Length > 16)
        {
            if (b[0] != (negative ? 0xFF : 0x00)) throw new AvroException($"decimal of {b.Length} bytes does not fit 128 bits.");
            b = b[1..];
        }
        if (b.Length == 16 && ((b[0] & 0x80) != 0) != negative) throw new AvroException("decimal does not fit 128 bits.");
        Int128 v = negative ? Int128.NegativeOne : Int128.Zero;
        foreach (var x in b) v = (v << 8) | x;
        return v;
    }

    /// <summary>A uuid string (canonical 8-4-4-4-12 form) to a value.</summary>
    public static Value UuidFromUtf8(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length != 36 || !Utf8Parser.TryParse(utf8, out Guid g, out var consumed, 'D') || consumed != 36)
            throw new AvroException($"uuid string of {utf8.Length} bytes is not in the 8-4-4-4-12 hexadecimal form.");
        return Value.FromGuid(g);
    }
}

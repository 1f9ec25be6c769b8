using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Numerics;
using System.Text;
using System.Text.Json;
using StreamEnrich.Records;

namespace StreamEnrich.Sinks.ClickHouse;

/// <summary>
/// Decodes RowBinary back into <see cref="Value"/>s (tests, dry-run preview). Integers become Int/UInt (128/256-bit ones a
/// Decimal with scale 0 when they fit, else their decimal text), Date/Date32 a Date, DateTime/DateTime64 a Timestamp,
/// Enums their name, IPv4/IPv6 their text, FixedString its bytes as text (trailing zeros kept), named tuples a Map.
/// </summary>
internal ref struct RowBinaryReader(ReadOnlySpan<byte> data)
{
    private readonly ReadOnlySpan<byte> _data = data;
    public int Position;

    public readonly bool AtEnd => Position >= _data.Length;

    private ReadOnlySpan<byte> Take(int n)
    {
        if (Position + n > _data.Length) throw new FormatException($"RowBinary ends at byte {_data.Length}, {n} more bytes needed at {Position}.");
        var s = _data.Slice(Position, n);
        Position += n;
        return s;
    }

    public ulong ReadVarUInt()
    {
        ulong v = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = Take(1)[0];
            v |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return v;
        }
        throw new FormatException("Malformed varint.");
    }

    public Value Read(ClickHouseType t)
    {
        switch (t.Kind)
        {
            case ClickHouseTypeKind.Int8: return Value.FromInt((sbyte)Take(1)[0]);
            case ClickHouseTypeKind.Int16: return Value.FromInt(BinaryPrimitives.ReadInt16LittleEndian(Take(2)));
            case ClickHouseTypeKind.Int32: return Value.FromInt(BinaryPrimitives.ReadInt32LittleEndian(Take(4)));
            case ClickHouseTypeKind.Int64: return Value.FromInt(BinaryPrimitives.ReadInt64LittleEndian(Take(8)));
            case ClickHouseTypeKind.UInt8: return Value.FromInt(Take(1)[0]);
            case ClickHouseTypeKind.UInt16: return Value.FromInt(BinaryPrimitives.ReadUInt16LittleEndian(Take(2)));
            case ClickHouseTypeKind.UInt32: return Value.FromInt(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)));
            case ClickHouseTypeKind.UInt64: return Value.FromUInt(BinaryPrimitives.ReadUInt64LittleEndian(Take(8)));
            case ClickHouseTypeKind.Int128 or ClickHouseTypeKind.Int256 or ClickHouseTypeKind.UInt128 or ClickHouseTypeKind.UInt256:
            {
                var size = t.Kind is ClickHouseTypeKind.Int128 or ClickHouseTypeKind.UInt128 ? 16 : 32;
                var unsigned = t.Kind is ClickHouseTypeKind.UInt128 or ClickHouseTypeKind.UInt256;
                var bi = new BigInteger(Take(size), isUnsigned: unsigned, isBigEndian: false);
                return bi >= (BigInteger)Int128.MinValue && bi <= (BigInteger)Int128.MaxValue
                    ? Value.FromDecimal(new DecimalValue((Int128)bi, 0))
                    : Value.FromString(bi.ToString(CultureInfo.InvariantCulture));
            }
            case ClickHouseTypeKind.Float32: return Value.FromFloat(BinaryPrimitives.ReadSingleLittleEndian(Take(4)));
            case ClickHouseTypeKind.Float64: return Value.FromFloat(BinaryPrimitives.ReadDoubleLittleEndian(Take(8)));
            case ClickHouseTypeKind.Decimal:
            {
                Int128 u = t.Size switch
                {
                    4 => BinaryPrimitives.ReadInt32LittleEndian(Take(4)),
                    8 => BinaryPrimitives.ReadInt64LittleEndian(Take(8)),
                    16 => BinaryPrimitives.ReadInt128LittleEndian(Take(16)),
                    _ => ReadInt256AsInt128(),
                };
                return Value.FromDecimal(new DecimalValue(u, t.Scale));
            }
            case ClickHouseTypeKind.String:
            {
                var n = checked((int)ReadVarUInt());
                return Value.FromString(Encoding.UTF8.GetString(Take(n)));
            }
            case ClickHouseTypeKind.FixedString: return Value.FromString(Encoding.UTF8.GetString(Take(t.Size)));
            case ClickHouseTypeKind.Date: return Value.FromDate(BinaryPrimitives.ReadUInt16LittleEndian(Take(2)));
            case ClickHouseTypeKind.Date32: return Value.FromDate(BinaryPrimitives.ReadInt32LittleEndian(Take(4)));
            case ClickHouseTypeKind.DateTime: return Value.FromTimestampNanos(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)) * 1_000_000_000L);
            case ClickHouseTypeKind.DateTime64:
                return Value.FromTimestampNanos(BinaryPrimitives.ReadInt64LittleEndian(Take(8)) * (long)ValueEncoder.Pow10[9 - t.Precision]);
            case ClickHouseTypeKind.Uuid:
            {
                var hi = BinaryPrimitives.ReadUInt64LittleEndian(Take(8));
                var lo = BinaryPrimitives.ReadUInt64LittleEndian(Take(8));
                return Value.FromUuid(hi, lo);
            }
            case ClickHouseTypeKind.Enum8 or ClickHouseTypeKind.Enum16:
            {
                int v = t.Kind == ClickHouseTypeKind.Enum8 ? (sbyte)Take(1)[0] : BinaryPrimitives.ReadInt16LittleEndian(Take(2));
                foreach (var kv in t.EnumValues) if (kv.Value == v) return Value.FromString(kv.Key);
                throw new FormatException($"Value {v} is not in {t.Text}.");
            }
            case ClickHouseTypeKind.Bool: return Value.FromBool(Take(1)[0] != 0);
            case ClickHouseTypeKind.IPv4:
            {
                var a = BinaryPrimitives.ReadUInt32LittleEndian(Take(4));
                return Value.FromString(string.Create(CultureInfo.InvariantCulture, $"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}"));
            }
            case ClickHouseTypeKind.IPv6: return Value.FromString(new IPAddress(Take(16)).ToString());
            case ClickHouseTypeKind.Nothing: return Value.Null;
            case ClickHouseTypeKind.Nullable: return Take(1)[0] != 0 ? Value.Null : Read(t.Inner);
            case ClickHouseTypeKind.LowCardinality: return Read(t.Inner);
            case ClickHouseTypeKind.Array:
            {
                var n = checked((int)ReadVarUInt());
                var items = new Value[n];
                for (var i = 0; i < n; i++) items[i] = Read(t.Inner);
                return Value.FromArray(items);
            }
            case ClickHouseTypeKind.Map:
            {
                var n = checked((int)ReadVarUInt());
                var entries = new KeyValuePair<string, Value>[n];
                for (var i = 0; i < n; i++)
                {
                    var k = Read(t.Arguments[0]);
                    entries[i] = new(k.Kind == ValueKind.String ? k.AsString : k.ToString(), Read(t.Arguments[1]));
                }
                return Value.FromMap(entries);
            }
            case ClickHouseTypeKind.Tuple:
            {
                if (t.IsNamedTuple)
                {
                    var entries = new KeyValuePair<string, Value>[t.Arguments.Count];
                    for (var i = 0; i < entries.Length; i++) entries[i] = new(t.ElementNames[i]!, Read(t.Arguments[i]));
                    return Value.FromMap(entries);
                }
                var items = new Value[t.Arguments.Count];
                for (var i = 0; i < items.Length; i++) items[i] = Read(t.Arguments[i]);
                return Value.FromArray(items);
            }
            default:
                throw new NotSupportedException($"Cannot read {t.Text}.");
        }
    }

    private Int128 ReadInt256AsInt128()
    {
        var bytes = Take(32);
        var bi = new BigInteger(bytes, isUnsigned: false, isBigEndian: false);
        if (bi > (BigInteger)Int128.MaxValue || bi < (BigInteger)Int128.MinValue)
            throw new FormatException("Decimal256 value exceeds 38 digits; it cannot be shown as a DecimalValue.");
        return (Int128)bi;
    }

    /// <summary>Writes a value as JSON: numbers as numbers (decimals exact), timestamps and dates as ISO text, maps as objects.</summary>
    public static void WriteJson(Utf8JsonWriter json, in Value v)
    {
        switch (v.Kind)
        {
            case ValueKind.Missing or ValueKind.Null: json.WriteNullValue(); break;
            case ValueKind.Bool: json.WriteBooleanValue(v.AsBool); break;
            case ValueKind.Int: json.WriteNumberValue(v.AsInt); break;
            case ValueKind.UInt: json.WriteNumberValue(v.AsUInt); break;
            case ValueKind.Float:
                if (double.IsFinite(v.AsFloat)) json.WriteNumberValue(v.AsFloat);
                else json.WriteStringValue(v.AsFloat.ToString(CultureInfo.InvariantCulture));
                break;
            case ValueKind.Decimal: json.WriteRawValue(v.AsDecimal.ToString(), skipInputValidation: true); break;
            case ValueKind.Array:
                json.WriteStartArray();
                foreach (var item in v.AsArray) WriteJson(json, item);
                json.WriteEndArray();
                break;
            case ValueKind.Map:
                json.WriteStartObject();
                foreach (var kv in v.AsMap)
                {
                    json.WritePropertyName(kv.Key);
                    WriteJson(json, kv.Value);
                }
                json.WriteEndObject();
                break;
            default: json.WriteStringValue(v.ToString()); break;
        }
    }
}

using System.Text.Json;
using StreamEnrich.Records;

namespace StreamEnrich.Formats.Avro;

/// <summary>
/// Field defaults: checks a JSON default against its field type and converts it to a <see cref="Value"/>
/// shaped exactly like the decoder's output for that type (logical types included).
/// JSON encodings per the specification: bytes and fixed are strings whose code points 0-255 are the bytes;
/// a union's default belongs to one of its branches (the first matching branch is used, the specification's
/// "first branch" rule being the common case).
/// </summary>
internal static class AvroDefaults
{
    private const int MaxDepth = 256;

    public static bool IsValid(AvroSchema schema, JsonElement json) => TryConvert(schema, json, 0, out _);

    /// <summary>The default as a value; throws <see cref="AvroSchemaException"/> when it does not match the type.</summary>
    public static Value ToValue(AvroSchema schema, JsonElement json) =>
        TryConvert(schema, json, 0, out var v) ? v
            : throw new AvroSchemaException($"Default {json.GetRawText()} is not a valid {AvroSchemaParser.Describe(schema)} value.");

    private static bool TryConvert(AvroSchema s, JsonElement j, int depth, out Value value)
    {
        value = default;
        if (depth > MaxDepth) return false;
        switch (s.Type)
        {
            case AvroType.Null:
                if (j.ValueKind != JsonValueKind.Null) return false;
                value = Value.Null;
                return true;
            case AvroType.Boolean:
                if (j.ValueKind is not (JsonValueKind.True or JsonValueKind.False)) return false;
                value = Value.FromBool(j.GetBoolean());
                return true;
            case AvroType.Int:
                if (j.ValueKind != JsonValueKind.Number || !j.TryGetInt32(out var i)) return false;
                return TryLogical(s, i, out value);
            case AvroType.Long:
                if (j.ValueKind != JsonValueKind.Number || !j.TryGetInt64(out var l)) return false;
                return TryLogical(s, l, out value);
            case AvroType.Float:
            case AvroType.Double:
                if (j.ValueKind == JsonValueKind.Number && j.TryGetDouble(out var d))
                {
                    value = Value.FromFloat(s.Type == AvroType.Float ? (float)d : d);
                    return true;
                }
                if (j.ValueKind == JsonValueKind.String)
                {
                    // Java and Python write non-finite defaults as these strings.
                    var f = j.GetString() switch { "NaN" => double.NaN, "Infinity" => double.PositiveInfinity, "-Infinity" => double.NegativeInfinity, _ => (double?)null };
                    if (f is null) return false;
                    value = Value.FromFloat(f.Value);
                    return true;
                }
                return false;
            case AvroType.String:
                if (j.ValueKind != JsonValueKind.String) return false;
                var str = j.GetString()!;
                if (s.LogicalType == AvroLogicalType.Uuid)
                {
                    if (!Guid.TryParseExact(str, "D", out var g)) return false;
                    value = Value.FromGuid(g);
                    return true;
                }
                value = Value.FromString(str);
                return true;
            case AvroType.Bytes:
            case AvroType.Fixed:
            {
                if (j.ValueKind != JsonValueKind.String) return false;
                var text = j.GetString()!;
                var bytes = new byte[text.Length];
                for (var k = 0; k < text.Length; k++)
                {
                    if (text[k] > 0xFF) return false;
                    bytes[k] = (byte)text[k];
                }
                if (s is FixedSchema fx && bytes.Length != fx.Size) return false;
                try
                {
                    value = AvroLogical.FromBytes(s, bytes, 0, bytes.Length);
                }
                catch (AvroException)
                {
                    return false;
                }
                return true;
            }
            case AvroType.Enum:
                if (j.ValueKind != JsonValueKind.String || ((EnumSchema)s).IndexOf(j.GetString()!) < 0) return false;
                value = Value.FromString(j.GetString()!);
                return true;
            case AvroType.Array:
            {
                if (j.ValueKind != JsonValueKind.Array) return false;
                var items = new Value[j.GetArrayLength()];
                var k = 0;
                foreach (var item in j.EnumerateArray())
                    if (!TryConvert(((ArraySchema)s).Items, item, depth + 1, out items[k++])) return false;
                value = Value.FromArray(items);
                return true;
            }
            case AvroType.Map:
            {
                if (j.ValueKind != JsonValueKind.Object) return false;
                var entries = new List<KeyValuePair<string, Value>>();
                foreach (var p in j.EnumerateObject())
                {
                    if (!TryConvert(((MapSchema)s).Values, p.Value, depth + 1, out var v)) return false;
                    entries.Add(new(p.Name, v));
                }
                value = Value.FromMap([.. entries]);
                return true;
            }
            case AvroType.Record:
            {
                if (j.ValueKind != JsonValueKind.Object) return false;
                var r = (RecordSchema)s;
                var entries = new KeyValuePair<string, Value>[r.Fields.Count];
                for (var k = 0; k < r.Fields.Count; k++)
                {
                    var f = r.Fields[k];
                    Value v;
                    if (j.TryGetProperty(f.Name, out var fj))
                    {
                        if (!TryConvert(f.Schema, fj, depth + 1, out v)) return false;
                    }
                    else if (f.Default is { } fd)
                    {
                        if (!TryConvert(f.Schema, fd, depth + 1, out v)) return false;
                    }
                    else return false;
                    entries[k] = new(f.Name, v);
                }
                value = Value.FromMap(entries);
                return true;
            }
            case AvroType.Union:
                foreach (var b in ((UnionSchema)s).Branches)
                    if (TryConvert(b, j, depth + 1, out value)) return true;
                return false;
            default:
                return false;
        }
    }

    private static bool TryLogical(AvroSchema s, long raw, out Value value)
    {
        try
        {
            value = AvroLogical.FromLong(s.LogicalType, raw);
            return true;
        }
        catch (AvroException)
        {
            value = default;
            return false;
        }
    }
}

using System.Globalization;
using System.Text;

namespace StreamEnrich.Formats.Avro;

/// <summary>
/// Maps an Avro record schema to ClickHouse columns for DDL generation (<c>streamenrich schema</c>).
/// <list type="bullet">
/// <item>Nested records are flattened into <c>a.b</c> columns (the same paths the decoder fills); a nullable
/// record (<c>["null", record]</c>) makes its columns Nullable.</item>
/// <item><c>["null", T]</c> → <c>Nullable(T)</c>, except where ClickHouse forbids Nullable (Array, Map, Tuple):
/// there null becomes the type's default (empty).</item>
/// <item>boolean → Bool, int → Int32, long → Int64, float → Float32, double → Float64, string/bytes → String,
/// fixed(n) → FixedString(n), enum → Enum8 (Enum16 above 128 symbols), array → Array(T), map → Map(String, T),
/// a record inside an array or map → Tuple(name T, ...).</item>
/// <item>Logical types: decimal → Decimal(P, S), uuid → UUID, date → Date32, time-millis → Int32 (ms after midnight),
/// time-micros → Int64 (µs after midnight), timestamp-millis/micros/nanos → DateTime64(3/6/9, 'UTC'),
/// local-timestamp-* → DateTime64(3/6/9) (server time zone), duration → Tuple(months UInt32, days UInt32, millis UInt32).</item>
/// <item>Unions of several non-null types → String; a record that contains itself → String (it cannot be flattened).</item>
/// </list>
/// Column names are returned unquoted; the DDL writer must backquote them (they contain dots).
/// </summary>
internal static class AvroClickHouseTypes
{
    public static IReadOnlyList<(string Name, string Type)> Columns(AvroSchema schema)
    {
        var top = schema is UnionSchema u ? u.Branches.OfType<RecordSchema>().FirstOrDefault() : schema as RecordSchema;
        if (top is null)
            throw new AvroSchemaException($"Only a record schema maps to table columns; this schema is {AvroSchemaParser.Describe(schema)}.");
        var columns = new List<(string, string)>();
        Flatten(top, "", nullable: false, columns, [top.FullName]);
        return columns;
    }

    private static void Flatten(RecordSchema record, string prefix, bool nullable, List<(string, string)> columns, HashSet<string> stack)
    {
        foreach (var f in record.Fields)
        {
            var name = prefix.Length == 0 ? f.Name : prefix + "." + f.Name;
            var (inner, isNullable) = Unwrap(f.Schema);
            if (inner is RecordSchema nested && !stack.Contains(nested.FullName))
            {
                stack.Add(nested.FullName);
                Flatten(nested, name, nullable || isNullable, columns, stack);
                stack.Remove(nested.FullName);
                continue;
            }
            var type = TypeOf(inner, stack);
            columns.Add((name, (nullable || isNullable) && CanBeNullable(type) ? $"Nullable({type})" : type));
        }
    }

    /// <summary><c>["null", T]</c> → (T, true); <c>[T]</c> → (T, false); anything else unchanged.</summary>
    private static (AvroSchema Schema, bool Nullable) Unwrap(AvroSchema s)
    {
        if (s is not UnionSchema u) return (s, false);
        if (u.NullableOf is { } t) return (t, true);
        if (u.Branches.Count == 1) return (u.Branches[0], false);
        return (s, u.NullIndex >= 0);
    }

    public static string TypeOf(AvroSchema s) => TypeOf(s, []);

    private static string TypeOf(AvroSchema s, HashSet<string> stack)
    {
        switch (s.LogicalType)
        {
            case AvroLogicalType.Decimal:
                return s.Precision <= 76 ? string.Create(CultureInfo.InvariantCulture, $"Decimal({s.Precision}, {s.Scale})") : "String";
            case AvroLogicalType.Uuid: return "UUID";
            case AvroLogicalType.Date: return "Date32";
            case AvroLogicalType.TimeMillis: return "Int32";
            case AvroLogicalType.TimeMicros: return "Int64";
            case AvroLogicalType.TimestampMillis: return "DateTime64(3, 'UTC')";
            case AvroLogicalType.TimestampMicros: return "DateTime64(6, 'UTC')";
            case AvroLogicalType.TimestampNanos: return "DateTime64(9, 'UTC')";
            case AvroLogicalType.LocalTimestampMillis: return "DateTime64(3)";
            case AvroLogicalType.LocalTimestampMicros: return "DateTime64(6)";
            case AvroLogicalType.LocalTimestampNanos: return "DateTime64(9)";
            case AvroLogicalType.Duration: return "Tuple(months UInt32, days UInt32, millis UInt32)";
        }
        switch (s)
        {
            case PrimitiveSchema p:
                return p.Type switch
                {
                    AvroType.Null => "Nullable(Nothing)",
                    AvroType.Boolean => "Bool",
                    AvroType.Int => "Int32",
                    AvroType.Long => "Int64",
                    AvroType.Float => "Float32",
                    AvroType.Double => "Float64",
                    _ => "String",
                };
            case FixedSchema f:
                return string.Create(CultureInfo.InvariantCulture, $"FixedString({Math.Max(1, f.Size)})");
            case EnumSchema e:
            {
                var sb = new StringBuilder(e.Symbols.Count <= 128 ? "Enum8(" : "Enum16(");
                for (var i = 0; i < e.Symbols.Count; i++)
                {
                    if (i > 0) sb.Append(", ");
                    sb.Append('\'').Append(e.Symbols[i]).Append("' = ").Append(i.ToString(CultureInfo.InvariantCulture));
                }
                return sb.Append(')').ToString();
            }
            case ArraySchema a:
                return $"Array({Element(a.Items, stack)})";
            case MapSchema m:
                return $"Map(String, {Element(m.Values, stack)})";
            case UnionSchema u:
            {
                var (inner, nullable) = Unwrap(u);
                if (inner is UnionSchema) return nullable ? "Nullable(String)" : "String";
                var t = TypeOf(inner, stack);
                return nullable && CanBeNullable(t) ? $"Nullable({t})" : t;
            }
            case RecordSchema r:
            {
                if (!stack.Add(r.FullName)) return "String";
                var parts = r.Fields.Select(f => $"{f.Name} {Element(f.Schema, stack)}").ToList();
                stack.Remove(r.FullName);
                return parts.Count == 0 ? "String" : $"Tuple({string.Join(", ", parts)})";
            }
            default:
                return "String";
        }
    }

    private static string Element(AvroSchema s, HashSet<string> stack) => TypeOf(s, stack);

    /// <summary>ClickHouse forbids Nullable around composite types.</summary>
    private static bool CanBeNullable(string type) =>
        !(type.StartsWith("Array(", StringComparison.Ordinal) || type.StartsWith("Map(", StringComparison.Ordinal) ||
          type.StartsWith("Tuple(", StringComparison.Ordinal) || type.StartsWith("Nullable(", StringComparison.Ordinal));
}

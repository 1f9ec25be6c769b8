using System.Text;
using System.Text.Json;

namespace StreamEnrich.Formats.Avro;

/// <summary>
/// Parsing Canonical Form (specification: "Parsing Canonical Form for Schemas") and the CRC-64-AVRO
/// fingerprint over it. Rules applied: primitives as bare names, full names everywhere, only the attributes
/// type/name/fields/symbols/items/values/size kept in that order, named types written out once then referred
/// to by full name, no whitespace.
/// </summary>
internal static class AvroCanonicalForm
{
    /// <summary>The CRC-64-AVRO empty value (and polynomial) from the specification.</summary>
    public const ulong Empty = 0xc15d213aa4d7a795UL;

    private static readonly ulong[] Table = BuildTable();

    private static ulong[] BuildTable()
    {
        var t = new ulong[256];
        for (var i = 0; i < 256; i++)
        {
            var fp = (ulong)i;
            for (var j = 0; j < 8; j++) fp = (fp >> 1) ^ (Empty & (0UL - (fp & 1)));
            t[i] = fp;
        }
        return t;
    }

    public static ulong Crc64(ReadOnlySpan<byte> data)
    {
        var fp = Empty;
        foreach (var b in data) fp = (fp >> 8) ^ Table[(int)(fp ^ b) & 0xff];
        return fp;
    }

    public static ulong Fingerprint64(AvroSchema schema) => Crc64(Encoding.UTF8.GetBytes(Of(schema)));

    public static string Of(AvroSchema schema)
    {
        var sb = new StringBuilder();
        Write(schema, sb, new HashSet<string>(StringComparer.Ordinal));
        return sb.ToString();
    }

    private static void Write(AvroSchema s, StringBuilder sb, HashSet<string> written)
    {
        switch (s)
        {
            case PrimitiveSchema p:
                sb.Append('"').Append(p.Name).Append('"');
                return;
            case NamedSchema n when !written.Add(n.FullName):
                Str(sb, n.FullName);
                return;
            case RecordSchema r:
                sb.Append("{\"name\":");
                Str(sb, r.FullName);
                sb.Append(",\"type\":\"record\",\"fields\":[");
                for (var i = 0; i < r.Fields.Count; i++)
                {
                    if (i > 0) sb.Append(',');
                    sb.Append("{\"name\":");
                    Str(sb, r.Fields[i].Name);
                    sb.Append(",\"type\":");
                    Write(r.Fields[i].Schema, sb, written);
                    sb.Append('}');
                }
                sb.Append("]}");
                return;
            case EnumSchema e:
                sb.Append("{\"name\":");
                Str(sb, e.FullName);
                sb.Append(",\"type\":\"enum\",\"symbols\":[");
                for (var i = 0; i < e.Symbols.Count; i++)
                {
                    if (i > 0) sb.Append(',');
                    Str(sb, e.Symbols[i]);
                }
                sb.Append("]}");
                return;
            case FixedSchema f:
                sb.Append("{\"name\":");
                Str(sb, f.FullName);
                sb.Append(",\"type\":\"fixed\",\"size\":").Append(f.Size).Append('}');
                return;
            case ArraySchema a:
                sb.Append("{\"type\":\"array\",\"items\":");
                Write(a.Items, sb, written);
                sb.Append('}');
                return;
            case MapSchema m:
                sb.Append("{\"type\":\"map\",\"values\":");
                Write(m.Values, sb, written);
                sb.Append('}');
                return;
            case UnionSchema u:
                sb.Append('[');
                for (var i = 0; i < u.Branches.Count; i++)
                {
                    if (i > 0) sb.Append(',');
                    Write(u.Branches[i], sb, written);
                }
                sb.Append(']');
                return;
        }
    }

    // Names and symbols are restricted to [A-Za-z0-9_.], so no escaping is ever needed; the encoder is used anyway for safety.
    private static void Str(StringBuilder sb, string s) => sb.Append(JsonText.ToString(s));
}

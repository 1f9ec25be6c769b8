using System.Text.Json;

namespace StreamEnrich.Formats.Avro;

/// <summary>
/// Parses Avro schema JSON (Avro 1.11 specification) into <see cref="AvroSchema"/> nodes: named types with
/// namespace / full-name resolution, aliases, field defaults (validated against the field type), logical types.
/// Errors are <see cref="AvroSchemaException"/>s naming the problem and its JSON path.
/// </summary>
internal sealed class AvroSchemaParser
{
    private const int MaxDepth = 256;
    private readonly Dictionary<string, NamedSchema> _names = new(StringComparer.Ordinal);

    private AvroSchemaParser() { }

    /// <summary>Parses one schema document.</summary>
    public static AvroSchema Parse(string json) => Parse(json, []);

    /// <summary>
    /// Parses a schema that refers to named types defined in other schemas (Schema Registry references):
    /// <paramref name="referenced"/> are parsed first, in order, and their named types are visible to the next ones.
    /// </summary>
    public static AvroSchema Parse(string json, IReadOnlyList<string> referenced)
    {
        var parser = new AvroSchemaParser();
        for (var i = 0; i < referenced.Count; i++)
        {
            using var rdoc = ParseJson(referenced[i], $"$references[{i}]");
            parser.ParseNode(rdoc.RootElement, "", $"$references[{i}]", 0);
        }
        using var doc = ParseJson(json, "$");
        return parser.ParseNode(doc.RootElement, "", "$", 0);
    }

    private static JsonDocument ParseJson(string json, string path)
    {
        try
        {
            return JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = MaxDepth * 2 });
        }
        catch (JsonException e)
        {
            throw new AvroSchemaException($"Invalid Avro schema at {path}: not valid JSON ({e.Message})", e) { JsonPath = path };
        }
    }

    /// <summary>Names a primitive type (or null when <paramref name="name"/> is not one).</summary>
    private static AvroType? Primitive(string name) => name switch
    {
        "null" => AvroType.Null,
        "boolean" => AvroType.Boolean,
        "int" => AvroType.Int,
        "long" => AvroType.Long,
        "float" => AvroType.Float,
        "double" => AvroType.Double,
        "bytes" => AvroType.Bytes,
        "string" => AvroType.String,
        _ => null,
    };

    private AvroSchema ParseNode(JsonElement e, string enclosingNs, string path, int depth)
    {
        if (depth > MaxDepth) throw AvroSchemaException.At(path, $"schema nested deeper than {MaxDepth} levels.");
        switch (e.ValueKind)
        {
            case JsonValueKind.String:
                return Reference(e.GetString()!, enclosingNs, path);
            case JsonValueKind.Array:
                return ParseUnion(e, enclosingNs, path, depth);
            case JsonValueKind.Object:
                return ParseObject(e, enclosingNs, path, depth);
            default:
                throw AvroSchemaException.At(path, $"expected a type name, an object or a union array, found {Describe(e)}.");
        }
    }

    private AvroSchema Reference(string name, string enclosingNs, string path)
    {
        if (Primitive(name) is { } p) return new PrimitiveSchema(p);
        if (name.Contains('.', StringComparison.Ordinal))
        {
            if (_names.TryGetValue(name, out var n)) return n;
        }
        else
        {
            if (enclosingNs.Length > 0 && _names.TryGetValue(enclosingNs + "." + name, out var n)) return n;
            if (_names.TryGetValue(name, out n)) return n;
        }
        throw AvroSchemaException.At(path, $"unknown type '{name}' (not a primitive type and no named type with that name was defined before this point" +
            (enclosingNs.Length > 0 && !name.Contains('.', StringComparison.Ordinal) ? $"; looked for '{enclosingNs}.{name}' and '{name}')." : ")."));
    }

    private UnionSchema ParseUnion(JsonElement e, string ns, string path, int depth)
    {
        var branches = new List<AvroSchema>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var i = 0;
        foreach (var item in e.EnumerateArray())
        {
            var p = $"{path}[{i}]";
            var b = ParseNode(item, ns, p, depth + 1);
            if (b is UnionSchema) throw AvroSchemaException.At(p, "a union may not immediately contain another union.");
            var key = b is NamedSchema n ? n.FullName : b.Type.ToString();
            if (!seen.Add(key))
                throw AvroSchemaException.At(p, b is NamedSchema ? $"union contains the named type '{key}' twice." : $"union contains more than one '{((PrimitiveSchemaOrComplexName(b)))}' branch.");
            branches.Add(b);
            i++;
        }
        return new UnionSchema(branches);
    }

    private static string PrimitiveSchemaOrComplexName(AvroSchema s) => s is PrimitiveSchema p ? p.Name : s.Type.ToString().ToLowerInvariant();

    private AvroSchema ParseObject(JsonElement e, string ns, string path, int depth)
    {
        if (!e.TryGetProperty("type", out var typeEl))
            throw AvroSchemaException.At(path, "object schema has no 'type' attribute.");
        AvroSchema result;
        if (typeEl.ValueKind != JsonValueKind.String)
        {
            // {"type": {...}} or {"type": [...]}: a schema wrapped in an object (accepted by the reference implementations).
            if (typeEl.ValueKind is JsonValueKind.Object or JsonValueKind.Array)
                return ParseNode(typeEl, ns, path + ".type", depth + 1);
            throw AvroSchemaException.At(path + ".type", $"'type' must be a string, found {Describe(typeEl)}.");
        }
        var type = typeEl.GetString()!;
        switch (type)
        {
            case "record":
            case "error":
                result = ParseRecord(e, ns, path, depth);
                break;
            case "enum":
                result = ParseEnum(e, ns, path);
                break;
            case "fixed":
                result = ParseFixed(e, ns, path);
                break;
            case "array":
                if (!e.TryGetProperty("items", out var items)) throw AvroSchemaException.At(path, "array schema has no 'items' attribute.");
                result = new ArraySchema(ParseNode(items, ns, path + ".items", depth + 1));
                break;
            case "map":
                if (!e.TryGetProperty("values", out var values)) throw AvroSchemaException.At(path, "map schema has no 'values' attribute.");
                result = new MapSchema(ParseNode(values, ns, path + ".values", depth + 1));
                break;
            default:
                if (Primitive(type) is { } prim) result = new PrimitiveSchema(prim);
                else result = Reference(type, ns, path + ".type");
                if (result is NamedSchema) return result; // {"type": "SomeRecord"}: a reference; attributes do not apply.
                break;
        }
        if (e.TryGetProperty("logicalType", out var lt) && lt.ValueKind == JsonValueKind.String)
            ApplyLogicalType(result, lt.GetString()!, e);
        return result;
    }

    /// <summary>Sets the logical type when it is valid for the schema; otherwise it is ignored (specification: "Logical Types").</summary>
    private static void ApplyLogicalType(AvroSchema s, string name, JsonElement e)
    {
        s.LogicalTypeName = name;
        var t = s.Type;
        s.LogicalType = name switch
        {
            "decimal" when t is AvroType.Bytes or AvroType.Fixed => DecimalOrNone(s, e),
            "uuid" when t == AvroType.String || (s is FixedSchema { Size: 16 }) => AvroLogicalType.Uuid,
            "date" when t == AvroType.Int => AvroLogicalType.Date,
            "time-millis" when t == AvroType.Int => AvroLogicalType.TimeMillis,
            "time-micros" when t == AvroType.Long => AvroLogicalType.TimeMicros,
            "timestamp-millis" when t == AvroType.Long => AvroLogicalType.TimestampMillis,
            "timestamp-micros" when t == AvroType.Long => AvroLogicalType.TimestampMicros,
            "timestamp-nanos" when t == AvroType.Long => AvroLogicalType.TimestampNanos,
            "local-timestamp-millis" when t == AvroType.Long => AvroLogicalType.LocalTimestampMillis,
            "local-timestamp-micros" when t == AvroType.Long => AvroLogicalType.LocalTimestampMicros,
            "local-timestamp-nanos" when t == AvroType.Long => AvroLogicalType.LocalTimestampNanos,
            "duration" when s is FixedSchema { Size: 12 } => AvroLogicalType.Duration,
            _ => AvroLogicalType.None,
        };
    }

    private static AvroLogicalType DecimalOrNone(AvroSchema s, JsonElement e)
    {
        if (!e.TryGetProperty("precision", out var p) || !p.TryGetInt32(out var precision) || precision < 1) return AvroLogicalType.None;
        var scale = 0;
        if (e.TryGetProperty("scale", out var sc) && (!sc.TryGetInt32(out scale) || scale < 0)) return AvroLogicalType.None;
        if (scale > precision) return AvroLogicalType.None;
        if (s is FixedSchema f)
        {
            // Largest precision a fixed of this size can hold: floor(log10(2^(8*size-1) - 1)).
            var max = f.Size == 0 ? 0 : (int)Math.Floor(Math.Log10(2) * (8 * f.Size - 1));
            if (precision > max) return AvroLogicalType.None;
        }
        s.Precision = precision;
        s.Scale = scale;
        return AvroLogicalType.Decimal;
    }

    private (string FullName, string Namespace) ParseName(JsonElement e, string enclosingNs, string path, string kind)
    {
        if (!e.TryGetProperty("name", out var nameEl) || nameEl.ValueKind != JsonValueKind.String)
            throw AvroSchemaException.At(path, $"{kind} schema needs a string 'name' attribute.");
        var name = nameEl.GetString()!;
        string ns;
        string full;
        if (name.Contains('.', StringComparison.Ordinal))
        {
            full = name;
            ns = name[..name.LastIndexOf('.')];
        }
        else
        {
            if (e.TryGetProperty("namespace", out var nsEl))
            {
                if (nsEl.ValueKind == JsonValueKind.Null) ns = "";
                else if (nsEl.ValueKind == JsonValueKind.String) ns = nsEl.GetString()!;
                else throw AvroSchemaException.At(path + ".namespace", $"'namespace' must be a string, found {Describe(nsEl)}.");
            }
            else ns = enclosingNs;
            full = ns.Length == 0 ? name : ns + "." + name;
        }
        if (ns.Length > 0)
        {
            foreach (var part in ns.Split('.'))
                if (!IsValidName(part)) throw AvroSchemaException.At(path + ".namespace", $"invalid namespace '{ns}': each part must match [A-Za-z_][A-Za-z0-9_]*.");
        }
        var simple = full[(full.LastIndexOf('.') + 1)..];
        if (!IsValidName(simple)) throw AvroSchemaException.At(path + ".name", $"invalid name '{name}': names must match [A-Za-z_][A-Za-z0-9_]*.");
        if (Primitive(simple) is not null && ns.Length == 0)
            throw AvroSchemaException.At(path + ".name", $"'{name}' is a primitive type name and cannot name a {kind}.");
        if (_names.ContainsKey(full)) throw AvroSchemaException.At(path + ".name", $"the name '{full}' is already defined.");
        return (full, ns);
    }

    private static List<string> ParseAliases(JsonElement e, string ns, string path, bool qualify)
    {
        var list = new List<string>();
        if (!e.TryGetProperty("aliases", out var a)) return list;
        if (a.ValueKind != JsonValueKind.Array) throw AvroSchemaException.At(path + ".aliases", $"'aliases' must be an array of strings, found {Describe(a)}.");
        var i = 0;
        foreach (var item in a.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String) throw AvroSchemaException.At($"{path}.aliases[{i}]", $"alias must be a string, found {Describe(item)}.");
            var s = item.GetString()!;
            list.Add(qualify && !s.Contains('.', StringComparison.Ordinal) && ns.Length > 0 ? ns + "." + s : s);
            i++;
        }
        return list;
    }

    private RecordSchema ParseRecord(JsonElement e, string enclosingNs, string path, int depth)
    {
        var (full, ns) = ParseName(e, enclosingNs, path, "record");
        var record = new RecordSchema(full, ParseAliases(e, ns, path, qualify: true)) { Doc = OptionalString(e, "doc") };
        _names.Add(full, record); // before the fields: a record may refer to itself
        if (!e.TryGetProperty("fields", out var fieldsEl) || fieldsEl.ValueKind != JsonValueKind.Array)
            throw AvroSchemaException.At(path, $"record '{full}' needs a 'fields' array.");
        var fields = new List<AvroField>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var i = 0;
        foreach (var f in fieldsEl.EnumerateArray())
        {
            var fp = $"{path}.fields[{i}]";
            if (f.ValueKind != JsonValueKind.Object) throw AvroSchemaException.At(fp, $"a field must be an object, found {Describe(f)}.");
            if (!f.TryGetProperty("name", out var fn) || fn.ValueKind != JsonValueKind.String)
                throw AvroSchemaException.At(fp, "field needs a string 'name' attribute.");
            var name = fn.GetString()!;
            if (!IsValidName(name)) throw AvroSchemaException.At(fp + ".name", $"invalid field name '{name}': names must match [A-Za-z_][A-Za-z0-9_]*.");
            if (!names.Add(name)) throw AvroSchemaException.At(fp + ".name", $"record '{full}' has two fields named '{name}'.");
            if (!f.TryGetProperty("type", out var ft)) throw AvroSchemaException.At(fp, $"field '{name}' has no 'type' attribute.");
            var schema = ParseNode(ft, ns, fp + ".type", depth + 1);
            var field = new AvroField(name, i, schema, ParseAliases(f, ns, fp, qualify: false)) { Doc = OptionalString(f, "doc") };
            if (f.TryGetProperty("order", out var order))
            {
                field.Order = order.ValueKind == JsonValueKind.String ? order.GetString() switch
                {
                    "ascending" => AvroFieldOrder.Ascending,
                    "descending" => AvroFieldOrder.Descending,
                    "ignore" => AvroFieldOrder.Ignore,
                    _ => throw AvroSchemaException.At(fp + ".order", $"order must be ascending, descending or ignore, found '{order.GetString()}'."),
                } : throw AvroSchemaException.At(fp + ".order", $"order must be a string, found {Describe(order)}.");
            }
            if (f.TryGetProperty("default", out var def))
            {
                if (!AvroDefaults.IsValid(schema, def))
                    throw AvroSchemaException.At(fp + ".default", $"default {Truncate(def.GetRawText())} of field '{name}' is not a valid {Describe(schema)} value.");
                field.Default = def.Clone();
            }
            fields.Add(field);
            i++;
        }
        record.Fields = fields;
        return record;
    }

    private EnumSchema ParseEnum(JsonElement e, string enclosingNs, string path)
    {
        var (full, ns) = ParseName(e, enclosingNs, path, "enum");
        if (!e.TryGetProperty("symbols", out var symEl) || symEl.ValueKind != JsonValueKind.Array)
            throw AvroSchemaException.At(path, $"enum '{full}' needs a 'symbols' array.");
        var symbols = new List<string>();
        var i = 0;
        foreach (var s in symEl.EnumerateArray())
        {
            var sp = $"{path}.symbols[{i}]";
            if (s.ValueKind != JsonValueKind.String) throw AvroSchemaException.At(sp, $"symbol must be a string, found {Describe(s)}.");
            var sym = s.GetString()!;
            if (!IsValidName(sym)) throw AvroSchemaException.At(sp, $"invalid enum symbol '{sym}': symbols must match [A-Za-z_][A-Za-z0-9_]*.");
            if (symbols.Contains(sym)) throw AvroSchemaException.At(sp, $"enum '{full}' lists symbol '{sym}' twice.");
            symbols.Add(sym);
            i++;
        }
        string? def = null;
        if (e.TryGetProperty("default", out var d))
        {
            if (d.ValueKind != JsonValueKind.String || !symbols.Contains(d.GetString()!))
                throw AvroSchemaException.At(path + ".default", $"enum default {Truncate(d.GetRawText())} is not one of the symbols of '{full}'.");
            def = d.GetString();
        }
        var schema = new EnumSchema(full, ParseAliases(e, ns, path, qualify: true), symbols, def) { Doc = OptionalString(e, "doc") };
        _names.Add(full, schema);
        return schema;
    }

    private FixedSchema ParseFixed(JsonElement e, string enclosingNs, string path)
    {
        var (full, ns) = ParseName(e, enclosingNs, path, "fixed");
        if (!e.TryGetProperty("size", out var sizeEl) || !sizeEl.TryGetInt32(out var size) || size < 0)
            throw AvroSchemaException.At(path + ".size", $"fixed '{full}' needs a non-negative integer 'size'.");
        var schema = new FixedSchema(full, ParseAliases(e, ns, path, qualify: true), size) { Doc = OptionalString(e, "doc") };
        _names.Add(full, schema);
        return schema;
    }

    private static string? OptionalString(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    internal static bool IsValidName(string s)
    {
        if (s.Length == 0) return false;
        var c = s[0];
        if (!(c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or '_')) return false;
        for (var i = 1; i < s.Length; i++)
        {
            c = s[i];
            if (!(c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_')) return false;
        }
        return true;
    }

    private static string Describe(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Number => "the number " + e.GetRawText(),
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        JsonValueKind.String => "the string " + Truncate(e.GetRawText()),
        JsonValueKind.Array => "an array",
        _ => "an object",
    };

    internal static string Describe(AvroSchema s) => s switch
    {
        NamedSchema n => $"{s.Type.ToString().ToLowerInvariant()} '{n.FullName}'",
        PrimitiveSchema p => p.Name,
        UnionSchema u => "union [" + string.Join(", ", u.Branches.Select(b => b is NamedSchema n ? n.FullName : b is PrimitiveSchema p ? p.Name : b.Type.ToString().ToLowerInvariant())) + "]",
        _ => s.Type.ToString().ToLowerInvariant(),
    };

    private static string Truncate(string s) => s.Length <= 60 ? s : s[..57] + "...";
}

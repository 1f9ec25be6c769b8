using NJsonSchema;
using StreamEnrich.Stages;

namespace StreamEnrich.Pipeline.Schema;

/// <summary>
/// Maps a JSON Schema (the message value's) to output fields for <c>streamenrich schema</c>:
/// <list type="bullet">
/// <item>string → String; with <c>format</c> date-time → DateTime64(3, 'UTC'), date → Date32, uuid → UUID;
/// with <c>enum</c> → LowCardinality(String).</item>
/// <item>integer → Int64, number → Float64, boolean → Bool, array of T → Array(T) (Array(Nullable(T)) when items may be null).</item>
/// <item>An object with <c>properties</c> is flattened into <c>a.b</c> fields (the paths the JSON decoder fills); an
/// object without properties, an array of objects, several types, or a schema without type → String (JSON text).</item>
/// <item>Nullable when the type allows null (<c>["string", "null"]</c>, a oneOf/anyOf with a null branch, <c>nullable: true</c>)
/// or when the property is not <c>required</c> (a missing field); inside a nullable object every field is nullable.
/// Arrays are never Nullable (ClickHouse forbids it; missing becomes empty).</item>
/// </list>
/// <c>$ref</c>s are followed; properties of <c>allOf</c> members are merged.
/// </summary>
internal static class JsonSchemaColumns
{
    public static List<OutputField> Fields(JsonSchema root)
    {
        var (top, _) = Unwrap(root);
        if (!Has(top, JsonObjectType.Object) && Properties(top).Count == 0)
            throw new InvalidOperationException("the JSON Schema does not describe an object (type: object with properties), so it does not map to table columns.");
        var fields = new List<OutputField>();
        Flatten(top, "", nullable: false, fields, [top]);
        return fields;
    }

    private static void Flatten(JsonSchema obj, string prefix, bool nullable, List<OutputField> fields, HashSet<JsonSchema> stack)
    {
        var required = Required(obj);
        foreach (var (name, property) in Properties(obj))
        {
            var path = prefix + name;
            var (inner, isNull) = Unwrap(property);
            var fieldNullable = nullable || isNull || !(property.IsRequired || required.Contains(name));
            if (IsFlattenable(inner) && stack.Add(inner))
            {
                Flatten(inner, path + ".", fieldNullable, fields, stack);
                stack.Remove(inner);
                continue;
            }
            var type = TypeOf(inner);
            fields.Add(new OutputField(path, type, fieldNullable && !type.StartsWith("Array(", StringComparison.Ordinal)));
        }
    }

    private static bool IsFlattenable(JsonSchema s) => Properties(s).Count > 0 && (s.Type == JsonObjectType.None || s.Type == JsonObjectType.Object);

    /// <summary>The ClickHouse type of a non-object schema (without Nullable).</summary>
    private static string TypeOf(JsonSchema s)
    {
        var type = s.Type & ~JsonObjectType.Null;
        if (type == JsonObjectType.None && s.Enumeration.Count > 0)
            return s.Enumeration.All(e => e is string) ? "LowCardinality(String)" : "String";
        switch (type)
        {
            case JsonObjectType.String:
                return s.Format switch
                {
                    "date-time" => OutputTypes.Timestamp(),
                    "date" => "Date32",
                    "uuid" or "guid" => "UUID",
                    _ => s.Enumeration.Count > 0 ? "LowCardinality(String)" : "String",
                };
            case JsonObjectType.Integer:
                return "Int64";
            case JsonObjectType.Number:
            case JsonObjectType.Number | JsonObjectType.Integer:
                return "Float64";
            case JsonObjectType.Boolean:
                return "Bool";
            case JsonObjectType.Array:
            {
                if (s.Item is null) return "Array(String)";
                var (item, itemNull) = Unwrap(s.Item);
                if (Has(item, JsonObjectType.Object) || Properties(item).Count > 0) return "Array(String)";
                var element = TypeOf(item);
                if (element.StartsWith("LowCardinality(", StringComparison.Ordinal)) element = "String";
                return itemNull && !element.StartsWith("Array(", StringComparison.Ordinal) ? $"Array(Nullable({element}))" : $"Array({element})";
            }
            default:
                return "String";
        }
    }

    /// <summary>Follows <c>$ref</c> and a oneOf/anyOf of one type plus null; tells whether null is allowed.</summary>
    private static (JsonSchema Schema, bool Nullable) Unwrap(JsonSchema schema)
    {
        var nullable = schema.IsNullableRaw == true || schema.Type.HasFlag(JsonObjectType.Null);
        var s = schema.ActualSchema;
        nullable |= s.IsNullableRaw == true || s.Type.HasFlag(JsonObjectType.Null);
        var branches = s.OneOf.Count > 0 ? s.OneOf : s.AnyOf;
        if (s.Type == JsonObjectType.None && branches.Count > 0)
        {
            var nonNull = branches.Where(b => b.ActualSchema.Type != JsonObjectType.Null).ToList();
            if (nonNull.Count < branches.Count) nullable = true;
            if (nonNull.Count == 1) return (nonNull[0].ActualSchema, nullable || nonNull[0].ActualSchema.Type.HasFlag(JsonObjectType.Null));
        }
        return (s, nullable);
    }

    private static bool Has(JsonSchema s, JsonObjectType t) => (s.Type & t) != 0;

    /// <summary>The object's properties in order, with those of its allOf members (and their refs) after them.</summary>
    private static List<KeyValuePair<string, JsonSchemaProperty>> Properties(JsonSchema s)
    {
        var result = new List<KeyValuePair<string, JsonSchemaProperty>>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        Collect(s, result, seen, []);
        return result;
    }

    private static void Collect(JsonSchema s, List<KeyValuePair<string, JsonSchemaProperty>> into, HashSet<string> seen, HashSet<JsonSchema> visited)
    {
        s = s.ActualSchema;
        if (!visited.Add(s)) return;
        foreach (var p in s.Properties)
            if (seen.Add(p.Key)) into.Add(p);
        foreach (var part in s.AllOf) Collect(part, into, seen, visited);
    }

    private static HashSet<string> Required(JsonSchema s)
    {
        var result = new HashSet<string>(StringComparer.Ordinal);
        var visited = new HashSet<JsonSchema>();
        void Walk(JsonSchema x)
        {
            x = x.ActualSchema;
            if (!visited.Add(x)) return;
            result.UnionWith(x.RequiredProperties);
            foreach (var part in x.AllOf) Walk(part);
        }
        Walk(s);
        return result;
    }
}

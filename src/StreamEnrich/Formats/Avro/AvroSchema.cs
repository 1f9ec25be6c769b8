using System.Text.Json;

namespace StreamEnrich.Formats.Avro;

/// <summary>The Avro type of a schema node (Avro 1.11 specification).</summary>
internal enum AvroType : byte
{
    Null, Boolean, Int, Long, Float, Double, Bytes, String,
    Record, Enum, Array, Map, Union, Fixed,
}

/// <summary>
/// The logical types this implementation understands. A logical type that is unknown or invalid for its
/// underlying type (e.g. decimal with scale &gt; precision) is ignored, as the specification requires, and
/// the schema reads as its underlying type.
/// </summary>
internal enum AvroLogicalType : byte
{
    None,
    Decimal,
    Uuid,
    Date,
    TimeMillis,
    TimeMicros,
    TimestampMillis,
    TimestampMicros,
    TimestampNanos,
    LocalTimestampMillis,
    LocalTimestampMicros,
    LocalTimestampNanos,
    Duration,
}

/// <summary>A parsed Avro schema node. Instances are immutable once <see cref="AvroSchemaParser"/> returns.</summary>
internal abstract class AvroSchema
{
    private protected AvroSchema(AvroType type) => Type = type;

    public AvroType Type { get; }

    /// <summary>The logical type, when present and valid for the underlying type.</summary>
    public AvroLogicalType LogicalType { get; internal set; }

    /// <summary>The <c>logicalType</c> attribute as written, even when ignored (unknown or invalid).</summary>
    public string? LogicalTypeName { get; internal set; }

    /// <summary>Decimal precision (only for <see cref="AvroLogicalType.Decimal"/>).</summary>
    public int Precision { get; internal set; }

    /// <summary>Decimal scale (only for <see cref="AvroLogicalType.Decimal"/>).</summary>
    public int Scale { get; internal set; }

    /// <summary>True for record, enum and fixed.</summary>
    public bool IsNamedType => this is NamedSchema;

    /// <summary>The JSON the schema was parsed from (its canonical form is <see cref="AvroCanonicalForm"/>).</summary>
    public static AvroSchema Parse(string json) => AvroSchemaParser.Parse(json);

    /// <summary>Parsing Canonical Form of this schema.</summary>
    public string ToCanonicalForm() => AvroCanonicalForm.Of(this);

    /// <summary>CRC-64-AVRO fingerprint of the canonical form (the single-object encoding's schema id).</summary>
    public ulong Fingerprint() => AvroCanonicalForm.Fingerprint64(this);

    public override string ToString() => this is NamedSchema n ? n.FullName : Type.ToString().ToLowerInvariant();
}

/// <summary>null, boolean, int, long, float, double, bytes, string.</summary>
internal sealed class PrimitiveSchema : AvroSchema
{
    internal PrimitiveSchema(AvroType type) : base(type) { }

    public string Name => Type switch
    {
        AvroType.Null => "null",
        AvroType.Boolean => "boolean",
        AvroType.Int => "int",
        AvroType.Long => "long",
        AvroType.Float => "float",
        AvroType.Double => "double",
        AvroType.Bytes => "bytes",
        _ => "string",
    };
}

/// <summary>record, enum or fixed: a type with a full name, a namespace and aliases.</summary>
internal abstract class NamedSchema : AvroSchema
{
    private protected NamedSchema(AvroType type, string fullName, IReadOnlyList<string> aliases) : base(type)
    {
        FullName = fullName;
        Aliases = aliases;
        var dot = fullName.LastIndexOf('.');
        Name = dot < 0 ? fullName : fullName[(dot + 1)..];
        Namespace = dot < 0 ? "" : fullName[..dot];
    }

    /// <summary>The name without namespace.</summary>
    public string Name { get; }

    /// <summary>The namespace ("" for the null namespace).</summary>
    public string Namespace { get; }

    /// <summary>Namespace-qualified name, e.g. <c>org.example.User</c>.</summary>
    public string FullName { get; }

    /// <summary>Alias full names (resolved against this type's namespace).</summary>
    public IReadOnlyList<string> Aliases { get; }

    public string? Doc { get; internal set; }

    /// <summary>True when <paramref name="fullName"/> is this type's name or one of its aliases.</summary>
    public bool IsNamed(string fullName)
    {
        if (FullName == fullName) return true;
        foreach (var a in Aliases) if (a == fullName) return true;
        return false;
    }
}

/// <summary>A record type.</summary>
internal sealed class RecordSchema : NamedSchema
{
    internal RecordSchema(string fullName, IReadOnlyList<string> aliases) : base(AvroType.Record, fullName, aliases) { }

    public IReadOnlyList<AvroField> Fields { get; internal set; } = [];

    /// <summary>The field named <paramref name="name"/>, or null.</summary>
    public AvroField? Field(string name)
    {
        foreach (var f in Fields) if (f.Name == name) return f;
        return null;
    }
}

/// <summary>Sort order of a record field (kept for completeness; it does not affect decoding).</summary>
internal enum AvroFieldOrder : byte { Ascending, Descending, Ignore }

/// <summary>One field of a record.</summary>
internal sealed class AvroField
{
    internal AvroField(string name, int position, AvroSchema schema, IReadOnlyList<string> aliases)
    {
        Name = name;
        Position = position;
        Schema = schema;
        Aliases = aliases;
    }

    public string Name { get; }
    public int Position { get; }
    public AvroSchema Schema { get; }
    public IReadOnlyList<string> Aliases { get; }
    public string? Doc { get; internal set; }
    public AvroFieldOrder Order { get; internal set; }

    /// <summary>The default as written in the schema (a cloned JSON element), or null when the field has none.</summary>
    public JsonElement? Default { get; internal set; }

    /// <summary>True when the field has a default (JSON <c>null</c> counts).</summary>
    public bool HasDefault => Default.HasValue;

    public bool IsNamed(string name)
    {
        if (Name == name) return true;
        foreach (var a in Aliases) if (a == name) return true;
        return false;
    }

    public override string ToString() => Name + ": " + Schema;
}

/// <summary>An enum type.</summary>
internal sealed class EnumSchema : NamedSchema
{
    internal EnumSchema(string fullName, IReadOnlyList<string> aliases, IReadOnlyList<string> symbols, string? defaultSymbol)
        : base(AvroType.Enum, fullName, aliases)
    {
        Symbols = symbols;
        DefaultSymbol = defaultSymbol;
    }

    public IReadOnlyList<string> Symbols { get; }

    /// <summary>The enum's <c>default</c> symbol (used by schema resolution when a writer symbol is unknown).</summary>
    public string? DefaultSymbol { get; }

    public int IndexOf(string symbol)
    {
        for (var i = 0; i < Symbols.Count; i++) if (Symbols[i] == symbol) return i;
        return -1;
    }
}

/// <summary>A fixed-size byte type.</summary>
internal sealed class FixedSchema : NamedSchema
{
    internal FixedSchema(string fullName, IReadOnlyList<string> aliases, int size) : base(AvroType.Fixed, fullName, aliases) => Size = size;

    public int Size { get; }
}

/// <summary>An array type.</summary>
internal sealed class ArraySchema : AvroSchema
{
    internal ArraySchema(AvroSchema items) : base(AvroType.Array) => Items = items;

    public AvroSchema Items { get; }
}

/// <summary>A map type (keys are strings).</summary>
internal sealed class MapSchema : AvroSchema
{
    internal MapSchema(AvroSchema values) : base(AvroType.Map) => Values = values;

    public AvroSchema Values { get; }
}

/// <summary>A union of branches.</summary>
internal sealed class UnionSchema : AvroSchema
{
    internal UnionSchema(IReadOnlyList<AvroSchema> branches) : base(AvroType.Union) => Branches = branches;

    public IReadOnlyList<AvroSchema> Branches { get; }

    /// <summary>Index of the null branch, or -1.</summary>
    public int NullIndex
    {
        get
        {
            for (var i = 0; i < Branches.Count; i++) if (Branches[i].Type == AvroType.Null) return i;
            return -1;
        }
    }

    /// <summary>For <c>["null", T]</c> or <c>[T, "null"]</c>: T; otherwise null.</summary>
    public AvroSchema? NullableOf => Branches.Count == 2 && NullIndex >= 0 ? Branches[1 - NullIndex] : null;
}

using StreamEnrich.Records;

namespace StreamEnrich.Formats.Avro;

/// <summary>
/// Compiles a writer schema, a reader schema (the writer itself when none is configured) and a frozen
/// <see cref="RecordLayout"/> into <see cref="AvroNode"/>s, applying schema resolution (specification:
/// "Schema Resolution") once: numeric and string/bytes promotions, reader fields added with defaults, writer
/// fields dropped, enum symbol mapping with the reader default, union branch matching, aliases.
/// Resolution problems that make every datum unreadable are <see cref="AvroSchemaException"/>s at compile
/// time; those that depend on the data (a writer union branch or enum symbol unknown to the reader) become
/// <see cref="AvroException"/>s when such a datum is read.
/// </summary>
internal sealed class AvroPlanCompiler
{
    private readonly Dictionary<(AvroSchema, AvroSchema), RecordNode> _records = new(PairComparer.Instance);
    private readonly RecordLayout? _layout;

    public AvroPlanCompiler(RecordLayout? layout) => _layout = layout;

    // ---------------------------------------------------------------- whole values

    public AvroNode Value(AvroSchema w, AvroSchema r, string path)
    {
        if (w is UnionSchema wu)
        {
            var node = new UnionNode();
            var branches = new AvroNode[wu.Branches.Count];
            for (var i = 0; i < branches.Length; i++)
            {
                var wb = wu.Branches[i];
                var rb = r is UnionSchema ru ? MatchBranch(wb, ru) : Resolvable(wb, r) ? r : null;
                branches[i] = rb is null
                    ? new ErrorNode(Value(wb, wb, path), $"the writer's union branch {AvroSchemaParser.Describe(wb)} at {path} has no match in the reader schema {AvroSchemaParser.Describe(r)}")
                    : Value(wb, rb, path);
            }
            node.Branches = branches;
            return node;
        }
        if (r is UnionSchema readerUnion)
        {
            var rb = MatchBranch(w, readerUnion)
                ?? throw Mismatch(w, r, path);
            return Value(w, rb, path);
        }
        switch (w.Type)
        {
            case AvroType.Null when r.Type == AvroType.Null:
                return NullNode.Instance;
            case AvroType.Boolean when r.Type == AvroType.Boolean:
                return new BooleanNode();
            case AvroType.Int or AvroType.Long:
            {
                var is32 = w.Type == AvroType.Int;
                return r.Type switch
                {
                    AvroType.Int when is32 => new VarintNode(true, VarintTarget.Integer, r.LogicalType),
                    AvroType.Long => new VarintNode(is32, VarintTarget.Integer, r.LogicalType),
                    AvroType.Float => new VarintNode(is32, VarintTarget.Float32, AvroLogicalType.None),
                    AvroType.Double => new VarintNode(is32, VarintTarget.Float64, AvroLogicalType.None),
                    _ => throw Mismatch(w, r, path),
                };
            }
            case AvroType.Float when r.Type is AvroType.Float or AvroType.Double:
                return new FloatNode();
            case AvroType.Double when r.Type == AvroType.Double:
                return new DoubleNode();
            case AvroType.String or AvroType.Bytes when r.Type is AvroType.String or AvroType.Bytes:
                CheckDecimal(w, r, path);
                return new LengthPrefixedNode(r.Type == AvroType.String, r, w.Type == AvroType.String);
            case AvroType.Fixed when r is FixedSchema rf && NamesMatch((NamedSchema)w, rf):
                if (rf.Size != ((FixedSchema)w).Size)
                    throw new AvroSchemaException($"Cannot resolve fixed '{rf.FullName}' at {path}: the writer's size is {((FixedSchema)w).Size}, the reader's {rf.Size}.") { JsonPath = path };
                CheckDecimal(w, r, path);
                return new FixedNode(rf.Size, r);
            case AvroType.Enum when r is EnumSchema re && NamesMatch((NamedSchema)w, re):
                return Enum((EnumSchema)w, re);
            case AvroType.Array when r is ArraySchema ra:
                return new ArrayNode { Items = Value(((ArraySchema)w).Items, ra.Items, path + "[]") };
            case AvroType.Map when r is MapSchema rm:
                return new MapNode { Values = Value(((MapSchema)w).Values, rm.Values, path + "{}") };
            case AvroType.Record when r is RecordSchema rr && NamesMatch((NamedSchema)w, rr):
                return Record((RecordSchema)w, rr, path);
            default:
                throw Mismatch(w, r, path);
        }
    }

    private static void CheckDecimal(AvroSchema w, AvroSchema r, string path)
    {
        if (w.LogicalType == AvroLogicalType.Decimal && r.LogicalType == AvroLogicalType.Decimal && (w.Scale != r.Scale || w.Precision != r.Precision))
            throw new AvroSchemaException($"Cannot resolve decimal at {path}: the writer has precision {w.Precision} scale {w.Scale}, the reader precision {r.Precision} scale {r.Scale}.") { JsonPath = path };
    }

    private static EnumNode Enum(EnumSchema w, EnumSchema r)
    {
        var values = new Value[w.Symbols.Count];
        for (var i = 0; i < values.Length; i++)
        {
            var sym = w.Symbols[i];
            if (r.IndexOf(sym) >= 0) values[i] = Records.Value.FromString(sym);
            else if (r.DefaultSymbol is { } d) values[i] = Records.Value.FromString(d);
        }
        return new EnumNode(values, [.. w.Symbols], r.FullName);
    }

    private RecordNode Record(RecordSchema w, RecordSchema r, string path)
    {
        if (_records.TryGetValue((w, r), out var existing)) return existing;
        var node = new RecordNode();
        _records.Add((w, r), node);
        var matched = new bool[r.Fields.Count];
        var writerFields = new (AvroNode, int)[w.Fields.Count];
        var min = 0;
        for (var i = 0; i < w.Fields.Count; i++)
        {
            var wf = w.Fields[i];
            var rf = FindReaderField(r, wf);
            AvroNode n;
            if (rf is null)
            {
                n = Value(wf.Schema, wf.Schema, path + "." + wf.Name);
                writerFields[i] = (n, -1);
            }
            else
            {
                n = Value(wf.Schema, rf.Schema, path + "." + rf.Name);
                matched[rf.Position] = true;
                writerFields[i] = (n, rf.Position);
            }
            min += n.MinSize;
        }
        var defaults = new Value[r.Fields.Count];
        for (var i = 0; i < r.Fields.Count; i++)
            if (!matched[i]) defaults[i] = DefaultOf(r, r.Fields[i], path);
        node.WriterFields = writerFields;
        node.ReaderNames = [.. r.Fields.Select(f => f.Name)];
        node.Defaults = defaults;
        node.MinSize = min;
        return node;
    }

    private static Value DefaultOf(RecordSchema r, AvroField f, string path)
    {
        if (f.Default is not { } d)
            throw new AvroSchemaException($"Cannot resolve record '{r.FullName}' at {path}: the reader field '{f.Name}' is not in the writer schema and has no default.") { JsonPath = path };
        return AvroDefaults.ToValue(f.Schema, d);
    }

    private static AvroField? FindReaderField(RecordSchema r, AvroField wf)
    {
        foreach (var f in r.Fields) if (f.Name == wf.Name) return f;
        foreach (var f in r.Fields) if (f.IsNamed(wf.Name)) return f; // the reader's aliases name former writer fields
        return null;
    }

    // ---------------------------------------------------------------- straight into slots

    /// <summary>The node that writes the fields below <paramref name="prefix"/> into slots, or null when none apply.</summary>
    public AvroIntoNode? Into(AvroSchema w, AvroSchema r, string prefix)
    {
        var layout = _layout ?? throw new InvalidOperationException("No layout.");
        if (w is UnionSchema wu)
        {
            var node = new UnionIntoNode();
            var n = wu.Branches.Count;
            var into = new AvroIntoNode?[n];
            var skippers = new AvroNode[n];
            var isNull = new bool[n];
            var all = new SortedSet<int>();
            for (var i = 0; i < n; i++)
            {
                var wb = wu.Branches[i];
                skippers[i] = Value(wb, wb, prefix);
                isNull[i] = wb.Type == AvroType.Null;
                var rb = r is UnionSchema ru ? MatchBranch(wb, ru) : Resolvable(wb, r) ? r : null;
                if (rb is null)
                    into[i] = new ErrorIntoNode($"the writer's union branch {AvroSchemaParser.Describe(wb)} at {prefix} has no match in the reader schema {AvroSchemaParser.Describe(r)}");
                else if (wb is RecordSchema && rb is RecordSchema)
                {
                    into[i] = Into(wb, rb, prefix);
                    if (into[i] is { } x) all.UnionWith(x.AllSlots);
                }
            }
            node.Into = into;
            node.Skippers = skippers;
            node.IsNull = isNull;
            node.AllSlots = [.. all];
            return node;
        }
        if (r is UnionSchema readerUnion)
        {
            var rb = MatchBranch(w, readerUnion) ?? throw Mismatch(w, r, prefix);
            return Into(w, rb, prefix);
        }
        if (w is not RecordSchema wr || r is not RecordSchema rr) return null;
        if (!NamesMatch(wr, rr)) throw Mismatch(w, r, prefix.Length == 0 ? "$" : prefix);

        var actions = new FieldAction[wr.Fields.Count];
        var constants = new List<(int, Value)>();
        var slots = new SortedSet<int>();
        var matched = new bool[rr.Fields.Count];
        for (var i = 0; i < wr.Fields.Count; i++)
        {
            var wf = wr.Fields[i];
            var rf = FindReaderField(rr, wf);
            if (rf is null)
            {
                actions[i] = new(Value(wf.Schema, wf.Schema, Join(prefix, wf.Name)), -1, null);
                continue;
            }
            matched[rf.Position] = true;
            var path = Join(prefix, rf.Name);
            var node = Value(wf.Schema, rf.Schema, path);
            var slot = -1;
            AvroIntoNode? sub = null;
            if (!(prefix.Length == 0 && MetadataFields.IsMetadata(path)))
            {
                if (layout.TryGetSlot(path, out var s)) { slot = s; slots.Add(s); }
                if (layout.IsPrefix(path))
                {
                    sub = Into(wf.Schema, rf.Schema, path);
                    if (sub is not null) slots.UnionWith(sub.AllSlots);
                }
            }
            actions[i] = new(node, slot, sub);
        }
        for (var i = 0; i < rr.Fields.Count; i++)
        {
            if (matched[i]) continue;
            var rf = rr.Fields[i];
            var path = Join(prefix, rf.Name);
            var value = DefaultOf(rr, rf, prefix.Length == 0 ? "$" : prefix);
            if (prefix.Length == 0 && MetadataFields.IsMetadata(path)) continue;
            AddConstants(layout, path, value, constants);
        }
        foreach (var (s, _) in constants) slots.Add(s);
        return new RecordIntoNode { Actions = actions, Constants = [.. constants], AllSlots = [.. slots] };
    }

    /// <summary>A default value for <paramref name="path"/>, and for declared paths below it when it is a record (a map value).</summary>
    private static void AddConstants(RecordLayout layout, string path, Value value, List<(int, Value)> constants)
    {
        if (layout.TryGetSlot(path, out var slot)) constants.Add((slot, value));
        if (layout.IsPrefix(path) && value.Kind == ValueKind.Map)
            foreach (var (k, v) in value.AsMap) AddConstants(layout, path + "." + k, v, constants);
    }

    private static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;

    // ---------------------------------------------------------------- matching

    private static bool NamesMatch(NamedSchema w, NamedSchema r) =>
        w.FullName == r.FullName || w.Name == r.Name || r.IsNamed(w.FullName);

    /// <summary>The first reader union branch the writer schema resolves to: same type/name first, then by alias or short name, then promotions.</summary>
    private static AvroSchema? MatchBranch(AvroSchema w, UnionSchema r)
    {
        foreach (var b in r.Branches)
            if (b.Type == w.Type && (w is not NamedSchema wn || ((NamedSchema)b).FullName == wn.FullName)) return b;
        foreach (var b in r.Branches)
            if (b.Type == w.Type && w is NamedSchema wn2 && NamesMatch(wn2, (NamedSchema)b)) return b;
        foreach (var b in r.Branches)
            if (Promotes(w.Type, b.Type)) return b;
        return null;
    }

    private static bool Resolvable(AvroSchema w, AvroSchema r)
    {
        if (r is UnionSchema ru) return MatchBranch(w, ru) is not null;
        if (w.Type == r.Type) return w is not NamedSchema wn || NamesMatch(wn, (NamedSchema)r);
        return Promotes(w.Type, r.Type);
    }

    private static bool Promotes(AvroType w, AvroType r) => (w, r) switch
    {
        (AvroType.Int, AvroType.Long or AvroType.Float or AvroType.Double) => true,
        (AvroType.Long, AvroType.Float or AvroType.Double) => true,
        (AvroType.Float, AvroType.Double) => true,
        (AvroType.String, AvroType.Bytes) => true,
        (AvroType.Bytes, AvroType.String) => true,
        _ => false,
    };

    private static AvroSchemaException Mismatch(AvroSchema w, AvroSchema r, string path) =>
        new($"Cannot resolve the writer's {AvroSchemaParser.Describe(w)} against the reader's {AvroSchemaParser.Describe(r)} at {(path.Length == 0 ? "$" : path)}.") { JsonPath = path };

    private sealed class PairComparer : IEqualityComparer<(AvroSchema, AvroSchema)>
    {
        public static readonly PairComparer Instance = new();
        public bool Equals((AvroSchema, AvroSchema) x, (AvroSchema, AvroSchema) y) => ReferenceEquals(x.Item1, y.Item1) && ReferenceEquals(x.Item2, y.Item2);
        public int GetHashCode((AvroSchema, AvroSchema) obj) => HashCode.Combine(
            System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(obj.Item1), System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(obj.Item2));
    }
}

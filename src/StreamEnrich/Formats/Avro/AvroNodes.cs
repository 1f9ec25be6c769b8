using System.Text;
using System.Text.Unicode;
using StreamEnrich.Records;

namespace StreamEnrich.Formats.Avro;

/// <summary>
/// One compiled step of a decoding plan: reads (or skips) the writer's encoding of one schema node and
/// produces the value the reader schema asks for. Built once per (writer, reader, layout) by
/// <see cref="AvroPlanCompiler"/>; immutable and shared by all threads.
/// </summary>
internal abstract class AvroNode
{
    /// <summary>Nesting limit for records, arrays, maps and unions in data (hostile input guard).</summary>
    public const int MaxDepth = 128;

    /// <summary>Items of a collection whose items encode to zero bytes (e.g. array of null) allowed per collection.</summary>
    public const int MaxZeroByteItems = 1 << 16;

    /// <summary>Smallest number of bytes the writer's encoding of this node takes (0 for null, empty records...).</summary>
    public int MinSize { get; set; }

    public abstract Value Read(ref AvroBinaryReader r, int depth);

    public abstract void Skip(ref AvroBinaryReader r, int depth);

    protected static void CheckDepth(ref AvroBinaryReader r, int depth)
    {
        if (depth > MaxDepth) throw AvroBinaryReader.Error(r.Position, $"data nested deeper than {MaxDepth} levels");
    }
}

/// <summary>A node that can also write a record's fields straight into record slots.</summary>
internal abstract class AvroIntoNode
{
    /// <summary>Every slot this node (and its nested into-nodes) may write, to reset them when the value is null.</summary>
    public int[] AllSlots { get; set; } = [];

    public abstract void ReadInto(ref AvroBinaryReader r, Value[] slots, int depth);

    protected void FillAll(Value[] slots, Value v)
    {
        foreach (var s in AllSlots) slots[s] = v;
    }
}

internal sealed class NullNode : AvroNode
{
    public static readonly NullNode Instance = new();
    public override Value Read(ref AvroBinaryReader r, int depth) => Value.Null;
    public override void Skip(ref AvroBinaryReader r, int depth) { }
}

internal sealed class BooleanNode : AvroNode
{
    public BooleanNode() => MinSize = 1;
    public override Value Read(ref AvroBinaryReader r, int depth) => Value.FromBool(r.ReadBoolean());
    public override void Skip(ref AvroBinaryReader r, int depth) => r.ReadBoolean();
}

/// <summary>What a varint (int or long in the writer schema) becomes.</summary>
internal enum VarintTarget : byte { Integer, Float32, Float64 }

/// <summary>Writer int or long; reader int/long (with a logical type), or float/double by promotion.</summary>
internal sealed class VarintNode : AvroNode
{
    private readonly bool _is32;
    private readonly VarintTarget _target;
    private readonly AvroLogicalType _logical;

    public VarintNode(bool is32, VarintTarget target, AvroLogicalType logical)
    {
        _is32 = is32;
        _target = target;
        _logical = logical;
        MinSize = 1;
    }

    public override Value Read(ref AvroBinaryReader r, int depth)
    {
        var at = r.Position;
        long v = _is32 ? r.ReadInt() : r.ReadLong();
        switch (_target)
        {
            case VarintTarget.Float32: return Value.FromFloat((float)v);
            case VarintTarget.Float64: return Value.FromFloat(v);
        }
        if (_logical == AvroLogicalType.None) return Value.FromInt(v);
        try
        {
            return AvroLogical.FromLong(_logical, v);
        }
        catch (AvroException e)
        {
            throw new AvroException($"Invalid Avro data at byte {at}: {e.Message}") { Offset = at };
        }
    }

    public override void Skip(ref AvroBinaryReader r, int depth) => r.SkipVarint(_is32);
}

/// <summary>Writer float; reader float or double.</summary>
internal sealed class FloatNode : AvroNode
{
    public FloatNode() => MinSize = 4;
    public override Value Read(ref AvroBinaryReader r, int depth) => Value.FromFloat(r.ReadFloat());
    public override void Skip(ref AvroBinaryReader r, int depth) => r.Advance(4, "float");
}

internal sealed class DoubleNode : AvroNode
{
    public DoubleNode() => MinSize = 8;
    public override Value Read(ref AvroBinaryReader r, int depth) => Value.FromFloat(r.ReadDouble());
    public override void Skip(ref AvroBinaryReader r, int depth) => r.Advance(8, "double");
}

/// <summary>Writer string or bytes; reader string (UTF-8 checked, uuid logical type) or bytes (decimal logical type).</summary>
internal sealed class LengthPrefixedNode : AvroNode
{
    private readonly bool _asString;
    private readonly AvroSchema _reader;
    private readonly string _writerType;

    public LengthPrefixedNode(bool asString, AvroSchema reader, bool writerIsString)
    {
        _asString = asString;
        _reader = reader;
        _writerType = writerIsString ? "string" : "bytes";
        MinSize = 1;
    }

    public override Value Read(ref AvroBinaryReader r, int depth)
    {
        var at = r.Position;
        var len = r.ReadLength(_writerType);
        var off = r.Position;
        r.Position += len;
        if (_asString)
        {
            var span = r.Buffer.AsSpan(off, len);
            if (!Utf8.IsValid(span)) throw AvroBinaryReader.Error(off, $"string of {len} bytes is not valid UTF-8");
            if (_reader.LogicalType == AvroLogicalType.Uuid)
            {
                try
                {
                    return AvroLogical.UuidFromUtf8(span);
                }
                catch (AvroException e)
                {
                    throw AvroBinaryReader.Error(at, e.Message.TrimEnd('.'));
                }
            }
            return Value.FromUtf8(r.Buffer, off, len);
        }
        if (_reader.LogicalType == AvroLogicalType.None) return Value.FromBytes(r.Buffer, off, len);
        try
        {
            return AvroLogical.FromBytes(_reader, r.Buffer, off, len);
        }
        catch (AvroException e)
        {
            throw AvroBinaryReader.Error(at, e.Message.TrimEnd('.'));
        }
    }

    public override void Skip(ref AvroBinaryReader r, int depth)
    {
        var len = r.ReadLength(_writerType);
        r.Position += len;
    }
}

internal sealed class FixedNode : AvroNode
{
    private readonly int _size;
    private readonly AvroSchema _reader;

    public FixedNode(int size, AvroSchema reader)
    {
        _size = size;
        _reader = reader;
        MinSize = size;
    }

    public override Value Read(ref AvroBinaryReader r, int depth)
    {
        var at = r.Position;
        r.Advance(_size, $"fixed of {_size} bytes");
        if (_reader.LogicalType == AvroLogicalType.None) return Value.FromBytes(r.Buffer, at, _size);
        try
        {
            return AvroLogical.FromBytes(_reader, r.Buffer, at, _size);
        }
        catch (AvroException e)
        {
            throw AvroBinaryReader.Error(at, e.Message.TrimEnd('.'));
        }
    }

    public override void Skip(ref AvroBinaryReader r, int depth) => r.Advance(_size, $"fixed of {_size} bytes");
}

/// <summary>Enum: the writer's symbol index mapped to the reader's symbol (or the reader enum's default).</summary>
internal sealed class EnumNode : AvroNode
{
    private readonly Value[] _symbols; // by writer index; Missing = no reader symbol
    private readonly string[] _writerSymbols;
    private readonly string _readerName;

    public EnumNode(Value[] symbols, string[] writerSymbols, string readerName)
    {
        _symbols = symbols;
        _writerSymbols = writerSymbols;
        _readerName = readerName;
        MinSize = 1;
    }

    public override Value Read(ref AvroBinaryReader r, int depth)
    {
        var at = r.Position;
        var i = r.ReadInt();
        if ((uint)i >= (uint)_symbols.Length)
            throw AvroBinaryReader.Error(at, $"enum index {i} out of range (the enum has {_symbols.Length} symbols)");
        var v = _symbols[i];
        if (v.IsMissing)
            throw AvroBinaryReader.Error(at, $"enum symbol '{_writerSymbols[i]}' is not in the reader enum '{_readerName}', which has no default");
        return v;
    }

    public override void Skip(ref AvroBinaryReader r, int depth)
    {
        var at = r.Position;
        var i = r.ReadInt();
        if ((uint)i >= (uint)_symbols.Length) throw AvroBinaryReader.Error(at, $"enum index {i} out of range (the enum has {_symbols.Length} symbols)");
    }
}

/// <summary>Fails when reached: a writer union branch with no counterpart in the reader schema.</summary>
internal sealed class ErrorNode(AvroNode writer, string problem) : AvroNode
{
    public override Value Read(ref AvroBinaryReader r, int depth) => throw AvroBinaryReader.Error(r.Position, problem);
    public override void Skip(ref AvroBinaryReader r, int depth) => writer.Skip(ref r, depth);
}

internal static class CollectionBounds
{
    /// <summary>
    /// New capacity for a collection holding <paramref name="n"/> items that needs <paramref name="count"/> more:
    /// doubles (so many one-item blocks cost linear, not quadratic, copying) but never beyond what the remaining
    /// bytes can hold.
    /// </summary>
    public static int Grow(ref AvroBinaryReader r, int capacity, int n, long count, int minItemSize)
    {
        var need = n + count;
        var most = n + (minItemSize > 0 ? r.Remaining / minItemSize : (long)AvroNode.MaxZeroByteItems);
        return (int)Math.Max(need, Math.Min((long)capacity * 2, most));
    }

    /// <summary>Checks a block's item count against what the remaining bytes can possibly hold.</summary>
    public static void Check(ref AvroBinaryReader r, int at, long count, long already, int minItemSize, string what)
    {
        if (minItemSize > 0)
        {
            if (count > r.Remaining / minItemSize)
                throw AvroBinaryReader.Error(at, $"{what} block count {count} exceeds what the {r.Remaining} remaining bytes can hold");
        }
        else if (count + already > AvroNode.MaxZeroByteItems)
        {
            throw AvroBinaryReader.Error(at, $"{what} of more than {AvroNode.MaxZeroByteItems} zero-byte items");
        }
    }
}

/// <summary>
/// Arrays and maps: blocks of items, each block either sized in bytes (skipped in one jump) or counted (skipped item
/// by item, with the count checked against the bytes left so hostile counts cannot spin or allocate).
/// </summary>
internal abstract class BlockedCollectionNode : AvroNode
{
    /// <summary>The fewest bytes one item can take (bounds hostile block counts).</summary>
    protected abstract int ItemMinSize { get; }
    /// <summary>"array" or "map", for error messages.</summary>
    protected abstract string Kind { get; }
    protected abstract void SkipItem(ref AvroBinaryReader r, int depth);

    public override void Skip(ref AvroBinaryReader r, int depth)
    {
        CheckDepth(ref r, depth);
        long n = 0;
        while (true)
        {
            var at = r.Position;
            var count = r.ReadBlockCount(out var size);
            if (count == 0) return;
            if (size >= 0)
            {
                r.Position += (int)size;
                continue;
            }
            CollectionBounds.Check(ref r, at, count, n, ItemMinSize, Kind);
            n += count;
            for (var i = 0; i < count; i++) SkipItem(ref r, depth + 1);
        }
    }
}

internal sealed class ArrayNode : BlockedCollectionNode
{
    public AvroNode Items { get; set; } = NullNode.Instance;

    public ArrayNode() => MinSize = 1;

    public override Value Read(ref AvroBinaryReader r, int depth)
    {
        CheckDepth(ref r, depth);
        var items = Array.Empty<Value>();
        var n = 0;
        var itemMin = Items.MinSize;
        while (true)
        {
            var at = r.Position;
            var count = r.ReadBlockCount(out _);
            if (count == 0) break;
            CollectionBounds.Check(ref r, at, count, n, itemMin, "array");
            if (n + count > items.Length)
            {
                var grown = new Value[CollectionBounds.Grow(ref r, items.Length, n, count, itemMin)];
                items.AsSpan(0, n).CopyTo(grown);
                items = grown;
            }
            for (var i = 0; i < count; i++) items[n++] = Items.Read(ref r, depth + 1);
        }
        if (n != items.Length) Array.Resize(ref items, n);
        return Value.FromArray(items);
    }

    protected override int ItemMinSize => Items.MinSize;
    protected override string Kind => "array";
    protected override void SkipItem(ref AvroBinaryReader r, int depth) => Items.Skip(ref r, depth);
}

internal sealed class MapNode : BlockedCollectionNode
{
    public AvroNode Values { get; set; } = NullNode.Instance;

    public MapNode() => MinSize = 1;

    public override Value Read(ref AvroBinaryReader r, int depth)
    {
        CheckDepth(ref r, depth);
        var entries = Array.Empty<KeyValuePair<string, Value>>();
        var n = 0;
        var itemMin = 1 + Values.MinSize;
        while (true)
        {
            var at = r.Position;
            var count = r.ReadBlockCount(out _);
            if (count == 0) break;
            CollectionBounds.Check(ref r, at, count, n, itemMin, "map");
            if (n + count > entries.Length)
            {
                var grown = new KeyValuePair<string, Value>[CollectionBounds.Grow(ref r, entries.Length, n, count, itemMin)];
                entries.AsSpan(0, n).CopyTo(grown);
                entries = grown;
            }
            for (var i = 0; i < count; i++)
            {
                var len = r.ReadLength("map key");
                var span = r.Buffer.AsSpan(r.Position, len);
                if (!Utf8.IsValid(span)) throw AvroBinaryReader.Error(r.Position, $"map key of {len} bytes is not valid UTF-8");
                var key = len == 0 ? "" : Encoding.UTF8.GetString(span);
                r.Position += len;
                entries[n++] = new(key, Values.Read(ref r, depth + 1));
            }
        }
        if (n != entries.Length) Array.Resize(ref entries, n);
        return Value.FromMap(entries);
    }

    protected override int ItemMinSize => 1 + Values.MinSize;
    protected override string Kind => "map";

    protected override void SkipItem(ref AvroBinaryReader r, int depth)
    {
        var len = r.ReadLength("map key");
        r.Position += len;
        Values.Skip(ref r, depth);
    }
}

/// <summary>A writer union: the branch index picks the (resolved) branch node.</summary>
internal sealed class UnionNode : AvroNode
{
    public AvroNode[] Branches { get; set; } = [];

    public UnionNode() => MinSize = 1;

    public override Value Read(ref AvroBinaryReader r, int depth)
    {
        CheckDepth(ref r, depth);
        return Branch(ref r).Read(ref r, depth + 1);
    }

    public override void Skip(ref AvroBinaryReader r, int depth)
    {
        CheckDepth(ref r, depth);
        Branch(ref r).Skip(ref r, depth + 1);
    }

    private AvroNode Branch(ref AvroBinaryReader r)
    {
        var at = r.Position;
        var i = r.ReadLong();
        if ((ulong)i >= (ulong)Branches.Length)
            throw AvroBinaryReader.Error(at, $"union branch index {i} out of range (the union has {Branches.Length} branches)");
        return Branches[i];
    }
}

/// <summary>A record read whole, as a <see cref="ValueKind.Map"/> of the reader's fields in reader order.</summary>
internal sealed class RecordNode : AvroNode
{
    /// <summary>Per writer field: its node and the reader field index it fills (-1: skipped).</summary>
    public (AvroNode Node, int ReaderIndex)[] WriterFields { get; set; } = [];

    /// <summary>Reader field names, in reader order.</summary>
    public string[] ReaderNames { get; set; } = [];

    /// <summary>Per reader field: the default used when the writer lacks the field (Missing when the writer has it).</summary>
    public Value[] Defaults { get; set; } = [];

    public override Value Read(ref AvroBinaryReader r, int depth)
    {
        CheckDepth(ref r, depth);
        var entries = new KeyValuePair<string, Value>[ReaderNames.Length];
        for (var i = 0; i < entries.Length; i++)
            if (!Defaults[i].IsMissing) entries[i] = new(ReaderNames[i], Defaults[i]);
        foreach (var (node, ri) in WriterFields)
        {
            if (ri < 0) node.Skip(ref r, depth + 1);
            else entries[ri] = new(ReaderNames[ri], node.Read(ref r, depth + 1));
        }
        return Value.FromMap(entries);
    }

    public override void Skip(ref AvroBinaryReader r, int depth)
    {
        CheckDepth(ref r, depth);
        foreach (var (node, _) in WriterFields) node.Skip(ref r, depth + 1);
    }
}

/// <summary>What a record-into node does with one writer field.</summary>
internal readonly record struct FieldAction(AvroNode Node, int Slot, AvroIntoNode? Into);

/// <summary>A record whose declared fields go straight into record slots (paths <c>prefix.field</c>).</summary>
internal sealed class RecordIntoNode : AvroIntoNode
{
    public FieldAction[] Actions { get; set; } = [];

    /// <summary>Slots filled from reader defaults (fields the writer does not have).</summary>
    public (int Slot, Value Value)[] Constants { get; set; } = [];

    public override void ReadInto(ref AvroBinaryReader r, Value[] slots, int depth)
    {
        if (depth > AvroNode.MaxDepth) throw AvroBinaryReader.Error(r.Position, $"data nested deeper than {AvroNode.MaxDepth} levels");
        var actions = Actions;
        for (var i = 0; i < actions.Length; i++)
        {
            ref readonly var a = ref actions[i];
            if (a.Into is { } into)
            {
                if (a.Slot >= 0)
                {
                    var start = r.Position;
                    into.ReadInto(ref r, slots, depth + 1);
                    r.Position = start;
                    slots[a.Slot] = a.Node.Read(ref r, depth + 1);
                }
                else into.ReadInto(ref r, slots, depth + 1);
            }
            else if (a.Slot >= 0) slots[a.Slot] = a.Node.Read(ref r, depth + 1);
            else a.Node.Skip(ref r, depth + 1);
        }
        foreach (var (slot, value) in Constants) slots[slot] = value;
    }
}

/// <summary>A union around records whose fields are declared: the record branch fills slots, null sets them Null.</summary>
internal sealed class UnionIntoNode : AvroIntoNode
{
    /// <summary>Per writer branch: the into-node, or null when the branch is not a record (its fields are then Null / Missing).</summary>
    public AvroIntoNode?[] Into { get; set; } = [];

    /// <summary>Per writer branch: the node to skip it with when it is not a record.</summary>
    public AvroNode[] Skippers { get; set; } = [];

    public bool[] IsNull { get; set; } = [];

    public override void ReadInto(ref AvroBinaryReader r, Value[] slots, int depth)
    {
        if (depth > AvroNode.MaxDepth) throw AvroBinaryReader.Error(r.Position, $"data nested deeper than {AvroNode.MaxDepth} levels");
        var at = r.Position;
        var i = r.ReadLong();
        if ((ulong)i >= (ulong)Into.Length)
            throw AvroBinaryReader.Error(at, $"union branch index {i} out of range (the union has {Into.Length} branches)");
        if (Into[i] is { } into)
        {
            into.ReadInto(ref r, slots, depth + 1);
            return;
        }
        Skippers[i].Skip(ref r, depth + 1);
        FillAll(slots, IsNull[i] ? Value.Null : Value.Missing);
    }
}

/// <summary>Fails when reached: a writer union branch (around declared record fields) with no counterpart in the reader schema.</summary>
internal sealed class ErrorIntoNode(string problem) : AvroIntoNode
{
    public override void ReadInto(ref AvroBinaryReader r, Value[] slots, int depth) => throw AvroBinaryReader.Error(r.Position, problem);
}

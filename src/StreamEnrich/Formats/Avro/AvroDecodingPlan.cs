using StreamEnrich.Records;

namespace StreamEnrich.Formats.Avro;

/// <summary>
/// A writer schema (plus optional reader schema) compiled against a frozen <see cref="RecordLayout"/>: decodes a
/// datum straight into record slots. Every declared field path (dotted for nested records, <c>a.b.c</c>) is
/// written to its slot; everything else is skipped without allocating. Built once per schema id, immutable,
/// thread-safe.
/// <para>
/// Values: null → Null; boolean → Bool; int/long → Int; float/double → Float; string → UTF-8 slice of the
/// buffer; bytes/fixed → Bytes slice; enum → String symbol; array → Array; map → Map; union → the branch's
/// value; a nested record declared as one slot → Map of its fields. Logical types: see <see cref="AvroLogical"/>.
/// Fields below a non-record value (array, map, string...) are not addressable and stay Missing. Top-level
/// Avro fields whose names start with <c>_</c> are not written (those paths are Kafka metadata).
/// </para>
/// </summary>
internal sealed class AvroDecodingPlan
{
    private readonly AvroIntoNode? _into;
    private readonly AvroNode _value;
    private readonly int _slot;

    private AvroDecodingPlan(AvroSchema writer, AvroSchema reader, AvroIntoNode? into, AvroNode value, int slot)
    {
        Writer = writer;
        Reader = reader;
        _into = into;
        _value = value;
        _slot = slot;
    }

    public AvroSchema Writer { get; }

    public AvroSchema Reader { get; }

    /// <summary>
    /// Compiles the plan. <paramref name="reader"/> null means the writer schema is also the reader schema.
    /// Throws <see cref="AvroSchemaException"/> when the schemas cannot be resolved or the top level is not a record.
    /// </summary>
    public static AvroDecodingPlan Compile(AvroSchema writer, AvroSchema? reader, RecordLayout layout)
    {
        if (!layout.IsFrozen) throw new InvalidOperationException("The record layout must be frozen before Avro plans are compiled.");
        reader ??= writer;
        var top = reader is UnionSchema u ? u.Branches.FirstOrDefault(b => b is RecordSchema) : reader;
        if (top is not RecordSchema)
            throw new AvroSchemaException($"The Avro schema's top level is {AvroSchemaParser.Describe(reader)}; only a record can be decoded into fields.") { JsonPath = "$" };
        var compiler = new AvroPlanCompiler(layout);
        var root = compiler.Into(writer, reader, "")
            ?? throw new AvroSchemaException("The writer schema's top level is not a record.") { JsonPath = "$" };
        return new AvroDecodingPlan(writer, reader, root, compiler.Value(writer, writer, "$"), -1);
    }

    /// <summary>
    /// Compiles a plan that puts the datum under the field path <paramref name="prefix"/> (e.g. message keys under
    /// <c>key</c>): the whole value into slot <c>prefix</c> when declared, and record fields into <c>prefix.field</c>.
    /// Any schema is accepted at the top level.
    /// </summary>
    public static AvroDecodingPlan CompileAt(AvroSchema writer, AvroSchema? reader, RecordLayout layout, string prefix)
    {
        if (!layout.IsFrozen) throw new InvalidOperationException("The record layout must be frozen before Avro plans are compiled.");
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        reader ??= writer;
        var compiler = new AvroPlanCompiler(layout);
        var slot = layout.TryGetSlot(prefix, out var s) ? s : -1;
        var into = layout.IsPrefix(prefix) ? compiler.Into(writer, reader, prefix) : null;
        var value = slot >= 0 ? compiler.Value(writer, reader, prefix) : compiler.Value(writer, writer, prefix);
        return new AvroDecodingPlan(writer, reader, into, value, slot);
    }

    /// <summary>
    /// Decodes one datum from <paramref name="buffer"/>[<paramref name="offset"/>..<paramref name="end"/>) into
    /// <paramref name="slots"/>; returns the position after the datum. Throws <see cref="AvroException"/> on bad data.
    /// </summary>
    public int Decode(byte[] buffer, int offset, int end, Value[] slots)
    {
        var r = new AvroBinaryReader(buffer, offset, end);
        try
        {
            if (_into is { } into)
            {
                var start = r.Position;
                into.ReadInto(ref r, slots, 0);
                if (_slot >= 0)
                {
                    r.Position = start;
                    slots[_slot] = _value.Read(ref r, 0);
                }
            }
            else if (_slot >= 0) slots[_slot] = _value.Read(ref r, 0);
            else _value.Skip(ref r, 0);
        }
        catch (Exception e) when (e is not AvroException)
        {
            // Defence in depth: no other exception type escapes a decode, whatever the input.
            throw new AvroException($"Invalid Avro data near byte {r.Position}: {e.Message}", e) { Offset = r.Position };
        }
        return r.Position;
    }
}

/// <summary>Reads whole datums as <see cref="Value"/>s (records as Maps); used by tests, dry-run output and tools.</summary>
internal sealed class AvroValueReader
{
    private readonly AvroNode _root;

    private AvroValueReader(AvroNode root) => _root = root;

    public static AvroValueReader Compile(AvroSchema writer, AvroSchema? reader = null) =>
        new(new AvroPlanCompiler(null).Value(writer, reader ?? writer, "$"));

    /// <summary>Reads one datum at <paramref name="position"/> and advances it.</summary>
    public Value Read(byte[] buffer, ref int position, int end)
    {
        var r = new AvroBinaryReader(buffer, position, end);
        try
        {
            var v = _root.Read(ref r, 0);
            position = r.Position;
            return v;
        }
        catch (Exception e) when (e is not AvroException)
        {
            throw new AvroException($"Invalid Avro data near byte {r.Position}: {e.Message}", e) { Offset = r.Position };
        }
    }

    /// <summary>Reads exactly one datum filling the whole buffer; trailing bytes are an error.</summary>
    public Value ReadAll(byte[] buffer)
    {
        var pos = 0;
        var v = Read(buffer, ref pos, buffer.Length);
        if (pos != buffer.Length)
            throw new AvroException($"Invalid Avro data at byte {pos}: {buffer.Length - pos} trailing byte(s) after the datum.") { Offset = pos };
        return v;
    }
}

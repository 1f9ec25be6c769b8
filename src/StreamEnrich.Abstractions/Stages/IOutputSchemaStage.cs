namespace StreamEnrich.Stages;

/// <summary>
/// Optional for a stage: says how the stage changes the pipeline's output fields, so <c>streamenrich schema</c> can
/// write a CREATE TABLE whose columns follow the pipeline. The generator starts from the input schema (Avro or JSON
/// Schema) and calls <see cref="Apply"/> on every stage in order. A stage that does not implement this interface makes
/// the generator say so in the DDL (columns after it may be incomplete).
/// </summary>
public interface IOutputSchemaStage
{
    /// <summary>Changes <paramref name="schema"/> the way the stage changes records: adds, retypes, moves or removes fields.</summary>
    void Apply(OutputSchema schema);
}

/// <summary>
/// One output field: its path (<c>user.id</c>), its ClickHouse type without the <c>Nullable(...)</c> wrapper
/// (<c>Int64</c>, <c>DateTime64(3, 'UTC')</c>, <c>Array(String)</c>), and whether it may be null or missing.
/// </summary>
public sealed record OutputField(string Path, string Type, bool Nullable);

/// <summary>
/// The fields a pipeline outputs, in order, with their ClickHouse types: what <see cref="IOutputSchemaStage"/> stages
/// change. Paths are matched exactly, as stages match slots (renaming <c>user</c> does not move <c>user.id</c>).
/// Kafka metadata fields (<c>_offset</c>...) are not listed but <see cref="Find"/> knows their types.
/// </summary>
public sealed class OutputSchema
{
    private readonly List<OutputField> _fields = [];
    private readonly List<string> _notes = [];

    /// <summary>The fields in output order.</summary>
    public IReadOnlyList<OutputField> Fields => _fields;

    /// <summary>Remarks for the reader of the generated DDL (written as <c>--</c> comments).</summary>
    public IReadOnlyList<string> Notes => _notes;

    /// <summary>The field at <paramref name="path"/>, or the Kafka metadata field of that name, or null.</summary>
    public OutputField? Find(string path)
    {
        var i = IndexOf(path);
        return i >= 0 ? _fields[i] : Metadata(path);
    }

    /// <summary>Sets the type of <paramref name="path"/>, keeping its position, or appends it when new.</summary>
    public void Set(string path, string type, bool nullable)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentException.ThrowIfNullOrEmpty(type);
        var field = new OutputField(path, type, nullable);
        var i = IndexOf(path);
        if (i >= 0) _fields[i] = field;
        else _fields.Add(field);
    }

    /// <summary>Removes <paramref name="path"/>; false when it was not there.</summary>
    public bool Remove(string path)
    {
        var i = IndexOf(path);
        if (i < 0) return false;
        _fields.RemoveAt(i);
        return true;
    }

    /// <summary>
    /// Moves <paramref name="from"/> to <paramref name="to"/> at <paramref name="from"/>'s position, replacing a field
    /// already at <paramref name="to"/>. A Kafka metadata source becomes a field of its type. False when
    /// <paramref name="from"/> is unknown.
    /// </summary>
    public bool Rename(string from, string to)
    {
        ArgumentException.ThrowIfNullOrEmpty(to);
        var i = IndexOf(from);
        if (i < 0)
        {
            if (Metadata(from) is not { } meta) return false;
            Set(to, meta.Type, meta.Nullable);
            return true;
        }
        var moved = _fields[i] with { Path = to };
        var existing = IndexOf(to);
        _fields[i] = moved;
        if (existing >= 0) _fields.RemoveAt(existing);
        return true;
    }

    /// <summary>Removes every field not in <paramref name="paths"/> (metadata fields are never listed, so never removed).</summary>
    public void RemoveAllExcept(IEnumerable<string> paths)
    {
        var keep = new HashSet<string>(paths, StringComparer.Ordinal);
        _fields.RemoveAll(f => !keep.Contains(f.Path));
    }

    /// <summary>Adds a remark for the reader of the DDL (e.g. an assumption the stage had to make).</summary>
    public void Note(string text) => _notes.Add(text);

    /// <summary>
    /// The type of a Kafka metadata field: <c>_topic</c> LowCardinality(String), <c>_partition</c> UInt32, <c>_offset</c>
    /// UInt64, <c>_timestamp</c> DateTime64(3, 'UTC') (Kafka timestamps are milliseconds), <c>_key</c> and
    /// <c>_headers.*</c> String. Null for other paths.
    /// </summary>
    public static OutputField? Metadata(string path) => path switch
    {
        "_topic" => new(path, "LowCardinality(String)", false),
        "_partition" => new(path, "UInt32", false),
        "_offset" => new(path, "UInt64", false),
        "_timestamp" => new(path, "DateTime64(3, 'UTC')", false),
        "_key" => new(path, "String", false),
        _ when path.StartsWith("_headers.", StringComparison.Ordinal) && path.Length > 9 => new(path, "String", false),
        _ => null,
    };

    private int IndexOf(string path)
    {
        for (var i = 0; i < _fields.Count; i++)
            if (string.Equals(_fields[i].Path, path, StringComparison.Ordinal)) return i;
        return -1;
    }
}

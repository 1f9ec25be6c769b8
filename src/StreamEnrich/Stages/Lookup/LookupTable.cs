using System.Globalization;
using System.Text;
using System.Text.Json;
using StreamEnrich.Records;
using StreamEnrich.Stages.Cast;

namespace StreamEnrich.Stages.Lookup;

/// <summary>
/// An immutable keyed table loaded from a file. Each distinct value is stored once (strings as UTF-8, so the sink
/// copies them without transcoding), and a row is the ids of its values, one per configured column, stored flat
/// (row r is <c>cells[r * columns .. (r + 1) * columns]</c>): 4 bytes a cell instead of a whole value, so a large table
/// stays in the CPU caches. Keys are matched as text; keys that are canonical integers (<c>42</c>, not <c>042</c>) are
/// also indexed as numbers, directly by key when the keys are dense (ids 1..N), else in an open-addressing table, so
/// an integer field finds its row with one or two memory reads and no allocation.
/// </summary>
internal sealed class LookupTable
{
    private readonly Dictionary<string, int> _byString;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _byChars;
    private readonly IntIndex _byLong;
    private readonly int[] _cells;
    private readonly Value[] _distinct;
    private readonly int _columns;

    private LookupTable(Dictionary<string, int> byString, IntIndex byLong, int[] cells, Value[] distinct, int columns)
    {
        _byString = byString;
        _byChars = byString.GetAlternateLookup<ReadOnlySpan<char>>();
        _byLong = byLong;
        _cells = cells;
        _distinct = distinct;
        _columns = columns;
    }

    public int Count => _byString.Count;

    /// <summary>The value of configured column <paramref name="column"/> in row <paramref name="row"/> (from <see cref="Find"/>).</summary>
    public Value Cell(int row, int column) => _distinct[_cells[row * _columns + column]];

    /// <summary>The row index for <paramref name="key"/>, or -1.</summary>
    public int Find(in Value key)
    {
        switch (key.Kind)
        {
            case ValueKind.Int:
                return _byLong.Find(key.AsInt);
            case ValueKind.String:
                if (!key.IsUtf8) return _byString.GetValueOrDefault(key.AsString, -1);
                var bytes = key.RawBytes;
                if (bytes.Length > StageValues.StackLimit) return _byString.GetValueOrDefault(key.AsString, -1);
                Span<char> chars = stackalloc char[StageValues.StackLimit];
                var n = Encoding.UTF8.GetChars(bytes, chars);
                return _byChars.TryGetValue(chars[..n], out var row) ? row : -1;
            case ValueKind.Float when Math.Floor(key.AsFloat) == key.AsFloat && Math.Abs(key.AsFloat) < 9e18:
                return _byLong.Find((long)key.AsFloat);
            case ValueKind.Null or ValueKind.Missing:
                return -1;
            default:
                return _byString.GetValueOrDefault(key.Kind == ValueKind.Bool ? (key.AsBool ? "true" : "false") : key.ToString(), -1);
        }
    }

    /// <summary>
    /// Integer key → row. Dense keys (at most four slots per key between the smallest and the largest, as with ids
    /// 1..N) index an array of row + 1 directly: 4 bytes a slot, one read. Other keys use linear probing over one array
    /// of (key, row + 1) pairs at most half full.
    /// </summary>
    private sealed class IntIndex
    {
        private readonly (long Key, int RowPlusOne)[] _slots = [];
        private readonly int _mask;
        private readonly int[]? _direct;
        private readonly long _min;

        public IntIndex(List<(long Key, int Row)> keys)
        {
            if (keys.Count > 0)
            {
                long min = long.MaxValue, max = long.MinValue;
                foreach (var (key, _) in keys)
                {
                    min = Math.Min(min, key);
                    max = Math.Max(max, key);
                }
                var range = (UInt128)(Int128)max - (UInt128)(Int128)min + 1;
                if (range <= (UInt128)Math.Max(64, keys.Count * 4L))
                {
                    _min = min;
                    _direct = new int[(int)range];
                    foreach (var (key, row) in keys) _direct[key - min] = row + 1;
                    return;
                }
            }
            var capacity = 16;
            while (capacity < keys.Count * 2) capacity <<= 1;
            _slots = new (long, int)[capacity];
            _mask = capacity - 1;
            foreach (var (key, row) in keys)
            {
                var i = Slot(key);
                while (_slots[i].RowPlusOne != 0) i = (i + 1) & _mask;
                _slots[i] = (key, row + 1);
            }
        }

        private int Slot(long key) => (int)((ulong)(key * -7046029254386353131L) >> 40) & _mask;

        public int Find(long key)
        {
            if (_direct is { } direct)
            {
                var offset = (ulong)(key - _min); // wraps for keys below the minimum, so one comparison covers both ends
                return offset < (ulong)direct.Length ? direct[offset] - 1 : -1;
            }
            if (_slots.Length == 0) return -1;
            var i = Slot(key);
            while (true)
            {
                ref readonly var s = ref _slots[i];
                if (s.RowPlusOne == 0) return -1;
                if (s.Key == key) return s.RowPlusOne - 1;
                i = (i + 1) & _mask;
            }
        }
    }

    /// <summary>Loads <paramref name="path"/>; <paramref name="columns"/> are the file columns copied into each row, their
    /// values converted to <paramref name="types"/> (per column; null or absent: as read).</summary>
    /// <exception cref="LookupLoadException">The file cannot be read or is malformed, or a value does not convert (message has file:line).</exception>
    public static LookupTable Load(string path, LookupFileFormat format, string keyColumn, IReadOnlyList<string> columns, IReadOnlyList<CastTarget?>? types = null)
    {
        types ??= new CastTarget?[columns.Count];
        string text;
        try
        {
            text = File.ReadAllText(path, Encoding.UTF8);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LookupLoadException(path, 0, $"cannot read the lookup file: {e.Message}");
        }
        var builder = new Builder(path, columns, types);
        if (format == LookupFileFormat.Csv) LoadCsv(path, text, keyColumn, columns, builder);
        else LoadJsonLines(path, text, keyColumn, columns, builder);
        return new LookupTable(builder.ByString, new IntIndex(builder.ByLong), [.. builder.Cells], [.. builder.Distinct], columns.Count);
    }

    private static void LoadCsv(string path, string text, string keyColumn, IReadOnlyList<string> columns, Builder builder)
    {
        try
        {
            string[]? header = null;
            var keyIndex = -1;
            var indexes = new int[columns.Count];
            var csv = new CsvParser(text);
            while (csv.Read())
            {
                if (header is null)
                {
                    header = csv.Fields();
                    keyIndex = Array.IndexOf(header, keyColumn);
                    if (keyIndex < 0) throw new LookupLoadException(path, csv.Line, $"key column '{keyColumn}' is not in the header (columns: {string.Join(", ", header)})");
                    for (var c = 0; c < columns.Count; c++)
                    {
                        indexes[c] = Array.IndexOf(header, columns[c]);
                        if (indexes[c] < 0) throw new LookupLoadException(path, csv.Line, $"column '{columns[c]}' is not in the header (columns: {string.Join(", ", header)})");
                    }
                    continue;
                }
                if (csv.FieldCount != header.Length)
                    throw new LookupLoadException(path, csv.Line, $"expected {header.Length} fields as in the header, found {csv.FieldCount}");
                builder.Add(csv.Field(keyIndex), csv.Line);
                for (var c = 0; c < columns.Count; c++) builder.AddCsvCell(c, csv.Field(indexes[c]), csv.Line);
            }
            if (header is null) throw new LookupLoadException(path, 0, "the file is empty; a CSV lookup file needs a header row");
        }
        catch (FormatException e)
        {
            throw new LookupLoadException(path, e.Data["line"] is int l ? l : 0, e.Message);
        }
    }

    private static void LoadJsonLines(string path, string text, string keyColumn, IReadOnlyList<string> columns, Builder builder)
    {
        var lineNo = 0;
        foreach (var rawLine in text.Split('\n'))
        {
            lineNo++;
            var line = rawLine.TrimEnd('\r');
            if (lineNo == 1 && line.Length > 0 && line[0] == '\uFEFF') line = line[1..];
            if (string.IsNullOrWhiteSpace(line)) continue;
            JsonDocument doc;
            try
            {
                doc = JsonDocument.Parse(line);
            }
            catch (JsonException e)
            {
                throw new LookupLoadException(path, lineNo, $"invalid JSON: {e.Message}");
            }
            using (doc)
            {
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object) throw new LookupLoadException(path, lineNo, $"expected a JSON object, found {root.ValueKind}");
                if (!root.TryGetProperty(keyColumn, out var keyElement))
                    throw new LookupLoadException(path, lineNo, $"the object has no key column '{keyColumn}'");
                var key = keyElement.ValueKind switch
                {
                    JsonValueKind.String => keyElement.GetString()!,
                    JsonValueKind.Number => keyElement.GetRawText(),
                    JsonValueKind.True => "true",
                    JsonValueKind.False => "false",
                    _ => throw new LookupLoadException(path, lineNo, $"key column '{keyColumn}' is {keyElement.ValueKind}; expected a string or number"),
                };
                builder.Add(key, lineNo);
                for (var c = 0; c < columns.Count; c++)
                    builder.AddCell(c, root.TryGetProperty(columns[c], out var el) ? JsonValue(el) : Value.Null, lineNo);
            }
        }
    }

    private static Value JsonValue(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => Value.FromString(e.GetString()!),
        JsonValueKind.Number => e.TryGetInt64(out var l) ? Value.FromInt(l) : Value.FromFloat(e.GetDouble()),
        JsonValueKind.True => Value.True,
        JsonValueKind.False => Value.False,
        JsonValueKind.Null => Value.Null,
        _ => Value.FromString(e.GetRawText()), // objects and arrays as their JSON text
    };

    /// <summary>Value equality that also tells 0.0 from -0.0 (a distinct value must come back exactly as loaded). Texts never get here (<see cref="Builder.AddText"/>).</summary>
    private sealed class SameValue : IEqualityComparer<Value>
    {
        public static readonly SameValue Instance = new();

        public bool Equals(Value a, Value b) => a.Kind == ValueKind.Float
            ? b.Kind == ValueKind.Float && BitConverter.DoubleToInt64Bits(a.AsFloat) == BitConverter.DoubleToInt64Bits(b.AsFloat)
            : a.Equals(b);

        public int GetHashCode(Value v) => v.GetHashCode();
    }

    private sealed class Builder
    {
        private readonly string _path;
        private readonly IReadOnlyList<string> _columns;
        private readonly IReadOnlyList<CastTarget?> _types;
        private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _rowsByKey;
        private readonly Dictionary<Value, int> _ids = new(SameValue.Instance);
        private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _textIds;
        /// <summary>The line each row came from (to name both lines of a duplicate key).</summary>
        private readonly List<int> _lines = [];

        public Builder(string path, IReadOnlyList<string> columns, IReadOnlyList<CastTarget?> types)
        {
            _path = path;
            _columns = columns;
            _types = types;
            _rowsByKey = ByString.GetAlternateLookup<ReadOnlySpan<char>>();
            _textIds = new Dictionary<string, int>(StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();
        }

        public Dictionary<string, int> ByString { get; } = new(StringComparer.Ordinal);
        public List<(long Key, int Row)> ByLong { get; } = [];
        /// <summary>Row-major value ids into <see cref="Distinct"/>.</summary>
        public List<int> Cells { get; } = [];
        public List<Value> Distinct { get; } = [];

        /// <summary>Starts row <c>ByString.Count</c> under <paramref name="key"/>; its values follow with <see cref="AddValue"/>.</summary>
        public void Add(ReadOnlySpan<char> key, int line)
        {
            if (key.IsEmpty) throw new LookupLoadException(_path, line, "empty key");
            var row = ByString.Count;
            if (!_rowsByKey.TryAdd(key, row))
                throw new LookupLoadException(_path, line, $"duplicate key '{key}' (first at line {_lines[_rowsByKey[key]]})");
            _lines.Add(line);
            if (IsCanonicalInteger(key, out var l)) ByLong.Add((l, row));
        }

        /// <summary>An integer written as the invariant culture writes it (<c>42</c>, <c>-7</c>; not <c>042</c>, <c>+7</c> or <c>-0</c>).</summary>
        private static bool IsCanonicalInteger(ReadOnlySpan<char> s, out long value)
        {
            Span<char> canonical = stackalloc char[20];
            return long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value)
                && value.TryFormat(canonical, out var n, default, CultureInfo.InvariantCulture)
                && canonical[..n].SequenceEqual(s);
        }

        /// <summary>The next cell of the current row, column <paramref name="column"/>, from CSV: text, or its column's
        /// type (an empty cell is then null).</summary>
        public void AddCsvCell(int column, ReadOnlySpan<char> cell, int line)
        {
            if (_types[column] is null) AddText(cell);
            else AddCell(column, cell.IsEmpty ? Value.Null : Value.FromString(cell.ToString()), line);
        }

        /// <summary>The next cell of the current row, column <paramref name="column"/>, converted to its column's type.</summary>
        public void AddCell(int column, Value v, int line)
        {
            if (_types[column] is { } type && !v.IsNullOrMissing)
            {
                if (!CastStage.TryConvert(v, type, out var converted, out var why))
                    throw new LookupLoadException(_path, line, $"column '{_columns[column]}': cannot convert {StageValues.Describe(v)} to {type}{why} (see `types`)");
                v = converted;
            }
            if (v.Kind == ValueKind.String) AddText(v.AsString);
            else AddValue(v);
        }

        /// <summary>The next cell of the current row: a number, boolean or null.</summary>
        private void AddValue(Value v)
        {
            if (!_ids.TryGetValue(v, out var id))
            {
                id = NewDistinct(v);
                _ids.Add(v, id);
            }
            Cells.Add(id);
        }

        /// <summary>The next cell of the current row: a text, stored once as UTF-8 however often it repeats (lookup columns
        /// repeat a few values a lot); only a text not seen before is copied.</summary>
        private void AddText(ReadOnlySpan<char> s)
        {
            if (!_textIds.TryGetValue(s, out var id))
            {
                var utf8 = new byte[Encoding.UTF8.GetByteCount(s)];
                Encoding.UTF8.GetBytes(s, utf8);
                id = NewDistinct(Value.FromUtf8(utf8));
                _textIds[s] = id;
            }
            Cells.Add(id);
        }

        private int NewDistinct(Value v)
        {
            Distinct.Add(v);
            return Distinct.Count - 1;
        }
    }
}

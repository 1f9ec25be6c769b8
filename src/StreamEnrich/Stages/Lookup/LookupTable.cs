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
/// stays in the CPU caches. Keys that are canonical integers (<c>42</c>, not <c>042</c>) are indexed as numbers only,
/// directly by key when the keys are dense (ids 1..N), else in an open-addressing table, so an integer field finds its
/// row with one or two memory reads and no allocation; a text that is a canonical integer is looked up there too, so
/// <c>"42"</c> and <c>42</c> are the same key. Other keys are matched as text (their UTF-8 bytes, so a UTF-8 record value
/// needs no string). A table keyed by ids (the usual case) then keeps no text index at all: it loads about twice as fast.
/// </summary>
internal sealed class LookupTable
{
    private readonly Utf8KeyIndex _byText;
    private readonly IntIndex _byLong;
    private readonly int[] _cells;
    private readonly Value[] _distinct;
    private readonly int _columns;

    private LookupTable(Utf8KeyIndex byText, IntIndex byLong, int[] cells, Value[] distinct, int columns, int count)
    {
        _byText = byText;
        _byLong = byLong;
        _cells = cells;
        _distinct = distinct;
        _columns = columns;
        Count = count;
    }

    /// <summary>The number of rows (keys).</summary>
    public int Count { get; }

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
                return key.IsUtf8 ? FindText(key.RawBytes) : FindText(key.AsString.AsSpan());
            case ValueKind.Float when Math.Floor(key.AsFloat) == key.AsFloat && Math.Abs(key.AsFloat) < 9e18:
                return _byLong.Find((long)key.AsFloat);
            case ValueKind.Null or ValueKind.Missing:
                return -1;
            case ValueKind.Bool:
                return _byText.Find(key.AsBool ? "true"u8 : "false"u8);
            default:
                return FindText(key.ToString().AsSpan());
        }
    }

    /// <summary>The row of a text key: a canonical integer is a number key (see the class).</summary>
    private int FindText(ReadOnlySpan<byte> utf8) =>
        TryParseCanonicalInteger(utf8, out var number) ? _byLong.Find(number) : _byText.Find(utf8);

    private int FindText(ReadOnlySpan<char> text)
    {
        Span<byte> buffer = stackalloc byte[256];
        return FindText(Utf8KeyIndex.ToUtf8(text, buffer));
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

        /// <summary>Indexes <c>keys[i] → rows[i]</c> for the first <paramref name="count"/> entries.</summary>
        /// <exception cref="DuplicateKeyException">A key is there twice (the first two rows that hold it).</exception>
        public IntIndex(long[] keys, int[] rows, int count)
        {
            if (count > 0)
            {
                long min = long.MaxValue, max = long.MinValue;
                for (var k = 0; k < count; k++)
                {
                    min = Math.Min(min, keys[k]);
                    max = Math.Max(max, keys[k]);
                }
                // max - min as unsigned cannot overflow; the range is small enough when it is below the limit
                var span = (ulong)max - (ulong)min;
                if (span < (ulong)Math.Max(64, count * 4L))
                {
                    _min = min;
                    _direct = new int[(int)span + 1];
                    for (var k = 0; k < count; k++)
                    {
                        ref var cell = ref _direct[keys[k] - min];
                        if (cell != 0) throw new DuplicateKeyException(keys[k], cell - 1, rows[k]);
                        cell = rows[k] + 1;
                    }
                    return;
                }
            }
            var capacity = 16;
            while (capacity < count * 2) capacity <<= 1;
            _slots = new (long, int)[capacity];
            _mask = capacity - 1;
            for (var k = 0; k < count; k++)
            {
                var i = Slot(keys[k]);
                while (_slots[i].RowPlusOne != 0)
                {
                    if (_slots[i].Key == keys[k]) throw new DuplicateKeyException(keys[k], _slots[i].RowPlusOne - 1, rows[k]);
                    i = (i + 1) & _mask;
                }
                _slots[i] = (keys[k], rows[k] + 1);
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

    /// <summary>An integer key found twice while indexing: the rows of its first and its second occurrence.</summary>
    private sealed class DuplicateKeyException(long key, int firstRow, int secondRow) : Exception($"duplicate key {key}")
    {
        public long Key { get; } = key;
        public int FirstRow { get; } = firstRow;
        public int SecondRow { get; } = secondRow;
    }

    /// <summary>
    /// An integer written as the invariant culture writes it (<c>42</c>, <c>-7</c>; not <c>042</c>, <c>+7</c>, <c>-0</c>
    /// or one outside the range of a long), so that the text key and the number key are the same key.
    /// </summary>
    internal static bool TryParseCanonicalInteger(ReadOnlySpan<byte> s, out long value)
    {
        value = 0;
        var negative = s.Length > 0 && s[0] == (byte)'-';
        var i = negative ? 1 : 0;
        var digits = s.Length - i;
        if (digits == 0 || digits > 19) return false;
        if (s[i] == (byte)'0') return digits == 1 && !negative;
        ulong magnitude = 0;
        for (; i < s.Length; i++)
        {
            var d = (uint)(s[i] - '0');
            if (d > 9) return false;
            magnitude = magnitude * 10 + d; // 19 digits stay below 2^64
        }
        if (magnitude > (negative ? 1UL << 63 : long.MaxValue)) return false;
        value = negative ? unchecked((long)(0UL - magnitude)) : (long)magnitude;
        return true;
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
        return builder.Build();
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

    /// <summary>
    /// Collects the rows of a file. Keys and texts are interned as UTF-8 in <see cref="Utf8KeyIndex"/>es and everything
    /// else goes into plain arrays that double as they fill: loading allocates a few arrays, not objects per row.
    /// </summary>
    private sealed class Builder
    {
        private readonly string _path;
        private readonly IReadOnlyList<string> _columns;
        private readonly IReadOnlyList<CastTarget?> _types;
        /// <summary>Keys that are not canonical integers (those are in <see cref="_intKeys"/>).</summary>
        private readonly Utf8KeyIndex _keys = new(16);
        private int _rows;
        private readonly Utf8KeyIndex _texts = new(64);
        /// <summary>Distinct numbers, booleans and nulls (typed columns only); texts are in <see cref="_texts"/>.</summary>
        private readonly Dictionary<Value, int> _ids = new(SameValue.Instance);
        /// <summary>The line each row came from (to name both lines of a duplicate key).</summary>
        private int[] _lines = new int[1024];
        private long[] _intKeys = new long[1024];
        private int[] _intRows = new int[1024];
        private int _intCount;
        /// <summary>Row-major value ids into the distinct values.</summary>
        private int[] _cells = new int[4096];
        private int _cellCount;
        /// <summary>Distinct values by id; for a text, <see cref="_distinctText"/> holds its entry in <see cref="_texts"/>
        /// (the value is made at the end, as a slice of the final byte array), else -1.</summary>
        private Value[] _distinct = new Value[64];
        private int[] _distinctText = new int[64];
        private int _distinctCount;

        public Builder(string path, IReadOnlyList<string> columns, IReadOnlyList<CastTarget?> types)
        {
            _path = path;
            _columns = columns;
            _types = types;
        }

        /// <summary>Starts row <c>_rows</c> under <paramref name="key"/>; its cells follow. A key that is a canonical
        /// integer goes to the number index only (its duplicates are found when that is built, see <see cref="Build"/>).</summary>
        public void Add(ReadOnlySpan<char> key, int line)
        {
            if (key.IsEmpty) throw new LookupLoadException(_path, line, "empty key");
            Span<byte> buffer = stackalloc byte[256];
            var utf8 = Utf8KeyIndex.ToUtf8(key, buffer);
            var row = _rows;
            if (TryParseCanonicalInteger(utf8, out var l))
            {
                if (_intCount == _intKeys.Length)
                {
                    Array.Resize(ref _intKeys, _intCount * 2);
                    Array.Resize(ref _intRows, _intCount * 2);
                }
                _intKeys[_intCount] = l;
                _intRows[_intCount++] = row;
            }
            else if (!_keys.TryAdd(utf8, row, out var first, out _))
                throw new LookupLoadException(_path, line, $"duplicate key '{key}' (first at line {_lines[first]})");
            if (row == _lines.Length) Array.Resize(ref _lines, row * 2);
            _lines[row] = line;
            _rows++;
        }

        /// <summary>The next cell of the current row, column <paramref name="column"/>, from CSV: text, or its column's
        /// type (an empty cell is then null).</summary>
        public void AddCsvCell(int column, ReadOnlySpan<char> cell, int line)
        {
            if (_types[column] is null)
            {
                Span<byte> buffer = stackalloc byte[256];
                AddText(Utf8KeyIndex.ToUtf8(cell, buffer));
            }
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
            if (v.Kind != ValueKind.String)
            {
                if (!_ids.TryGetValue(v, out var id))
                {
                    id = NewDistinct(v, -1);
                    _ids.Add(v, id);
                }
                AddCellId(id);
            }
            else if (v.IsUtf8) AddText(v.RawBytes);
            else
            {
                Span<byte> buffer = stackalloc byte[256];
                AddText(Utf8KeyIndex.ToUtf8(v.AsString, buffer));
            }
        }

        /// <summary>The next cell of the current row: a text, stored once however often it repeats (lookup columns repeat
        /// a few values a lot).</summary>
        private void AddText(ReadOnlySpan<byte> utf8)
        {
            if (_texts.TryAdd(utf8, _distinctCount, out var id, out var entry)) id = NewDistinct(default, entry);
            AddCellId(id);
        }

        private void AddCellId(int id)
        {
            if (_cellCount == _cells.Length) Array.Resize(ref _cells, _cellCount * 2);
            _cells[_cellCount++] = id;
        }

        private int NewDistinct(Value v, int textEntry)
        {
            if (_distinctCount == _distinct.Length)
            {
                Array.Resize(ref _distinct, _distinctCount * 2);
                Array.Resize(ref _distinctText, _distinctCount * 2);
            }
            _distinct[_distinctCount] = v;
            _distinctText[_distinctCount] = textEntry;
            return _distinctCount++;
        }

        public LookupTable Build()
        {
            var distinct = new Value[_distinctCount];
            var bytes = _texts.Bytes;
            for (var i = 0; i < distinct.Length; i++)
            {
                var e = _distinctText[i];
                distinct[i] = e < 0 ? _distinct[i] : Value.FromUtf8(bytes, _texts.KeyStart(e), _texts.KeyLength(e));
            }
            IntIndex numbers;
            try
            {
                numbers = new IntIndex(_intKeys, _intRows, _intCount);
            }
            catch (DuplicateKeyException d)
            {
                throw new LookupLoadException(_path, _lines[d.SecondRow], $"duplicate key '{d.Key.ToString(CultureInfo.InvariantCulture)}' (first at line {_lines[d.FirstRow]})");
            }
            return new LookupTable(_keys, numbers, _cells.AsSpan(0, _cellCount).ToArray(), distinct, _columns.Count, _rows);
        }
    }
}

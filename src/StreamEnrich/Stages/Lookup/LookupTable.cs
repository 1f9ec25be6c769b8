using System.Globalization;
using System.Text;
using System.Text.Json;
using StreamEnrich.Records;

namespace StreamEnrich.Stages.Lookup;

/// <summary>
/// An immutable keyed table loaded from a file. Rows are the values of the configured columns, in order.
/// Keys are matched as text; keys that are canonical integers (<c>42</c>, not <c>042</c>) are also indexed as
/// numbers so integer fields match without allocating.
/// </summary>
internal sealed class LookupTable
{
    private readonly Dictionary<string, Value[]> _byString;
    private readonly Dictionary<string, Value[]>.AlternateLookup<ReadOnlySpan<char>> _byChars;
    private readonly Dictionary<long, Value[]> _byLong;

    private LookupTable(Dictionary<string, Value[]> byString, Dictionary<long, Value[]> byLong)
    {
        _byString = byString;
        _byChars = byString.GetAlternateLookup<ReadOnlySpan<char>>();
        _byLong = byLong;
    }

    public int Count => _byString.Count;

    /// <summary>The row for <paramref name="key"/>, or null.</summary>
    public Value[]? Find(in Value key)
    {
        switch (key.Kind)
        {
            case ValueKind.Int:
                return _byLong.GetValueOrDefault(key.AsInt);
            case ValueKind.String:
                if (!key.IsUtf8) return _byString.GetValueOrDefault(key.AsString);
                var bytes = key.RawBytes;
                if (bytes.Length > StageValues.StackLimit) return _byString.GetValueOrDefault(key.AsString);
                Span<char> chars = stackalloc char[StageValues.StackLimit];
                var n = Encoding.UTF8.GetChars(bytes, chars);
                return _byChars.TryGetValue(chars[..n], out var row) ? row : null;
            case ValueKind.Float when Math.Floor(key.AsFloat) == key.AsFloat && Math.Abs(key.AsFloat) < 9e18:
                return _byLong.GetValueOrDefault((long)key.AsFloat);
            case ValueKind.Null or ValueKind.Missing:
                return null;
            default:
                return _byString.GetValueOrDefault(key.Kind == ValueKind.Bool ? (key.AsBool ? "true" : "false") : key.ToString());
        }
    }

    /// <summary>Loads <paramref name="path"/>; <paramref name="columns"/> are the file columns copied into each row.</summary>
    /// <exception cref="LookupLoadException">The file cannot be read or is malformed (message has file:line).</exception>
    public static LookupTable Load(string path, LookupFileFormat format, string keyColumn, IReadOnlyList<string> columns)
    {
        string text;
        try
        {
            text = File.ReadAllText(path, Encoding.UTF8);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LookupLoadException(path, 0, $"cannot read the lookup file: {e.Message}");
        }
        var builder = new Builder(path);
        if (format == LookupFileFormat.Csv) LoadCsv(path, text, keyColumn, columns, builder);
        else LoadJsonLines(path, text, keyColumn, columns, builder);
        return new LookupTable(builder.ByString, builder.ByLong);
    }

    private static void LoadCsv(string path, string text, string keyColumn, IReadOnlyList<string> columns, Builder builder)
    {
        try
        {
            string[]? header = null;
            var keyIndex = -1;
            var indexes = new int[columns.Count];
            foreach (var record in CsvParser.Parse(text))
            {
                if (header is null)
                {
                    header = record.Fields;
                    keyIndex = Array.IndexOf(header, keyColumn);
                    if (keyIndex < 0) throw new LookupLoadException(path, record.Line, $"key column '{keyColumn}' is not in the header (columns: {string.Join(", ", header)})");
                    for (var c = 0; c < columns.Count; c++)
                    {
                        indexes[c] = Array.IndexOf(header, columns[c]);
                        if (indexes[c] < 0) throw new LookupLoadException(path, record.Line, $"column '{columns[c]}' is not in the header (columns: {string.Join(", ", header)})");
                    }
                    continue;
                }
                if (record.Fields.Length != header.Length)
                    throw new LookupLoadException(path, record.Line, $"expected {header.Length} fields as in the header, found {record.Fields.Length}");
                var row = new Value[columns.Count];
                for (var c = 0; c < columns.Count; c++) row[c] = Value.FromString(record.Fields[indexes[c]]);
                builder.Add(record.Fields[keyIndex], row, record.Line);
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
                var row = new Value[columns.Count];
                for (var c = 0; c < columns.Count; c++)
                    row[c] = root.TryGetProperty(columns[c], out var el) ? FromJson(el) : Value.Null;
                builder.Add(key, row, lineNo);
            }
        }
    }

    private static Value FromJson(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => Value.FromString(e.GetString()!),
        JsonValueKind.Number => e.TryGetInt64(out var l) ? Value.FromInt(l) : Value.FromFloat(e.GetDouble()),
        JsonValueKind.True => Value.True,
        JsonValueKind.False => Value.False,
        JsonValueKind.Null => Value.Null,
        _ => Value.FromString(e.GetRawText()),
    };

    private sealed class Builder(string path)
    {
        public Dictionary<string, Value[]> ByString { get; } = new(StringComparer.Ordinal);
        public Dictionary<long, Value[]> ByLong { get; } = [];
        private readonly Dictionary<string, int> _lines = new(StringComparer.Ordinal);

        public void Add(string key, Value[] row, int line)
        {
            if (key.Length == 0) throw new LookupLoadException(path, line, "empty key");
            if (_lines.TryGetValue(key, out var first)) throw new LookupLoadException(path, line, $"duplicate key '{key}' (first at line {first})");
            _lines.Add(key, line);
            ByString.Add(key, row);
            if (long.TryParse(key, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)
                && l.ToString(CultureInfo.InvariantCulture) == key)
                ByLong[l] = row;
        }
    }
}

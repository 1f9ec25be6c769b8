namespace StreamEnrich.Stages.Lookup;

/// <summary>
/// RFC 4180 CSV: comma-separated fields, CRLF or LF line ends, fields in double quotes may hold commas, quotes
/// (doubled: <c>""</c>) and line breaks. Blank lines are skipped. A quote inside an unquoted field, text after a
/// closing quote and an unterminated quote are errors that name the line.
/// Reads one record at a time; its fields are slices of the text (a quoted field with doubled quotes is unescaped into
/// a buffer the reader reuses), so reading allocates nothing per record and the caller makes strings only of the
/// values it keeps. Fields are scanned with plain loops: lookup cells are short, and this code is precompiled, where the
/// vectorized searches would first run as unoptimized JIT code at start-up.
/// </summary>
internal sealed class CsvParser
{
    private readonly string _text;
    private int _pos;
    private int _line = 1;
    /// <summary>The current record's fields: where each starts and how long it is, in <see cref="_text"/> or, for an
    /// unescaped field, in <see cref="_scratch"/> (marked by a negative start: <c>~start</c>).</summary>
    private (int Start, int Length)[] _fields = new (int, int)[16];
    private char[] _scratch = new char[256];
    private int _scratchUsed;

    public CsvParser(string text)
    {
        _text = text;
        if (text.Length > 0 && text[0] == '\uFEFF') _pos = 1;
    }

    /// <summary>The 1-based line the current record starts on.</summary>
    public int Line { get; private set; }

    /// <summary>The current record's number of fields.</summary>
    public int FieldCount { get; private set; }

    /// <summary>Field <paramref name="index"/> of the current record; valid until the next <see cref="Read"/>.</summary>
    public ReadOnlySpan<char> Field(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)FieldCount, nameof(index));
        var (start, length) = _fields[index];
        return start >= 0 ? _text.AsSpan(start, length) : _scratch.AsSpan(~start, length);
    }

    /// <summary>The current record's fields as strings.</summary>
    public string[] Fields()
    {
        var fields = new string[FieldCount];
        for (var i = 0; i < fields.Length; i++) fields[i] = Field(i).ToString();
        return fields;
    }

    /// <summary>Moves to the next record; false at the end of the text.</summary>
    /// <exception cref="FormatException">Malformed input; <see cref="Exception.Data"/>["line"] holds the line.</exception>
    public bool Read()
    {
        var text = _text;
        var i = _pos;
        while (IsNewline(text, i, out var nl))
        {
            i += nl;
            _line++;
        }
        FieldCount = 0;
        if (i >= text.Length)
        {
            _pos = i;
            return false;
        }
        Line = _line;
        _scratchUsed = 0;
        while (true)
        {
            if (i < text.Length && text[i] == '"') i = ReadQuoted(text, i);
            else
            {
                var start = i;
                while (i < text.Length && text[i] is not (',' or '\n' or '\r' or '"')) i++;
                if (i < text.Length && text[i] == '"') throw Error(_line, "quote inside an unquoted field (quote the whole field and double the inner quotes: \"a \"\"b\"\"\")");
                AddField(start, i - start);
            }
            if (i < text.Length && text[i] == ',')
            {
                i++;
                continue;
            }
            if (IsNewline(text, i, out var nl))
            {
                i += nl;
                _line++;
            }
            break;
        }
        _pos = i;
        return true;
    }

    /// <summary>Reads the quoted field opening at <paramref name="i"/>; returns the index after its closing quote.</summary>
    private int ReadQuoted(string text, int i)
    {
        var quoteLine = _line;
        var start = ++i;
        var unescaped = -1; // where in _scratch the field is unescaped, once a doubled quote was seen
        while (true)
        {
            while (i < text.Length && text[i] is not ('"' or '\n')) i++;
            if (i == text.Length) throw Error(quoteLine, "unterminated quoted field (a field opened with \" is never closed)");
            if (text[i] == '\n')
            {
                _line++;
                i++;
                continue;
            }
            if (i + 1 < text.Length && text[i + 1] == '"')
            {
                // A doubled quote: the field is no longer a slice of the text; it goes on in the buffer, with one quote.
                if (unescaped < 0) unescaped = _scratchUsed;
                Append(text.AsSpan(start, i + 1 - start));
                i += 2;
                start = i;
                continue;
            }
            if (unescaped < 0) AddField(start, i - start);
            else
            {
                Append(text.AsSpan(start, i - start));
                AddField(~unescaped, _scratchUsed - unescaped);
            }
            i++;
            break;
        }
        if (i < text.Length && text[i] != ',' && !IsNewline(text, i, out _))
            throw Error(_line, $"unexpected '{text[i]}' after a closing quote (expected ',' or end of line)");
        return i;
    }

    private void Append(ReadOnlySpan<char> chars)
    {
        if (_scratchUsed + chars.Length > _scratch.Length)
            Array.Resize(ref _scratch, Math.Max(_scratch.Length * 2, _scratchUsed + chars.Length));
        chars.CopyTo(_scratch.AsSpan(_scratchUsed));
        _scratchUsed += chars.Length;
    }

    private void AddField(int start, int length)
    {
        if (FieldCount == _fields.Length) Array.Resize(ref _fields, _fields.Length * 2);
        _fields[FieldCount++] = (start, length);
    }

    private static bool IsNewline(string text, int i, out int length)
    {
        length = 0;
        if (i >= text.Length) return false;
        if (text[i] == '\n') length = 1;
        else if (text[i] == '\r') length = i + 1 < text.Length && text[i + 1] == '\n' ? 2 : 1;
        return length > 0;
    }

    private static FormatException Error(int line, string message)
    {
        var e = new FormatException(message);
        e.Data["line"] = line;
        return e;
    }
}

using System.Text;

namespace StreamEnrich.Stages.Lookup;

/// <summary>
/// RFC 4180 CSV: comma-separated fields, CRLF or LF line ends, fields in double quotes may hold commas, quotes
/// (doubled: <c>""</c>) and line breaks. Blank lines are skipped. A quote inside an unquoted field, text after a
/// closing quote and an unterminated quote are errors that name the line.
/// </summary>
internal static class CsvParser
{
    /// <summary>One record and the 1-based line it starts on.</summary>
    public readonly record struct CsvRecord(int Line, string[] Fields);

    /// <exception cref="FormatException">Malformed input; <see cref="Exception.Data"/>["line"] holds the line.</exception>
    public static IEnumerable<CsvRecord> Parse(string text)
    {
        var i = 0;
        var line = 1;
        var fields = new List<string>();
        var sb = new StringBuilder();
        if (text.Length > 0 && text[0] == '\uFEFF') i = 1;
        while (i < text.Length)
        {
            if (IsNewline(text, i, out var nl))
            {
                i += nl;
                line++;
                continue;
            }
            var recordLine = line;
            fields.Clear();
            while (true)
            {
                sb.Clear();
                if (i < text.Length && text[i] == '"')
                {
                    var quoteLine = line;
                    i++;
                    while (true)
                    {
                        if (i >= text.Length) throw Error(quoteLine, "unterminated quoted field (a field opened with \" is never closed)");
                        var c = text[i];
                        if (c == '"')
                        {
                            if (i + 1 < text.Length && text[i + 1] == '"')
                            {
                                sb.Append('"');
                                i += 2;
                                continue;
                            }
                            i++;
                            break;
                        }
                        if (c == '\n') line++;
                        sb.Append(c);
                        i++;
                    }
                    if (i < text.Length && text[i] != ',' && !IsNewline(text, i, out _))
                        throw Error(line, $"unexpected '{text[i]}' after a closing quote (expected ',' or end of line)");
                }
                else
                {
                    while (i < text.Length && text[i] != ',' && text[i] != '\n' && text[i] != '\r')
                    {
                        if (text[i] == '"') throw Error(line, "quote inside an unquoted field (quote the whole field and double the inner quotes: \"a \"\"b\"\"\")");
                        sb.Append(text[i]);
                        i++;
                    }
                }
                fields.Add(sb.ToString());
                if (i < text.Length && text[i] == ',')
                {
                    i++;
                    continue;
                }
                if (IsNewline(text, i, out nl))
                {
                    i += nl;
                    line++;
                }
                break;
            }
            yield return new(recordLine, [.. fields]);
        }
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

using System.Globalization;
using StreamEnrich.Configuration;
using StreamEnrich.Records;

namespace StreamEnrich.Sinks.ClickHouse;

/// <summary>How a column is filled when its field is absent from a record.</summary>
internal enum MissingFieldMode
{
    /// <summary>The type's default (0, '', [], 1970-01-01, NULL), as ClickHouse fills JSONEachRow's missing fields.</summary>
    TypeDefault,
    /// <summary>The column's constant <c>DEFAULT</c> literal, encoded once at planning time.</summary>
    ConstantDefault,
    /// <summary>A <c>DEFAULT</c> only the server can compute (e.g. <c>now()</c>): RowBinaryWithDefaults, or the row fails.</summary>
    ServerDefault,
}

/// <summary>One table column the sink writes: its type, encoder, source field and what to do when the field is absent.</summary>
internal sealed class ClickHouseColumn
{
    public required string Name { get; init; }
    public required ClickHouseType Type { get; init; }
    public required ValueEncoder Encoder { get; init; }
    /// <summary>The record field path it is filled from.</summary>
    public required string FieldPath { get; init; }
    public MissingFieldMode MissingMode { get; init; }
    /// <summary>RowBinary bytes written when the field is absent (type default or the constant DEFAULT).</summary>
    public byte[] DefaultBytes { get; init; } = [];
    /// <summary>The DEFAULT expression as the server reports it.</summary>
    public string DefaultExpression { get; init; } = "";
    /// <summary>Slot of <see cref="FieldPath"/> in the record layout (set by <see cref="ClickHouseSink.BindColumns"/>).</summary>
    public int Slot { get; set; } = -1;
}

/// <summary>Turns the table description (or the inline schema) into the list of columns the sink writes.</summary>
internal static class ClickHouseColumnPlan
{
    /// <summary>
    /// Skips MATERIALIZED, ALIAS and EPHEMERAL columns (the server computes them; they cannot be inserted); maps every other
    /// column to the field named in <c>columns:</c> or, by default, the field of the same name.
    /// </summary>
    public static List<ClickHouseColumn> Build(IReadOnlyList<ClickHouseColumnInfo> table, ClickHouseSinkOptions options, TimeZoneInfo serverZone)
    {
        var known = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<ClickHouseColumn>(table.Count);
        foreach (var c in table)
        {
            known.Add(c.Name);
            if (c.DefaultKind is "MATERIALIZED" or "ALIAS" or "EPHEMERAL") continue;
            ClickHouseType type;
            ValueEncoder encoder;
            try
            {
                type = ClickHouseType.Parse(c.Type);
                encoder = ValueEncoder.Create(type, serverZone);
            }
            catch (Exception e) when (e is FormatException or NotSupportedException)
            {
                throw new ClickHouseSinkException($"Column '{c.Name}' of {options.Database}.{options.Table}: {e.Message}", e);
            }
            var field = options.Columns.TryGetValue(c.Name, out var mapped) ? mapped : c.Name;
            var mode = MissingFieldMode.TypeDefault;
            byte[] defaultBytes;
            using (var w = new RowBinaryWriter(256))
            {
                encoder.WriteDefault(w);
                defaultBytes = w.WrittenSpan.ToArray();
                if (c.DefaultKind == "DEFAULT" && c.DefaultExpression.Length > 0)
                {
                    w.Reset();
                    if (TryParseConstant(c.DefaultExpression, out var literal) && encoder.Write(literal, w) is null)
                    {
                        mode = MissingFieldMode.ConstantDefault;
                        defaultBytes = w.WrittenSpan.ToArray();
                    }
                    else
                    {
                        mode = MissingFieldMode.ServerDefault;
                    }
                }
            }
            result.Add(new ClickHouseColumn
            {
                Name = c.Name, Type = type, Encoder = encoder, FieldPath = field,
                MissingMode = mode, DefaultBytes = defaultBytes, DefaultExpression = c.DefaultExpression,
            });
        }
        foreach (var col in options.Columns.Keys)
            if (!known.Contains(col))
                throw new ClickHouseSinkException(
                    $"sink.columns maps column '{col}', but {options.Database}.{options.Table} has no such column (columns: {string.Join(", ", table.Select(t => t.Name))}).");
        if (result.Count == 0)
            throw new ClickHouseSinkException($"{options.Database}.{options.Table} has no insertable columns.");
        return result;
    }

    /// <summary>
    /// A constant DEFAULT literal: a number, a quoted string, NULL, true/false, <c>[]</c>, optionally wrapped in
    /// <c>CAST(literal, 'Type')</c> or a one-argument <c>toXxx(literal)</c> (how servers print defaults). Anything else
    /// (functions of other columns, now(), rand()...) is not constant.
    /// </summary>
    public static bool TryParseConstant(string expr, out Value value)
    {
        value = default;
        var s = expr.Trim();
        if (s.StartsWith("CAST(", StringComparison.Ordinal) && s.EndsWith(')'))
        {
            var inner = s[5..^1];
            var split = LastTopLevelComma(inner);
            if (split < 0)
            {
                var asIdx = inner.LastIndexOf(" AS ", StringComparison.OrdinalIgnoreCase);
                if (asIdx < 0) return false;
                split = asIdx;
            }
            s = inner[..split].Trim();
        }
        else if (s.StartsWith("to", StringComparison.Ordinal) && s.EndsWith(')'))
        {
            var open = s.IndexOf('(', StringComparison.Ordinal);
            if (open < 0 || !s[..open].All(char.IsAsciiLetterOrDigit)) return false;
            s = s[(open + 1)..^1].Trim();
            if (LastTopLevelComma(s) >= 0) return false;
        }
        if (s == "NULL") { value = Value.Null; return true; }
        if (s == "true") { value = Value.True; return true; }
        if (s == "false") { value = Value.False; return true; }
        if (s == "[]") { value = Value.FromArray([]); return true; }
        if (s.Length >= 2 && s[0] == '\'' && s[^1] == '\'')
        {
            var sb = new System.Text.StringBuilder();
            for (var i = 1; i < s.Length - 1; i++)
            {
                var c = s[i];
                if (c == '\\' && i + 1 < s.Length - 1)
                {
                    var e = s[++i];
                    sb.Append(e switch { 'n' => '\n', 't' => '\t', 'r' => '\r', '0' => '\0', _ => e });
                }
                else if (c == '\'' && i + 1 < s.Length - 1 && s[i + 1] == '\'') { sb.Append('\''); i++; }
                else if (c == '\'') return false;
                else sb.Append(c);
            }
            value = Value.FromString(sb.ToString());
            return true;
        }
        if (long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) { value = Value.FromInt(l); return true; }
        if (ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var u)) { value = Value.FromUInt(u); return true; }
        if (DecimalValue.TryParse(s, out var d)) { value = Value.FromDecimal(d); return true; }
        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var f)) { value = Value.FromFloat(f); return true; }
        return false;
    }

    private static int LastTopLevelComma(string s)
    {
        var depth = 0;
        var inString = false;
        var last = -1;
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (inString)
            {
                if (c == '\\') i++;
                else if (c == '\'') inString = false;
                continue;
            }
            switch (c)
            {
                case '\'': inString = true; break;
                case '(' or '[': depth++; break;
                case ')' or ']': depth--; break;
                case ',' when depth == 0: last = i; break;
            }
        }
        return last;
    }
}

using System.Globalization;
using System.Text;

namespace StreamEnrich.Sinks.ClickHouse;

/// <summary>The ClickHouse data types the sink can write.</summary>
internal enum ClickHouseTypeKind
{
    Int8, Int16, Int32, Int64, Int128, Int256,
    UInt8, UInt16, UInt32, UInt64, UInt128, UInt256,
    Float32, Float64,
    Decimal,
    String, FixedString,
    Date, Date32, DateTime, DateTime64,
    Uuid,
    Enum8, Enum16,
    Bool,
    IPv4, IPv6,
    Nothing,
    Nullable, Array, LowCardinality, Map, Tuple,
}

/// <summary>
/// A parsed ClickHouse type, as <c>DESCRIBE TABLE</c> prints it: <c>Nullable(Decimal(18, 4))</c>,
/// <c>Map(String, Array(UInt8))</c>, <c>Tuple(a Int32, b String)</c>, <c>Enum8('a\'b' = -1)</c>, <c>DateTime64(3, 'UTC')</c>...
/// </summary>
internal sealed class ClickHouseType
{
    private ClickHouseType(ClickHouseTypeKind kind, string text)
    {
        Kind = kind;
        Text = text;
    }

    public ClickHouseTypeKind Kind { get; }
    /// <summary>The type as written in the input (whitespace-normalised by the server).</summary>
    public string Text { get; }
    /// <summary>Decimal precision (digits), or DateTime64 precision (fractional digits).</summary>
    public int Precision { get; private init; }
    /// <summary>Decimal scale.</summary>
    public int Scale { get; private init; }
    /// <summary>Decimal storage size in bytes (4, 8, 16, 32); FixedString length.</summary>
    public int Size { get; private init; }
    /// <summary>DateTime / DateTime64 time zone when given in the type.</summary>
    public string? TimeZone { get; private init; }
    /// <summary>Inner type (Nullable, Array, LowCardinality), key and value (Map), elements (Tuple).</summary>
    public IReadOnlyList<ClickHouseType> Arguments { get; private init; } = [];
    /// <summary>Tuple element names (all null for an unnamed tuple).</summary>
    public IReadOnlyList<string?> ElementNames { get; private init; } = [];
    /// <summary>Enum names and values, in declaration order.</summary>
    public IReadOnlyList<KeyValuePair<string, int>> EnumValues { get; private init; } = [];

    public ClickHouseType Inner => Arguments[0];
    public bool IsNullable => Kind == ClickHouseTypeKind.Nullable;
    public bool IsNamedTuple => Kind == ClickHouseTypeKind.Tuple && ElementNames.Count > 0 && ElementNames[0] is not null;

    public override string ToString() => Text;

    /// <summary>Parses a type string; throws <see cref="FormatException"/> naming the type when it is unknown or malformed.</summary>
    public static ClickHouseType Parse(string text)
    {
        var p = new Parser(text);
        var t = p.ParseType();
        p.SkipSpaces();
        if (!p.AtEnd) throw p.Error($"unexpected '{text[p.Pos..]}' after the type");
        return t;
    }

    public static bool TryParse(string text, out ClickHouseType? type, out string? error)
    {
        try
        {
            type = Parse(text);
            error = null;
            return true;
        }
        catch (FormatException e)
        {
            type = null;
            error = e.Message;
            return false;
        }
    }

    private sealed class Parser(string text)
    {
        private readonly string _s = text;
        public int Pos;

        public bool AtEnd => Pos >= _s.Length;

        public FormatException Error(string what) =>
            new($"Cannot parse ClickHouse type '{_s}': {what} (at position {Pos}).");

        public void SkipSpaces()
        {
            while (Pos < _s.Length && char.IsWhiteSpace(_s[Pos])) Pos++;
        }

        private bool TryConsume(char c)
        {
            SkipSpaces();
            if (Pos < _s.Length && _s[Pos] == c) { Pos++; return true; }
            return false;
        }

        private void Expect(char c)
        {
            if (!TryConsume(c)) throw Error($"expected '{c}'");
        }

        private string Identifier()
        {
            SkipSpaces();
            if (Pos < _s.Length && _s[Pos] == '`')
            {
                var sb = new StringBuilder();
                Pos++;
                while (Pos < _s.Length && _s[Pos] != '`')
                {
                    if (_s[Pos] == '\\' && Pos + 1 < _s.Length) Pos++;
                    sb.Append(_s[Pos++]);
                }
                if (Pos >= _s.Length) throw Error("unterminated `name`");
                Pos++;
                return sb.ToString();
            }
            var start = Pos;
            while (Pos < _s.Length && (char.IsAsciiLetterOrDigit(_s[Pos]) || _s[Pos] == '_')) Pos++;
            if (start == Pos) throw Error("expected a type name");
            return _s[start..Pos];
        }

        private int Integer()
        {
            SkipSpaces();
            var start = Pos;
            if (Pos < _s.Length && _s[Pos] is '-' or '+') Pos++;
            while (Pos < _s.Length && char.IsAsciiDigit(_s[Pos])) Pos++;
            if (!int.TryParse(_s.AsSpan(start, Pos - start), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v))
                throw Error("expected an integer");
            return v;
        }

        private string Quoted()
        {
            SkipSpaces();
            if (Pos >= _s.Length || _s[Pos] != '\'') throw Error("expected a quoted string");
            Pos++;
            var sb = new StringBuilder();
            while (true)
            {
                if (Pos >= _s.Length) throw Error("unterminated string");
                var c = _s[Pos++];
                if (c == '\'')
                {
                    if (Pos < _s.Length && _s[Pos] == '\'') { sb.Append('\''); Pos++; continue; }
                    return sb.ToString();
                }
                if (c == '\\' && Pos < _s.Length)
                {
                    var e = _s[Pos++];
                    sb.Append(e switch { 'n' => '\n', 't' => '\t', 'r' => '\r', '0' => '\0', 'b' => '\b', 'f' => '\f', _ => e });
                    continue;
                }
                sb.Append(c);
            }
        }

        public ClickHouseType ParseType()
        {
            SkipSpaces();
            var start = Pos;
            var name = Identifier();
            var hasArgs = TryConsume('(');
            ClickHouseType Simple(ClickHouseTypeKind k)
            {
                if (hasArgs) throw Error($"type {name} takes no arguments");
                return new ClickHouseType(k, name);
            }
            string TextSoFar(int s) => _s[s..Pos].Trim();
            switch (name)
            {
                case "Int8": return Simple(ClickHouseTypeKind.Int8);
                case "Int16": return Simple(ClickHouseTypeKind.Int16);
                case "Int32": return Simple(ClickHouseTypeKind.Int32);
                case "Int64": return Simple(ClickHouseTypeKind.Int64);
                case "Int128": return Simple(ClickHouseTypeKind.Int128);
                case "Int256": return Simple(ClickHouseTypeKind.Int256);
                case "UInt8": return Simple(ClickHouseTypeKind.UInt8);
                case "UInt16": return Simple(ClickHouseTypeKind.UInt16);
                case "UInt32": return Simple(ClickHouseTypeKind.UInt32);
                case "UInt64": return Simple(ClickHouseTypeKind.UInt64);
                case "UInt128": return Simple(ClickHouseTypeKind.UInt128);
                case "UInt256": return Simple(ClickHouseTypeKind.UInt256);
                case "Float32": return Simple(ClickHouseTypeKind.Float32);
                case "Float64": return Simple(ClickHouseTypeKind.Float64);
                case "String": return Simple(ClickHouseTypeKind.String);
                case "Date": return Simple(ClickHouseTypeKind.Date);
                case "Date32": return Simple(ClickHouseTypeKind.Date32);
                case "UUID": return Simple(ClickHouseTypeKind.Uuid);
                case "Bool" or "Boolean": return Simple(ClickHouseTypeKind.Bool);
                case "IPv4": return Simple(ClickHouseTypeKind.IPv4);
                case "IPv6": return Simple(ClickHouseTypeKind.IPv6);
                case "Nothing": return Simple(ClickHouseTypeKind.Nothing);
                case "FixedString":
                {
                    if (!hasArgs) throw Error("FixedString needs a length");
                    var n = Integer();
                    Expect(')');
                    if (n < 1) throw Error("FixedString length must be positive");
                    return new ClickHouseType(ClickHouseTypeKind.FixedString, TextSoFar(start)) { Size = n };
                }
                case "DateTime":
                {
                    string? tz = null;
                    if (hasArgs) { tz = Quoted(); Expect(')'); }
                    return new ClickHouseType(ClickHouseTypeKind.DateTime, TextSoFar(start)) { TimeZone = tz };
                }
                case "DateTime64":
                {
                    if (!hasArgs) throw Error("DateTime64 needs a precision");
                    var p = Integer();
                    string? tz = null;
                    if (TryConsume(',')) tz = Quoted();
                    Expect(')');
                    if (p is < 0 or > 9) throw Error($"DateTime64 precision must be 0..9, got {p}");
                    return new ClickHouseType(ClickHouseTypeKind.DateTime64, TextSoFar(start)) { Precision = p, TimeZone = tz };
                }
                case "Decimal" or "Decimal32" or "Decimal64" or "Decimal128" or "Decimal256":
                {
                    if (!hasArgs) throw Error($"{name} needs arguments");
                    int p, s;
                    if (name == "Decimal")
                    {
                        p = Integer();
                        s = TryConsume(',') ? Integer() : 0;
                    }
                    else
                    {
                        p = name switch { "Decimal32" => 9, "Decimal64" => 18, "Decimal128" => 38, _ => 76 };
                        s = Integer();
                    }
                    Expect(')');
                    if (p is < 1 or > 76) throw Error($"decimal precision must be 1..76, got {p}");
                    if (s < 0 || s > p) throw Error($"decimal scale must be 0..{p}, got {s}");
                    var size = p <= 9 ? 4 : p <= 18 ? 8 : p <= 38 ? 16 : 32;
                    return new ClickHouseType(ClickHouseTypeKind.Decimal, TextSoFar(start)) { Precision = p, Scale = s, Size = size };
                }
                case "Enum8" or "Enum16" or "Enum":
                {
                    if (!hasArgs) throw Error($"{name} needs values");
                    var values = new List<KeyValuePair<string, int>>();
                    var next = 1;
                    do
                    {
                        var n = Quoted();
                        var v = next;
                        if (TryConsume('=')) v = Integer();
                        next = v + 1;
                        values.Add(new(n, v));
                    } while (TryConsume(','));
                    Expect(')');
                    var kind = name switch
                    {
                        "Enum8" => ClickHouseTypeKind.Enum8,
                        "Enum16" => ClickHouseTypeKind.Enum16,
                        _ => values.TrueForAll(kv => kv.Value is >= sbyte.MinValue and <= sbyte.MaxValue) ? ClickHouseTypeKind.Enum8 : ClickHouseTypeKind.Enum16,
                    };
                    var (min, max) = kind == ClickHouseTypeKind.Enum8 ? (sbyte.MinValue, sbyte.MaxValue) : (short.MinValue, (int)short.MaxValue);
                    foreach (var kv in values)
                        if (kv.Value < min || kv.Value > max) throw Error($"enum value {kv.Value} of '{kv.Key}' is out of range for {kind}");
                    return new ClickHouseType(kind, TextSoFar(start)) { EnumValues = values };
                }
                case "Nullable" or "Array" or "LowCardinality":
                {
                    if (!hasArgs) throw Error($"{name} needs a type argument");
                    var inner = ParseType();
                    Expect(')');
                    var kind = name switch { "Nullable" => ClickHouseTypeKind.Nullable, "Array" => ClickHouseTypeKind.Array, _ => ClickHouseTypeKind.LowCardinality };
                    return new ClickHouseType(kind, TextSoFar(start)) { Arguments = [inner] };
                }
                case "Map":
                {
                    if (!hasArgs) throw Error("Map needs key and value types");
                    var k = ParseType();
                    Expect(',');
                    var v = ParseType();
                    Expect(')');
                    return new ClickHouseType(ClickHouseTypeKind.Map, TextSoFar(start)) { Arguments = [k, v] };
                }
                case "Tuple":
                {
                    if (!hasArgs) throw Error("Tuple needs element types");
                    var elems = new List<ClickHouseType>();
                    var names = new List<string?>();
                    do
                    {
                        SkipSpaces();
                        var save = Pos;
                        string? elemName = null;
                        // A named element is `name Type`: an identifier followed by another identifier.
                        var first = Identifier();
                        SkipSpaces();
                        if (Pos < _s.Length && (char.IsAsciiLetter(_s[Pos]) || _s[Pos] == '_' || _s[Pos] == '`'))
                            elemName = first;
                        else
                            Pos = save;
                        elems.Add(ParseType());
                        names.Add(elemName);
                    } while (TryConsume(','));
                    Expect(')');
                    var named = names.TrueForAll(n => n is not null);
                    if (!named && !names.TrueForAll(n => n is null)) throw Error("either all or no tuple elements must be named");
                    return new ClickHouseType(ClickHouseTypeKind.Tuple, TextSoFar(start))
                    {
                        Arguments = elems,
                        ElementNames = named ? names : new string?[elems.Count],
                    };
                }
                default:
                    throw new FormatException(
                        $"Unsupported ClickHouse type '{name}' in '{_s}'. Supported: (U)Int8..256, Float32/64, Decimal*, String, FixedString, " +
                        "Date, Date32, DateTime, DateTime64, UUID, Enum8/16, Bool, IPv4, IPv6, Nullable, Array, LowCardinality, Map, Tuple.");
            }
        }
    }
}

using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text;
using System.Text.Json;
using StreamEnrich.Records;

namespace StreamEnrich.Formats.Json;

/// <summary>
/// Decodes UTF-8 JSON objects (RFC 8259) straight into record slots in one pass over the message: no DOM, no
/// tokenizer, no per-field name strings. Property names are looked up as byte slices of the message; unescaped
/// string values are slices of it too (no copy). Properties the pipeline never declared are validated and skipped;
/// nested objects are descended only when a declared field lives below them (<c>user.id</c>), otherwise kept whole
/// as a map when declared themselves.
/// </summary>
/// <remarks>
/// The scanner accepts exactly the JSON that <see cref="Utf8JsonReader"/> accepts with comments disallowed and a
/// maximum depth of 64 (a differential test holds it to that), so a message is dead-lettered for the same inputs as
/// with the reader, with the byte position and what was expected. Strings are bytes: invalid UTF-8 passes through
/// as it does through the reader; a <c>\u</c> escape that is half of a UTF-16 surrogate pair fails the record
/// when the value is used (the reader's <c>GetString</c> refuses it too).
/// </remarks>
internal sealed class JsonRecordDecoder : IRecordDecoder
{
    /// <summary>Longest dotted field path (in UTF-8 bytes) the decoder builds while descending.</summary>
    private const int MaxPathBytes = 1024;

    /// <summary>Objects and arrays nested deeper than this fail the record (the reader's default limit).</summary>
    private const int MaxDepth = 64;

    /// <summary>Doubles have 15-17 significant digits; literals longer than this are kept as exact decimals.</summary>
    private const int MaxExactDoubleDigits = 15;

    private readonly RecordLayout.Utf8Index _index;

    /// <summary>
    /// Array items are collected here (per thread, nested arrays above their parent's items) and copied once into an
    /// array of the exact length: no list and no growing buffers per array.
    /// </summary>
    [ThreadStatic] private static Value[]? t_items;
    [ThreadStatic] private static int t_itemCount;

    /// <summary>Dotted paths of nested and escaped names are built here (per thread).</summary>
    [ThreadStatic] private static byte[]? t_path;

    public JsonRecordDecoder(RecordLayout layout)
    {
        if (!layout.IsFrozen) throw new InvalidOperationException("The layout must be frozen before the decoder is built.");
        _index = layout.Utf8;
    }

    public void Decode(Record record)
    {
        var payload = record.Payload;
        if (payload is null)
        {
            record.Fail("deserialize", "message has no value (a tombstone); a JSON object was expected");
            return;
        }
        if (payload.Length == 0)
        {
            record.Fail("deserialize", "message value is empty; a JSON object was expected");
            return;
        }
        t_itemCount = 0; // an earlier message may have failed inside an array
        var scanner = new Scanner(payload, _index, t_path ??= new byte[MaxPathBytes]);
        try
        {
            scanner.SkipWhiteSpace();
            if (scanner.AtEnd)
            {
                record.Fail("deserialize", "message value is only white space; a JSON object was expected");
                return;
            }
            if (scanner.Current != (byte)'{')
            {
                var kind = DescribeStart(scanner.Current);
                if (kind != null)
                {
                    record.Fail("deserialize", $"message value is not a JSON object (starts with {kind})");
                    return;
                }
                throw scanner.Error("expected '{' to start a JSON object");
            }
            scanner.ReadObject(record.Fields, 0, 1);
            scanner.SkipWhiteSpace();
            if (!scanner.AtEnd) throw scanner.Error("expected nothing after the JSON object (one object per message)");
        }
        catch (JsonSyntaxException ex)
        {
            record.Fail("deserialize", $"invalid JSON at byte {ex.Position.ToString(CultureInfo.InvariantCulture)}: {ex.Message}");
        }
        catch (FieldPathTooLongException ex)
        {
            record.Fail("deserialize", ex.Message);
        }
    }

    private static string? DescribeStart(byte b) => b switch
    {
        (byte)'[' => "an array",
        (byte)'"' => "a string",
        (byte)'-' or (>= (byte)'0' and <= (byte)'9') => "a number",
        (byte)'t' or (byte)'f' => "a boolean",
        (byte)'n' => "null",
        _ => null,
    };

    /// <summary>One pass over one message; <see cref="_pos"/> is the next byte to look at.</summary>
    private ref struct Scanner(byte[] buffer, RecordLayout.Utf8Index index, byte[] path)
    {
        private readonly byte[] _buffer = buffer;
        private int _pos;

        public readonly bool AtEnd => _pos >= _buffer.Length;

        /// <summary>The byte at the position, or 0 at the end (0 is never valid where a structural byte is expected).</summary>
        public readonly byte Current => (uint)_pos < (uint)_buffer.Length ? _buffer[_pos] : (byte)0;

        /// <summary>Moves past white space; compact JSON has none, so the common case is one inlined comparison.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void SkipWhiteSpace()
        {
            if ((uint)_pos < (uint)_buffer.Length && _buffer[_pos] > (byte)' ') return;
            SkipWhiteSpaceSlow();
        }

        private void SkipWhiteSpaceSlow()
        {
            var buf = _buffer;
            var i = _pos;
            while (i < buf.Length && buf[i] is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t') i++;
            _pos = i;
        }

        public readonly JsonSyntaxException Error(string expected)
        {
            if (AtEnd) return new JsonSyntaxException(_pos, $"{expected}, but the message ends");
            return new JsonSyntaxException(_pos, $"{expected}, found {DescribeByte(_buffer[_pos])}");
        }

        private static string DescribeByte(byte b) =>
            b is >= 0x21 and < 0x7F ? $"'{(char)b}'" : $"byte 0x{b.ToString("X2", CultureInfo.InvariantCulture)}";

        /// <summary>Reads the object the scanner is on (its '{') through its '}'; <paramref name="prefixLength"/> bytes of the path hold "parent." .</summary>
        public void ReadObject(Value[] fields, int prefixLength, int depth)
        {
            if (OpenIsEmpty((byte)'}')) return;
            while (true)
            {
                var (start, end, escaped) = ReadName();
                int nameLength;
                ReadOnlySpan<byte> full;
                if (!escaped && prefixLength == 0)
                {
                    nameLength = end - start;
                    full = _buffer.AsSpan(start, nameLength);
                }
                else
                {
                    nameLength = CopyName(start, end, prefixLength);
                    full = path.AsSpan(0, prefixLength + nameLength);
                }

                var slot = index.Find(full, out var hasChildren);
                if (slot == RecordLayout.NotFound)
                {
                    ReadValue(depth, keep: false);
                }
                else if (hasChildren && Current == (byte)'{')
                {
                    if (slot >= 0)
                    {
                        // Declared whole and with fields below it: keep both views.
                        var objectStart = _pos;
                        fields[slot] = ReadValue(depth, keep: true);
                        _pos = objectStart;
                    }
                    if (!escaped && prefixLength == 0) CopyName(start, end, 0);
                    var childPrefix = prefixLength + nameLength + 1;
                    if (childPrefix > path.Length) throw new FieldPathTooLongException(MaxPathBytes);
                    path[childPrefix - 1] = (byte)'.';
                    if (depth + 1 > MaxDepth) throw TooDeep();
                    ReadObject(fields, childPrefix, depth + 1);
                }
                else if (slot >= 0)
                {
                    fields[slot] = ReadValue(depth, keep: true);
                }
                else
                {
                    ReadValue(depth, keep: false);
                }

                if (!MoreAfterValue((byte)'}', "expected ',' or '}' after a property value")) return;
            }
        }

        /// <summary>
        /// Moves past the '{' or '[' the scanner is on and any white space; true (and past <paramref name="close"/>) when
        /// the container is empty.
        /// </summary>
        private bool OpenIsEmpty(byte close)
        {
            _pos++;
            SkipWhiteSpace();
            if (Current != close) return false;
            _pos++;
            return true;
        }

        /// <summary>
        /// After a member or item: true past a ',' (another follows), false past <paramref name="close"/> (the container
        /// ends); anything else is a syntax error.
        /// </summary>
        private bool MoreAfterValue(byte close, string expected)
        {
            SkipWhiteSpace();
            var c = Current;
            if (c == (byte)',')
            {
                _pos++;
                SkipWhiteSpace();
                return true;
            }
            if (c != close) throw Error(expected);
            _pos++;
            return false;
        }

        /// <summary>Reads <c>"name" :</c> and the white space after it; returns where the name's text is and whether it has escapes.</summary>
        private (int Start, int End, bool Escaped) ReadName()
        {
            if (Current != (byte)'"') throw Error("expected a property name in double quotes");
            var start = ++_pos;
            var escaped = ScanString();
            var end = _pos++;
            SkipWhiteSpace();
            if (Current != (byte)':') throw Error("expected ':' after a property name");
            _pos++;
            SkipWhiteSpace();
            return (start, end, escaped);
        }

        /// <summary>Copies the name between <paramref name="start"/> and <paramref name="end"/> (unescaped) into the path after the prefix.</summary>
        private readonly int CopyName(int start, int end, int prefixLength)
        {
            var source = _buffer.AsSpan(start, end - start);
            var dest = path.AsSpan(prefixLength);
            // Unescaping never makes a name longer.
            if (source.Length > dest.Length) throw new FieldPathTooLongException(MaxPathBytes);
            if (source.IndexOf((byte)'\\') < 0)
            {
                source.CopyTo(dest);
                return source.Length;
            }
            // A name with half a surrogate pair cannot be a declared field: it reads as U+FFFD and matches nothing.
            return Unescape(source, dest, start, strict: false);
        }

        private readonly JsonSyntaxException TooDeep() => new(_pos, $"objects and arrays are nested deeper than {MaxDepth.ToString(CultureInfo.InvariantCulture)} levels");

        /// <summary>
        /// Reads the value at the position (any kind) and moves past it. <paramref name="depth"/> is the depth of the
        /// container holding the value. With <paramref name="keep"/> false the value is only validated.
        /// </summary>
        private Value ReadValue(int depth, bool keep)
        {
            switch (Current)
            {
                case (byte)'"':
                {
                    var start = ++_pos;
                    var escaped = ScanString();
                    var end = _pos++;
                    if (!keep) return default;
                    if (!escaped) return Value.FromUtf8(_buffer, start, end - start);
                    var bytes = new byte[end - start]; // unescaping never makes a string longer
                    var length = Unescape(_buffer.AsSpan(start, end - start), bytes, start, strict: true);
                    return Value.FromUtf8(bytes, 0, length);
                }
                case (byte)'{':
                    if (depth + 1 > MaxDepth) throw TooDeep();
                    return ReadMap(depth + 1, keep);
                case (byte)'[':
                    if (depth + 1 > MaxDepth) throw TooDeep();
                    return ReadArray(depth + 1, keep);
                case (byte)'t':
                    ExpectLiteral("true"u8);
                    return Value.True;
                case (byte)'f':
                    ExpectLiteral("false"u8);
                    return Value.False;
                case (byte)'n':
                    ExpectLiteral("null"u8);
                    return Value.Null;
                case (byte)'-':
                case >= (byte)'0' and <= (byte)'9':
                {
                    var start = _pos;
                    var integer = ScanNumber();
                    return keep ? ParseNumber(_buffer.AsSpan(start, _pos - start), integer) : default;
                }
                default:
                    throw Error("expected a value (a string, number, object, array, true, false or null)");
            }
        }

        private void ExpectLiteral(ReadOnlySpan<byte> literal)
        {
            if (!_buffer.AsSpan(_pos).StartsWith(literal))
            {
                var s = Encoding.ASCII.GetString(literal);
                throw Error($"expected the literal {s}");
            }
            _pos += literal.Length;
        }

        private Value ReadArray(int depth, bool keep)
        {
            if (OpenIsEmpty((byte)']')) return keep ? Value.FromArray([]) : default;
            var start = t_itemCount;
            while (true)
            {
                var item = ReadValue(depth, keep); // may use (and give back) the slots above ours
                if (keep)
                {
                    var items = t_items ??= new Value[64];
                    if (t_itemCount == items.Length) Array.Resize(ref t_items, items.Length * 2);
                    t_items![t_itemCount++] = item;
                }
                if (!MoreAfterValue((byte)']', "expected ',' or ']' after an array item")) break;
            }
            if (!keep) return default;
            var span = t_items!.AsSpan(start, t_itemCount - start);
            var result = span.ToArray();
            span.Clear(); // the slots must not keep this message's buffers alive
            t_itemCount = start;
            return Value.FromArray(result);
        }

        /// <summary>An object kept whole (or skipped): its members in order, names as strings.</summary>
        private Value ReadMap(int depth, bool keep)
        {
            if (OpenIsEmpty((byte)'}')) return keep ? Value.FromMap([]) : default;
            var entries = keep ? new List<KeyValuePair<string, Value>>() : null;
            while (true)
            {
                var (start, end, escaped) = ReadName();
                string? name = null;
                if (keep)
                {
                    var source = _buffer.AsSpan(start, end - start);
                    if (escaped)
                    {
                        var bytes = new byte[source.Length];
                        name = Encoding.UTF8.GetString(bytes, 0, Unescape(source, bytes, start, strict: true));
                    }
                    else
                    {
                        name = Encoding.UTF8.GetString(source);
                    }
                }
                var value = ReadValue(depth, keep);
                entries?.Add(new(name!, value));
                if (!MoreAfterValue((byte)'}', "expected ',' or '}' after a property value")) break;
            }
            return keep ? Value.FromMap(entries!.ToArray()) : default;
        }

        /// <summary>
        /// Moves from just after an opening quote to the closing quote, checking escapes and refusing raw control
        /// characters. Returns whether the string has escapes.
        /// </summary>
        private bool ScanString()
        {
            var buf = _buffer;
            var i = _pos;
            var escaped = false;
            while (true)
            {
                i = IndexOfQuoteBackslashOrControl(buf, i);
                if (i >= buf.Length)
                {
                    _pos = buf.Length;
                    throw Error("expected '\"' to close a string");
                }
                var b = buf[i];
                if (b == (byte)'"')
                {
                    _pos = i;
                    return escaped;
                }
                if (b != (byte)'\\')
                {
                    _pos = i;
                    throw Error("expected a string character (control characters must be escaped)");
                }
                escaped = true;
                var e = i + 1 < buf.Length ? buf[i + 1] : (byte)0;
                if (e is (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t')
                {
                    i += 2;
                    continue;
                }
                if (e == (byte)'u')
                {
                    for (var k = i + 2; k < i + 6; k++)
                    {
                        if (k >= buf.Length || HexValue(buf[k]) < 0)
                        {
                            _pos = k;
                            throw Error("expected four hex digits after \\u");
                        }
                    }
                    i += 6;
                    continue;
                }
                _pos = i + 1;
                throw Error("expected an escape character (\" \\ / b f n r t u) after '\\'");
            }
        }

        /// <summary>The first index at or after <paramref name="i"/> holding '"', '\' or a byte below 0x20; the length if none.</summary>
        private static int IndexOfQuoteBackslashOrControl(byte[] buf, int i)
        {
            if (Vector128.IsHardwareAccelerated)
            {
                ref var start = ref MemoryMarshal.GetArrayDataReference(buf);
                var quote = Vector128.Create((byte)'"');
                var backslash = Vector128.Create((byte)'\\');
                var space = Vector128.Create((byte)0x20);
                for (; i <= buf.Length - Vector128<byte>.Count; i += Vector128<byte>.Count)
                {
                    var v = Vector128.LoadUnsafe(ref start, (nuint)i);
                    var hits = Vector128.Equals(v, quote) | Vector128.Equals(v, backslash) | Vector128.LessThan(v, space);
                    if (hits != Vector128<byte>.Zero) return i + BitOperations.TrailingZeroCount(hits.ExtractMostSignificantBits());
                }
            }
            for (; i < buf.Length; i++)
            {
                var b = buf[i];
                if (b is (byte)'"' or (byte)'\\' or < 0x20) return i;
            }
            return buf.Length;
        }

        /// <summary>
        /// Moves past a number, checking RFC 8259's grammar (-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?).
        /// Returns whether it is an integer (no fraction, no exponent).
        /// </summary>
        private bool ScanNumber()
        {
            var buf = _buffer;
            var i = _pos;
            if (buf[i] == (byte)'-') i++;
            if (i < buf.Length && buf[i] == (byte)'0')
            {
                i++;
                if (i < buf.Length && IsDigit(buf[i]))
                {
                    _pos = i;
                    throw Error("expected no digit after a leading 0");
                }
            }
            else if (i < buf.Length && IsDigit(buf[i]))
            {
                while (i < buf.Length && IsDigit(buf[i])) i++;
            }
            else
            {
                _pos = i;
                throw Error("expected a digit");
            }
            var integer = true;
            if (i < buf.Length && buf[i] == (byte)'.')
            {
                integer = false;
                i++;
                if (i >= buf.Length || !IsDigit(buf[i]))
                {
                    _pos = i;
                    throw Error("expected a digit after the decimal point");
                }
                while (i < buf.Length && IsDigit(buf[i])) i++;
            }
            if (i < buf.Length && (buf[i] | 0x20) == (byte)'e')
            {
                integer = false;
                i++;
                if (i < buf.Length && buf[i] is (byte)'+' or (byte)'-') i++;
                if (i >= buf.Length || !IsDigit(buf[i]))
                {
                    _pos = i;
                    throw Error("expected a digit in the exponent");
                }
                while (i < buf.Length && IsDigit(buf[i])) i++;
            }
            _pos = i;
            return integer;
        }
    }

    private static bool IsDigit(byte b) => (uint)(b - '0') <= 9;

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };

    /// <summary>
    /// Unescapes a string body the scanner has already checked into UTF-8 (never longer than the source). A <c>\u</c>
    /// escape that is half of a surrogate pair has no UTF-8 form: <paramref name="strict"/> fails on it, otherwise it
    /// becomes U+FFFD. <paramref name="offset"/> is where the body starts in the message, for the error position.
    /// </summary>
    private static int Unescape(ReadOnlySpan<byte> source, Span<byte> dest, int offset, bool strict)
    {
        var written = 0;
        var i = 0;
        while (i < source.Length)
        {
            var next = source[i..].IndexOf((byte)'\\');
            if (next < 0) next = source.Length - i;
            source.Slice(i, next).CopyTo(dest[written..]);
            written += next;
            i += next;
            if (i >= source.Length) break;
            var e = source[i + 1];
            if (e != (byte)'u')
            {
                dest[written++] = e switch
                {
                    (byte)'b' => (byte)'\b',
                    (byte)'f' => (byte)'\f',
                    (byte)'n' => (byte)'\n',
                    (byte)'r' => (byte)'\r',
                    (byte)'t' => (byte)'\t',
                    _ => e, // " \ /
                };
                i += 2;
                continue;
            }
            var code = Hex4(source, i + 2);
            var escapeStart = i;
            i += 6;
            if (code is >= 0xD800 and <= 0xDFFF)
            {
                if (code < 0xDC00 && i + 6 <= source.Length && source[i] == (byte)'\\' && source[i + 1] == (byte)'u'
                    && Hex4(source, i + 2) is >= 0xDC00 and <= 0xDFFF)
                {
                    code = 0x10000 + ((code - 0xD800) << 10) + (Hex4(source, i + 2) - 0xDC00);
                    i += 6;
                }
                else if (strict)
                {
                    throw new JsonSyntaxException(offset + escapeStart,
                        "a \\u escape is half of a UTF-16 surrogate pair; the text has no UTF-8 form (escape the pair, or send the character as UTF-8)");
                }
                else
                {
                    code = 0xFFFD;
                }
            }
            written += new Rune(code).EncodeToUtf8(dest[written..]);
        }
        return written;
    }

    private static int Hex4(ReadOnlySpan<byte> s, int at) =>
        (HexValue(s[at]) << 12) | (HexValue(s[at + 1]) << 8) | (HexValue(s[at + 2]) << 4) | HexValue(s[at + 3]);

    /// <summary>A number the scanner has checked: a 64-bit integer when it is one, an exact decimal when a double cannot hold it, else a double.</summary>
    private static Value ParseNumber(ReadOnlySpan<byte> span, bool isInteger)
    {
        var negative = span[0] == (byte)'-';
        var digits = negative ? span[1..] : span;
        if (isInteger)
        {
            if (digits.Length <= 18)
            {
                long v = 0;
                foreach (var b in digits) v = v * 10 + (b - '0');
                return Value.FromInt(negative ? -v : v);
            }
            if (Utf8Parser.TryParse(span, out long l, out var used) && used == span.Length) return Value.FromInt(l);
            if (!negative && Utf8Parser.TryParse(span, out ulong ul, out used) && used == span.Length) return Value.FromUInt(ul);
            return ParseExactOrDouble(span); // an integer beyond 64 bits: keep it exact
        }
        if (TryParseShortDecimal(digits, out var d)) return Value.FromFloat(negative ? -d : d);
        return CountDigits(span) > MaxExactDoubleDigits ? ParseExactOrDouble(span) : Value.FromFloat(ParseDouble(span));
    }

    private static readonly double[] PowersOf10 =
        [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

    /// <summary>
    /// "123.45" with at most 15 digits and no exponent: the digits as an integer (exact below 2^53) divided by an exact
    /// power of ten is one correctly rounded IEEE operation, so it equals the full parse (Clinger's fast path).
    /// </summary>
    private static bool TryParseShortDecimal(ReadOnlySpan<byte> digits, out double value)
    {
        value = 0;
        if (digits.Length > MaxExactDoubleDigits + 1) return false; // 15 digits and the point
        long mantissa = 0;
        var point = -1;
        for (var i = 0; i < digits.Length; i++)
        {
            var b = digits[i];
            if (b == (byte)'.')
            {
                point = i;
                continue;
            }
            if (!IsDigit(b)) return false; // an exponent
            mantissa = mantissa * 10 + (b - '0');
        }
        if (point < 0) return false;
        value = mantissa / PowersOf10[digits.Length - point - 1];
        return true;
    }

    private static double ParseDouble(ReadOnlySpan<byte> span) => double.Parse(span, NumberStyles.Float, CultureInfo.InvariantCulture);

    private static Value ParseExactOrDouble(ReadOnlySpan<byte> span)
    {
        Span<char> chars = stackalloc char[span.Length];
        for (var i = 0; i < span.Length; i++) chars[i] = (char)span[i];
        return DecimalValue.TryParse(chars, out var dec) ? Value.FromDecimal(dec) : Value.FromFloat(ParseDouble(span));
    }

    private static int CountDigits(ReadOnlySpan<byte> number)
    {
        var e = number.IndexOfAny((byte)'e', (byte)'E');
        if (e >= 0) number = number[..e];
        var digits = 0;
        var leading = true;
        foreach (var b in number)
        {
            if (!IsDigit(b)) continue;
            if (leading && b == (byte)'0') continue;
            leading = false;
            digits++;
        }
        return digits;
    }

    /// <summary>A syntax error at a byte position of the message.</summary>
    private sealed class JsonSyntaxException(int position, string message) : Exception(message)
    {
        public int Position { get; } = position;
    }

    private sealed class FieldPathTooLongException(int max)
        : Exception($"a field path is longer than {max.ToString(CultureInfo.InvariantCulture)} bytes; nesting that deep is not supported");
}

/// <summary>Renders values as JSON (dry-run output, dead-letter files, test expectations).</summary>
internal static class JsonValueWriter
{
    public static void Write(Utf8JsonWriter w, in Value v)
    {
        switch (v.Kind)
        {
            case ValueKind.Missing:
            case ValueKind.Null: w.WriteNullValue(); break;
            case ValueKind.Bool: w.WriteBooleanValue(v.AsBool); break;
            case ValueKind.Int: w.WriteNumberValue(v.AsInt); break;
            case ValueKind.UInt: w.WriteNumberValue(v.AsUInt); break;
            case ValueKind.Float:
                var d = v.AsFloat;
                if (double.IsFinite(d)) w.WriteNumberValue(d);
                else w.WriteStringValue(d.ToString(CultureInfo.InvariantCulture));
                break;
            case ValueKind.Decimal: w.WriteRawValue(v.AsDecimal.ToString()); break;
            case ValueKind.String:
                if (v.IsUtf8) w.WriteStringValue(v.RawBytes);
                else w.WriteStringValue(v.AsString);
                break;
            case ValueKind.Array:
                w.WriteStartArray();
                foreach (var item in v.AsArray) Write(w, item);
                w.WriteEndArray();
                break;
            case ValueKind.Map:
                w.WriteStartObject();
                foreach (var kv in v.AsMap)
                {
                    w.WritePropertyName(kv.Key);
                    Write(w, kv.Value);
                }
                w.WriteEndObject();
                break;
            default: w.WriteStringValue(v.ToString()); break;
        }
    }

    public static string ToJson(in Value v)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer)) Write(w, v);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}

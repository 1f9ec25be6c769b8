using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using StreamEnrich.Records;

namespace StreamEnrich.Formats.Json;

/// <summary>
/// Decodes UTF-8 JSON objects straight into record slots with <see cref="Utf8JsonReader"/>: no DOM, no
/// per-field name strings, and unescaped string values are slices of the message buffer (no copy).
/// Properties the pipeline never declared are skipped; nested objects are descended only when a declared
/// field lives below them (<c>user.id</c>), otherwise kept whole as a map when declared themselves.
/// </summary>
internal sealed class JsonRecordDecoder : IRecordDecoder
{
    /// <summary>Longest dotted field path (in UTF-8 bytes) the decoder builds while descending.</summary>
    private const int MaxPathBytes = 1024;

    /// <summary>Doubles have 15-17 significant digits; literals longer than this are kept as exact decimals.</summary>
    private const int MaxExactDoubleDigits = 15;

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 64, CommentHandling = JsonCommentHandling.Disallow };

    private readonly RecordLayout.Utf8Index _index;

    /// <summary>
    /// Array items are collected here (per thread, nested arrays above their parent's items) and copied once into an
    /// array of the exact length: no list and no growing buffers per array.
    /// </summary>
    [ThreadStatic] private static Value[]? t_items;
    [ThreadStatic] private static int t_itemCount;

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
        var reader = new Utf8JsonReader(payload, ReaderOptions);
        t_itemCount = 0; // an earlier message may have failed inside an array
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                record.Fail("deserialize", $"message value is not a JSON object (starts with {Describe(reader)})");
                return;
            }
            Span<byte> path = stackalloc byte[MaxPathBytes];
            ReadObject(ref reader, payload, record.Fields, path, 0);
            // Anything but white space after the object is an error (the reader throws on a second value).
            reader.Read();
        }
        catch (JsonException ex)
        {
            record.Fail("deserialize", $"invalid JSON at byte {reader.BytesConsumed}: {ex.Message}");
        }
        catch (FieldPathTooLongException ex)
        {
            record.Fail("deserialize", ex.Message);
        }
    }

    private static string Describe(in Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => reader.TokenType.ToString(),
    };

    /// <summary>Reads the members of the object whose StartObject the reader is on; <paramref name="prefixLength"/> bytes of <paramref name="path"/> hold "parent." .</summary>
    private void ReadObject(ref Utf8JsonReader reader, byte[] payload, Value[] fields, scoped Span<byte> path, int prefixLength)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var nameLength = CopyName(ref reader, path, prefixLength);
            var full = path[..(prefixLength + nameLength)];
            var slot = _index.Find(full, out var hasChildren);
            reader.Read();
            if (slot == RecordLayout.NotFound)
            {
                reader.Skip();
                continue;
            }
            if (hasChildren && reader.TokenType == JsonTokenType.StartObject)
            {
                if (slot >= 0)
                {
                    // Declared whole and with fields below it: keep both views.
                    var copy = reader;
                    fields[slot] = ReadValue(ref copy, payload);
                }
                if (prefixLength + nameLength + 1 > path.Length) throw new FieldPathTooLongException(MaxPathBytes);
                path[prefixLength + nameLength] = (byte)'.';
                ReadObject(ref reader, payload, fields, path, prefixLength + nameLength + 1);
                continue;
            }
            if (slot >= 0) fields[slot] = ReadValue(ref reader, payload);
            else reader.Skip();
        }
    }

    private static int CopyName(ref Utf8JsonReader reader, scoped Span<byte> path, int prefixLength)
    {
        var dest = path[prefixLength..];
        if (!reader.ValueIsEscaped)
        {
            var name = reader.ValueSpan;
            if (name.Length > dest.Length) throw new FieldPathTooLongException(MaxPathBytes);
            name.CopyTo(dest);
            return name.Length;
        }
        if (reader.ValueSpan.Length > dest.Length) throw new FieldPathTooLongException(MaxPathBytes);
        return reader.CopyString(dest);
    }

    /// <summary>Reads the value the reader is on (any token type) and leaves the reader on its last token.</summary>
    private static Value ReadValue(ref Utf8JsonReader reader, byte[] payload)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                return reader.ValueIsEscaped
                    ? Value.FromString(reader.GetString()!)
                    : Value.FromUtf8(payload, (int)reader.TokenStartIndex + 1, reader.ValueSpan.Length);
            case JsonTokenType.Number:
                return ReadNumber(ref reader);
            case JsonTokenType.True:
                return Value.True;
            case JsonTokenType.False:
                return Value.False;
            case JsonTokenType.Null:
                return Value.Null;
            case JsonTokenType.StartArray:
                return ReadArray(ref reader, payload);
            case JsonTokenType.StartObject:
            {
                var entries = new List<KeyValuePair<string, Value>>();
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var name = reader.GetString()!;
                    reader.Read();
                    entries.Add(new(name, ReadValue(ref reader, payload)));
                }
                return Value.FromMap(entries.ToArray());
            }
            default:
                throw new JsonException($"unexpected token {reader.TokenType}");
        }
    }

    private static Value ReadArray(ref Utf8JsonReader reader, byte[] payload)
    {
        var start = t_itemCount;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var item = ReadValue(ref reader, payload); // may use (and give back) the slots above ours
            var items = t_items ??= new Value[64];
            if (t_itemCount == items.Length) Array.Resize(ref t_items, items.Length * 2);
            t_items![t_itemCount++] = item;
        }
        var count = t_itemCount - start;
        if (count == 0) return Value.FromArray([]);
        var span = t_items!.AsSpan(start, count);
        var result = span.ToArray();
        span.Clear(); // the slots must not keep this message's buffers alive
        t_itemCount = start;
        return Value.FromArray(result);
    }

    private static Value ReadNumber(ref Utf8JsonReader reader)
    {
        if (reader.TryGetInt64(out var l)) return Value.FromInt(l);
        var span = reader.ValueSpan; // numbers are never escaped
        var isInteger = span.IndexOfAny((byte)'.', (byte)'e', (byte)'E') < 0;
        if (isInteger && reader.TryGetUInt64(out var ul)) return Value.FromUInt(ul);
        if (CountDigits(span) > MaxExactDoubleDigits || isInteger)
        {
            // Too many digits for a double to hold exactly (or an integer beyond 64 bits): keep it exact.
            Span<char> chars = stackalloc char[span.Length];
            for (var i = 0; i < span.Length; i++) chars[i] = (char)span[i];
            if (DecimalValue.TryParse(chars, out var dec)) return Value.FromDecimal(dec);
        }
        return Value.FromFloat(reader.GetDouble());
    }

    private static int CountDigits(ReadOnlySpan<byte> number)
    {
        var e = number.IndexOfAny((byte)'e', (byte)'E');
        if (e >= 0) number = number[..e];
        var digits = 0;
        var leading = true;
        foreach (var b in number)
        {
            if (b is < (byte)'0' or > (byte)'9') continue;
            if (leading && b == (byte)'0') continue;
            leading = false;
            digits++;
        }
        return digits;
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

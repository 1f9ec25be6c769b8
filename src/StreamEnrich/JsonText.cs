using System.Buffers;
using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace StreamEnrich;

/// <summary>
/// Writes the plain values a pipeline file holds (strings, numbers, booleans, null, lists and mappings of them, as the
/// YAML loader makes them) as JSON, without reflection: the container image is compiled ahead of time, where
/// <see cref="JsonSerializer"/> can only write the types of <see cref="StreamEnrichJson"/>.
/// </summary>
internal static class JsonText
{
    /// <summary>Escapes only what JSON requires (for messages people read); the default also escapes non-ASCII and HTML characters.</summary>
    public static readonly JavaScriptEncoder Readable = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;

    public static byte[] ToUtf8Bytes(object? value, JavaScriptEncoder? encoder = null)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = encoder }))
            Write(w, value);
        return buffer.WrittenSpan.ToArray();
    }

    public static string ToString(object? value, JavaScriptEncoder? encoder = null) => Encoding.UTF8.GetString(ToUtf8Bytes(value, encoder));

    /// <summary>Writes <paramref name="value"/>; a value of another type is written as its invariant text.</summary>
    public static void Write(Utf8JsonWriter w, object? value)
    {
        switch (value)
        {
            case null: w.WriteNullValue(); break;
            case string s: w.WriteStringValue(s); break;
            case bool b: w.WriteBooleanValue(b); break;
            case int i: w.WriteNumberValue(i); break;
            case long l: w.WriteNumberValue(l); break;
            case ulong u: w.WriteNumberValue(u); break;
            case uint u: w.WriteNumberValue(u); break;
            case short s: w.WriteNumberValue(s); break;
            case byte b: w.WriteNumberValue(b); break;
            case decimal m: w.WriteNumberValue(m); break;
            case double d when double.IsFinite(d): w.WriteNumberValue(d); break;
            case float f when float.IsFinite(f): w.WriteNumberValue(f); break;
            case double or float: w.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture)); break; // NaN, Infinity: JSON has no such number
            case IDictionary map:
                w.WriteStartObject();
                foreach (DictionaryEntry e in map)
                {
                    w.WritePropertyName(Convert.ToString(e.Key, CultureInfo.InvariantCulture) ?? "");
                    Write(w, e.Value);
                }
                w.WriteEndObject();
                break;
            case IEnumerable items:
                w.WriteStartArray();
                foreach (var item in items) Write(w, item);
                w.WriteEndArray();
                break;
            default: w.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture)); break;
        }
    }
}

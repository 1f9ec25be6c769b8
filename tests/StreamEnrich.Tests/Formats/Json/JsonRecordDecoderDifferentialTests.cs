using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Unicode;
using System.Text.Json;
using System.Runtime.InteropServices;
using StreamEnrich.Formats.Json;
using StreamEnrich.Records;

using Record = StreamEnrich.Records.Record;

namespace StreamEnrich.Tests.Formats.Json;

/// <summary>
/// Holds the decoder's own scanner to System.Text.Json: over generated and mutated messages, a message is accepted
/// exactly when <see cref="Utf8JsonReader"/> (depth 64, no comments) reads it as one object, and every declared field
/// holds what <see cref="JsonDocument"/> finds there.
/// </summary>
public class JsonRecordDecoderDifferentialTests
{
    private static readonly string[] Declared = ["a", "b", "s", "n.x", "n.y.z", "m", "arr"];
    private static readonly string[] Names = ["a", "b", "s", "n", "m", "arr", "x", "y", "z", "other", "é", ""];

    private static readonly RecordLayout Layout = BuildLayout();

    private static RecordLayout BuildLayout()
    {
        var layout = new RecordLayout();
        foreach (var f in Declared) layout.Slot(f);
        layout.Freeze();
        return layout;
    }

    [Fact]
    public void GeneratedAndMutatedMessages_AcceptedAndDecodedExactlyLikeSystemTextJson()
    {
        var random = new Random(20261121);
        var decoder = new JsonRecordDecoder(Layout);
        int accepted = 0, rejected = 0, surrogateFailures = 0;
        for (var n = 0; n < 30_000; n++)
        {
            var json = GenerateObject(random, 0);
            var bytes = Encoding.UTF8.GetBytes(json);
            if (n % 3 != 0) bytes = Mutate(random, bytes);
            var outcome = Check(decoder, bytes);
            if (outcome == Outcome.Accepted) accepted++;
            else if (outcome == Outcome.Rejected) rejected++;
            else surrogateFailures++;
        }
        // Both sides of the comparison must have been exercised, or the test proves nothing.
        Assert.True(accepted > 5_000, $"only {accepted} messages were valid");
        Assert.True(rejected > 5_000, $"only {rejected} messages were invalid");
        Assert.True(surrogateFailures > 10, $"only {surrogateFailures} messages had a lone surrogate in a used value");
    }

    [Theory]
    [InlineData(62)]
    [InlineData(63)]
    [InlineData(64)]
    [InlineData(200)]
    public void Nesting_LimitIsTheReadersDepth64(int arrays)
    {
        var decoder = new JsonRecordDecoder(Layout);
        foreach (var field in new[] { "a", "other" })
        {
            Check(decoder, Encoding.UTF8.GetBytes($"{{\"{field}\":" + new string('[', arrays) + new string(']', arrays) + "}"));
            Check(decoder, Encoding.UTF8.GetBytes($"{{\"{field}\":" + string.Concat(Enumerable.Repeat("{\"k\":", arrays)) + "1" + new string('}', arrays) + "}"));
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("\uFEFF{}")]
    [InlineData("{} ")]
    [InlineData(" \t\r\n{\"a\" : 1 , \"b\" :[ 1 , 2 ] }\n")]
    [InlineData("{}\u00a0")]
    [InlineData("{\"a\":1}//c")]
    [InlineData("{\"a\":1,}")]
    [InlineData("{\"a\":[1,]}")]
    [InlineData("{\"a\":01}")]
    [InlineData("{\"a\":-}")]
    [InlineData("{\"a\":1.}")]
    [InlineData("{\"a\":.5}")]
    [InlineData("{\"a\":+1}")]
    [InlineData("{\"a\":1e}")]
    [InlineData("{\"a\":1E+}")]
    [InlineData("{\"a\":-0.0e-0}")]
    [InlineData("{\"a\":1e400}")]
    [InlineData("{\"a\":\"\\x\"}")]
    [InlineData("{\"a\":\"\\u12\"}")]
    [InlineData("{\"a\":\"\\uD83D\\uDE00\"}")]
    [InlineData("{\"a\":\"\\uDE00\"}")]
    [InlineData("{\"other\":\"\\uD83D\"}")]
    [InlineData("{\"a\":\"tab\there\"}")]
    [InlineData("{\"a\":True}")]
    [InlineData("{\"a\":nul}")]
    [InlineData("{\"a\":truex}")]
    [InlineData("{'a':1}")]
    [InlineData("{\"a\" 1}")]
    [InlineData("{\"a\":1 \"b\":2}")]
    [InlineData("[{}]")]
    [InlineData("\"text\"")]
    [InlineData("{\"a\":1}{\"a\":2}")]
    public void EdgeCases_AcceptedAndDecodedExactlyLikeSystemTextJson(string json)
    {
        var bytes = json.StartsWith('\uFEFF') ? [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(json[1..])] : Encoding.UTF8.GetBytes(json);
        Check(new JsonRecordDecoder(Layout), bytes);
    }

    [Fact]
    public void InvalidUtf8_PassesThroughAsBytesLikeTheReaderDoes()
    {
        byte[] bytes = [.. "{\"s\":\""u8, 0xFF, 0xC3, .. "\"}"u8];
        Check(new JsonRecordDecoder(Layout), bytes);
        var record = Decode(new JsonRecordDecoder(Layout), bytes);
        Assert.Equal(new byte[] { 0xFF, 0xC3 }, record.Fields[Layout.Slot("s")].RawBytes.ToArray());
    }

    private enum Outcome { Accepted, Rejected, SurrogateFailure }

    private static Record Decode(JsonRecordDecoder decoder, byte[] bytes)
    {
        var record = Layout.NewRecord();
        record.Payload = bytes;
        decoder.Decode(record);
        return record;
    }

    private static Outcome Check(JsonRecordDecoder decoder, byte[] bytes)
    {
        var record = Decode(decoder, bytes);
        var readerAccepts = ReaderAcceptsOneObject(bytes);
        var shown = Encoding.UTF8.GetString(bytes);
        if (!readerAccepts)
        {
            Assert.True(record.Status == RecordStatus.Failed, $"the decoder accepted what the reader refuses: {shown}");
            Assert.Matches(@"^(invalid JSON at byte \d+: .+|message value (is|has) .+)$", record.FailureReason);
            Assert.Equal("deserialize", record.FailedStage);
            return Outcome.Rejected;
        }
        using var doc = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = 64 });
        var expected = new Dictionary<string, JsonElement>();
        var used = new List<JsonElement>();
        Collect(doc.RootElement, "", expected, used);
        if (record.Status == RecordStatus.Failed)
        {
            // The one refusal beyond the reader's: a used string whose \u escape is half a surrogate pair, which the
            // reader's GetString refuses as well.
            Assert.Contains("surrogate", record.FailureReason, StringComparison.Ordinal);
            Assert.Contains(used, e => HasUnreadableString(e));
            return Outcome.SurrogateFailure;
        }
        foreach (var field in Declared)
        {
            var actual = record.Fields[Layout.Slot(field)];
            if (!expected.TryGetValue(field, out var element))
            {
                Assert.True(actual.Kind == ValueKind.Missing, $"{field} should be missing in {shown}, is {actual}");
                continue;
            }
            AssertSame(element, actual, $"{field} in {shown}");
        }
        return Outcome.Accepted;
    }

    private static bool ReaderAcceptsOneObject(byte[] bytes)
    {
        try
        {
            var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { MaxDepth = 64, CommentHandling = JsonCommentHandling.Disallow });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            while (reader.Read()) { }
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>
    /// What the decoder should have put in each declared field: the last occurrence wins, nested paths descend every
    /// object on the way. <paramref name="used"/> gets every occurrence (the decoder reads the earlier ones too).
    /// </summary>
    private static void Collect(JsonElement obj, string prefix, Dictionary<string, JsonElement> into, List<JsonElement> used)
    {
        foreach (var p in obj.EnumerateObject())
        {
            if (!CanReadName(p)) continue; // invalid UTF-8 or half a surrogate pair: never a declared name
            var path = prefix + p.Name;
            if (Declared.Contains(path))
            {
                into[path] = p.Value;
                used.Add(p.Value);
            }
            if (p.Value.ValueKind == JsonValueKind.Object && Declared.Any(d => d.StartsWith(path + ".", StringComparison.Ordinal)))
                Collect(p.Value, path + ".", into, used);
        }
    }

    private static bool HasUnreadableString(JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.String:
                try
                {
                    e.GetString();
                    return false;
                }
                catch (InvalidOperationException)
                {
                    return true;
                }
            case JsonValueKind.Array:
                return e.EnumerateArray().Any(HasUnreadableString);
            case JsonValueKind.Object:
                return e.EnumerateObject().Any(p => HasUnreadableString(p.Value) || !CanReadName(p));
            default:
                return false;
        }
    }

    private static bool CanReadName(JsonProperty p)
    {
        try
        {
            _ = p.Name;
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static void AssertSame(JsonElement expected, Value actual, string where)
    {
        switch (expected.ValueKind)
        {
            case JsonValueKind.String:
                Assert.True(actual.Kind == ValueKind.String, $"{where}: expected a string, got {actual.Kind}");
                var raw = JsonMarshal.GetRawUtf8Value(expected);
                if (raw.IndexOf((byte)'\\') < 0) Assert.Equal(raw[1..^1].ToArray(), actual.RawBytes.ToArray()); // byte for byte, even invalid UTF-8
                else if (Utf8.IsValid(raw)) Assert.Equal(expected.GetString(), actual.AsString);
                // else: escapes and invalid UTF-8 together; System.Text.Json cannot unescape that, so there is nothing to compare with.
                break;
            case JsonValueKind.Number:
                AssertSameNumber(expected, actual, where);
                break;
            case JsonValueKind.True:
            case JsonValueKind.False:
                Assert.True(actual.Kind == ValueKind.Bool && actual.AsBool == expected.GetBoolean(), $"{where}: {actual}");
                break;
            case JsonValueKind.Null:
                Assert.True(actual.Kind == ValueKind.Null, $"{where}: {actual}");
                break;
            case JsonValueKind.Array:
                Assert.True(actual.Kind == ValueKind.Array, $"{where}: expected an array, got {actual.Kind}");
                var items = expected.EnumerateArray().ToArray();
                Assert.Equal(items.Length, actual.AsArray.Length);
                for (var i = 0; i < items.Length; i++) AssertSame(items[i], actual.AsArray[i], $"{where}[{i}]");
                break;
            case JsonValueKind.Object:
                Assert.True(actual.Kind == ValueKind.Map, $"{where}: expected a map, got {actual.Kind}");
                var members = expected.EnumerateObject().ToArray();
                Assert.Equal(members.Length, actual.AsMap.Length);
                for (var i = 0; i < members.Length; i++)
                {
                    var rawName = JsonMarshal.GetRawUtf8PropertyName(members[i]);
                    if (CanReadName(members[i])) Assert.Equal(members[i].Name, actual.AsMap[i].Key);
                    else if (rawName.IndexOf((byte)'\\') < 0) Assert.Equal(Encoding.UTF8.GetString(rawName), actual.AsMap[i].Key); // invalid UTF-8 reads as U+FFFD
                    AssertSame(members[i].Value, actual.AsMap[i].Value, $"{where}.{actual.AsMap[i].Key}");
                }
                break;
        }
    }

    private static void AssertSameNumber(JsonElement expected, Value actual, string where)
    {
        if (expected.TryGetInt64(out var l))
        {
            Assert.True(actual.Kind == ValueKind.Int && actual.AsInt == l, $"{where}: expected the integer {l}, got {actual.Kind} {actual}");
            return;
        }
        var raw = expected.GetRawText();
        var isInteger = raw.IndexOfAny(['.', 'e', 'E']) < 0;
        if (isInteger && expected.TryGetUInt64(out var ul))
        {
            Assert.True(actual.Kind == ValueKind.UInt && actual.AsUInt == ul, $"{where}: expected the integer {ul}, got {actual.Kind} {actual}");
            return;
        }
        switch (actual.Kind)
        {
            case ValueKind.Float:
                // The reader's double, bit for bit (both are correctly rounded, so they must agree exactly).
                Assert.True(expected.TryGetDouble(out var d) ? d.Equals(actual.AsFloat) : double.IsInfinity(actual.AsFloat),
                    $"{where}: expected {raw}, got {actual.AsFloat:R}");
                break;
            case ValueKind.Decimal:
                // Kept exact: the same number as the text.
                Assert.True(SameNumber(raw, actual.AsDecimal), $"{where}: expected {raw}, got {actual.AsDecimal}");
                break;
            default:
                Assert.Fail($"{where}: expected a number for {raw}, got {actual.Kind}");
                break;
        }
    }

    /// <summary>Whether the JSON number text and the decimal are the same number (compared as integers scaled alike).</summary>
    private static bool SameNumber(string text, DecimalValue d)
    {
        var exponent = 0;
        var e = text.IndexOfAny(['e', 'E']);
        if (e >= 0)
        {
            exponent = int.Parse(text[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            text = text[..e];
        }
        var point = text.IndexOf('.', StringComparison.Ordinal);
        if (point >= 0)
        {
            exponent -= text.Length - point - 1;
            text = text.Remove(point, 1);
        }
        var mantissa = BigInteger.Parse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        // text = mantissa * 10^exponent; d = unscaled * 10^-scale.
        var left = mantissa;
        var right = (BigInteger)d.Unscaled;
        var shift = exponent + d.Scale;
        if (shift >= 0) left *= BigInteger.Pow(10, shift);
        else right *= BigInteger.Pow(10, -shift);
        return left == right;
    }

    private static string GenerateObject(Random random, int depth)
    {
        var sb = new StringBuilder();
        sb.Append(Ws(random)).Append('{');
        var count = random.Next(depth == 0 ? 8 : 4);
        for (var i = 0; i < count; i++)
        {
            if (i > 0) sb.Append(',');
            sb.Append(Ws(random)).Append(QuoteName(random, Names[random.Next(Names.Length)])).Append(Ws(random)).Append(':').Append(Ws(random));
            sb.Append(GenerateValue(random, depth + 1)).Append(Ws(random));
        }
        sb.Append('}').Append(Ws(random));
        return sb.ToString();
    }

    private static string GenerateValue(Random random, int depth)
    {
        var pick = random.Next(depth > 3 ? 6 : 8);
        switch (pick)
        {
            case 0:
            case 1:
                return GenerateString(random);
            case 2:
            case 3:
                return GenerateNumber(random);
            case 4:
                return random.Next(3) switch { 0 => "true", 1 => "false", _ => "null" };
            case 5:
                return depth > 3 ? "[]" : "[" + string.Join(',', Enumerable.Range(0, random.Next(4)).Select(_ => Ws(random) + GenerateValue(random, depth + 1) + Ws(random))) + "]";
            default:
                return GenerateObject(random, depth);
        }
    }

    private static string QuoteName(Random random, string name) =>
        random.Next(10) == 0 && name.Length > 0 ? $"\"\\u{(int)name[0]:x4}{name[1..]}\"" : $"\"{name}\"";

    private static readonly string[] StringPieces =
        ["abc", "page_view", "é", "日本", "😀", "\\\"", "\\\\", "\\/", "\\n", "\\t", "\\b\\f\\r", "\\u0026", "\\u00e9", "\\uD83D\\uDE00", "\\uD83D", "\\uDE00x", " ", "https://shop.example.com/p/1?ref=home"];

    private static string GenerateString(Random random)
    {
        var sb = new StringBuilder("\"");
        var pieces = random.Next(5);
        for (var i = 0; i < pieces; i++)
        {
            var piece = StringPieces[random.Next(StringPieces.Length)];
            // Lone surrogates are rare, so most strings stay readable.
            if (piece is "\\uD83D" or "\\uDE00x" && random.Next(8) != 0) piece = "x";
            sb.Append(piece);
        }
        return sb.Append('"').ToString();
    }

    private static string GenerateNumber(Random random)
    {
        return random.Next(12) switch
        {
            0 => random.Next(-1000, 1000).ToString(CultureInfo.InvariantCulture),
            1 => random.NextInt64(long.MinValue, long.MaxValue).ToString(CultureInfo.InvariantCulture),
            2 => "18446744073709551615",
            3 => "-9223372036854775809",
            4 => "123456789012345678901234567890",
            5 => (random.Next(1, 100000) / 100.0).ToString("0.00", CultureInfo.InvariantCulture),
            6 => random.NextDouble().ToString("R", CultureInfo.InvariantCulture),
            7 => "12345678901234567.89",
            8 => $"{random.Next(-50, 50)}e{random.Next(-30, 30)}",
            9 => "-0.0",
            10 => "1E+400",
            _ => $"0.{new string('0', random.Next(20))}{random.Next(1, 1000)}",
        };
    }

    private static string Ws(Random random) => random.Next(6) switch { 0 => " ", 1 => "\n\t", 2 => "\r\n ", _ => "" };

    private static readonly byte[] MutationBytes = "{}[]\",:\\ 0123456789.eE-+tfnu\u0001\t"u8.ToArray().Concat(new byte[] { 0xFF, 0x00, 0xC3 }).ToArray();

    private static byte[] Mutate(Random random, byte[] bytes)
    {
        var list = bytes.ToList();
        var mutations = 1 + random.Next(2);
        for (var m = 0; m < mutations && list.Count > 0; m++)
        {
            var at = random.Next(list.Count);
            switch (random.Next(4))
            {
                case 0: list.RemoveAt(at); break;
                case 1: list.Insert(at, MutationBytes[random.Next(MutationBytes.Length)]); break;
                case 2: list[at] = MutationBytes[random.Next(MutationBytes.Length)]; break;
                default: list.RemoveRange(at, list.Count - at); break;
            }
        }
        return [.. list];
    }
}

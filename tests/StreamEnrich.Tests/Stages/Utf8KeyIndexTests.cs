using System.Globalization;
using System.Text;
using StreamEnrich.Records;
using StreamEnrich.Stages.Lookup;

namespace StreamEnrich.Tests.Stages;

public class Utf8KeyIndexTests
{
    private static string RandomKey(Random random)
    {
        // Lengths around the 8-byte words the hash reads, ASCII and not, and some long ones.
        var length = random.Next(4) == 0 ? random.Next(200, 400) : random.Next(0, 24);
        var chars = new char[length];
        for (var i = 0; i < length; i++)
            chars[i] = random.Next(10) switch
            {
                0 => (char)random.Next(0xA0, 0x800),   // two UTF-8 bytes
                1 => (char)random.Next(0x800, 0xD7FF), // three
                _ => (char)random.Next(0x20, 0x7F),
            };
        return new string(chars);
    }

    [Fact]
    public void TryAddAndFind_ManyRandomKeys_AgreeWithADictionary()
    {
        var random = new Random(7);
        var index = new Utf8KeyIndex(4); // grows many times
        var reference = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < 40_000; i++)
        {
            var key = RandomKey(random);
            var added = index.TryAdd(Encoding.UTF8.GetBytes(key), i, out var existing, out var entry);
            Assert.Equal(reference.TryAdd(key, i), added);
            if (!added) Assert.Equal(reference[key], existing);
            else Assert.Equal(key, Encoding.UTF8.GetString(index.Bytes, index.KeyStart(entry), index.KeyLength(entry)));
        }
        Assert.Equal(reference.Count, index.Count);
        Span<byte> buffer = stackalloc byte[256];
        foreach (var (key, value) in reference)
        {
            Assert.Equal(value, index.Find(Encoding.UTF8.GetBytes(key)));
            Assert.Equal(value, index.Find(Utf8KeyIndex.ToUtf8(key, buffer))); // as a lookup converts a UTF-16 value
        }
        for (var i = 0; i < 5_000; i++)
        {
            var key = RandomKey(random) + "\u00FF-absent";
            Assert.Equal(-1, index.Find(Encoding.UTF8.GetBytes(key)));
        }
    }

    [Fact]
    public void Find_KeysThatDifferOnlyInLengthOrTheLastByte_AreDifferentKeys()
    {
        var index = new Utf8KeyIndex();
        string[] keys = ["", "a", "a\0", "aaaaaaaa", "aaaaaaaab", "aaaaaaaa\0", "1", "01", "10"];
        for (var i = 0; i < keys.Length; i++) Assert.True(index.TryAdd(Encoding.UTF8.GetBytes(keys[i]), i, out _, out _), keys[i]);
        Span<byte> buffer = stackalloc byte[256];
        for (var i = 0; i < keys.Length; i++) Assert.Equal(i, index.Find(Utf8KeyIndex.ToUtf8(keys[i], buffer)));
        Assert.Equal(-1, index.Find("aaaaaaa"u8));
    }

    [Theory]
    [InlineData("plain ascii")]
    [InlineData("Zürich – 東京")]
    [InlineData("")]
    public void ToUtf8_FitsOrNot_IsWhatEncodingUtf8Writes(string text)
    {
        Span<byte> buffer = stackalloc byte[256];
        foreach (var t in new[] { text, string.Concat(Enumerable.Repeat(text, 40)) })
        {
            Assert.Equal(Encoding.UTF8.GetBytes(t), Utf8KeyIndex.ToUtf8(t, buffer).ToArray());
        }
    }

    /// <summary>The definition it replaced: what long.TryParse reads and the invariant culture writes back the same.</summary>
    private static bool ReferenceCanonical(string s, out long value) =>
        long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value)
        && value.ToString(CultureInfo.InvariantCulture) == s;

    [Theory]
    [InlineData("0", true, 0L)]
    [InlineData("42", true, 42L)]
    [InlineData("-7", true, -7L)]
    [InlineData("9223372036854775807", true, long.MaxValue)]
    [InlineData("-9223372036854775808", true, long.MinValue)]
    [InlineData("9223372036854775808", false, 0L)]
    [InlineData("-9223372036854775809", false, 0L)]
    [InlineData("10000000000000000000", false, 0L)]
    [InlineData("-0", false, 0L)]
    [InlineData("007", false, 0L)]
    [InlineData("+7", false, 0L)]
    [InlineData(" 7", false, 0L)]
    [InlineData("7 ", false, 0L)]
    [InlineData("", false, 0L)]
    [InlineData("-", false, 0L)]
    [InlineData("1e3", false, 0L)]
    [InlineData("١٢", false, 0L)] // Arabic-Indic digits
    public void TryParseCanonicalInteger_Cases(string text, bool expected, long expectedValue)
    {
        Assert.Equal(expected, LookupTable.TryParseCanonicalInteger(Encoding.UTF8.GetBytes(text), out var value));
        if (expected) Assert.Equal(expectedValue, value);
        Assert.Equal(ReferenceCanonical(text, out _), expected);
    }

    [Fact]
    public void TryParseCanonicalInteger_RandomTexts_AgreeWithTheReference()
    {
        var random = new Random(11);
        const string alphabet = "0123456789-+ 0";
        for (var i = 0; i < 100_000; i++)
        {
            var chars = new char[random.Next(0, 22)];
            for (var k = 0; k < chars.Length; k++) chars[k] = random.Next(3) == 0 ? alphabet[random.Next(alphabet.Length)] : (char)('0' + random.Next(10));
            var s = new string(chars);
            var expected = ReferenceCanonical(s, out var expectedValue);
            Assert.True(expected == LookupTable.TryParseCanonicalInteger(Encoding.UTF8.GetBytes(s), out var value), $"'{s}'");
            if (expected) Assert.Equal(expectedValue, value);
        }
    }

    [Fact]
    public void Load_LongAndNonAsciiKeysAndCells_FoundByTextAndUtf8()
    {
        var dir = Directory.CreateTempSubdirectory("se-lookup-");
        try
        {
            var longKey = new string('k', 300);
            var path = Path.Combine(dir.FullName, "t.csv");
            File.WriteAllText(path, $"id,city\n{longKey},Zürich\nmünchen,東京\n7,Zürich\n", Encoding.UTF8);
            var table = LookupTable.Load(path, LookupFileFormat.Csv, "id", ["city"]);
            Assert.Equal(3, table.Count);
            Assert.Equal("Zürich", table.Cell(table.Find(Value.FromString(longKey)), 0).ToString());
            Assert.Equal("Zürich", table.Cell(table.Find(Value.FromUtf8(Encoding.UTF8.GetBytes(longKey))), 0).ToString());
            Assert.Equal("東京", table.Cell(table.Find(Value.FromUtf8(Encoding.UTF8.GetBytes("münchen"))), 0).ToString());
            Assert.Equal("東京", table.Cell(table.Find(Value.FromString("münchen")), 0).ToString());
            Assert.Equal(table.Find(Value.FromInt(7)), table.Find(Value.FromString("7")));
            Assert.Equal(-1, table.Find(Value.FromString("munchen")));
            // A text that repeats is stored once.
            var a = table.Cell(table.Find(Value.FromInt(7)), 0);
            var b = table.Cell(table.Find(Value.FromString(longKey)), 0);
            Assert.True(a.RawBytes == b.RawBytes, "the same distinct value");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}

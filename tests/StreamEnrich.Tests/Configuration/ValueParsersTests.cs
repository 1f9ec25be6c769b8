using StreamEnrich.Configuration;

namespace StreamEnrich.Tests.Configuration;

public class ValueParsersTests
{
    [Theory]
    [InlineData("250ms", 250)]
    [InlineData("5s", 5000)]
    [InlineData("2m", 120_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("1h30m", 5_400_000)]
    [InlineData("1m30s500ms", 90_500)]
    [InlineData("1.5s", 1500)]
    [InlineData("2d", 172_800_000)]
    [InlineData("30", 30_000)]
    [InlineData("0.25", 250)]
    [InlineData("0", 0)]
    public void TryParseDuration_ValidForms_Parse(string text, long ms)
    {
        Assert.True(ValueParsers.TryParseDuration(text, out var ts));
        Assert.Equal(TimeSpan.FromMilliseconds(ms), ts);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("")]
    [InlineData("5 s")]
    [InlineData("5sec")]
    [InlineData("-5s")]
    [InlineData("s")]
    [InlineData("1h 30m")]
    [InlineData("5x")]
    public void TryParseDuration_InvalidForms_Fail(string text) => Assert.False(ValueParsers.TryParseDuration(text, out _));

    [Theory]
    [InlineData("512", 512)]
    [InlineData("64KB", 64_000)]
    [InlineData("64kb", 64_000)]
    [InlineData("16MB", 16_000_000)]
    [InlineData("16 MiB", 16 * 1024 * 1024)]
    [InlineData("1GiB", 1024L * 1024 * 1024)]
    [InlineData("1GB", 1_000_000_000)]
    [InlineData("2TiB", 2L << 40)]
    [InlineData("1.5KiB", 1536)]
    [InlineData("10B", 10)]
    public void TryParseByteSize_ValidForms_Parse(string text, long bytes)
    {
        Assert.True(ValueParsers.TryParseByteSize(text, out var v));
        Assert.Equal(bytes, v);
    }

    [Theory]
    [InlineData("12XB")]
    [InlineData("MB")]
    [InlineData("-1KB")]
    [InlineData("1.0001KB")]
    [InlineData("99999999999TiB")]
    public void TryParseByteSize_InvalidForms_Fail(string text) => Assert.False(ValueParsers.TryParseByteSize(text, out _));

    [Theory]
    [InlineData("~", null)]
    [InlineData("null", null)]
    [InlineData("", null)]
    [InlineData("true", true)]
    [InlineData("False", false)]
    [InlineData("yes", "yes")]
    [InlineData("42", 42L)]
    [InlineData("-7", -7L)]
    [InlineData("0x1F", 31L)]
    [InlineData("0o17", 15L)]
    [InlineData("2.5", 2.5)]
    [InlineData("1e3", 1000.0)]
    [InlineData("007", 7L)]
    [InlineData("1_000", "1_000")]
    [InlineData("12:30", "12:30")]
    [InlineData("hello", "hello")]
    public void InferPlain_FollowsYaml12CoreSchema(string text, object? expected) => Assert.Equal(expected, ValueParsers.InferPlain(text));

    [Fact]
    public void InferPlain_Infinity_IsDouble() => Assert.Equal(double.NegativeInfinity, ValueParsers.InferPlain("-.inf"));

    [Theory]
    [InlineData(200, "200ms")]
    [InlineData(1000, "1s")]
    [InlineData(90_000, "1m30s")]
    [InlineData(0, "0s")]
    [InlineData(3_600_000, "1h")]
    public void FormatDuration_RoundTrips(long ms, string text)
    {
        Assert.Equal(text, ValueParsers.FormatDuration(TimeSpan.FromMilliseconds(ms)));
        Assert.True(ValueParsers.TryParseDuration(text, out var back));
        Assert.Equal(TimeSpan.FromMilliseconds(ms), back);
    }

    [Theory]
    [InlineData(64L * 1024 * 1024, "64MiB")]
    [InlineData(16_000_000, "16MB")]
    [InlineData(1000, "1KB")]
    [InlineData(1001, "1001")]
    public void FormatByteSize_RoundTrips(long bytes, string text)
    {
        Assert.Equal(text, ValueParsers.FormatByteSize(bytes));
        Assert.True(ValueParsers.TryParseByteSize(text, out var back));
        Assert.Equal(bytes, back);
    }

    [Theory]
    [InlineData("MaxWait", "max_wait")]
    [InlineData("TlsCaFile", "tls_ca_file")]
    [InlineData("HTTPPort", "http_port")]
    [InlineData("DeadLetter", "dead_letter")]
    [InlineData("Url", "url")]
    [InlineData("Utf8Bytes", "utf8_bytes")]
    public void ToSnakeCase_PropertyNames(string name, string key) => Assert.Equal(key, OptionNames.ToSnakeCase(name));
}

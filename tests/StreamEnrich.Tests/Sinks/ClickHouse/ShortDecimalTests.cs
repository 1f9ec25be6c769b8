using System.Globalization;
using StreamEnrich.Records;
using StreamEnrich.Sinks.ClickHouse;

namespace StreamEnrich.Tests.Sinks.ClickHouse;

public sealed class ShortDecimalTests
{
    /// <summary>The decimal the shortest round-trip text of <paramref name="f"/> spells (the slow path's answer).</summary>
    private static DecimalValue ViaText(double f)
    {
        var text = decimal.Parse(f.ToString("R", CultureInfo.InvariantCulture), NumberStyles.Float, CultureInfo.InvariantCulture)
            .ToString(CultureInfo.InvariantCulture);
        Assert.True(DecimalValue.TryParse(text, out var d), text);
        return d;
    }

    private static void AssertSameValue(DecimalValue expected, DecimalValue actual, double f)
    {
        var scale = Math.Max(expected.Scale, actual.Scale);
        Assert.True(expected.TryRescale(scale, out var e));
        Assert.True(actual.TryRescale(scale, out var a));
        Assert.True(e == a, $"{f:R}: text path {expected}, fast path {actual}");
    }

    [Theory]
    [InlineData(19.99, 1999, 2)]
    [InlineData(20.0, 20, 0)]
    [InlineData(0.1, 1, 1)]
    [InlineData(-0.3, -3, 1)]
    [InlineData(1e-5, 1, 5)]
    [InlineData(-0.0, 0, 0)]
    [InlineData(123456.789, 123456789, 3)]
    public void TryShortDecimal_KnownValues_GivesTheWrittenDecimal(double f, long unscaled, int scale)
    {
        Assert.True(ValueEncoder.TryShortDecimal(f, out var d));
        Assert.Equal(new DecimalValue(unscaled, scale), d);
    }

    [Theory]
    [InlineData(1e300)]
    [InlineData(0.1234567890123456789)] // needs more than 15 fractional digits
    [InlineData(5e15)]                  // at or above 2^52
    public void TryShortDecimal_OutOfItsRange_LeavesItToTheTextPath(double f) =>
        Assert.False(ValueEncoder.TryShortDecimal(f, out _));

    [Fact]
    public void TryShortDecimal_RandomPricesAndDoubles_AgreesWithTheShortestRoundTripText()
    {
        var random = new Random(12345);
        var checkedCount = 0;
        for (var i = 0; i < 200_000; i++)
        {
            double f = (i % 4) switch
            {
                0 => Math.Round(random.NextDouble() * 10_000, 2),                      // prices
                1 => Math.Round((random.NextDouble() - 0.5) * 1e9, random.Next(0, 8)), // mixed scales
                2 => (random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-8, 16)),  // arbitrary doubles
                _ => random.Next(-1_000_000, 1_000_000) / Math.Pow(10, random.Next(0, 10)),
            };
            if (!ValueEncoder.TryShortDecimal(f, out var fast)) continue;
            AssertSameValue(ViaText(f), fast, f);
            checkedCount++;
        }
        Assert.True(checkedCount > 150_000, $"only {checkedCount} values took the fast path");
    }

    [Fact]
    public void DecimalEncoder_FloatInput_EncodesTheSameBytesAsItsText()
    {
        var enc = ValueEncoder.Create(ClickHouseType.Parse("Decimal(12, 2)"));
        using var a = new RowBinaryWriter(16);
        using var b = new RowBinaryWriter(16);
        Assert.Null(enc.Write(Value.FromFloat(19.99), a));
        Assert.Null(enc.Write(Value.FromString("19.99"), b));
        Assert.Equal(b.WrittenSpan.ToArray(), a.WrittenSpan.ToArray());
        Assert.Contains("does not fit Decimal(12, 2)", enc.Write(Value.FromFloat(0.125), a), StringComparison.Ordinal);
    }
}

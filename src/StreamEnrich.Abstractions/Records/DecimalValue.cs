using System.Globalization;
using System.Numerics;

namespace StreamEnrich.Records;

/// <summary>An exact decimal number: <c>Unscaled × 10^-Scale</c>, wide enough for ClickHouse Decimal128 (38 digits).</summary>
public readonly record struct DecimalValue(Int128 Unscaled, int Scale)
{
    public static DecimalValue From(decimal d)
    {
        Span<int> bits = stackalloc int[4];
        decimal.GetBits(d, bits);
        var mag = ((Int128)(uint)bits[2] << 64) | ((Int128)(uint)bits[1] << 32) | (uint)bits[0];
        var scale = (bits[3] >> 16) & 0xFF;
        return new(bits[3] < 0 ? -mag : mag, scale);
    }

    /// <summary>Parses a plain decimal literal such as <c>-12.340</c> or <c>1e-3</c> exactly.</summary>
    public static bool TryParse(ReadOnlySpan<char> s, out DecimalValue value)
    {
        value = default;
        s = s.Trim();
        if (s.IsEmpty) return false;
        var exp = 0;
        var e = s.IndexOfAny('e', 'E');
        if (e >= 0)
        {
            if (!int.TryParse(s[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out exp)) return false;
            s = s[..e];
        }
        var neg = false;
        if (s[0] is '-' or '+') { neg = s[0] == '-'; s = s[1..]; }
        if (s.IsEmpty) return false;
        BigInteger mag = BigInteger.Zero;
        var scale = 0; var seenDot = false; var digits = 0;
        foreach (var c in s)
        {
            if (c == '.') { if (seenDot) return false; seenDot = true; continue; }
            if (c is < '0' or > '9') return false;
            mag = mag * 10 + (c - '0');
            digits++;
            if (seenDot) scale++;
        }
        if (digits == 0) return false;
        scale -= exp;
        if (scale < 0) { mag *= BigInteger.Pow(10, -scale); scale = 0; }
        if (scale > 76 || mag > (BigInteger)Int128.MaxValue) return false;
        value = new(neg ? -(Int128)mag : (Int128)mag, scale);
        return true;
    }

    /// <summary>
    /// This number with exactly <paramref name="scale"/> fractional digits. Fails (returns false) when digits
    /// would be lost or the result does not fit: a decimal is never silently rounded.
    /// </summary>
    public bool TryRescale(int scale, out Int128 unscaled)
    {
        unscaled = Unscaled;
        if (scale == Scale) return true;
        if (scale > Scale)
        {
            for (var i = Scale; i < scale; i++)
            {
                if (unscaled > Int128.MaxValue / 10 || unscaled < Int128.MinValue / 10) return false;
                unscaled *= 10;
            }
            return true;
        }
        for (var i = scale; i < Scale; i++)
        {
            var q = Int128.DivRem(unscaled, 10);
            if (q.Remainder != 0) return false;
            unscaled = q.Quotient;
        }
        return true;
    }

    public double ToDouble() => (double)Unscaled / Math.Pow(10, Scale);

    public override string ToString()
    {
        var neg = Unscaled < 0;
        var digits = (neg ? -(BigInteger)Unscaled : (BigInteger)Unscaled).ToString(CultureInfo.InvariantCulture);
        if (Scale > 0)
        {
            if (digits.Length <= Scale) digits = new string('0', Scale - digits.Length + 1) + digits;
            digits = digits[..^Scale] + "." + digits[^Scale..];
        }
        return neg ? "-" + digits : digits;
    }
}

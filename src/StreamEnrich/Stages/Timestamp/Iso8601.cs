namespace StreamEnrich.Stages.Timestamp;

/// <summary>
/// Allocation-free ISO-8601 parser over UTF-8 bytes for the forms events use:
/// <c>yyyy-MM-dd</c>, <c>yyyy-MM-ddTHH:mm[:ss[.f{1,9}]]</c> (<c>T</c>, <c>t</c> or a space), optionally followed by
/// <c>Z</c>, <c>±hh:mm</c>, <c>±hhmm</c> or <c>±hh</c>. Fractional seconds keep all 9 digits (nanoseconds).
/// Years 1678..2261 (the range of nanoseconds since the epoch in a long).
/// </summary>
internal static class Iso8601
{
    private const long NanosPerSecond = 1_000_000_000L;
    private const long NanosPerDay = 86_400L * NanosPerSecond;
    private static readonly int EpochDayNumber = new DateOnly(1970, 1, 1).DayNumber;

    /// <summary>
    /// Parses <paramref name="s"/>. <paramref name="nanos"/> is nanoseconds since the epoch of the wall-clock time
    /// minus the offset when <paramref name="hasOffset"/>; otherwise the wall-clock time read as if it were UTC
    /// (the caller applies a time zone).
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> s, out long nanos, out bool hasOffset)
    {
        nanos = 0;
        hasOffset = false;
        if (s.Length < 10 || s[4] != '-' || s[7] != '-') return false;
        if (!Digits(s, 0, 4, out var year) || !Digits(s, 5, 2, out var month) || !Digits(s, 8, 2, out var day)) return false;
        if (year is < 1678 or > 2261 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month)) return false;
        var days = new DateOnly(year, month, day).DayNumber - EpochDayNumber;
        long timeOfDay = 0;
        var i = 10;
        if (i < s.Length)
        {
            if (s[i] is not ((byte)'T' or (byte)'t' or (byte)' ')) return false;
            i++;
            if (s.Length < i + 5 || s[i + 2] != ':') return false;
            if (!Digits(s, i, 2, out var hour) || !Digits(s, i + 3, 2, out var minute)) return false;
            if (hour > 23 || minute > 59) return false;
            i += 5;
            var second = 0;
            long fraction = 0;
            if (i < s.Length && s[i] == ':')
            {
                if (!Digits(s, i + 1, 2, out second) || second > 59) return false;
                i += 3;
                if (i < s.Length && s[i] is (byte)'.' or (byte)',')
                {
                    i++;
                    var start = i;
                    while (i < s.Length && (uint)(s[i] - '0') <= 9)
                    {
                        if (i - start >= 9) return false; // more than nanosecond precision: refuse rather than round
                        fraction = fraction * 10 + (s[i] - '0');
                        i++;
                    }
                    if (i == start) return false;
                    for (var k = i - start; k < 9; k++) fraction *= 10;
                }
            }
            timeOfDay = ((hour * 60L + minute) * 60L + second) * NanosPerSecond + fraction;
            if (i < s.Length)
            {
                if (s[i] is (byte)'Z' or (byte)'z')
                {
                    i++;
                    hasOffset = true;
                }
                else if (s[i] is (byte)'+' or (byte)'-')
                {
                    var sign = s[i] == '-' ? -1 : 1;
                    i++;
                    if (!Digits(s, i, 2, out var oh)) return false;
                    i += 2;
                    var om = 0;
                    if (i < s.Length)
                    {
                        if (s[i] == ':') i++;
                        if (!Digits(s, i, 2, out om)) return false;
                        i += 2;
                    }
                    if (oh > 18 || om > 59) return false;
                    timeOfDay -= sign * (oh * 60L + om) * 60L * NanosPerSecond;
                    hasOffset = true;
                }
                if (i != s.Length) return false;
            }
        }
        // Years 1678-2261 are within ±106,650 days of 1970 and a long holds ±106,751 days of nanoseconds, so neither the
        // day count nor a time of day with its offset (under two days) overflows; the check keeps that true should the year
        // range ever widen. Plain long arithmetic, so the method is precompiled (Int128 would leave it to the JIT,
        // unoptimized for the first thousands of calls).
        var dayNanos = days * NanosPerDay;
        if (timeOfDay > 0 ? dayNanos > long.MaxValue - timeOfDay : dayNanos < long.MinValue - timeOfDay) return false;
        nanos = dayNanos + timeOfDay;
        return true;
    }

    private static bool Digits(ReadOnlySpan<byte> s, int start, int count, out int value)
    {
        value = 0;
        if (start + count > s.Length) return false;
        for (var i = start; i < start + count; i++)
        {
            var d = (uint)(s[i] - '0');
            if (d > 9) return false;
            value = value * 10 + (int)d;
        }
        return true;
    }
}

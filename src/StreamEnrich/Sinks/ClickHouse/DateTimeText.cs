namespace StreamEnrich.Sinks.ClickHouse;

/// <summary>
/// Allocation-free parsing of the date/time text the sink accepts: <c>YYYY-MM-DD</c>, and
/// <c>YYYY-MM-DD[T| ]hh:mm[:ss[.fraction]][Z|±hh[:mm]]</c>. Text without an offset is read in the column's time zone
/// (its <c>DateTime('tz')</c> argument, else the server's zone), as ClickHouse reads it.
/// </summary>
internal static class DateTimeText
{
    private const long NanosPerSecond = 1_000_000_000;
    private static readonly int EpochDayNumber = new DateOnly(1970, 1, 1).DayNumber;

    public static bool IsAllDigits(ReadOnlySpan<byte> s)
    {
        if (s.IsEmpty) return false;
        foreach (var b in s) if (b is < (byte)'0' or > (byte)'9') return false;
        return true;
    }

    private static bool Digits(ReadOnlySpan<byte> s, int at, int count, out int value)
    {
        value = 0;
        if (at + count > s.Length) return false;
        for (var i = at; i < at + count; i++)
        {
            var d = s[i] - '0';
            if ((uint)d > 9) return false;
            value = value * 10 + d;
        }
        return true;
    }

    /// <summary>Days since 1970-01-01 of a <c>YYYY-MM-DD</c> text.</summary>
    public static bool TryParseDate(ReadOnlySpan<byte> s, out int days)
    {
        days = 0;
        if (s.Length != 10) return false;
        return TryDatePart(s, out days);
    }

    private static bool TryDatePart(ReadOnlySpan<byte> s, out int days)
    {
        days = 0;
        if (s.Length < 10 || s[4] != '-' || s[7] != '-') return false;
        if (!Digits(s, 0, 4, out var y) || !Digits(s, 5, 2, out var m) || !Digits(s, 8, 2, out var d)) return false;
        if (y < 1 || m is < 1 or > 12 || d < 1 || d > DateTime.DaysInMonth(y, m)) return false;
        days = new DateOnly(y, m, d).DayNumber - EpochDayNumber;
        return true;
    }

    /// <summary>
    /// Nanoseconds since the epoch (UTC). <paramref name="invalidInZone"/> is true when the text is well-formed but names a
    /// local time that does not exist in <paramref name="zone"/> (a daylight-saving gap).
    /// </summary>
    public static bool TryParseDateTime(ReadOnlySpan<byte> s, TimeZoneInfo zone, out long nanos, out bool invalidInZone)
    {
        nanos = 0;
        invalidInZone = false;
        if (!TryDatePart(s, out var days)) return false;
        long local = days * 86_400L * NanosPerSecond;
        var i = 10;
        if (i < s.Length)
        {
            if (s[i] is not ((byte)'T' or (byte)' ' or (byte)'t')) return false;
            i++;
            if (!Digits(s, i, 2, out var hh) || i + 2 >= s.Length || s[i + 2] != ':' || !Digits(s, i + 3, 2, out var mm)) return false;
            i += 5;
            var ss = 0;
            if (i < s.Length && s[i] == ':')
            {
                if (!Digits(s, i + 1, 2, out ss)) return false;
                i += 3;
            }
            if (hh > 23 || mm > 59 || ss > 59) return false;
            long frac = 0;
            if (i < s.Length && s[i] is (byte)'.' or (byte)',')
            {
                i++;
                var digits = 0;
                while (i < s.Length && s[i] is >= (byte)'0' and <= (byte)'9')
                {
                    if (digits < 9) { frac = frac * 10 + (s[i] - '0'); digits++; }
                    i++; // digits past nanoseconds are truncated
                }
                if (digits == 0) return false;
                for (var k = digits; k < 9; k++) frac *= 10;
            }
            local += ((hh * 3600L) + (mm * 60L) + ss) * NanosPerSecond + frac;
        }
        if (i == s.Length)
        {
            nanos = ToUtcNanos(local, zone, out invalidInZone);
            return !invalidInZone;
        }
        if (s[i] is (byte)'Z' or (byte)'z')
        {
            nanos = local;
            return i + 1 == s.Length;
        }
        if (s[i] is not ((byte)'+' or (byte)'-')) return false;
        var sign = s[i] == '-' ? -1 : 1;
        i++;
        if (!Digits(s, i, 2, out var oh)) return false;
        i += 2;
        var om = 0;
        if (i < s.Length && s[i] == ':') i++;
        if (i < s.Length)
        {
            if (!Digits(s, i, 2, out om)) return false;
            i += 2;
        }
        if (i != s.Length || oh > 14 || om > 59) return false;
        nanos = local - sign * ((oh * 3600L) + (om * 60L)) * NanosPerSecond;
        return true;
    }

    /// <summary>UTC nanoseconds of a local wall-clock time (nanoseconds since the local epoch) in <paramref name="zone"/>.</summary>
    public static long ToUtcNanos(long localNanos, TimeZoneInfo zone, out bool invalid)
    {
        invalid = false;
        if (zone == TimeZoneInfo.Utc || zone.BaseUtcOffset == TimeSpan.Zero && !zone.SupportsDaylightSavingTime) return localNanos;
        var ticks = DateTime.UnixEpoch.Ticks + localNanos / 100;
        if (ticks < DateTime.MinValue.Ticks || ticks > DateTime.MaxValue.Ticks) { invalid = true; return 0; }
        var dt = new DateTime(ticks, DateTimeKind.Unspecified);
        if (zone.IsInvalidTime(dt)) { invalid = true; return 0; }
        return localNanos - (long)zone.GetUtcOffset(dt).TotalSeconds * NanosPerSecond;
    }

    /// <summary>Local wall-clock nanoseconds in <paramref name="zone"/> of a UTC instant.</summary>
    public static long ToLocalNanos(long utcNanos, TimeZoneInfo zone)
    {
        if (zone == TimeZoneInfo.Utc || zone.BaseUtcOffset == TimeSpan.Zero && !zone.SupportsDaylightSavingTime) return utcNanos;
        var ticks = DateTime.UnixEpoch.Ticks + utcNanos / 100;
        var dt = new DateTime(Math.Clamp(ticks, DateTime.MinValue.Ticks, DateTime.MaxValue.Ticks), DateTimeKind.Utc);
        return utcNanos + (long)zone.GetUtcOffset(dt).TotalSeconds * NanosPerSecond;
    }
}

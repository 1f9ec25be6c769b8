using System.Globalization;
using System.Text.RegularExpressions;

namespace StreamEnrich.Configuration;

/// <summary>Parsing (and printing, for the docs) of the scalar forms options are written in.</summary>
internal static partial class ValueParsers
{
    public const string DurationHint = "Durations are a number and a unit (ms, s, m, h, d), parts may be combined: 250ms, 5s, 2m, 1h30m; a bare number is seconds.";
    public const string ByteSizeHint = "Byte sizes are a number with an optional unit: 512, 64KB, 16MB, 1GB (powers of 1000) or 64KiB, 16MiB, 1GiB (powers of 1024).";

    /// <summary><c>250ms</c>, <c>5s</c>, <c>2m</c>, <c>1h</c>, <c>1h30m</c>, <c>1.5s</c>, <c>2d</c>; a bare number is seconds.</summary>
    public static bool TryParseDuration(string text, out TimeSpan value)
    {
        value = default;
        var s = text.Trim();
        if (s.Length == 0)
            return false;
        if (double.TryParse(s, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds))
        {
            if (!double.IsFinite(seconds) || seconds > TimeSpan.MaxValue.TotalSeconds)
                return false;
            value = TimeSpan.FromSeconds(seconds);
            return true;
        }

        var total = 0.0;
        var pos = 0;
        foreach (Match m in DurationPart().Matches(s))
        {
            if (m.Index != pos)
                return false;
            pos += m.Length;
            var n = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            total += m.Groups[2].Value switch
            {
                "ms" => n,
                "s" => n * 1000,
                "m" => n * 60_000,
                "h" => n * 3_600_000,
                _ => n * 86_400_000,
            };
        }
        if (pos != s.Length || pos == 0 || total > TimeSpan.MaxValue.TotalMilliseconds)
            return false;
        value = TimeSpan.FromMilliseconds(total);
        return true;
    }

    [GeneratedRegex(@"(\d+(?:\.\d+)?)(ms|s|m|h|d)", RegexOptions.CultureInvariant)]
    private static partial Regex DurationPart();

    /// <summary><c>512</c>, <c>64KB</c>, <c>16 MB</c>, <c>1GiB</c>, <c>1.5GB</c> (units case-insensitive; KB = 1000, KiB = 1024).</summary>
    public static bool TryParseByteSize(string text, out long value)
    {
        value = 0;
        var m = ByteSizePattern().Match(text.Trim());
        if (!m.Success)
            return false;
        var n = decimal.Parse(m.Groups[1].Value.Replace("_", "", StringComparison.Ordinal), CultureInfo.InvariantCulture);
        var unit = m.Groups[2].Value.ToUpperInvariant();
        decimal factor = unit switch
        {
            "" or "B" => 1m,
            "K" or "KB" => 1e3m,
            "M" or "MB" => 1e6m,
            "G" or "GB" => 1e9m,
            "T" or "TB" => 1e12m,
            "KIB" => 1024m,
            "MIB" => 1024m * 1024,
            "GIB" => 1024m * 1024 * 1024,
            "TIB" => 1024m * 1024 * 1024 * 1024,
            _ => -1m,
        };
        if (factor < 0)
            return false;
        var bytes = n * factor;
        if (bytes > long.MaxValue || bytes != decimal.Truncate(bytes))
            return false;
        value = (long)bytes;
        return true;
    }

    [GeneratedRegex(@"^([0-9][0-9_]*(?:\.[0-9]+)?)\s*([A-Za-z]*)$", RegexOptions.CultureInvariant)]
    private static partial Regex ByteSizePattern();

    /// <summary>A decimal integer (underscores allowed as separators), or 0x hex / 0o octal.</summary>
    public static bool TryParseInteger(string text, out long value)
    {
        var s = text.Trim().Replace("_", "", StringComparison.Ordinal);
        value = 0;
        if (s.Length == 0)
            return false;
        var negative = false;
        if (s[0] is '+' or '-')
        {
            negative = s[0] == '-';
            s = s[1..];
        }
        bool ok;
        if (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            ok = ulong.TryParse(s.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var u) && u <= long.MaxValue;
            value = ok ? (long)u : 0;
        }
        else if (s.StartsWith("0o", StringComparison.OrdinalIgnoreCase))
        {
            ok = s.Length > 2;
            foreach (var c in s.AsSpan(2))
            {
                if (c is < '0' or > '7' || value > (long.MaxValue >> 3)) { ok = false; break; }
                value = (value * 8) + (c - '0');
            }
        }
        else
        {
            ok = s.Length > 0 && char.IsAsciiDigit(s[0]) && long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value);
        }
        if (ok && negative)
            value = -value;
        return ok;
    }

    public static bool TryParseDouble(string text, out double value)
    {
        var s = text.Trim();
        switch (s)
        {
            case ".inf" or ".Inf" or ".INF" or "+.inf" or "+.Inf" or "+.INF": value = double.PositiveInfinity; return true;
            case "-.inf" or "-.Inf" or "-.INF": value = double.NegativeInfinity; return true;
            case ".nan" or ".NaN" or ".NAN": value = double.NaN; return true;
        }
        if (FloatPattern().IsMatch(s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out value))
            return true;
        if (TryParseInteger(s, out var l))
        {
            value = l;
            return true;
        }
        value = 0;
        return false;
    }

    /// <summary>YAML 1.2 core schema booleans.</summary>
    public static bool TryParseBool(string text, out bool value)
    {
        switch (text.Trim())
        {
            case "true" or "True" or "TRUE": value = true; return true;
            case "false" or "False" or "FALSE": value = false; return true;
            default: value = false; return false;
        }
    }

    /// <summary>The .NET value of a plain (unquoted) scalar by the YAML 1.2 core schema: null, bool, long, double or string.</summary>
    public static object? InferPlain(string text)
    {
        switch (text)
        {
            case "" or "~" or "null" or "Null" or "NULL":
                return null;
        }
        if (TryParseBool(text, out var b))
            return b;
        if (CoreIntPattern().IsMatch(text))
        {
            if (TryParseInteger(text, out var l))
                return l;
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var big))
                return big;
        }
        if (text is ".inf" or ".Inf" or ".INF" or "+.inf" or "+.Inf" or "+.INF" or "-.inf" or "-.Inf" or "-.INF" or ".nan" or ".NaN" or ".NAN"
            || FloatPattern().IsMatch(text))
        {
            if (TryParseDouble(text, out var d))
                return d;
        }
        return text;
    }

    [GeneratedRegex(@"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", RegexOptions.CultureInvariant)]
    private static partial Regex CoreIntPattern();

    [GeneratedRegex(@"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex FloatPattern();

    /// <summary>The shortest exact form: <c>200ms</c>, <c>1s</c>, <c>1m30s</c>, <c>0s</c>.</summary>
    public static string FormatDuration(TimeSpan value)
    {
        if (value == TimeSpan.Zero)
            return "0s";
        var ms = (long)value.TotalMilliseconds;
        if (ms * TimeSpan.TicksPerMillisecond != value.Ticks || ms < 0)
            return value.ToString("c", CultureInfo.InvariantCulture);
        var parts = new System.Text.StringBuilder();
        void Part(long unitMs, string unit)
        {
            if (ms >= unitMs)
            {
                parts.Append(CultureInfo.InvariantCulture, $"{ms / unitMs}{unit}");
                ms %= unitMs;
            }
        }
        Part(86_400_000, "d");
        Part(3_600_000, "h");
        Part(60_000, "m");
        Part(1000, "s");
        Part(1, "ms");
        return parts.ToString();
    }

    /// <summary><c>64MiB</c>, <c>16MB</c>, <c>1000</c>.</summary>
    public static string FormatByteSize(long value)
    {
        if (value == 0)
            return "0";
        (long Factor, string Unit)[] units =
            [(1L << 40, "TiB"), (1_000_000_000_000, "TB"), (1L << 30, "GiB"), (1_000_000_000, "GB"), (1L << 20, "MiB"), (1_000_000, "MB"), (1L << 10, "KiB"), (1000, "KB")];
        foreach (var (factor, unit) in units)
            if (value % factor == 0)
                return string.Create(CultureInfo.InvariantCulture, $"{value / factor}{unit}");
        return value.ToString(CultureInfo.InvariantCulture);
    }
}

using System.Buffers.Binary;
using System.Buffers.Text;
using System.Globalization;
using System.Numerics;
using System.Text;
using StreamEnrich.Records;

namespace StreamEnrich.Sinks.ClickHouse;

/// <summary>
/// Writes <see cref="Value"/>s of one ClickHouse type in RowBinary. Built once per column from its
/// <see cref="ClickHouseType"/> (<see cref="Create"/>), so the hot path never looks at type strings.
/// <para>
/// Conversions, and what fails: integers are range-checked; floats go into integer columns only when integral;
/// strings are parsed for numbers, dates, UUIDs, IPs, decimals and bools. Numbers written to DateTime/DateTime64 are
/// <b>seconds</b> since the Unix epoch (fractions kept for DateTime64); timestamps finer than the column keeps are
/// truncated toward the past, as ClickHouse does when it parses text. Date columns take a Date, a Timestamp (its day in
/// the column's time zone), <c>YYYY-MM-DD</c> text or a day number. Decimals are exact: a float is converted through
/// its shortest round-trip text, and a value with more fractional digits than the scale, or more digits than the
/// precision, is an error, never rounded.
/// </para>
/// </summary>
internal abstract class ValueEncoder
{
    protected ValueEncoder(ClickHouseType type) => Type = type;

    public ClickHouseType Type { get; }

    /// <summary>Writes <paramref name="v"/>; returns null on success or why it cannot be written (then the row is rolled back by the caller).</summary>
    public abstract string? Write(in Value v, RowBinaryWriter w);

    /// <summary>Writes the type's default value (0, '', [], 1970-01-01, NULL for Nullable, smallest Enum value).</summary>
    public abstract void WriteDefault(RowBinaryWriter w);

    protected string Unsupported(in Value v) => v.Kind switch
    {
        ValueKind.Null or ValueKind.Missing => $"null is not allowed in non-Nullable {Type.Text}",
        _ => $"{KindName(v.Kind)} values cannot be converted to {Type.Text}",
    };

    protected static string KindName(ValueKind k) => k switch
    {
        ValueKind.Int or ValueKind.UInt => "integer",
        ValueKind.Float => "float",
        ValueKind.Array => "list",
        ValueKind.Map => "object",
        ValueKind.Uuid => "UUID",
        _ => k.ToString().ToLowerInvariant(),
    };

    /// <summary>Renders a value for error messages (strings quoted, long values cut).</summary>
    public static string Render(in Value v)
    {
        var s = v.Kind == ValueKind.String ? "'" + v.AsString + "'" : v.ToString();
        return s.Length > 120 ? s[..117] + "..." : s;
    }

    /// <summary>The UTF-8 text of a string value: its slice when it is one, else encoded into <paramref name="scratch"/>.</summary>
    protected static bool TryUtf8(in Value v, Span<byte> scratch, out ReadOnlySpan<byte> text)
    {
        if (v.IsUtf8) { text = v.RawBytes; return true; }
        if (v.TryGetUtf8(scratch, out var n)) { text = scratch[..n]; return true; }
        text = default;
        return false;
    }

    public static ValueEncoder Create(ClickHouseType t, TimeZoneInfo? serverTimeZone = null)
    {
        var tz = serverTimeZone ?? TimeZoneInfo.Utc;
        return t.Kind switch
        {
            ClickHouseTypeKind.Int8 => new IntegerEncoder(t, 1, sbyte.MinValue, (ulong)sbyte.MaxValue),
            ClickHouseTypeKind.Int16 => new IntegerEncoder(t, 2, short.MinValue, (ulong)short.MaxValue),
            ClickHouseTypeKind.Int32 => new IntegerEncoder(t, 4, int.MinValue, int.MaxValue),
            ClickHouseTypeKind.Int64 => new IntegerEncoder(t, 8, long.MinValue, long.MaxValue),
            ClickHouseTypeKind.UInt8 => new IntegerEncoder(t, 1, 0, byte.MaxValue),
            ClickHouseTypeKind.UInt16 => new IntegerEncoder(t, 2, 0, ushort.MaxValue),
            ClickHouseTypeKind.UInt32 => new IntegerEncoder(t, 4, 0, uint.MaxValue),
            ClickHouseTypeKind.UInt64 => new IntegerEncoder(t, 8, 0, ulong.MaxValue),
            ClickHouseTypeKind.Int128 => new BigIntegerEncoder(t, 16, false),
            ClickHouseTypeKind.Int256 => new BigIntegerEncoder(t, 32, false),
            ClickHouseTypeKind.UInt128 => new BigIntegerEncoder(t, 16, true),
            ClickHouseTypeKind.UInt256 => new BigIntegerEncoder(t, 32, true),
            ClickHouseTypeKind.Float32 or ClickHouseTypeKind.Float64 => new FloatEncoder(t),
            ClickHouseTypeKind.Decimal => new DecimalEncoder(t),
            ClickHouseTypeKind.String => new StringEncoder(t),
            ClickHouseTypeKind.FixedString => new FixedStringEncoder(t),
            ClickHouseTypeKind.Date or ClickHouseTypeKind.Date32 => new DateEncoder(t, tz),
            ClickHouseTypeKind.DateTime or ClickHouseTypeKind.DateTime64 => new DateTimeEncoder(t, ResolveZone(t.TimeZone) ?? tz),
            ClickHouseTypeKind.Uuid => new UuidEncoder(t),
            ClickHouseTypeKind.Enum8 or ClickHouseTypeKind.Enum16 => new EnumEncoder(t),
            ClickHouseTypeKind.Bool => new BoolEncoder(t),
            ClickHouseTypeKind.IPv4 => new IPv4Encoder(t),
            ClickHouseTypeKind.IPv6 => new IPv6Encoder(t),
            ClickHouseTypeKind.Nothing => new NothingEncoder(t),
            ClickHouseTypeKind.Nullable => new NullableEncoder(t, Create(t.Inner, tz)),
            ClickHouseTypeKind.LowCardinality => Create(t.Inner, tz), // RowBinary writes LowCardinality(T) as T
            ClickHouseTypeKind.Array => new ArrayEncoder(t, Create(t.Inner, tz)),
            ClickHouseTypeKind.Map => new MapEncoder(t, Create(t.Arguments[0], tz), Create(t.Arguments[1], tz)),
            ClickHouseTypeKind.Tuple => new TupleEncoder(t, t.Arguments.Select(a => Create(a, tz)).ToArray()),
            _ => throw new NotSupportedException($"No RowBinary encoder for ClickHouse type {t.Text}."),
        };
    }

    internal static TimeZoneInfo? ResolveZone(string? id)
    {
        if (string.IsNullOrEmpty(id)) return null;
        if (id is "UTC" or "Etc/UTC" or "GMT" or "Etc/GMT" or "Universal" or "Zulu") return TimeZoneInfo.Utc;
        try { return TimeZoneInfo.FindSystemTimeZoneById(id); }
        catch (TimeZoneNotFoundException) { throw new FormatException($"Time zone '{id}' is not known on this machine (install tzdata)."); }
    }

    // ---- helpers shared by numeric encoders ----

    internal static readonly Int128[] Pow10 = BuildPow10();

    /// <summary>10^0 .. 10^18, for the paths that stay in long arithmetic (precompiled code; Int128 is left to the JIT).</summary>
    internal static readonly long[] Pow10Long = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000,
        10_000_000_000, 100_000_000_000, 1_000_000_000_000, 10_000_000_000_000, 100_000_000_000_000, 1_000_000_000_000_000,
        10_000_000_000_000_000, 100_000_000_000_000_000, 1_000_000_000_000_000_000];

    private static Int128[] BuildPow10()
    {
        var p = new Int128[39];
        p[0] = 1;
        for (var i = 1; i < p.Length; i++) p[i] = p[i - 1] * 10;
        return p;
    }

    private static readonly double[] Pow10Double = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

    /// <summary>
    /// The decimal a double was written as, without formatting it: the fewest fractional digits s (up to 15) such that
    /// r / 10^s, r an integer below 2^52, is exactly <paramref name="f"/> again. Below 2^52 two decimals with s digits
    /// cannot both round to the same double, so this is the value of the shortest round-trip text ("R"), e.g. 19.99 →
    /// 1999 scale 2. Returns false for the rest (very large or long numbers), which take the text path.
    /// </summary>
    internal static bool TryShortDecimal(double f, out DecimalValue d)
    {
        if (TryShortDecimal(f, out long unscaled, out var scale))
        {
            d = new DecimalValue(unscaled, scale);
            return true;
        }
        d = default;
        return false;
    }

    /// <inheritdoc cref="TryShortDecimal(double, out DecimalValue)"/>
    internal static bool TryShortDecimal(double f, out long unscaled, out int scale)
    {
        const double Limit = 4503599627370496d; // 2^52
        for (var s = 0; s < Pow10Double.Length; s++)
        {
            var scaled = f * Pow10Double[s];
            if (!(Math.Abs(scaled) < Limit)) break;
            var r = Math.Round(scaled);
            if (r / Pow10Double[s] == f)
            {
                unscaled = (long)r;
                scale = s;
                return true;
            }
        }
        unscaled = 0;
        scale = 0;
        return false;
    }

    /// <summary>A value as an exact decimal (integers, decimals, floats via shortest round-trip text, numeric strings).</summary>
    internal static bool TryGetDecimal(in Value v, out DecimalValue d, out string? error)
    {
        error = null;
        switch (v.Kind)
        {
            case ValueKind.Decimal: d = v.AsDecimal; return true;
            case ValueKind.Int: d = new DecimalValue(v.AsInt, 0); return true;
            case ValueKind.UInt: d = new DecimalValue(v.AsUInt, 0); return true;
            case ValueKind.Float:
            {
                var f = v.AsFloat;
                d = default;
                if (!double.IsFinite(f)) { error = $"{f.ToString(CultureInfo.InvariantCulture)} is not a finite number"; return false; }
                if (TryShortDecimal(f, out d)) return true;
                Span<char> chars = stackalloc char[32];
                f.TryFormat(chars, out var n, "R", CultureInfo.InvariantCulture);
                if (DecimalValue.TryParse(chars[..n], out d)) return true;
                error = "the number is too large";
                return false;
            }
            case ValueKind.String:
            {
                Span<byte> scratch = stackalloc byte[128];
                Span<char> chars = stackalloc char[128];
                if (TryUtf8(v, scratch, out var text) && text.Length <= chars.Length)
                {
                    var n = Encoding.UTF8.GetChars(text, chars);
                    if (DecimalValue.TryParse(chars[..n], out d)) return true;
                }
                d = default;
                error = "the text is not a number";
                return false;
            }
            default:
                d = default;
                return false;
        }
    }
}

internal sealed class IntegerEncoder(ClickHouseType type, int size, long min, ulong max) : ValueEncoder(type)
{
    public override string? Write(in Value v, RowBinaryWriter w)
    {
        long x;
        switch (v.Kind)
        {
            case ValueKind.Int:
                x = v.AsInt;
                if (x < min || (x > 0 && (ulong)x > max)) return OutOfRange(v);
                break;
            case ValueKind.UInt:
                if (v.AsUInt > max) return OutOfRange(v);
                x = unchecked((long)v.AsUInt);
                break;
            case ValueKind.Bool:
                x = v.AsBool ? 1 : 0;
                break;
            case ValueKind.Float:
            {
                var f = v.AsFloat;
                if (Math.Floor(f) != f || !double.IsFinite(f)) return $"{Render(v)} is not an integer";
                if (f < min || f >= (max == ulong.MaxValue ? 18446744073709551616.0 : max + 1.0)) return OutOfRange(v);
                x = f >= 9223372036854775808.0 ? unchecked((long)(ulong)f) : (long)f;
                break;
            }
            case ValueKind.Decimal:
            {
                if (!v.AsDecimal.TryRescale(0, out var i)) return $"{Render(v)} is not an integer";
                if (i < min || i > max) return OutOfRange(v);
                x = unchecked((long)i);
                break;
            }
            case ValueKind.String:
            {
                Span<byte> scratch = stackalloc byte[64];
                if (!TryUtf8(v, scratch, out var text)) return $"{Render(v)} is not an integer";
                if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out x))
                {
                    if (x < min || (x > 0 && (ulong)x > max)) return OutOfRange(v);
                }
                else if (ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var u))
                {
                    if (u > max) return OutOfRange(v);
                    x = unchecked((long)u);
                }
                else return $"{Render(v)} is not an integer";
                break;
            }
            default:
                return Unsupported(v);
        }
        switch (size)
        {
            case 1: w.WriteByte(unchecked((byte)x)); break;
            case 2: w.WriteInt16(unchecked((short)x)); break;
            case 4: w.WriteInt32(unchecked((int)x)); break;
            default: w.WriteInt64(x); break;
        }
        return null;
    }

    private string OutOfRange(in Value v) =>
        $"{Render(v)} is out of range for {Type.Text} ({min.ToString(CultureInfo.InvariantCulture)}..{max.ToString(CultureInfo.InvariantCulture)})";

    public override void WriteDefault(RowBinaryWriter w) => w.WriteZeros(size);
}

/// <summary>(U)Int128 and (U)Int256: rare, so plain <see cref="BigInteger"/> arithmetic.</summary>
internal sealed class BigIntegerEncoder(ClickHouseType type, int size, bool unsigned) : ValueEncoder(type)
{
    private readonly BigInteger _min = unsigned ? BigInteger.Zero : -(BigInteger.One << (size * 8 - 1));
    private readonly BigInteger _max = unsigned ? (BigInteger.One << (size * 8)) - 1 : (BigInteger.One << (size * 8 - 1)) - 1;

    public override string? Write(in Value v, RowBinaryWriter w)
    {
        BigInteger x;
        switch (v.Kind)
        {
            case ValueKind.Int: x = v.AsInt; break;
            case ValueKind.UInt: x = v.AsUInt; break;
            case ValueKind.Bool: x = v.AsBool ? 1 : 0; break;
            case ValueKind.Float:
                if (!double.IsFinite(v.AsFloat) || Math.Floor(v.AsFloat) != v.AsFloat) return $"{Render(v)} is not an integer";
                x = new BigInteger(v.AsFloat);
                break;
            case ValueKind.Decimal:
                if (!v.AsDecimal.TryRescale(0, out var i)) return $"{Render(v)} is not an integer";
                x = i;
                break;
            case ValueKind.String:
                if (!BigInteger.TryParse(v.AsString, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out x))
                    return $"{Render(v)} is not an integer";
                break;
            default:
                return Unsupported(v);
        }
        if (x < _min || x > _max) return $"{Render(v)} is out of range for {Type.Text}";
        var span = w.GetSpan(size);
        span.Fill(x.Sign < 0 ? (byte)0xFF : (byte)0);
        x.TryWriteBytes(span, out _, isUnsigned: unsigned, isBigEndian: false);
        w.Position += size;
        return null;
    }

    public override void WriteDefault(RowBinaryWriter w) => w.WriteZeros(size);
}

internal sealed class FloatEncoder(ClickHouseType type) : ValueEncoder(type)
{
    private readonly bool _single = type.Kind == ClickHouseTypeKind.Float32;

    public override string? Write(in Value v, RowBinaryWriter w)
    {
        double d;
        switch (v.Kind)
        {
            case ValueKind.Float: d = v.AsFloat; break;
            case ValueKind.Int: d = v.AsInt; break;
            case ValueKind.UInt: d = v.AsUInt; break;
            case ValueKind.Decimal: d = v.AsDecimal.ToDouble(); break;
            case ValueKind.Bool: d = v.AsBool ? 1 : 0; break;
            case ValueKind.String:
            {
                Span<byte> scratch = stackalloc byte[64];
                if (!TryUtf8(v, scratch, out var text)) return $"{Render(v)} is not a number";
                if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out d))
                {
                    if (text.SequenceEqual("nan"u8)) d = double.NaN;
                    else if (text.SequenceEqual("inf"u8) || text.SequenceEqual("+inf"u8)) d = double.PositiveInfinity;
                    else if (text.SequenceEqual("-inf"u8)) d = double.NegativeInfinity;
                    else return $"{Render(v)} is not a number";
                }
                break;
            }
            default:
                return Unsupported(v);
        }
        if (_single) w.WriteSingle((float)d);
        else w.WriteDouble(d);
        return null;
    }

    public override void WriteDefault(RowBinaryWriter w) => w.WriteZeros(_single ? 4 : 8);
}

internal sealed class DecimalEncoder(ClickHouseType type) : ValueEncoder(type)
{
    public override string? Write(in Value v, RowBinaryWriter w) => TryWriteShort(v, w) ? null : WriteExact(v, w);

    /// <summary>
    /// Decimal32/64 from an integer or a double that fits exactly, in long arithmetic (this method is precompiled; the
    /// Int128 of <see cref="WriteExact"/> leaves that one to the JIT, unoptimized for its first thousands of calls).
    /// False, having written nothing, for anything else: <see cref="WriteExact"/> then decides, with the same result.
    /// </summary>
    private bool TryWriteShort(in Value v, RowBinaryWriter w)
    {
        if (Type.Size > 8 || Type.Precision > 18) return false;
        long unscaled;
        int scale;
        switch (v.Kind)
        {
            case ValueKind.Int:
                unscaled = v.AsInt;
                scale = 0;
                break;
            case ValueKind.Float:
                if (!double.IsFinite(v.AsFloat) || !TryShortDecimal(v.AsFloat, out unscaled, out scale)) return false;
                break;
            default:
                return false;
        }
        if (scale > Type.Scale) return false; // digits would be lost: the exact path says so
        var factor = Pow10Long[Type.Scale - scale];
        var limit = Pow10Long[Type.Precision];
        // |unscaled| * factor < limit, without overflowing: |unscaled| < limit / factor suffices and is exact for integers
        if (unscaled >= limit / factor || unscaled <= -(limit / factor)) return false;
        unscaled *= factor;
        if (unscaled >= limit || unscaled <= -limit) return false;
        if (Type.Size == 4) w.WriteInt32((int)unscaled);
        else w.WriteInt64(unscaled);
        return true;
    }

    internal string? WriteExact(in Value v, RowBinaryWriter w)
    {
        if (v.Kind is ValueKind.Null or ValueKind.Missing or ValueKind.Array or ValueKind.Map or ValueKind.Bytes or ValueKind.Bool
            or ValueKind.Timestamp or ValueKind.Date or ValueKind.Uuid)
            return Unsupported(v);
        if (!TryGetDecimal(v, out var d, out var error)) return $"{Render(v)}: {error}";
        if (!d.TryRescale(Type.Scale, out var unscaled))
            return $"{Render(v)} does not fit {Type.Text} exactly (more than {Type.Scale} fractional digits would be lost, or it is too large)";
        if (Type.Precision < 39)
        {
            var limit = Pow10[Type.Precision];
            if (unscaled >= limit || unscaled <= -limit)
                return $"{Render(v)} has more than {Type.Precision - Type.Scale} integer digits for {Type.Text}";
        }
        switch (Type.Size)
        {
            case 4: w.WriteInt32((int)unscaled); break;
            case 8: w.WriteInt64((long)unscaled); break;
            case 16: w.WriteInt128(unscaled); break;
            default:
                w.WriteInt128(unscaled);
                var hi = w.GetSpan(16);
                hi.Fill(unscaled < 0 ? (byte)0xFF : (byte)0);
                w.Position += 16;
                break;
        }
        return null;
    }

    public override void WriteDefault(RowBinaryWriter w) => w.WriteZeros(Type.Size);
}

internal sealed class StringEncoder(ClickHouseType type) : ValueEncoder(type)
{
    public override string? Write(in Value v, RowBinaryWriter w)
    {
        switch (v.Kind)
        {
            case ValueKind.String:
            case ValueKind.Bytes:
                if (v.IsUtf8 || v.Kind == ValueKind.Bytes)
                {
                    var raw = v.RawBytes;
                    w.WriteVarUInt((ulong)raw.Length);
                    w.WriteBytes(raw);
                }
                else
                {
                    var n = v.Utf8Length;
                    w.WriteVarUInt((ulong)n);
                    v.TryGetUtf8(w.GetSpan(n), out _);
                    w.Position += n;
                }
                return null;
            case ValueKind.Int or ValueKind.UInt or ValueKind.Float or ValueKind.Decimal or ValueKind.Bool
                or ValueKind.Timestamp or ValueKind.Date or ValueKind.Uuid:
            {
                var s = v.ToString();
                var n = Encoding.UTF8.GetByteCount(s);
                w.WriteVarUInt((ulong)n);
                Encoding.UTF8.GetBytes(s, w.GetSpan(n));
                w.Position += n;
                return null;
            }
            default:
                return Unsupported(v);
        }
    }

    public override void WriteDefault(RowBinaryWriter w) => w.WriteByte(0);
}

internal sealed class FixedStringEncoder(ClickHouseType type) : ValueEncoder(type)
{
    public override string? Write(in Value v, RowBinaryWriter w)
    {
        if (v.Kind is not (ValueKind.String or ValueKind.Bytes)) return Unsupported(v);
        var n = Type.Size;
        if (v.IsUtf8 || v.Kind == ValueKind.Bytes)
        {
            var raw = v.RawBytes;
            if (raw.Length > n) return $"{Render(v)} is {raw.Length} bytes, longer than {Type.Text}";
            var span = w.GetSpan(n);
            raw.CopyTo(span);
            span[raw.Length..].Clear();
        }
        else
        {
            var len = v.Utf8Length;
            if (len > n) return $"{Render(v)} is {len} bytes, longer than {Type.Text}";
            var span = w.GetSpan(n);
            v.TryGetUtf8(span, out _);
            span[len..].Clear();
        }
        w.Position += n;
        return null;
    }

    public override void WriteDefault(RowBinaryWriter w) => w.WriteZeros(Type.Size);
}

/// <summary>Date (UInt16 days since 1970-01-01) and Date32 (Int32 days, 1900-01-01..2299-12-31).</summary>
internal sealed class DateEncoder(ClickHouseType type, TimeZoneInfo zone) : ValueEncoder(type)
{
    private readonly bool _wide = type.Kind == ClickHouseTypeKind.Date32;
    private const long NanosPerDay = 86_400_000_000_000;

    public override string? Write(in Value v, RowBinaryWriter w)
    {
        long days;
        switch (v.Kind)
        {
            case ValueKind.Date: days = v.AsDate; break;
            case ValueKind.Int: days = v.AsInt; break;
            case ValueKind.Timestamp:
            {
                var local = DateTimeText.ToLocalNanos(v.AsTimestampNanos, zone);
                days = Math.DivRem(local, NanosPerDay, out var rem);
                if (rem < 0) days--;
                break;
            }
            case ValueKind.String:
            {
                Span<byte> scratch = stackalloc byte[64];
                if (!TryUtf8(v, scratch, out var text) || !DateTimeText.TryParseDate(text, out var d))
                    return $"{Render(v)} is not a date (expected YYYY-MM-DD)";
                days = d;
                break;
            }
            default:
                return Unsupported(v);
        }
        if (_wide)
        {
            if (days is < -25567 or > 120529) return $"{Render(v)} is outside the Date32 range 1900-01-01..2299-12-31";
            w.WriteInt32((int)days);
        }
        else
        {
            if (days is < 0 or > ushort.MaxValue) return $"{Render(v)} is outside the Date range 1970-01-01..2149-06-06";
            w.WriteUInt16((ushort)days);
        }
        return null;
    }

    public override void WriteDefault(RowBinaryWriter w) => w.WriteZeros(_wide ? 4 : 2);
}

/// <summary>DateTime (UInt32 seconds) and DateTime64(p) (Int64 ticks of 10^-p s), both since the Unix epoch in UTC.</summary>
internal sealed class DateTimeEncoder(ClickHouseType type, TimeZoneInfo zone) : ValueEncoder(type)
{
    private readonly bool _is64 = type.Kind == ClickHouseTypeKind.DateTime64;
    private readonly int _precision = type.Kind == ClickHouseTypeKind.DateTime64 ? type.Precision : 0;
    private readonly long _ticksPerSecond = ValueEncoder.Pow10Long[type.Kind == ClickHouseTypeKind.DateTime64 ? type.Precision : 0];
    private readonly long _nanosPerTick = ValueEncoder.Pow10Long[9 - (type.Kind == ClickHouseTypeKind.DateTime64 ? type.Precision : 0)];

    public override string? Write(in Value v, RowBinaryWriter w)
    {
        long ticks;
        switch (v.Kind)
        {
            case ValueKind.Timestamp:
                ticks = FloorDiv(v.AsTimestampNanos, _nanosPerTick);
                break;
            case ValueKind.Date:
                ticks = DateTimeText.ToUtcNanos((long)v.AsDate * 86_400_000_000_000, zone, out _) / _nanosPerTick;
                break;
            case ValueKind.Int:
                if (!CheckedMul(v.AsInt, _ticksPerSecond, out ticks)) return OutOfRange(v);
                break;
            case ValueKind.UInt:
                return OutOfRange(v);
            case ValueKind.Float or ValueKind.Decimal:
            {
                var error = TicksFromNumber(v, out ticks);
                if (error is not null) return error;
                break;
            }
            case ValueKind.String:
            {
                Span<byte> scratch = stackalloc byte[96];
                if (!TryUtf8(v, scratch, out var text)) return NotADateTime(v);
                if (DateTimeText.IsAllDigits(text))
                {
                    if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var secs) || !CheckedMul(secs, _ticksPerSecond, out ticks))
                        return OutOfRange(v);
                    break;
                }
                if (!DateTimeText.TryParseDateTime(text, zone, out var nanos, out var bad)) return bad ? $"{Render(v)} does not exist in time zone {zone.Id}" : NotADateTime(v);
                ticks = FloorDiv(nanos, _nanosPerTick);
                break;
            }
            default:
                return Unsupported(v);
        }
        if (_is64)
        {
            w.WriteInt64(ticks);
        }
        else
        {
            if (ticks is < 0 or > uint.MaxValue) return OutOfRange(v);
            w.WriteUInt32((uint)ticks);
        }
        return null;
    }

    /// <summary>Seconds as a fractional number. A method of its own: its decimal (Int128) arithmetic is left to the JIT, and
    /// <see cref="Write"/> stays precompiled.</summary>
    private string? TicksFromNumber(in Value v, out long ticks)
    {
        ticks = 0;
        if (!TryGetDecimal(v, out var d, out var err)) return $"{Render(v)}: {err}";
        return TicksFromSeconds(d, out ticks) ? null : OutOfRange(v);
    }

    private bool TicksFromSeconds(DecimalValue d, out long ticks)
    {
        ticks = 0;
        var u = d.Unscaled;
        var s = d.Scale;
        // Truncate (toward the past) the digits finer than the column keeps.
        if (s > _precision)
        {
            var div = s - _precision;
            if (div > 38) { u = u < 0 ? -1 : 0; }
            else
            {
                var q = Int128.DivRem(u, ValueEncoder.Pow10[div]);
                u = q.Quotient - (q.Remainder < 0 ? 1 : 0);
            }
        }
        else
        {
            for (var i = s; i < _precision; i++)
            {
                if (u > long.MaxValue || u < long.MinValue) return false;
                u *= 10;
            }
        }
        if (u > long.MaxValue || u < long.MinValue) return false;
        ticks = (long)u;
        return true;
    }

    private static long FloorDiv(long a, long b)
    {
        var q = Math.DivRem(a, b, out var r);
        return r < 0 ? q - 1 : q;
    }

    private static bool CheckedMul(long a, long b, out long r)
    {
        try { r = checked(a * b); return true; }
        catch (OverflowException) { r = 0; return false; }
    }

    private string OutOfRange(in Value v) => $"{Render(v)} is out of range for {Type.Text}";
    private string NotADateTime(in Value v) =>
        $"{Render(v)} is not a date-time (expected ISO-8601 like 2024-05-01T12:00:00.123Z, 'YYYY-MM-DD hh:mm:ss', YYYY-MM-DD or epoch seconds)";

    public override void WriteDefault(RowBinaryWriter w) => w.WriteZeros(_is64 ? 8 : 4);
}

internal sealed class UuidEncoder(ClickHouseType type) : ValueEncoder(type)
{
    public override string? Write(in Value v, RowBinaryWriter w)
    {
        ulong hi, lo;
        switch (v.Kind)
        {
            case ValueKind.Uuid: hi = v.UuidHigh; lo = v.UuidLow; break;
            case ValueKind.String:
            {
                Span<byte> scratch = stackalloc byte[64];
                if (!TryUtf8(v, scratch, out var text) || !Utf8Parser.TryParse(text, out Guid g, out var used, 'D') || used != text.Length)
                    return $"{Render(v)} is not a UUID";
                Span<byte> b = stackalloc byte[16];
                g.TryWriteBytes(b, bigEndian: true, out _);
                hi = BinaryPrimitives.ReadUInt64BigEndian(b);
                lo = BinaryPrimitives.ReadUInt64BigEndian(b[8..]);
                break;
            }
            case ValueKind.Bytes when v.RawBytes.Length == 16:
                hi = BinaryPrimitives.ReadUInt64BigEndian(v.RawBytes);
                lo = BinaryPrimitives.ReadUInt64BigEndian(v.RawBytes[8..]);
                break;
            default:
                return Unsupported(v);
        }
        // ClickHouse stores a UUID as two UInt64s, each little-endian, the high half first (verified against the server).
        w.WriteUInt64(hi);
        w.WriteUInt64(lo);
        return null;
    }

    public override void WriteDefault(RowBinaryWriter w) => w.WriteZeros(16);
}

internal sealed class EnumEncoder : ValueEncoder
{
    private readonly byte[][] _names;
    private readonly int[] _values;
    private readonly bool _wide;
    private readonly int _default;

    public EnumEncoder(ClickHouseType type) : base(type)
    {
        _names = type.EnumValues.Select(kv => Encoding.UTF8.GetBytes(kv.Key)).ToArray();
        _values = type.EnumValues.Select(kv => kv.Value).ToArray();
        _wide = type.Kind == ClickHouseTypeKind.Enum16;
        _default = _values.Min(); // ClickHouse's default for an Enum is its smallest value
    }

    public override string? Write(in Value v, RowBinaryWriter w)
    {
        int value;
        switch (v.Kind)
        {
            case ValueKind.String:
            {
                Span<byte> scratch = stackalloc byte[256];
                if (!TryUtf8(v, scratch, out var text)) return Unknown(v);
                var i = 0;
                for (; i < _names.Length; i++)
                    if (text.SequenceEqual(_names[i])) break;
                if (i == _names.Length) return Unknown(v);
                value = _values[i];
                break;
            }
            case ValueKind.Int:
            {
                var x = v.AsInt;
                if (Array.IndexOf(_values, (int)Math.Clamp(x, int.MinValue, int.MaxValue)) < 0 || x != (int)x) return Unknown(v);
                value = (int)x;
                break;
            }
            default:
                return Unsupported(v);
        }
        Emit(w, value);
        return null;
    }

    private void Emit(RowBinaryWriter w, int value)
    {
        if (_wide) w.WriteInt16((short)value);
        else w.WriteByte(unchecked((byte)(sbyte)value));
    }

    private string Unknown(in Value v) =>
        $"{Render(v)} is not a value of {Type.Text} (names: {string.Join(", ", Type.EnumValues.Select(kv => "'" + kv.Key + "'"))}; or their numbers)";

    public override void WriteDefault(RowBinaryWriter w) => Emit(w, _default);
}

internal sealed class BoolEncoder(ClickHouseType type) : ValueEncoder(type)
{
    public override string? Write(in Value v, RowBinaryWriter w)
    {
        bool b;
        switch (v.Kind)
        {
            case ValueKind.Bool: b = v.AsBool; break;
            case ValueKind.Int when v.AsInt is 0 or 1: b = v.AsInt == 1; break;
            case ValueKind.String:
                if (v.StringEquals("true"u8) || v.StringEquals("1"u8)) b = true;
                else if (v.StringEquals("false"u8) || v.StringEquals("0"u8)) b = false;
                else return $"{Render(v)} is not a Bool (true, false, 1, 0)";
                break;
            default:
                return v.Kind == ValueKind.Int ? $"{Render(v)} is not a Bool (0 or 1)" : Unsupported(v);
        }
        w.WriteByte(b ? (byte)1 : (byte)0);
        return null;
    }

    public override void WriteDefault(RowBinaryWriter w) => w.WriteByte(0);
}

internal sealed class IPv4Encoder(ClickHouseType type) : ValueEncoder(type)
{
    public override string? Write(in Value v, RowBinaryWriter w)
    {
        uint addr;
        switch (v.Kind)
        {
            case ValueKind.String:
            {
                Span<byte> scratch = stackalloc byte[64];
                if (!TryUtf8(v, scratch, out var text) || !TryParseIPv4(text, out addr)) return $"{Render(v)} is not an IPv4 address";
                break;
            }
            case ValueKind.Int when v.AsInt is >= 0 and <= uint.MaxValue:
                addr = (uint)v.AsInt;
                break;
            default:
                return v.Kind == ValueKind.Int ? $"{Render(v)} is out of range for IPv4" : Unsupported(v);
        }
        w.WriteUInt32(addr);
        return null;
    }

    internal static bool TryParseIPv4(ReadOnlySpan<byte> s, out uint addr)
    {
        addr = 0;
        var parts = 0;
        var i = 0;
        while (parts < 4)
        {
            var start = i;
            uint octet = 0;
            while (i < s.Length && s[i] is >= (byte)'0' and <= (byte)'9' && i - start < 3) octet = octet * 10 + (uint)(s[i++] - '0');
            if (i == start || octet > 255) return false;
            addr = (addr << 8) | octet;
            parts++;
            if (parts < 4)
            {
                if (i >= s.Length || s[i] != '.') return false;
                i++;
            }
        }
        return i == s.Length;
    }

    public override void WriteDefault(RowBinaryWriter w) => w.WriteZeros(4);
}

internal sealed class IPv6Encoder(ClickHouseType type) : ValueEncoder(type)
{
    public override string? Write(in Value v, RowBinaryWriter w)
    {
        switch (v.Kind)
        {
            case ValueKind.String:
            {
                Span<byte> scratch = stackalloc byte[128];
                Span<char> chars = stackalloc char[128];
                if (!TryUtf8(v, scratch, out var text) || text.Length > chars.Length) return NotIp(v);
                var n = Encoding.UTF8.GetChars(text, chars);
                if (!System.Net.IPAddress.TryParse(chars[..n], out var ip)) return NotIp(v);
                if (ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork) ip = ip.MapToIPv6();
                ip.TryWriteBytes(w.GetSpan(16), out _);
                w.Position += 16;
                return null;
            }
            case ValueKind.Bytes when v.RawBytes.Length == 16:
                w.WriteBytes(v.RawBytes);
                return null;
            default:
                return Unsupported(v);
        }
    }

    private static string NotIp(in Value v) => $"{Render(v)} is not an IP address";

    public override void WriteDefault(RowBinaryWriter w) => w.WriteZeros(16);
}

internal sealed class NothingEncoder(ClickHouseType type) : ValueEncoder(type)
{
    public override string? Write(in Value v, RowBinaryWriter w) => $"type Nothing holds no values, got {Render(v)}";
    public override void WriteDefault(RowBinaryWriter w) { }
}

internal sealed class NullableEncoder(ClickHouseType type, ValueEncoder inner) : ValueEncoder(type)
{
    public override string? Write(in Value v, RowBinaryWriter w)
    {
        if (v.IsNullOrMissing)
        {
            w.WriteByte(1);
            return null;
        }
        w.WriteByte(0);
        return inner.Write(v, w);
    }

    public override void WriteDefault(RowBinaryWriter w) => w.WriteByte(1);
}

internal sealed class ArrayEncoder(ClickHouseType type, ValueEncoder element) : ValueEncoder(type)
{
    public override string? Write(in Value v, RowBinaryWriter w)
    {
        if (v.Kind != ValueKind.Array) return Unsupported(v);
        var items = v.AsArray;
        w.WriteVarUInt((ulong)items.Length);
        for (var i = 0; i < items.Length; i++)
        {
            var err = element.Write(items[i], w);
            if (err is not null) return $"element [{i}]: {err}";
        }
        return null;
    }

    public override void WriteDefault(RowBinaryWriter w) => w.WriteByte(0);
}

internal sealed class MapEncoder(ClickHouseType type, ValueEncoder key, ValueEncoder value) : ValueEncoder(type)
{
    public override string? Write(in Value v, RowBinaryWriter w)
    {
        if (v.Kind != ValueKind.Map) return Unsupported(v);
        var entries = v.AsMap;
        w.WriteVarUInt((ulong)entries.Length);
        foreach (var kv in entries)
        {
            var err = key.Write(Value.FromString(kv.Key), w);
            if (err is not null) return $"key '{kv.Key}': {err}";
            err = value.Write(kv.Value, w);
            if (err is not null) return $"key '{kv.Key}': {err}";
        }
        return null;
    }

    public override void WriteDefault(RowBinaryWriter w) => w.WriteByte(0);
}

internal sealed class TupleEncoder(ClickHouseType type, ValueEncoder[] elements) : ValueEncoder(type)
{
    public override string? Write(in Value v, RowBinaryWriter w)
    {
        switch (v.Kind)
        {
            case ValueKind.Array:
            {
                var items = v.AsArray;
                if (items.Length != elements.Length) return $"a list of {items.Length} items cannot fill {Type.Text} ({elements.Length} elements)";
                for (var i = 0; i < elements.Length; i++)
                {
                    var err = elements[i].Write(items[i], w);
                    if (err is not null) return $"element {i + 1}: {err}";
                }
                return null;
            }
            case ValueKind.Map when Type.IsNamedTuple:
            {
                var entries = v.AsMap;
                for (var i = 0; i < elements.Length; i++)
                {
                    var name = Type.ElementNames[i];
                    var found = -1;
                    for (var j = 0; j < entries.Length; j++)
                        if (entries[j].Key == name) { found = j; break; }
                    if (found < 0)
                    {
                        elements[i].WriteDefault(w);
                        continue;
                    }
                    var err = elements[i].Write(entries[found].Value, w);
                    if (err is not null) return $"element '{name}': {err}";
                }
                return null;
            }
            default:
                return Unsupported(v);
        }
    }

    public override void WriteDefault(RowBinaryWriter w)
    {
        foreach (var e in elements) e.WriteDefault(w);
    }
}

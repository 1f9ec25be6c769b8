using System.Text;
using StreamEnrich.Records;

namespace StreamEnrich.Expressions;

/// <summary>Outcome of comparing two values. <see cref="Unordered"/>: the same kind but no order (NaN, unequal arrays);
/// <see cref="Incomparable"/>: kinds that cannot be compared at all (text with a number), which fails the record.</summary>
internal enum Ordering { Less, Equal, Greater, BothNull, OneNull, Unordered, Incomparable }

/// <summary>
/// Typed comparison used by predicates. Rules:
/// <list type="bullet">
/// <item>Missing and null are the same (null); null equals null; null vs anything else is <see cref="Ordering.OneNull"/>.</item>
/// <item>Numbers (int, uint, float, decimal) compare numerically across kinds (int vs int exactly, otherwise as doubles).</item>
/// <item>Strings compare ordinally (by UTF-8 bytes, which is code point order).</item>
/// <item>Timestamps, dates and UUIDs compare with their own kind, or with a string literal that parses as one
/// (ISO-8601 without offset means UTC; <c>yyyy-MM-dd</c> for dates).</item>
/// <item>Bools compare with bools (false &lt; true). Other values of one kind are equal or <see cref="Ordering.Unordered"/>;
/// values of kinds that cannot be compared are <see cref="Ordering.Incomparable"/>: no implicit conversion, so
/// <c>amount &gt; 10</c> with amount <c>"15"</c> (text) is an error, not a silent false.</item>
/// </list>
/// </summary>
internal static class ValueComparer
{
    public static Ordering Compare(in Value a, Literal? la, in Value b, Literal? lb)
    {
        var aNull = a.IsNullOrMissing;
        var bNull = b.IsNullOrMissing;
        if (aNull || bNull) return aNull && bNull ? Ordering.BothNull : Ordering.OneNull;
        if (IsNumber(a.Kind) && IsNumber(b.Kind)) return CompareNumbers(a, b);
        switch (a.Kind)
        {
            case ValueKind.String when b.Kind == ValueKind.String:
                return FromInt(CompareStrings(a, la, b, lb));
            case ValueKind.Bool when b.Kind == ValueKind.Bool:
                return Of(a.AsBool ? 1 : 0, b.AsBool ? 1 : 0);
            case ValueKind.Timestamp when b.Kind == ValueKind.Timestamp:
                return Of(a.AsTimestampNanos, b.AsTimestampNanos);
            case ValueKind.Timestamp when b.Kind == ValueKind.String && lb is { HasTimestamp: true }:
                return Of(a.AsTimestampNanos, lb.TimestampNanos);
            case ValueKind.String when b.Kind == ValueKind.Timestamp && la is { HasTimestamp: true }:
                return Of(la.TimestampNanos, b.AsTimestampNanos);
            case ValueKind.Date when b.Kind == ValueKind.Date:
                return Of(a.AsDate, b.AsDate);
            case ValueKind.Date when b.Kind == ValueKind.String && lb is { HasDate: true }:
                return Of(a.AsDate, lb.Date);
            case ValueKind.String when b.Kind == ValueKind.Date && la is { HasDate: true }:
                return Of(la.Date, b.AsDate);
            case ValueKind.Uuid when b.Kind == ValueKind.Uuid:
                return OfUuid(a.UuidHigh, a.UuidLow, b.UuidHigh, b.UuidLow);
            case ValueKind.Uuid when b.Kind == ValueKind.String && lb is { HasUuid: true }:
                return OfUuid(a.UuidHigh, a.UuidLow, lb.UuidHigh, lb.UuidLow);
            case ValueKind.String when b.Kind == ValueKind.Uuid && la is { HasUuid: true }:
                return OfUuid(la.UuidHigh, la.UuidLow, b.UuidHigh, b.UuidLow);
            case ValueKind.Bytes when b.Kind == ValueKind.Bytes:
                return FromInt(a.RawBytes.SequenceCompareTo(b.RawBytes));
            default:
                if (a.Kind != b.Kind) return Ordering.Incomparable;
                return a.Equals(b) ? Ordering.Equal : Ordering.Unordered;
        }
    }

    private static bool IsNumber(ValueKind k) => k is ValueKind.Int or ValueKind.UInt or ValueKind.Float or ValueKind.Decimal;

    private static Ordering CompareNumbers(in Value a, in Value b)
    {
        if (a.Kind == ValueKind.Int && b.Kind == ValueKind.Int) return Of(a.AsInt, b.AsInt);
        if (a.Kind == ValueKind.UInt && b.Kind == ValueKind.UInt) return Of(a.AsUInt, b.AsUInt);
        // UInt only holds values above long.MaxValue.
        if (a.Kind == ValueKind.UInt && b.Kind == ValueKind.Int) return Ordering.Greater;
        if (a.Kind == ValueKind.Int && b.Kind == ValueKind.UInt) return Ordering.Less;
        var x = ToDouble(a);
        var y = ToDouble(b);
        if (double.IsNaN(x) || double.IsNaN(y)) return Ordering.Unordered;
        return Of(x, y);
    }

    private static double ToDouble(in Value v) => v.Kind switch
    {
        ValueKind.Int => v.AsInt,
        ValueKind.UInt => v.AsUInt,
        ValueKind.Float => v.AsFloat,
        _ => v.AsDecimal.ToDouble(),
    };

    private static Ordering Of<T>(T x, T y) where T : IComparable<T> => FromInt(x.CompareTo(y));

    private static Ordering OfUuid(ulong ah, ulong al, ulong bh, ulong bl) => ah != bh ? Of(ah, bh) : Of(al, bl);

    private static Ordering FromInt(int c) => c < 0 ? Ordering.Less : c > 0 ? Ordering.Greater : Ordering.Equal;

    /// <summary>Ordinal comparison of two string values without allocating in the common cases.</summary>
    private static int CompareStrings(in Value a, Literal? la, in Value b, Literal? lb)
    {
        if (TryBytes(a, la, out var ab) && TryBytes(b, lb, out var bb)) return ab.SequenceCompareTo(bb);
        if (!a.IsUtf8 && !b.IsUtf8) return string.CompareOrdinal(a.AsString, b.AsString);
        return WithBytes(a, la, b, lb, static (x, y, _) => x.SequenceCompareTo(y), default(StringOp));
    }

    /// <summary><c>contains</c>, <c>starts_with</c>, <c>ends_with</c>: false when a side is null or missing, null (no
    /// answer) when a side is not text.</summary>
    public static bool? StringTest(in Value a, Literal? la, in Value b, Literal? lb, StringOp op)
    {
        if (a.IsNullOrMissing || b.IsNullOrMissing) return false;
        if (a.Kind != ValueKind.String || b.Kind != ValueKind.String) return null;
        if (TryBytes(a, la, out var ab) && TryBytes(b, lb, out var bb)) return Test(ab, bb, op);
        if (!a.IsUtf8 && !b.IsUtf8)
        {
            var s = a.AsString;
            var t = b.AsString;
            return op switch
            {
                StringOp.Contains => s.Contains(t, StringComparison.Ordinal),
                StringOp.StartsWith => s.StartsWith(t, StringComparison.Ordinal),
                _ => s.EndsWith(t, StringComparison.Ordinal),
            };
        }
        return WithBytes(a, la, b, lb, static (x, y, o) => Test(x, y, o) ? 1 : 0, op) == 1;
    }

    private static bool Test(ReadOnlySpan<byte> s, ReadOnlySpan<byte> t, StringOp op) => op switch
    {
        StringOp.Contains => s.IndexOf(t) >= 0,
        StringOp.StartsWith => s.StartsWith(t),
        _ => s.EndsWith(t),
    };

    private delegate int BytesFunc(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, StringOp op);

    /// <summary>Rare path: one side is a UTF-8 slice, the other a .NET string that is not a literal (field vs field).</summary>
    private static int WithBytes(in Value a, Literal? la, in Value b, Literal? lb, BytesFunc f, StringOp op)
    {
        if (!TryBytes(a, la, out var aBytes)) aBytes = Encoding.UTF8.GetBytes(a.AsString);
        if (!TryBytes(b, lb, out var bBytes)) bBytes = Encoding.UTF8.GetBytes(b.AsString);
        return f(aBytes, bBytes, op);
    }

    private static bool TryBytes(in Value v, Literal? literal, out ReadOnlySpan<byte> bytes)
    {
        if (v.IsUtf8)
        {
            bytes = v.RawBytes;
            return true;
        }
        if (literal?.Utf8 is { } u)
        {
            bytes = u;
            return true;
        }
        bytes = default;
        return false;
    }
}

using System.Globalization;
using StreamEnrich.Records;
using StreamEnrich.Stages.Timestamp;

namespace StreamEnrich.Stages.Cast;

/// <summary>
/// Converts field values to a type. Rules: null/missing stay; numeric strings use the invariant culture;
/// int from a float/decimal/string only when integral; bool from true/false/1/0/yes/no (any case) or 0/1 numbers;
/// decimal(S) only when no digit is lost; timestamp from ISO-8601 strings (UTC when no offset) or dates;
/// date from <c>yyyy-MM-dd</c> strings or timestamps (UTC day); uuid from text or 16 bytes. Anything else fails.
/// </summary>
internal sealed class CastStage : IRecordStage, IOutputSchemaStage
{
    private readonly string _stageName;
    private readonly int[] _slots;
    private readonly string[] _names;
    private readonly CastTarget[] _targets;

    public CastStage(CastStageOptions options, IStageBuildContext context)
    {
        _stageName = context.StageName;
        var n = options.Fields.Count;
        _slots = new int[n];
        _names = new string[n];
        _targets = new CastTarget[n];
        var i = 0;
        foreach (var (field, type) in options.Fields)
        {
            if (!CastTarget.TryParse(type, out _targets[i]))
                throw new ArgumentException($"cast of '{field}': unknown type '{type}'; use one of: {CastTarget.Accepted}.", nameof(options));
            _slots[i] = context.Field(field);
            _names[i] = field;
            i++;
        }
    }

    public void Process(Record record)
    {
        var fields = record.Fields;
        for (var i = 0; i < _slots.Length; i++)
        {
            ref var v = ref fields[_slots[i]];
            if (v.IsNullOrMissing) continue;
            if (!TryConvert(v, _targets[i], out var result, out var why))
            {
                record.Fail(_stageName, $"cast '{_names[i]}': cannot convert {StageValues.Describe(v)} to {_targets[i]}{why}.");
                return;
            }
            v = result;
        }
    }

    /// <summary>Each field takes the target's type; null and missing stay, so nullability is kept.</summary>
    public void Apply(OutputSchema schema)
    {
        for (var i = 0; i < _names.Length; i++)
        {
            var existing = schema.Find(_names[i]);
            if (existing is null)
                schema.Note($"cast '{_names[i]}': not in the input schema; typed Nullable({_targets[i].ClickHouseType(null)})");
            schema.Set(_names[i], _targets[i].ClickHouseType(existing?.Type), existing?.Nullable ?? true);
        }
    }

    internal static bool TryConvert(in Value v, CastTarget target, out Value result, out string why)
    {
        why = "";
        result = default;
        return target.Kind switch
        {
            CastKind.Int => ToInt(v, out result, ref why),
            CastKind.Float => ToFloat(v, out result),
            CastKind.Bool => ToBool(v, out result),
            CastKind.Decimal => ToDecimal(v, target.Scale, out result, ref why),
            CastKind.String => ToText(v, out result),
            CastKind.Timestamp => ToTimestamp(v, out result, ref why),
            CastKind.Date => ToDate(v, out result),
            _ => ToUuid(v, out result),
        };
    }

    private static bool ToInt(in Value v, out Value result, ref string why)
    {
        result = default;
        switch (v.Kind)
        {
            case ValueKind.Int or ValueKind.UInt: result = v; return true;
            case ValueKind.Bool: result = Value.FromInt(v.AsBool ? 1 : 0); return true;
            case ValueKind.Float:
                return FromDouble(v.AsFloat, out result, ref why);
            case ValueKind.Decimal:
                if (v.AsDecimal.TryRescale(0, out var whole) && whole >= long.MinValue && whole <= long.MaxValue)
                {
                    result = Value.FromInt((long)whole);
                    return true;
                }
                why = " (not an integer in the Int64 range)";
                return false;
            case ValueKind.String:
                Span<char> buffer = stackalloc char[StageValues.StackLimit];
                var s = StageValues.Chars(v, buffer).Trim();
                if (long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) { result = Value.FromInt(l); return true; }
                if (ulong.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var u)) { result = Value.FromUInt(u); return true; }
                if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) return FromDouble(d, out result, ref why);
                return false;
            default:
                return false;
        }
    }

    private static bool FromDouble(double d, out Value result, ref string why)
    {
        result = default;
        if (double.IsFinite(d) && Math.Floor(d) == d && d >= -9.2233720368547758E+18 && d < 9.2233720368547758E+18)
        {
            result = Value.FromInt((long)d);
            return true;
        }
        why = " (not an integer in the Int64 range)";
        return false;
    }

    private static bool ToFloat(in Value v, out Value result)
    {
        result = default;
        switch (v.Kind)
        {
            case ValueKind.Float: result = v; return true;
            case ValueKind.Int: result = Value.FromFloat(v.AsInt); return true;
            case ValueKind.UInt: result = Value.FromFloat(v.AsUInt); return true;
            case ValueKind.Decimal: result = Value.FromFloat(v.AsDecimal.ToDouble()); return true;
            case ValueKind.Bool: result = Value.FromFloat(v.AsBool ? 1 : 0); return true;
            case ValueKind.String:
                Span<char> buffer = stackalloc char[StageValues.StackLimit];
                var s = StageValues.Chars(v, buffer).Trim();
                if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) return false;
                result = Value.FromFloat(d);
                return true;
            default:
                return false;
        }
    }

    private static bool ToBool(in Value v, out Value result)
    {
        result = default;
        switch (v.Kind)
        {
            case ValueKind.Bool: result = v; return true;
            case ValueKind.Int when v.AsInt is 0 or 1: result = Value.FromBool(v.AsInt == 1); return true;
            case ValueKind.Float when v.AsFloat is 0 or 1: result = Value.FromBool(v.AsFloat == 1); return true;
            case ValueKind.String:
                Span<char> buffer = stackalloc char[StageValues.StackLimit];
                var s = StageValues.Chars(v, buffer).Trim();
                if (s.Equals("true", StringComparison.OrdinalIgnoreCase) || s.Equals("yes", StringComparison.OrdinalIgnoreCase) || s is "1")
                {
                    result = Value.True;
                    return true;
                }
                if (s.Equals("false", StringComparison.OrdinalIgnoreCase) || s.Equals("no", StringComparison.OrdinalIgnoreCase) || s is "0")
                {
                    result = Value.False;
                    return true;
                }
                return false;
            default:
                return false;
        }
    }

    private static bool ToDecimal(in Value v, int scale, out Value result, ref string why)
    {
        result = default;
        DecimalValue d;
        switch (v.Kind)
        {
            case ValueKind.Decimal: d = v.AsDecimal; break;
            case ValueKind.Int: d = new DecimalValue(v.AsInt, 0); break;
            case ValueKind.UInt: d = new DecimalValue(v.AsUInt, 0); break;
            case ValueKind.Float:
            {
                // The shortest round-trip text of the double is the number the producer wrote.
                Span<char> text = stackalloc char[32];
                if (!v.AsFloat.TryFormat(text, out var n, "R", CultureInfo.InvariantCulture) || !DecimalValue.TryParse(text[..n], out d)) return false;
                break;
            }
            case ValueKind.String:
            {
                Span<char> buffer = stackalloc char[StageValues.StackLimit];
                if (!DecimalValue.TryParse(StageValues.Chars(v, buffer), out d)) return false;
                break;
            }
            default:
                return false;
        }
        if (!d.TryRescale(scale, out var unscaled))
        {
            why = $" (it has more than {scale} decimal places or is too large; decimals are never rounded)";
            return false;
        }
        result = Value.FromDecimal(new DecimalValue(unscaled, scale));
        return true;
    }

    private static bool ToText(in Value v, out Value result)
    {
        result = default;
        switch (v.Kind)
        {
            case ValueKind.String: result = v; return true;
            case ValueKind.Array or ValueKind.Map or ValueKind.Bytes: return false;
            default: result = Value.FromString(v.ToString()); return true;
        }
    }

    private static bool ToTimestamp(in Value v, out Value result, ref string why)
    {
        result = default;
        switch (v.Kind)
        {
            case ValueKind.Timestamp: result = v; return true;
            case ValueKind.Date: result = Value.FromTimestampNanos(v.AsDate * 86_400_000_000_000L); return true;
            case ValueKind.String:
                if (v.IsUtf8)
                {
                    if (!Iso8601.TryParse(v.RawBytes, out var nanos, out _)) break;
                    result = Value.FromTimestampNanos(nanos);
                    return true;
                }
                Span<byte> bytes = stackalloc byte[64];
                if (v.TryGetUtf8(bytes, out var n) && Iso8601.TryParse(bytes[..n], out var t, out _))
                {
                    result = Value.FromTimestampNanos(t);
                    return true;
                }
                break;
        }
        why = " (expected an ISO-8601 string such as 2024-05-01T12:00:00Z; for epoch numbers or other formats use the timestamp stage)";
        return false;
    }

    private static bool ToDate(in Value v, out Value result)
    {
        result = default;
        switch (v.Kind)
        {
            case ValueKind.Date: result = v; return true;
            case ValueKind.Timestamp:
                result = Value.FromDate((int)Math.Floor(v.AsTimestampNanos / 86_400_000_000_000.0));
                return true;
            case ValueKind.String:
                Span<byte> bytes = stackalloc byte[16];
                if (!v.TryGetUtf8(bytes, out var n) || n != 10 || !Iso8601.TryParse(bytes[..n], out var nanos, out _)) return false;
                result = Value.FromDate((int)(nanos / 86_400_000_000_000L));
                return true;
            default:
                return false;
        }
    }

    private static bool ToUuid(in Value v, out Value result)
    {
        result = default;
        switch (v.Kind)
        {
            case ValueKind.Uuid: result = v; return true;
            case ValueKind.Bytes when v.RawBytes.Length == 16:
                var b = v.RawBytes;
                result = Value.FromUuid(System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(b), System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(b[8..]));
                return true;
            case ValueKind.String:
                Span<char> buffer = stackalloc char[StageValues.StackLimit];
                if (!Guid.TryParse(StageValues.Chars(v, buffer).Trim(), out var g)) return false;
                result = Value.FromGuid(g);
                return true;
            default:
                return false;
        }
    }
}

using System.Globalization;
using System.Text;
using StreamEnrich.Records;

namespace StreamEnrich.Stages;

/// <summary>Helpers shared by the built-in stages: constants from options, text access without allocation, error wording.</summary>
internal static class StageValues
{
    /// <summary>Longest UTF-8 string (in bytes) decoded on the stack; longer ones are materialised.</summary>
    public const int StackLimit = 256;

    /// <summary>
    /// A constant from a bound option (<c>value:</c>, lookup <c>defaults:</c>): null, string, bool, integer,
    /// floating-point or decimal. Whatever type the YAML binder produced is kept (a quoted "42" stays a string).
    /// </summary>
    public static Value FromObject(object? value) => value switch
    {
        null => Value.Null,
        Value v => v,
        string s => Value.FromString(s),
        bool b => Value.FromBool(b),
        int i => Value.FromInt(i),
        long l => Value.FromInt(l),
        short s16 => Value.FromInt(s16),
        byte u8 => Value.FromInt(u8),
        uint u32 => Value.FromInt(u32),
        ulong u64 => Value.FromUInt(u64),
        double d => Value.FromFloat(d),
        float f => Value.FromFloat(f),
        decimal m => Value.FromDecimal(m),
        DateTimeOffset dto => Value.FromDateTimeOffset(dto),
        DateTime dt => Value.FromDateTimeOffset(new DateTimeOffset(DateTime.SpecifyKind(dt, DateTimeKind.Utc))),
        Guid g => Value.FromGuid(g),
        _ => throw new ArgumentException($"a constant must be a string, number, bool or null, got a {value.GetType().Name}.", nameof(value)),
    };

    /// <summary>True when <paramref name="value"/> can be turned into a constant by <see cref="FromObject"/>.</summary>
    public static bool IsConstant(object? value) =>
        value is null or string or bool or int or long or short or byte or uint or ulong or double or float or decimal or DateTimeOffset or DateTime or Guid;

    /// <summary>
    /// The characters of a string value. Uses the .NET string when there is one, decodes a UTF-8 slice into
    /// <paramref name="buffer"/> when it fits (pass a stackalloc'd span of <see cref="StackLimit"/>), else allocates.
    /// </summary>
    public static ReadOnlySpan<char> Chars(in Value value, Span<char> buffer)
    {
        if (!value.IsUtf8) return value.AsString.AsSpan();
        var bytes = value.RawBytes;
        if (bytes.Length <= buffer.Length)
        {
            var n = Encoding.UTF8.GetChars(bytes, buffer);
            return buffer[..n];
        }
        return value.AsString.AsSpan();
    }

    /// <summary>A value as shown in failure reasons: strings quoted (and cut at 120 chars), with the kind.</summary>
    public static string Describe(in Value value)
    {
        switch (value.Kind)
        {
            case ValueKind.Missing: return "<missing>";
            case ValueKind.Null: return "null";
            case ValueKind.String:
                var s = value.AsString;
                if (s.Length > 120) s = string.Concat(s.AsSpan(0, 120), "...");
                return "'" + s + "' (string)";
            default:
                var text = value.ToString();
                if (text.Length > 120) text = string.Concat(text.AsSpan(0, 120), "...");
                return text + " (" + KindName(value.Kind) + ")";
        }
    }

    public static string KindName(ValueKind kind) => kind switch
    {
        ValueKind.Int or ValueKind.UInt => "integer",
        ValueKind.Float => "float",
        _ => kind.ToString().ToLowerInvariant(),
    };

    /// <summary>Formats a non-string scalar into <paramref name="destination"/>; false when it does not fit or is not a scalar.</summary>
    public static bool TryFormatScalar(in Value value, Span<char> destination, out int written)
    {
        switch (value.Kind)
        {
            case ValueKind.Int: return value.AsInt.TryFormat(destination, out written, default, CultureInfo.InvariantCulture);
            case ValueKind.UInt: return value.AsUInt.TryFormat(destination, out written, default, CultureInfo.InvariantCulture);
            case ValueKind.Float: return value.AsFloat.TryFormat(destination, out written, "R", CultureInfo.InvariantCulture);
            case ValueKind.Bool:
                var text = value.AsBool ? "true" : "false";
                written = text.Length;
                return text.AsSpan().TryCopyTo(destination);
            default:
                written = 0;
                return false;
        }
    }
}

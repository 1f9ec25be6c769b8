using System.Globalization;

namespace StreamEnrich.Stages.Cast;

internal enum CastKind { Int, Float, Bool, Decimal, String, Timestamp, Date, Uuid }

/// <summary>A cast target as written in YAML: <c>int</c>, <c>float</c>, <c>bool</c>, <c>decimal(S)</c>, <c>string</c>, <c>timestamp</c>, <c>date</c>, <c>uuid</c>.</summary>
internal readonly record struct CastTarget(CastKind Kind, int Scale)
{
    public const string Accepted = "int, float, bool, decimal(S) with S in 0..38, string, timestamp, date, uuid";

    public static bool TryParse(string text, out CastTarget target)
    {
        target = default;
        var t = text.Trim().ToLowerInvariant();
        switch (t)
        {
            case "int" or "integer" or "long": target = new(CastKind.Int, 0); return true;
            case "float" or "double": target = new(CastKind.Float, 0); return true;
            case "bool" or "boolean": target = new(CastKind.Bool, 0); return true;
            case "string": target = new(CastKind.String, 0); return true;
            case "timestamp": target = new(CastKind.Timestamp, 0); return true;
            case "date": target = new(CastKind.Date, 0); return true;
            case "uuid": target = new(CastKind.Uuid, 0); return true;
        }
        if (t.StartsWith("decimal(", StringComparison.Ordinal) && t.EndsWith(')')
            && int.TryParse(t.AsSpan(8, t.Length - 9), NumberStyles.None, CultureInfo.InvariantCulture, out var scale) && scale <= 38)
        {
            target = new(CastKind.Decimal, scale);
            return true;
        }
        return false;
    }

    /// <summary>
    /// The ClickHouse column type of the cast's result: Int64, Float64, Bool (ClickHouse 22.1+; older servers have
    /// UInt8), Decimal(38, S), String, DateTime64(3, 'UTC') (or the source's DateTime64 precision when it had one),
    /// Date32, UUID.
    /// </summary>
    public string ClickHouseType(string? sourceType) => Kind switch
    {
        CastKind.Int => "Int64",
        CastKind.Float => "Float64",
        CastKind.Bool => "Bool",
        CastKind.Decimal => string.Create(CultureInfo.InvariantCulture, $"Decimal(38, {Scale})"),
        CastKind.String => "String",
        CastKind.Timestamp => sourceType is not null && sourceType.StartsWith("DateTime64(", StringComparison.Ordinal) ? sourceType : Pipeline.Schema.OutputTypes.Timestamp(),
        CastKind.Date => "Date32",
        _ => "UUID",
    };

    public override string ToString() => Kind == CastKind.Decimal ? $"decimal({Scale})" : Kind.ToString().ToLowerInvariant();
}

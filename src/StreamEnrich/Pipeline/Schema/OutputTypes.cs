using System.Globalization;
using StreamEnrich.Records;

namespace StreamEnrich.Pipeline.Schema;

/// <summary>ClickHouse column types for values the built-in stages produce (used by their <c>Apply</c> for <c>streamenrich schema</c>).</summary>
internal static class OutputTypes
{
    /// <summary>
    /// Timestamps the pipeline parses: <c>DateTime64(3, 'UTC')</c>. Milliseconds are what event sources, Kafka
    /// timestamps and JavaScript clocks carry; DateTime64(3) covers 1900-2299 (DateTime64(9) ends in 2262) and
    /// compresses better. Finer digits are truncated by the sink (documented there). Use a higher precision
    /// when the input is finer (see <see cref="TimestampPrecision"/>).
    /// </summary>
    public static string Timestamp(int precision = 3) => string.Create(CultureInfo.InvariantCulture, $"DateTime64({precision}, 'UTC')");

    public static bool IsTimestamp(string type) =>
        type.StartsWith("DateTime64(", StringComparison.Ordinal) || type.StartsWith("DateTime(", StringComparison.Ordinal) || type == "DateTime";

    /// <summary>The type of a constant: Int64, UInt64, Float64, Bool, Decimal(38, S), String...; null for an explicit null.</summary>
    public static string? ForConstant(in Value value) => value.Kind switch
    {
        ValueKind.Null or ValueKind.Missing => null,
        ValueKind.Bool => "Bool",
        ValueKind.Int => "Int64",
        ValueKind.UInt => "UInt64",
        ValueKind.Float => "Float64",
        ValueKind.Decimal => string.Create(CultureInfo.InvariantCulture, $"Decimal(38, {value.AsDecimal.Scale})"),
        ValueKind.Timestamp => Timestamp(),
        ValueKind.Date => "Date32",
        ValueKind.Uuid => "UUID",
        _ => "String",
    };
}

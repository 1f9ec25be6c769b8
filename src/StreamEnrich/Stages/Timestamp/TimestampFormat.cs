namespace StreamEnrich.Stages.Timestamp;

internal enum TimestampFormatKind { Iso8601, EpochSeconds, EpochMillis, EpochMicros, EpochNanos, Pattern }

/// <summary>One entry of the timestamp stage's <c>formats</c> list.</summary>
internal sealed record TimestampFormat(TimestampFormatKind Kind, string Text)
{
    public bool PatternHasOffset => Kind == TimestampFormatKind.Pattern && (Text.Contains('z', StringComparison.Ordinal) || Text.Contains('K', StringComparison.Ordinal));

    /// <summary>Nanoseconds per unit for the epoch formats.</summary>
    public long EpochFactor => Kind switch
    {
        TimestampFormatKind.EpochSeconds => 1_000_000_000L,
        TimestampFormatKind.EpochMillis => 1_000_000L,
        TimestampFormatKind.EpochMicros => 1_000L,
        _ => 1L,
    };

    public bool IsEpoch => Kind is TimestampFormatKind.EpochSeconds or TimestampFormatKind.EpochMillis or TimestampFormatKind.EpochMicros or TimestampFormatKind.EpochNanos;

    public static TimestampFormat Parse(string text) => text.Trim() switch
    {
        "iso8601" => new(TimestampFormatKind.Iso8601, "iso8601"),
        "epoch_s" => new(TimestampFormatKind.EpochSeconds, "epoch_s"),
        "epoch_ms" => new(TimestampFormatKind.EpochMillis, "epoch_ms"),
        "epoch_us" => new(TimestampFormatKind.EpochMicros, "epoch_us"),
        "epoch_ns" => new(TimestampFormatKind.EpochNanos, "epoch_ns"),
        var p => new(TimestampFormatKind.Pattern, p),
    };

    public override string ToString() => Text;
}

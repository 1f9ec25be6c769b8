using System.Globalization;
using StreamEnrich.Pipeline.Schema;
using StreamEnrich.Records;

namespace StreamEnrich.Stages.Timestamp;

/// <summary>Parses a field into a timestamp (nanoseconds since the epoch) trying the configured formats in order.</summary>
internal sealed class TimestampStage : IRecordStage, IOutputSchemaStage
{
    private readonly string _targetName;
    private const long TicksToNanos = 100;

    private readonly string _stageName;
    private readonly string _field;
    private readonly int _source;
    private readonly int _target;
    private readonly TimestampFormat[] _formats;
    private readonly TimeZoneInfo? _zone;
    private readonly bool _required;
    private readonly string _formatList;

    public TimestampStage(TimestampStageOptions options, IStageBuildContext context)
    {
        _stageName = context.StageName;
        _field = options.Field;
        _source = context.Field(options.Field);
        _target = context.Field(options.Target ?? options.Field);
        _targetName = options.Target ?? options.Field;
        _formats = [.. options.Formats.Select(TimestampFormat.Parse)];
        if (TimestampStageOptions.TryFindZone(options.Timezone, out var zone) is { } error) throw new ArgumentException(error, nameof(options));
        _zone = zone == TimeZoneInfo.Utc ? null : zone;
        _required = options.Required;
        _formatList = "[" + string.Join(", ", _formats.Select(f => f.Text)) + "]";
    }

    /// <summary>
    /// The target becomes DateTime64(3, 'UTC'), or (6)/(9) when the formats include epoch_us/epoch_ns, or keeps the
    /// precision of a source that already is a DateTime64 (it is passed through). Nullable unless <c>required</c>.
    /// </summary>
    public void Apply(OutputSchema schema)
    {
        var source = schema.Find(_field);
        var precision = _formats.Any(f => f.Kind == TimestampFormatKind.EpochNanos) ? 9
            : _formats.Any(f => f.Kind == TimestampFormatKind.EpochMicros) ? 6 : 3;
        var type = source is not null && source.Type.StartsWith("DateTime64(", StringComparison.Ordinal) ? source.Type : OutputTypes.Timestamp(precision);
        schema.Set(_targetName, type, !_required && (source?.Nullable ?? true));
    }

    public void Process(Record record)
    {
        var fields = record.Fields;
        var v = fields[_source];
        if (v.IsNullOrMissing)
        {
            if (_required)
                record.Fail(_stageName, $"timestamp '{_field}' is {StageValues.Describe(v)}; expected a time in one of the formats {_formatList}.");
            else if (_target != _source)
                fields[_target] = v;
            return;
        }
        if (v.Kind == ValueKind.Timestamp)
        {
            fields[_target] = v;
            return;
        }
        foreach (var format in _formats)
        {
            if (TryParse(v, format, out var nanos))
            {
                fields[_target] = Value.FromTimestampNanos(nanos);
                return;
            }
        }
        record.Fail(_stageName, $"timestamp '{_field}': cannot parse {StageValues.Describe(v)} with any of the formats {_formatList}.");
    }

    internal bool TryParse(in Value v, TimestampFormat format, out long nanos)
    {
        nanos = 0;
        switch (format.Kind)
        {
            case TimestampFormatKind.Iso8601:
            {
                if (v.Kind != ValueKind.String) return false;
                bool hasOffset;
                if (v.IsUtf8)
                {
                    if (!Iso8601.TryParse(v.RawBytes, out nanos, out hasOffset)) return false;
                }
                else
                {
                    Span<byte> bytes = stackalloc byte[64];
                    if (!v.TryGetUtf8(bytes, out var n) || !Iso8601.TryParse(bytes[..n], out nanos, out hasOffset)) return false;
                }
                return hasOffset || ApplyZone(ref nanos);
            }
            case TimestampFormatKind.Pattern:
                return TryParsePattern(v, format, out nanos);
            default:
                return TryParseEpoch(v, format.EpochFactor, out nanos);
        }
    }

    private static bool TryParseEpoch(in Value v, long factor, out long nanos)
    {
        nanos = 0;
        switch (v.Kind)
        {
            case ValueKind.Int:
                try
                {
                    nanos = checked(v.AsInt * factor);
                    return true;
                }
                catch (OverflowException)
                {
                    return false;
                }
            case ValueKind.Float:
                var d = v.AsFloat * factor;
                if (!double.IsFinite(d) || d >= 9.2233720368547758E+18 || d < -9.2233720368547758E+18) return false;
                nanos = (long)Math.Round(d);
                return true;
            case ValueKind.Decimal:
                return FromDecimal(v.AsDecimal, factor, out nanos);
            case ValueKind.String:
                Span<char> buffer = stackalloc char[StageValues.StackLimit];
                var s = StageValues.Chars(v, buffer).Trim();
                if (long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
                {
                    try
                    {
                        nanos = checked(l * factor);
                        return true;
                    }
                    catch (OverflowException)
                    {
                        return false;
                    }
                }
                return DecimalValue.TryParse(s, out var dec) && FromDecimal(dec, factor, out nanos);
            default:
                return false;
        }
    }

    private static bool FromDecimal(DecimalValue d, long factor, out long nanos)
    {
        nanos = 0;
        var digits = factor switch { 1_000_000_000L => 9, 1_000_000L => 6, 1_000L => 3, _ => 0 };
        // value * 10^digits nanoseconds, rounded toward zero below a nanosecond.
        var scaled = new DecimalValue(d.Unscaled, d.Scale - digits);
        Int128 whole;
        if (scaled.Scale <= 0)
        {
            if (!scaled.TryRescale(0, out whole)) return false;
        }
        else
        {
            whole = d.Unscaled;
            for (var i = 0; i < scaled.Scale; i++) whole /= 10;
        }
        if (whole > long.MaxValue || whole < long.MinValue) return false;
        nanos = (long)whole;
        return true;
    }

    private bool TryParsePattern(in Value v, TimestampFormat format, out long nanos)
    {
        nanos = 0;
        if (v.Kind != ValueKind.String) return false;
        Span<char> buffer = stackalloc char[StageValues.StackLimit];
        var s = StageValues.Chars(v, buffer);
        if (format.PatternHasOffset)
        {
            if (!DateTimeOffset.TryParseExact(s, format.Text, CultureInfo.InvariantCulture, DateTimeStyles.AllowWhiteSpaces, out var dto)) return false;
            nanos = (dto.UtcTicks - DateTime.UnixEpoch.Ticks) * TicksToNanos;
            return true;
        }
        if (!DateTime.TryParseExact(s, format.Text, CultureInfo.InvariantCulture, DateTimeStyles.AllowWhiteSpaces, out var dt)) return false;
        nanos = (dt.Ticks - DateTime.UnixEpoch.Ticks) * TicksToNanos;
        return ApplyZone(ref nanos);
    }

    /// <summary>Turns wall-clock nanoseconds in the configured zone into UTC (see the <c>timezone</c> option for DST rules).</summary>
    private bool ApplyZone(ref long nanos)
    {
        if (_zone is null) return true;
        var ticks = Math.DivRem(nanos, TicksToNanos, out var rem);
        if (rem < 0) { ticks--; rem += TicksToNanos; }
        var local = new DateTime(DateTime.UnixEpoch.Ticks + ticks, DateTimeKind.Unspecified);
        // GetUtcOffset reads ambiguous and invalid local times with the zone's standard offset.
        var offset = _zone.GetUtcOffset(local);
        nanos -= offset.Ticks * TicksToNanos;
        return true;
    }
}

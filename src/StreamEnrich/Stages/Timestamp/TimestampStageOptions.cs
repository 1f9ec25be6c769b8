using System.Globalization;
using StreamEnrich.Configuration;

namespace StreamEnrich.Stages.Timestamp;

public sealed class TimestampStageOptions : IValidatableOptions
{
    [Option("The field holding the time.", Required = true, Example = "ts")]
    public string Field { get; set; } = "";

    [Option("Where the parsed timestamp goes; defaults to `field` (replaced in place).", Example = "event_time")]
    public string? Target { get; set; }

    [Option("Formats tried in order: iso8601, epoch_s, epoch_ms, epoch_us, epoch_ns, or a .NET pattern such as " +
            "\"yyyy-MM-dd HH:mm:ss\" (invariant culture). Default [iso8601, epoch_ms]. iso8601 keeps up to 9 fractional digits exactly " +
            "(more fail rather than round); epoch formats accept numbers and numeric strings.",
        Example = "[iso8601, epoch_ms]")]
    public List<string> Formats { get; set; } = ["iso8601", "epoch_ms"];

    [Option("IANA time zone for inputs without an offset (e.g. Europe/Berlin); default UTC. A local time that happens twice " +
            "(DST ends) is read as standard time, i.e. the later instant; a local time that does not exist (DST starts) is read " +
            "with the standard offset, i.e. moved forward by the gap.", Example = "Europe/Berlin")]
    public string Timezone { get; set; } = "UTC";

    [Option("Fail the record when the field is missing or null. By default missing and null are copied to the target as they are.")]
    public bool Required { get; set; }

    public void Validate(OptionsValidationContext context)
    {
        if (string.IsNullOrWhiteSpace(Field)) context.Error(nameof(Field), "timestamp needs the `field` to parse.");
        if (Target is not null && string.IsNullOrWhiteSpace(Target)) context.Error(nameof(Target), "`target` must name a field.");
        if (Formats.Count == 0) context.Error(nameof(Formats), "timestamp needs at least one format.", "Example: `formats: [iso8601, epoch_ms]`.");
        foreach (var f in Formats)
        {
            if (string.IsNullOrWhiteSpace(f))
            {
                context.Error(nameof(Formats), "a timestamp format must not be empty.");
                continue;
            }
            var format = TimestampFormat.Parse(f);
            if (format.Kind != TimestampFormatKind.Pattern) continue;
            try
            {
                _ = DateTime.MinValue.ToString(format.Text, CultureInfo.InvariantCulture);
            }
            catch (FormatException)
            {
                context.Error(nameof(Formats), $"'{f}' is neither a known format nor a valid date pattern.",
                    "Use iso8601, epoch_s, epoch_ms, epoch_us, epoch_ns or a pattern like \"yyyy-MM-dd HH:mm:ss\".");
            }
        }
        if (TryFindZone(Timezone, out _) is { } error) context.Error(nameof(Timezone), error, "Use an IANA name such as UTC, Europe/Berlin or America/New_York.");
    }

    /// <summary>Finds the zone; returns an error message or null.</summary>
    internal static string? TryFindZone(string id, out TimeZoneInfo zone)
    {
        zone = TimeZoneInfo.Utc;
        if (string.IsNullOrWhiteSpace(id) || id is "UTC" or "utc" or "Z") return null;
        try
        {
            zone = TimeZoneInfo.FindSystemTimeZoneById(id);
            return null;
        }
        catch (TimeZoneNotFoundException)
        {
            return $"unknown time zone '{id}'.";
        }
        catch (InvalidTimeZoneException e)
        {
            return $"time zone '{id}' could not be read: {e.Message}";
        }
    }
}

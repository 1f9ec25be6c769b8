using StreamEnrich.Configuration;

namespace StreamEnrich.Stages.Cast;

public sealed class CastStageOptions : IValidatableOptions
{
    [Option("Map of field path to target type: int, float, bool, decimal(S), string, timestamp, date, uuid. " +
            "Null and missing stay as they are; a value that does not convert fails the record.",
        Required = true, Example = "{ price: decimal(2), user_id: int, active: bool }")]
    public Dictionary<string, string> Fields { get; set; } = [];

    public void Validate(OptionsValidationContext context)
    {
        if (Fields.Count == 0)
            context.Error(nameof(Fields), "cast needs at least one field in `fields`.", "Example: `fields: { user_id: int }`.");
        foreach (var (field, type) in Fields)
        {
            if (string.IsNullOrWhiteSpace(field)) context.Error(nameof(Fields), "cast field names must not be empty.");
            if (!CastTarget.TryParse(type ?? "", out _))
                context.Error(nameof(Fields), $"cast of '{field}': unknown type '{type}'.", $"Use one of: {CastTarget.Accepted}.");
        }
    }
}

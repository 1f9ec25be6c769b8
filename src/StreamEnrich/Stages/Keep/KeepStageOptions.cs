using StreamEnrich.Configuration;

namespace StreamEnrich.Stages.Keep;

public sealed class KeepStageOptions : IValidatableOptions
{
    [Option("Field paths to keep. Every other field becomes missing, except Kafka metadata fields (names starting with `_`).",
        Required = true, Example = "[user_id, event, ts]")]
    public List<string> Fields { get; set; } = [];

    public void Validate(OptionsValidationContext context)
    {
        if (Fields.Count == 0)
            context.Error(nameof(Fields), "keep needs at least one field in `fields` (an empty list would clear every field).", "Example: `fields: [user_id, event]`.");
        foreach (var f in Fields)
            if (string.IsNullOrWhiteSpace(f)) context.Error(nameof(Fields), "keep field names must not be empty.");
    }
}

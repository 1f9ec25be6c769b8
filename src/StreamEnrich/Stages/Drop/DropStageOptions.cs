using StreamEnrich.Configuration;

namespace StreamEnrich.Stages.Drop;

public sealed class DropStageOptions : IValidatableOptions
{
    [Option("Field paths to remove (they become missing, so the column default applies).", Required = true, Example = "[debug, raw_payload]")]
    public List<string> Fields { get; set; } = [];

    public void Validate(OptionsValidationContext context)
    {
        if (Fields.Count == 0)
            context.Error(nameof(Fields), "drop needs at least one field in `fields`.", "Example: `fields: [debug]`.");
        foreach (var f in Fields)
            if (string.IsNullOrWhiteSpace(f)) context.Error(nameof(Fields), "drop field names must not be empty.");
    }
}

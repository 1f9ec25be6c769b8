using StreamEnrich.Configuration;

namespace StreamEnrich.Stages.Rename;

public sealed class RenameStageOptions : IValidatableOptions
{
    [Option("Map of old field path to new field path. The value moves; the old field becomes missing. " +
            "If the old field is missing nothing changes; an existing value at the new path is overwritten.",
            Required = true, Example = "{ usr: user_id, 'ctx.ip': client_ip }")]
    public Dictionary<string, string> Fields { get; set; } = [];

    public void Validate(OptionsValidationContext context)
    {
        if (Fields.Count == 0)
        {
            context.Error(nameof(Fields), "rename needs at least one field in `fields`.", "Example: `fields: { old_name: new_name }`.");
            return;
        }
        var targets = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (from, to) in Fields)
        {
            if (string.IsNullOrWhiteSpace(from) || string.IsNullOrWhiteSpace(to))
                context.Error(nameof(Fields), "rename field names must not be empty.");
            else if (from == to)
                context.Error(nameof(Fields), $"rename '{from}' to itself does nothing.", "Remove the entry.");
            else if (!targets.Add(to))
                context.Error(nameof(Fields), $"two fields are renamed to '{to}'.", "Each new name may appear once.");
        }
        foreach (var from in Fields.Keys)
        {
            if (targets.Contains(from))
                context.Error(nameof(Fields), $"'{from}' is both renamed and a rename target in the same stage, so the result would depend on order.",
                    "Split the renames into two rename stages.");
        }
    }
}

using StreamEnrich.Configuration;

namespace StreamEnrich.Stages.Set;

/// <summary>What a template does with a placeholder whose field is missing or null.</summary>
public enum TemplateMissingBehavior
{
    /// <summary>The record fails, naming the field.</summary>
    Fail,
    /// <summary>The placeholder becomes an empty string.</summary>
    Empty,
}

public sealed class SetStageOptions : IValidatableOptions
{
    private object? _value;

    [Option("The field to set.", Required = true, Example = "source")]
    public string Field { get; set; } = "";

    [Option("A constant: string, number, bool or null.", Example = "web")]
    public object? Value
    {
        get => _value;
        set
        {
            _value = value;
            HasValue = true;
        }
    }

    /// <summary>True once <see cref="Value"/> was assigned (so <c>value: null</c> is told apart from no value).</summary>
    internal bool HasValue { get; private set; }

    [Option("Copy the value of this field (a missing source makes the field missing).", Example = "user.id")]
    public string? From { get; set; }

    [Option("A string with {field} placeholders, e.g. \"{country}-{city}\"; `{{` and `}}` write literal braces.", Example = "{country}-{city}")]
    public string? Template { get; set; }

    [Option("In a template, what a missing or null field does: `fail` (the record fails) or `empty` (empty text).")]
    public TemplateMissingBehavior OnMissing { get; set; } = TemplateMissingBehavior.Fail;

    [Option("Only set the field when it is missing or null.")]
    public bool IfMissing { get; set; }

    public void Validate(OptionsValidationContext context)
    {
        if (string.IsNullOrWhiteSpace(Field))
            context.Error(nameof(Field), "set needs the `field` to write.");
        var count = (HasValue ? 1 : 0) + (From is null ? 0 : 1) + (Template is null ? 0 : 1);
        if (count != 1)
            context.Error(null, count == 0 ? "set needs one of `value`, `from` or `template`." : "set takes exactly one of `value`, `from` or `template`, got several.",
                "Examples: `value: web`, `from: user.id`, `template: \"{country}-{city}\"`.");
        if (HasValue && !StageValues.IsConstant(Value))
            context.Error(nameof(Value), $"`value` must be a string, number, bool or null, got a {Value!.GetType().Name}.");
        if (From is not null && string.IsNullOrWhiteSpace(From))
            context.Error(nameof(From), "`from` must name a field.");
        if (Template is not null)
        {
            try
            {
                SetTemplate.Parse(Template);
            }
            catch (FormatException e)
            {
                context.Error(nameof(Template), e.Message, "Write placeholders as {field}; write {{ or }} for a literal brace.");
            }
        }
    }
}

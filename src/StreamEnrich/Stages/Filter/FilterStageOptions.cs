using StreamEnrich.Configuration;
using StreamEnrich.Expressions;

namespace StreamEnrich.Stages.Filter;

public sealed class FilterStageOptions : IValidatableOptions
{
    [Option("Predicate; records for which it is true continue, the others are filtered out (their offsets still count as done). " +
            "Operators: == != < <= > >= in, not in, contains, starts_with, ends_with, exists(f), and/&&, or/||, not/!, parentheses. " +
            "Missing fields are null; comparisons with null other than ==/!= are false. Values are not converted: comparing kinds " +
            "that cannot be compared (text with a number...) fails the record with the reason (cast such fields first).",
        Required = true, Example = "event == 'purchase' and amount > 0 and country in ['DE', 'AT']")]
    public string Where { get; set; } = "";

    public void Validate(OptionsValidationContext context)
    {
        if (string.IsNullOrWhiteSpace(Where))
        {
            context.Error(nameof(Where), "filter needs a `where` predicate.", "Example: `where: status == 'ok'`.");
            return;
        }
        if (Predicate.Check(Where) is { } error)
            context.Error(nameof(Where), $"invalid predicate: {error.Message}: {Where}",
                "Strings need quotes ('a' or \"a\"), fields with odd characters need backticks (`weird-name`), compare with ==.");
    }
}

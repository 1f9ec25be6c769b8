namespace StreamEnrich.Configuration;

/// <summary>
/// Documents an option for <c>validate</c>, the generated reference and error hints. The YAML key is the
/// property name in snake_case (<c>MaxWait</c> → <c>max_wait</c>) unless <see cref="Key"/> is set.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class OptionAttribute(string description) : Attribute
{
    public string Description { get; } = description;
    /// <summary>The YAML key, when not the snake_case of the property name.</summary>
    public string? Key { get; init; }
    /// <summary>The option must be present.</summary>
    public bool Required { get; init; }
    /// <summary>An example value shown in docs and hints.</summary>
    public string? Example { get; init; }
}

/// <summary>Options that check themselves after binding. Errors name the property so the loader can point at its line.</summary>
public interface IValidatableOptions
{
    void Validate(OptionsValidationContext context);
}

/// <summary>Collects validation errors for one options object.</summary>
public sealed class OptionsValidationContext
{
    private readonly List<OptionError> _errors = [];
    public IReadOnlyList<OptionError> Errors => _errors;

    /// <summary>
    /// The folder relative file paths in the options are taken from (the pipeline file's), when known; null means the
    /// working directory. Checks that a file exists must resolve against it.
    /// </summary>
    public string? BaseDirectory { get; init; }

    /// <summary>Reports a problem with property <paramref name="property"/> (its C# name, or null for the whole object).</summary>
    public void Error(string? property, string message, string? hint = null) => _errors.Add(new(property, message, hint));
}

/// <summary>One validation error: which property, what is wrong, what to do.</summary>
public sealed record OptionError(string? Property, string Message, string? Hint);

/// <summary>
/// Marks a <see cref="long"/> option written as a byte size in YAML: <c>512</c>, <c>64KB</c>, <c>16MiB</c>, <c>1GB</c>
/// (KB/MB/GB are powers of 1000, KiB/MiB/GiB of 1024). <see cref="TimeSpan"/> options are durations:
/// <c>250ms</c>, <c>5s</c>, <c>2m</c>, <c>1h</c> (a bare number is seconds).
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ByteSizeAttribute : Attribute;

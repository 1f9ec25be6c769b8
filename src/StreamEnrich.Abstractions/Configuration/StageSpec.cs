using StreamEnrich.Stages;

namespace StreamEnrich.Configuration;

/// <summary>
/// Everything the engine knows about one stage type: its YAML <c>type</c> name, summary, options class and
/// constructor. The one registry of these feeds the YAML loader, <c>validate</c>, dry-run and the docs.
/// </summary>
public sealed class StageSpec
{
    public required string Type { get; init; }
    public required string Summary { get; init; }
    /// <summary>The options class; bound from the stage's YAML keys (other than <c>type</c> and <c>name</c>).</summary>
    public required Type OptionsType { get; init; }
    /// <summary>Builds the stage: returns an <see cref="IRecordStage"/> or an <see cref="IAsyncChunkStage"/>.</summary>
    public required Func<object, IStageBuildContext, object> Factory { get; init; }
    /// <summary>A YAML example of the stage (one list item), validated by the tests.</summary>
    public string? Example { get; init; }

    public static StageSpec Create<TOptions>(string type, string summary, Func<TOptions, IStageBuildContext, object> factory, string? example = null)
        where TOptions : class, new() => new()
        {
            Type = type,
            Summary = summary,
            OptionsType = typeof(TOptions),
            Factory = (o, c) => factory((TOptions)o, c),
            Example = example,
        };
}

using StreamEnrich.Stages;

namespace StreamEnrich.Configuration;

/// <summary>
/// The stage types a pipeline may use, by their YAML <c>type</c> name. One registry feeds the loader,
/// <c>validate</c>, dry-run and the reference docs.
/// </summary>
internal sealed class StageRegistry
{
    private readonly Dictionary<string, StageSpec> _specs = new(StringComparer.Ordinal);

    /// <summary>A registry holding the built-in stages (<see cref="BuiltInStages.All"/>).</summary>
    public static StageRegistry CreateDefault()
    {
        var registry = new StageRegistry();
        foreach (var spec in BuiltInStages.All)
            registry.Register(spec);
        return registry;
    }

    /// <summary>Adds a stage type. Throws when the type name is already registered or the options class cannot be bound.</summary>
    public StageRegistry Register(StageSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (string.IsNullOrWhiteSpace(spec.Type))
            throw new ArgumentException("A stage spec needs a type name.", nameof(spec));
        if (!OptionsMetadata.IsOptionsClass(spec.OptionsType))
            throw new ArgumentException($"Stage '{spec.Type}': options type {spec.OptionsType.FullName} must be a class with a public parameterless constructor.", nameof(spec));
        var meta = OptionsMetadata.For(spec.OptionsType); // throws on two properties with one key
        foreach (var reserved in new[] { "type", "name" })
        {
            if (meta.ByKey.ContainsKey(reserved))
                throw new ArgumentException($"Stage '{spec.Type}': option key '{reserved}' is reserved for the stage declaration; give the property another key.", nameof(spec));
        }
        if (!_specs.TryAdd(spec.Type, spec))
            throw new InvalidOperationException($"Stage type '{spec.Type}' is already registered.");
        return this;
    }

    public bool TryGet(string type, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out StageSpec? spec) => _specs.TryGetValue(type, out spec);

    /// <summary>All registered specs, sorted by type name (ordinal).</summary>
    public IReadOnlyList<StageSpec> All => _specs.Values.OrderBy(s => s.Type, StringComparer.Ordinal).ToList();
}

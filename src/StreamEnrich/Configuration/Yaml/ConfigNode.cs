namespace StreamEnrich.Configuration.Yaml;

/// <summary>
/// A YAML node with its position, as read by <see cref="YamlDocumentReader"/>. Unlike YamlDotNet's representation
/// model it keeps duplicate keys (so they can be reported, all of them) and whether a scalar was quoted.
/// </summary>
internal abstract class ConfigNode(SourceLocation location)
{
    /// <summary>Where the node starts (1-based line and column).</summary>
    public SourceLocation Location { get; } = location;

    /// <summary>"a string", "a mapping", "a list": for messages.</summary>
    public abstract string Describe();
}

internal sealed class ConfigScalar(SourceLocation location, string value, bool isPlain) : ConfigNode(location)
{
    /// <summary>The value after <c>${VAR}</c> substitution.</summary>
    public string Value { get; } = value;

    /// <summary>Written without quotes and without an explicit <c>!!str</c> tag: its type is inferred (YAML 1.2 core schema).</summary>
    public bool IsPlain { get; } = isPlain;

    /// <summary>A plain <c>null</c>, <c>~</c> or nothing at all (<c>key:</c>).</summary>
    public bool IsNull => IsPlain && Value is "" or "~" or "null" or "Null" or "NULL";

    public override string Describe() => IsNull ? "nothing (null)" : $"'{Value}'";
}

internal sealed class ConfigMapping(SourceLocation location) : ConfigNode(location)
{
    /// <summary>Entries in file order, duplicates included. Keys are scalars (complex keys are rejected by the reader).</summary>
    public List<KeyValuePair<ConfigScalar, ConfigNode>> Entries { get; } = [];

    public override string Describe() => "a mapping";
}

internal sealed class ConfigSequence(SourceLocation location) : ConfigNode(location)
{
    public List<ConfigNode> Items { get; } = [];

    public override string Describe() => "a list";
}

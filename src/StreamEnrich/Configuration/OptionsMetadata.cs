using System.Collections.Concurrent;
using System.Reflection;

namespace StreamEnrich.Configuration;

/// <summary>One bindable property of an options class: its YAML key and how its value is written.</summary>
internal sealed class OptionProperty
{
    public required PropertyInfo Property { get; init; }
    public required string Key { get; init; }
    public OptionAttribute? Attribute { get; init; }
    public bool IsByteSize { get; init; }
    /// <summary>A nullable value type or a reference type annotated nullable: <c>key: ~</c> sets null.</summary>
    public bool AllowsNull { get; init; }
    public bool Required => Attribute?.Required == true;
    public string Name => Property.Name;
    public Type Type => Property.PropertyType;
}

/// <summary>The bindable properties of an options class (public, settable), cached per type.</summary>
internal sealed class OptionsMetadata
{
    private static readonly ConcurrentDictionary<Type, OptionsMetadata> Cache = new();

    public required Type Type { get; init; }
    public required IReadOnlyList<OptionProperty> Properties { get; init; }
    public required IReadOnlyDictionary<string, OptionProperty> ByKey { get; init; }
    public required IReadOnlyDictionary<string, OptionProperty> ByName { get; init; }

    public static OptionsMetadata For(Type type) => Cache.GetOrAdd(type, Build);

    /// <summary>A class the binder fills from a mapping (as opposed to a scalar, list or dictionary).</summary>
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2070", Justification = AotNotes.OptionsClassesKept)]
    public static bool IsOptionsClass(Type type) =>
        type.IsClass && type != typeof(string) && type != typeof(object) && !type.IsAbstract
        && !typeof(System.Collections.IEnumerable).IsAssignableFrom(type)
        && type.GetConstructor(Type.EmptyTypes) is not null;

    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2070", Justification = AotNotes.OptionsClassesKept)]
    private static OptionsMetadata Build(Type type)
    {
        var nullability = new NullabilityInfoContext();
        var props = new List<OptionProperty>();
        foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (p.SetMethod is not { IsPublic: true } || p.GetIndexParameters().Length > 0)
                continue;
            var attr = p.GetCustomAttribute<OptionAttribute>();
            var allowsNull = Nullable.GetUnderlyingType(p.PropertyType) is not null
                || (!p.PropertyType.IsValueType && nullability.Create(p).WriteState == NullabilityState.Nullable);
            props.Add(new OptionProperty
            {
                Property = p,
                Key = attr?.Key ?? OptionNames.ToSnakeCase(p.Name),
                Attribute = attr,
                IsByteSize = p.GetCustomAttribute<ByteSizeAttribute>() is not null,
                AllowsNull = allowsNull,
            });
        }
        var byKey = new Dictionary<string, OptionProperty>(StringComparer.Ordinal);
        foreach (var p in props)
        {
            if (!byKey.TryAdd(p.Key, p))
                throw new InvalidOperationException($"Options class {type.FullName}: properties {byKey[p.Key].Name} and {p.Name} both use the YAML key '{p.Key}'.");
        }
        return new OptionsMetadata
        {
            Type = type,
            Properties = props,
            ByKey = byKey,
            ByName = props.ToDictionary(p => p.Name, StringComparer.Ordinal),
        };
    }
}

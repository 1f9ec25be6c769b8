using System.Collections;
using System.Globalization;
using StreamEnrich.Configuration.Yaml;

namespace StreamEnrich.Configuration;

/// <summary>
/// Binds YAML nodes to options objects by reflection. Keys are the snake_case of property names (or
/// <see cref="OptionAttribute.Key"/>). Every problem is collected as a <see cref="ConfigError"/> at its position;
/// binding never stops at the first one. After an object implementing <see cref="IValidatableOptions"/> is bound,
/// its <c>Validate</c> runs and each error lands on the line of the property's key.
/// </summary>
/// <param name="baseDirectory">The pipeline file's folder: relative paths are checked against it (<see cref="OptionsValidationContext.BaseDirectory"/>).</param>
internal sealed class OptionsBinder(StageRegistry? registry, List<ConfigError> errors, string? baseDirectory = null)
{
    private readonly Dictionary<string, SourceLocation> _locations = new(StringComparer.Ordinal);

    /// <summary>
    /// Where each bound key was written, by path: <c>sink</c>, <c>sink.table</c>, <c>stages[0]</c>, <c>stages[0].field</c>,
    /// <c>source.topics[1]</c>.
    /// </summary>
    public IReadOnlyDictionary<string, SourceLocation> Locations => _locations;

    public List<ConfigError> Errors => errors;

    /// <summary>Binds <paramref name="node"/> to a new <paramref name="type"/>. <paramref name="display"/> names the node in messages.</summary>
    public object? Bind(ConfigNode node, Type type, string display, string path = "")
    {
        var scope = new Scope(path, display);
        return BindValue(node, type, scope, byteSize: false, allowsNull: true, out _);
    }

    public T? Bind<T>(ConfigNode node, string display) where T : class => (T?)Bind(node, typeof(T), display);

    private readonly record struct Scope(string Path, string Display)
    {
        public Scope Child(string key, string? display = null) =>
            new(Path.Length == 0 ? key : $"{Path}.{key}", display ?? (Path.Length == 0 ? key : $"{Path}.{key}"));

        public Scope Item(int index, string? display = null) =>
            new($"{Path}[{index}]", display ?? $"{Path}[{index}]");
    }

    // ---- dispatch -------------------------------------------------------------------------------------------

    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("AOT", "IL3050", Justification = AotNotes.OptionsClassesKept)]
    private object? BindValue(ConfigNode node, Type type, Scope scope, bool byteSize, bool allowsNull, out bool ok)
    {
        ok = true;
        var underlying = Nullable.GetUnderlyingType(type);
        if (underlying is not null)
        {
            if (node is ConfigScalar { IsNull: true })
                return null;
            return BindValue(node, underlying, scope, byteSize, allowsNull: false, out ok);
        }

        if (type == typeof(object))
            return ToPlain(node, scope);

        if (node is ConfigScalar { IsNull: true } && allowsNull && !type.IsValueType)
            return null;

        // `key:` with nothing after it (e.g. every sub-key commented out) means an empty list or map, or the
        // defaults of an options section: treat it as an empty collection / mapping at the same position.
        if (node is ConfigScalar { IsNull: true } empty && !type.IsValueType && type != typeof(string))
        {
            if (type.IsArray || ListElementType(type) is not null)
                node = new ConfigSequence(empty.Location);
            else if (DictionaryValueType(type) is not null || OptionsMetadata.IsOptionsClass(type))
                node = new ConfigMapping(empty.Location);
        }

        if (type == typeof(StageDeclaration))
            return Fail(node, scope, "a stage (a mapping with a `type`)", null, out ok);

        if (IsScalarType(type))
        {
            if (node is not ConfigScalar scalar)
                return Fail(node, scope, Expected(type, byteSize), ScalarHint(type, byteSize), out ok);
            return BindScalar(scalar, type, scope, byteSize, out ok);
        }

        if (type.IsArray)
        {
            var list = BindList(node, type.GetElementType()!, scope, out ok);
            if (list is null)
                return null;
            var array = Array.CreateInstance(type.GetElementType()!, list.Count);
            list.CopyTo(array, 0);
            return array;
        }

        if (ListElementType(type) is { } elementType)
            return BindList(node, elementType, scope, out ok);

        if (DictionaryValueType(type) is { } valueType)
            return BindDictionary(node, valueType, scope, out ok);

        if (OptionsMetadata.IsOptionsClass(type))
        {
            if (node is not ConfigMapping mapping)
            {
                return Fail(node, scope, "a mapping of options", $"Write the options of {scope.Display} indented under its key, one `key: value` per line"
                    + (OptionsMetadata.For(type).Properties.Count > 0 ? $" (valid keys: {string.Join(", ", OptionsMetadata.For(type).Properties.Select(p => p.Key))})." : "."), out ok);
            }
            // Errors inside are reported (and mark the property failed for the parent's validation) but the
            // partly bound object is still set, so the parent does not also complain that it is missing.
            return BindObject(mapping, type, scope, reserved: null);
        }

        errors.Add(new ConfigError(node.Location, $"{scope.Display} has the type {type.Name}, which the configuration binder does not support",
            "This is a bug in the options class, not in the file: use string, numbers, bool, enums, TimeSpan, lists, dictionaries or nested option classes."));
        ok = false;
        return null;
    }

    private object? Fail(ConfigNode node, Scope scope, string expected, string? hint, out bool ok)
    {
        ok = false;
        errors.Add(new ConfigError(node.Location, $"invalid value for {scope.Display}: expected {expected}, got {node.Describe()}", hint));
        return null;
    }

    // ---- scalars --------------------------------------------------------------------------------------------

    private static bool IsScalarType(Type t) =>
        t == typeof(string) || t == typeof(int) || t == typeof(long) || t == typeof(double) || t == typeof(bool)
        || t == typeof(TimeSpan) || t.IsEnum || t == typeof(float) || t == typeof(decimal) || t == typeof(short) || t == typeof(uint) || t == typeof(ulong);

    private static string Expected(Type t, bool byteSize)
    {
        if (byteSize) return "a byte size like 64MB";
        if (t == typeof(string)) return "a string";
        if (t == typeof(bool)) return "true or false";
        if (t == typeof(TimeSpan)) return "a duration like 5s";
        if (t == typeof(double) || t == typeof(float) || t == typeof(decimal)) return "a number";
        if (t.IsEnum) return $"one of {string.Join(", ", EnumKeys(t))}";
        if (t == typeof(int)) return "an integer";
        if (t == typeof(long) || t == typeof(short) || t == typeof(uint) || t == typeof(ulong)) return "an integer";
        return t.Name;
    }

    private static string? ScalarHint(Type t, bool byteSize)
    {
        if (byteSize) return ValueParsers.ByteSizeHint;
        if (t == typeof(TimeSpan)) return ValueParsers.DurationHint;
        if (t == typeof(bool)) return "Write true or false (YAML 1.2: yes/no/on/off are not booleans).";
        if (t == typeof(string)) return "Quote the value if it is meant as text: 'like this'.";
        return null;
    }

    private object? BindScalar(ConfigScalar scalar, Type type, Scope scope, bool byteSize, out bool ok)
    {
        ok = true;
        var text = scalar.Value;
        if (scalar.IsNull && type != typeof(string))
            return Fail(scalar, scope, Expected(type, byteSize), ScalarHint(type, byteSize), out ok);

        if (type == typeof(string))
        {
            if (scalar.IsNull)
                return Fail(scalar, scope, "a string", "Write a value after the ':'; for an empty string write ''.", out ok);
            return text;
        }

        if (byteSize && (type == typeof(long) || type == typeof(int)))
        {
            if (!ValueParsers.TryParseByteSize(text, out var bytes) || (type == typeof(int) && bytes > int.MaxValue))
                return Fail(scalar, scope, "a byte size like 64MB", ValueParsers.ByteSizeHint, out ok);
            return type == typeof(int) ? (object)(int)bytes : bytes;
        }

        if (type == typeof(TimeSpan))
        {
            if (!ValueParsers.TryParseDuration(text, out var ts))
                return Fail(scalar, scope, "a duration like 5s", ValueParsers.DurationHint, out ok);
            return ts;
        }

        if (type == typeof(bool))
        {
            if (!ValueParsers.TryParseBool(text, out var b))
                return Fail(scalar, scope, "true or false", ScalarHint(type, false), out ok);
            return b;
        }

        if (type.IsEnum)
            return BindEnum(scalar, type, scope, out ok);

        if (type == typeof(double) || type == typeof(float) || type == typeof(decimal))
        {
            if (!ValueParsers.TryParseDouble(text, out var d))
                return Fail(scalar, scope, "a number", null, out ok);
            if (type == typeof(double)) return d;
            if (type == typeof(float)) return (float)d;
            return decimal.Parse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture);
        }

        // integers
        var (min, max) = type == typeof(int) ? (int.MinValue, int.MaxValue)
            : type == typeof(short) ? (short.MinValue, short.MaxValue)
            : type == typeof(uint) ? (0L, uint.MaxValue)
            : type == typeof(ulong) ? (0L, long.MaxValue)
            : (long.MinValue, long.MaxValue);
        if (!ValueParsers.TryParseInteger(text, out var l))
        {
            var hint = ValueParsers.TryParseDouble(text, out _) ? "Write a whole number, without a decimal point." : null;
            return Fail(scalar, scope, "an integer", hint, out ok);
        }
        if (l < min || l > max)
            return Fail(scalar, scope, $"an integer between {min} and {max}", null, out ok);
        return Convert.ChangeType(l, type, CultureInfo.InvariantCulture);
    }

    public static IReadOnlyList<string> EnumKeys(Type enumType) =>
        Enum.GetNames(enumType).Select(OptionNames.ToSnakeCase).ToList();

    private object? BindEnum(ConfigScalar scalar, Type type, Scope scope, out bool ok)
    {
        ok = true;
        var names = Enum.GetNames(type);
        var given = scalar.Value.Trim();
        foreach (var name in names)
        {
            if (OptionNames.ToSnakeCase(name) == given)
                return Enum.Parse(type, name);
        }
        var keys = EnumKeys(type);
        var close = OptionNames.Closest(given, keys);
        ok = false;
        errors.Add(new ConfigError(scalar.Location, $"invalid value for {scope.Display}: expected one of {string.Join(", ", keys)}, got '{given}'",
            close is null ? null : $"did you mean '{close}'?"));
        return null;
    }

    // ---- plain values (object) ------------------------------------------------------------------------------

    /// <summary>A mapping becomes an ordered Dictionary&lt;string, object?&gt;, a list a List&lt;object?&gt;, a scalar its YAML 1.2 core value.</summary>
    private object? ToPlain(ConfigNode node, Scope scope)
    {
        switch (node)
        {
            case ConfigScalar s:
                return s.IsPlain ? ValueParsers.InferPlain(s.Value) : s.Value;
            case ConfigSequence seq:
            {
                var list = new List<object?>(seq.Items.Count);
                for (var i = 0; i < seq.Items.Count; i++)
                    list.Add(ToPlain(seq.Items[i], scope.Item(i)));
                return list;
            }
            case ConfigMapping map:
            {
                var dict = new Dictionary<string, object?>(map.Entries.Count, StringComparer.Ordinal);
                var seen = new Dictionary<string, ConfigScalar>(StringComparer.Ordinal);
                foreach (var (key, value) in map.Entries)
                {
                    if (!CheckDuplicate(seen, key, scope))
                        continue;
                    dict[key.Value] = ToPlain(value, scope.Child(key.Value));
                }
                return dict;
            }
            default:
                return null;
        }
    }

    private bool CheckDuplicate(Dictionary<string, ConfigScalar> seen, ConfigScalar key, Scope scope)
    {
        if (seen.TryGetValue(key.Value, out var first))
        {
            errors.Add(new ConfigError(key.Location, $"duplicate key '{key.Value}' in {scope.Display} (first set at line {first.Location.Line})",
                "Remove one of them: a key may appear only once in a mapping."));
            return false;
        }
        seen[key.Value] = key;
        return true;
    }

    // ---- collections ----------------------------------------------------------------------------------------

    private static Type? ListElementType(Type type)
    {
        if (!type.IsGenericType)
            return null;
        var def = type.GetGenericTypeDefinition();
        return def == typeof(List<>) || def == typeof(IList<>) || def == typeof(IReadOnlyList<>) || def == typeof(IEnumerable<>)
            || def == typeof(ICollection<>) || def == typeof(IReadOnlyCollection<>)
            ? type.GetGenericArguments()[0]
            : null;
    }

    private static Type? DictionaryValueType(Type type)
    {
        if (!type.IsGenericType)
            return null;
        var def = type.GetGenericTypeDefinition();
        var args = type.GetGenericArguments();
        return (def == typeof(Dictionary<,>) || def == typeof(IDictionary<,>) || def == typeof(IReadOnlyDictionary<,>)) && args[0] == typeof(string)
            ? args[1]
            : null;
    }

    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("AOT", "IL3050", Justification = AotNotes.OptionsClassesKept)]
    private IList? BindList(ConfigNode node, Type elementType, Scope scope, out bool ok)
    {
        ok = true;
        if (node is not ConfigSequence seq)
        {
            Fail(node, scope, "a list", $"Write a list, one `- item` per line or [a, b] on one line.", out ok);
            return null;
        }
        var list = (IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(elementType))!;
        if (elementType == typeof(StageDeclaration))
        {
            BindStages(seq, list, scope, out ok);
            return list;
        }
        var elementAllowsNull = !elementType.IsValueType && elementType == typeof(object) || Nullable.GetUnderlyingType(elementType) is not null;
        for (var i = 0; i < seq.Items.Count; i++)
        {
            var item = seq.Items[i];
            var itemScope = scope.Item(i);
            _locations[itemScope.Path] = item.Location;
            var value = BindValue(item, elementType, itemScope, byteSize: false, allowsNull: elementAllowsNull, out var itemOk);
            if (!itemOk)
            {
                ok = false;
                continue;
            }
            if (value is null && !elementAllowsNull)
            {
                Fail(item, itemScope, Expected(elementType, false), null, out ok);
                continue;
            }
            list.Add(value);
        }
        return list;
    }

    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("AOT", "IL3050", Justification = AotNotes.OptionsClassesKept)]
    private IDictionary? BindDictionary(ConfigNode node, Type valueType, Scope scope, out bool ok)
    {
        ok = true;
        if (node is not ConfigMapping map)
        {
            Fail(node, scope, "a mapping", "Write `key: value` pairs indented under the key, or {key: value} on one line.", out ok);
            return null;
        }
        var dict = (IDictionary)Activator.CreateInstance(typeof(Dictionary<,>).MakeGenericType(typeof(string), valueType), StringComparer.Ordinal)!;
        var seen = new Dictionary<string, ConfigScalar>(StringComparer.Ordinal);
        var valueAllowsNull = valueType == typeof(object) || Nullable.GetUnderlyingType(valueType) is not null;
        foreach (var (key, value) in map.Entries)
        {
            if (!CheckDuplicate(seen, key, scope))
            {
                ok = false;
                continue;
            }
            var entryScope = scope.Child(key.Value);
            _locations[entryScope.Path] = key.Location;
            if (valueType == typeof(string) && value is not ConfigScalar)
            {
                Fail(value, entryScope, "a string", $"Each entry of {scope.Display} maps a name to a single value; quote it if it is meant as text.", out ok);
                continue;
            }
            var bound = BindValue(value, valueType, entryScope, byteSize: false, allowsNull: valueAllowsNull, out var entryOk);
            if (!entryOk)
            {
                ok = false;
                continue;
            }
            dict[key.Value] = bound;
        }
        return dict;
    }

    // ---- options classes ------------------------------------------------------------------------------------

    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2067", Justification = AotNotes.OptionsClassesKept)]
    private object BindObject(ConfigMapping mapping, Type type, Scope scope, IReadOnlySet<string>? reserved)
    {
        var meta = OptionsMetadata.For(type);
        var target = Activator.CreateInstance(type)!;
        var scopeErrorsBefore = errors.Count;
        var failed = new HashSet<string>(StringComparer.Ordinal);
        var keyLocations = new Dictionary<string, SourceLocation>(StringComparer.Ordinal);
        var seen = new Dictionary<string, ConfigScalar>(StringComparer.Ordinal);

        foreach (var (key, value) in mapping.Entries)
        {
            if (reserved?.Contains(key.Value) == true)
                continue;
            if (!CheckDuplicate(seen, key, scope))
            {
                if (meta.ByKey.TryGetValue(key.Value, out var dupProp))
                    failed.Add(dupProp.Name);
                continue;
            }
            if (!meta.ByKey.TryGetValue(key.Value, out var prop))
            {
                var valid = meta.Properties.Select(p => p.Key).Concat(reserved ?? Enumerable.Empty<string>()).ToList();
                var hint = OptionNames.Closest(key.Value, valid) is null && NestedOwner(meta, key.Value) is { } owner
                    ? $"'{key.Value}' is an option of '{owner}': move it under `{owner}:` (indented)."
                    : OptionNames.SuggestionHint(key.Value, valid, "key");
                errors.Add(new ConfigError(key.Location, $"unknown key '{key.Value}' in {scope.Display}", hint));
                continue;
            }

            keyLocations[prop.Name] = key.Location;
            var child = scope.Child(key.Value);
            _locations[child.Path] = key.Location;
            var before = errors.Count;
            var bound = BindValue(value, prop.Type, child, prop.IsByteSize, prop.AllowsNull, out var ok);
            if (!ok || errors.Count != before)
            {
                failed.Add(prop.Name);
                if (!ok)
                    continue;
            }
            if (bound is null && !prop.AllowsNull && prop.Type.IsValueType)
                continue;
            prop.Property.SetValue(target, bound);
        }

        foreach (var prop in meta.Properties)
        {
            if (prop.Required && !seen.ContainsKey(prop.Key) && reserved?.Contains(prop.Key) != true)
            {
                failed.Add(prop.Name);
                var example = prop.Attribute?.Example is { } ex ? $"`{prop.Key}: {ex}`" : $"`{prop.Key}: <value>`";
                var what = prop.Attribute?.Description is { Length: > 0 } d ? $" ({d.TrimEnd('.')})" : "";
                errors.Add(new ConfigError(mapping.Location, $"missing required option '{prop.Key}' in {scope.Display}", $"Add {example}{what}."));
            }
        }

        if (target is IValidatableOptions validatable)
        {
            var context = new OptionsValidationContext { BaseDirectory = baseDirectory };
            validatable.Validate(context);
            var hadErrors = errors.Count != scopeErrorsBefore;
            foreach (var e in context.Errors)
            {
                if (e.Property is null)
                {
                    if (!hadErrors)
                        errors.Add(new ConfigError(mapping.Location, e.Message, e.Hint));
                    continue;
                }
                if (failed.Contains(e.Property))
                    continue; // already reported, with a better message, while binding it
                var at = keyLocations.TryGetValue(e.Property, out var loc) ? loc : mapping.Location;
                errors.Add(new ConfigError(at, e.Message, e.Hint));
            }
        }
        if (target is IRelativePaths paths && baseDirectory is not null) paths.ResolvePaths(baseDirectory);
        return target;
    }

    /// <summary>The key of a nested options section of <paramref name="meta"/> that has option <paramref name="key"/>, for a misplaced key.</summary>
    private static string? NestedOwner(OptionsMetadata meta, string key)
    {
        foreach (var p in meta.Properties)
        {
            var t = Nullable.GetUnderlyingType(p.Type) ?? p.Type;
            if (t != typeof(StageDeclaration) && OptionsMetadata.IsOptionsClass(t) && OptionsMetadata.For(t).ByKey.ContainsKey(key))
                return p.Key;
        }
        return null;
    }

    // ---- stages ---------------------------------------------------------------------------------------------

    private static readonly IReadOnlySet<string> StageReservedKeys = new HashSet<string>(["type", "name"], StringComparer.Ordinal);

    private void BindStages(ConfigSequence seq, IList list, Scope scope, out bool ok)
    {
        ok = true;
        var names = new Dictionary<string, ConfigScalar>(StringComparer.Ordinal);
        for (var i = 0; i < seq.Items.Count; i++)
        {
            var before = errors.Count;
            var decl = BindStage(seq.Items[i], i, scope, out var nameNode);
            if (nameNode is not null && decl?.Name is { } name)
            {
                if (names.TryGetValue(name, out var first))
                {
                    errors.Add(new ConfigError(nameNode.Location, $"duplicate stage name '{name}' (first used at line {first.Location.Line})",
                        "Stage names must be unique within a pipeline; they name the stage in logs, metrics and failure reasons."));
                }
                else
                {
                    names[name] = nameNode;
                }
            }
            if (errors.Count != before)
                ok = false;
            if (decl is not null)
                list.Add(decl);
        }
    }

    /// <summary>Binds one item of <c>stages:</c> (a mapping with <c>type</c>, optional <c>name</c>, and the stage's options).</summary>
    public StageDeclaration? BindStage(ConfigNode node, int index, string listPath = "stages") =>
        BindStage(node, index, new Scope(listPath, listPath), out _);

    private StageDeclaration? BindStage(ConfigNode node, int index, Scope listScope, out ConfigScalar? nameNode)
    {
        nameNode = null;
        var itemScope = listScope.Item(index, $"stage {index + 1}");
        _locations[itemScope.Path] = node.Location;
        if (node is not ConfigMapping mapping)
        {
            errors.Add(new ConfigError(node.Location, $"each item of {listScope.Display} must be a mapping with a `type`, got {node.Describe()}",
                "Write `- type: <stage type>` followed by that stage's options, indented under it."));
            return null;
        }

        ConfigScalar? typeNode = null;
        foreach (var (key, value) in mapping.Entries)
        {
            if (key.Value == "type")
            {
                if (value is ConfigScalar { IsNull: false } s) typeNode = s;
                else errors.Add(new ConfigError(value.Location, $"the type of stage {index + 1} must be a stage type name, got {value.Describe()}", RegisteredTypesHint(null)));
            }
            else if (key.Value == "name")
            {
                if (value is ConfigScalar { IsNull: false } s) nameNode = s;
                else errors.Add(new ConfigError(value.Location, $"the name of stage {index + 1} must be a string, got {value.Describe()}", null));
            }
        }

        if (typeNode is null)
        {
            if (!mapping.Entries.Any(e => e.Key.Value == "type"))
                errors.Add(new ConfigError(mapping.Location, $"stage {index + 1} has no `type`", RegisteredTypesHint(null)));
            return null;
        }

        var display = nameNode is null ? $"stage {index + 1} ({typeNode.Value})" : $"stage '{nameNode.Value}' ({typeNode.Value})";
        if (registry is null || !registry.TryGet(typeNode.Value, out var spec))
        {
            errors.Add(new ConfigError(typeNode.Location, $"unknown stage type '{typeNode.Value}' in stage {index + 1}", RegisteredTypesHint(typeNode.Value)));
            return null;
        }

        var optionsScope = new Scope(itemScope.Path, display);
        var keyLocations = new Dictionary<string, SourceLocation>(StringComparer.Ordinal);
        foreach (var (key, _) in mapping.Entries)
            keyLocations.TryAdd(key.Value, key.Location);
        var options = BindObject(mapping, spec.OptionsType, optionsScope, StageReservedKeys);
        return new StageDeclaration
        {
            Type = spec.Type,
            Name = nameNode?.Value,
            Options = options,
            Location = mapping.Location,
            Spec = spec,
            OptionLocations = keyLocations,
        };
    }

    private string RegisteredTypesHint(string? given)
    {
        var types = registry?.All.Select(s => s.Type).ToList() ?? [];
        if (types.Count == 0)
            return "No stage types are registered.";
        var close = given is null ? null : OptionNames.Closest(given, types);
        var list = $"registered stage types: {string.Join(", ", types)}";
        return close is null ? list : $"did you mean '{close}'? ({list})";
    }
}

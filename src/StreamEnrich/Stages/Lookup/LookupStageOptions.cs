using StreamEnrich.Configuration;
using StreamEnrich.Stages.Cast;

namespace StreamEnrich.Stages.Lookup;

public enum LookupFileFormat
{
    /// <summary>From the file extension: .csv, or .jsonl / .ndjson / .json.</summary>
    Auto,
    /// <summary>RFC 4180 CSV with a header row; values are strings unless <c>types</c> gives a column a type.</summary>
    Csv,
    /// <summary>One JSON object per line; values keep their JSON types (objects and arrays become JSON text).</summary>
    Jsonl,
}

/// <summary>What happens when no row matches the key (or the key is missing or null).</summary>
public enum LookupMissBehavior
{
    /// <summary>Leave the target fields as they are.</summary>
    Keep,
    /// <summary>Set the target fields to null.</summary>
    Null,
    /// <summary>Set the target fields from <c>defaults</c> (null where no default is given).</summary>
    Default,
    /// <summary>Filter the record out on purpose (its offset still counts as done).</summary>
    Drop,
    /// <summary>Fail the record (dead letter) naming the key and the file.</summary>
    Fail,
}

public sealed class LookupStageOptions : IValidatableOptions
{
    [Option("The table file, relative to the pipeline file.", Required = true, Example = "data/countries.csv")]
    public string File { get; set; } = "";

    [Option("csv, jsonl, or auto (from the extension: .csv; .jsonl, .ndjson, .json). CSV values are strings and JSON-lines " +
            "values keep their JSON types, unless `types` says otherwise.")]
    public LookupFileFormat Format { get; set; } = LookupFileFormat.Auto;

    [Option("The column of the file holding the key. Keys must be unique.", Required = true, Example = "code")]
    public string KeyColumn { get; set; } = "";

    [Option("The record field whose value is looked up (matched as text; integer fields match integer keys).", Required = true, Example = "country_code")]
    public string Field { get; set; } = "";

    [Option("Map of file column to record field that receives its value.", Required = true, Example = "{ name: country_name, region: region }")]
    public Dictionary<string, string> Columns { get; set; } = [];

    [Option("Map of file column (a key of `columns`) to the type of its values: int, float, bool, decimal(S), string, timestamp, " +
            "date, uuid, converted as the cast stage does, once when the file is loaded. A value that does not convert fails the load " +
            "with file and line (a reload keeps the previous table); an empty CSV cell is null. Untyped CSV columns are strings.",
        Example = "{ discount: int, active: bool }")]
    public Dictionary<string, string> Types { get; set; } = [];

    [Option("When no row matches (or the key is missing/null): keep, null, default, drop or fail.")]
    public LookupMissBehavior OnMiss { get; set; } = LookupMissBehavior.Keep;

    [Option("With on_miss: default, the values per record field (fields without one are set to null).", Example = "{ country_name: unknown }")]
    public Dictionary<string, object?> Defaults { get; set; } = [];

    [Option("Watch the file (modification time and size) and load a changed file in the background, swapping the table atomically. " +
            "A failed reload keeps the previous table and logs the error with file and line.")]
    public bool Reload { get; set; }

    [Option("How often the file is checked when reload is on.", Example = "5s")]
    public TimeSpan ReloadInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The format to use: <see cref="Format"/> or the one the extension implies (null when unknown).</summary>
    internal LookupFileFormat? EffectiveFormat => Format != LookupFileFormat.Auto ? Format : Path.GetExtension(File).ToLowerInvariant() switch
    {
        ".csv" => LookupFileFormat.Csv,
        ".jsonl" or ".ndjson" or ".json" => LookupFileFormat.Jsonl,
        _ => null,
    };

    public void Validate(OptionsValidationContext context)
    {
        if (string.IsNullOrWhiteSpace(File)) context.Error(nameof(File), "lookup needs the `file` holding the table.");
        else if (EffectiveFormat is null)
            context.Error(nameof(Format), $"cannot tell the format of '{File}' from its extension.", "Set `format: csv` or `format: jsonl`.");
        if (string.IsNullOrWhiteSpace(KeyColumn)) context.Error(nameof(KeyColumn), "lookup needs `key_column`, the file column holding the key.");
        if (string.IsNullOrWhiteSpace(Field)) context.Error(nameof(Field), "lookup needs `field`, the record field to match.");
        if (Columns.Count == 0)
            context.Error(nameof(Columns), "lookup needs at least one entry in `columns`.", "Example: `columns: { name: country_name }` (file column: record field).");
        var targets = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (column, target) in Columns)
        {
            if (string.IsNullOrWhiteSpace(column) || string.IsNullOrWhiteSpace(target))
                context.Error(nameof(Columns), "lookup column and field names must not be empty.");
            else if (!targets.Add(target))
                context.Error(nameof(Columns), $"two columns write the same field '{target}'.");
        }
        foreach (var (column, type) in Types)
        {
            if (!Columns.ContainsKey(column))
                context.Error(nameof(Types), $"type for '{column}', which is not a file column of `columns` ({string.Join(", ", Columns.Keys)}).");
            if (!CastTarget.TryParse(type ?? "", out _))
                context.Error(nameof(Types), $"lookup column '{column}': unknown type '{type}'.", $"Use one of: {CastTarget.Accepted}.");
        }
        if (OnMiss == LookupMissBehavior.Default && Defaults.Count == 0)
            context.Error(nameof(Defaults), "on_miss is default but `defaults` is empty.", "Add `defaults: { <field>: <value> }`, or use on_miss: null.");
        if (OnMiss != LookupMissBehavior.Default && Defaults.Count > 0)
            context.Error(nameof(Defaults), "`defaults` is only used with on_miss: default.", "Set `on_miss: default` or remove `defaults`.");
        foreach (var (field, value) in Defaults)
        {
            if (!targets.Contains(field))
                context.Error(nameof(Defaults), $"default for '{field}', which is not a target field of `columns` ({string.Join(", ", targets)}).");
            if (!StageValues.IsConstant(value))
                context.Error(nameof(Defaults), $"default for '{field}' must be a string, number, bool or null.");
        }
        if (Reload && ReloadInterval < TimeSpan.FromMilliseconds(100))
            context.Error(nameof(ReloadInterval), $"reload_interval must be at least 100ms, got {ReloadInterval}.");
    }
}

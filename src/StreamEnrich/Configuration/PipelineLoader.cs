using StreamEnrich.Configuration.Yaml;

namespace StreamEnrich.Configuration;

/// <summary>One pipeline read from a file, with where it came from.</summary>
internal sealed class LoadedPipeline
{
    public required PipelineOptions Options { get; init; }
    /// <summary>The file, as given or found (relative if the path given was relative).</summary>
    public required string File { get; init; }
    /// <summary>The file's folder, absolute: relative paths in the pipeline are relative to it.</summary>
    public required string Directory { get; init; }
    /// <summary>Where each key was written, by path (<c>sink.table</c>, <c>stages[0]</c>, <c>stages[0].field</c>).</summary>
    public IReadOnlyDictionary<string, SourceLocation> Locations { get; init; } = new Dictionary<string, SourceLocation>();

    public string Name => Options.Name!;

    /// <summary>An absolute path for <paramref name="path"/>, relative to the pipeline file's folder when not rooted.</summary>
    public string ResolvePath(string path) => Path.GetFullPath(Path.Combine(Directory, path));

    /// <summary>
    /// The position of the key at <paramref name="path"/> (<c>sink.table</c>), or of its nearest written parent, or the
    /// start of the file: for errors found after loading (a table that does not exist, a field a stage does not know).
    /// </summary>
    public SourceLocation Locate(string path)
    {
        var p = path;
        while (p.Length > 0)
        {
            if (Locations.TryGetValue(p, out var at))
                return at;
            var cut = Math.Max(p.LastIndexOf('.'), p.LastIndexOf('['));
            p = cut < 0 ? "" : p[..cut];
        }
        return new SourceLocation(File, 1, 1);
    }

    /// <summary>A <see cref="ConfigError"/> at <paramref name="path"/> (see <see cref="Locate"/>).</summary>
    public ConfigError ErrorAt(string path, string message, string? hint = null) => new(Locate(path), message, hint);
}

/// <summary>The pipelines that loaded cleanly and every error found; a file with any error contributes no pipeline.</summary>
internal sealed class LoadResult
{
    public required IReadOnlyList<LoadedPipeline> Pipelines { get; init; }
    public required IReadOnlyList<ConfigError> Errors { get; init; }
    public bool Success => Errors.Count == 0;
}

/// <summary>
/// Reads pipeline files: YAML with <c>${VAR}</c> substitution, bound to <see cref="PipelineOptions"/> and the stage
/// options of <see cref="StageRegistry"/>, validated statically. Checks that need a built pipeline (stage build errors,
/// unknown fields, the table's columns) are the engine's; it reports them with <see cref="LoadedPipeline.ErrorAt"/>
/// or <see cref="StageDeclaration.LocationOf"/>.
/// </summary>
internal static class PipelineLoader
{
    /// <summary>
    /// Loads <paramref name="path"/>: one file, or every <c>*.yaml</c> / <c>*.yml</c> directly in a folder (sorted by name).
    /// <paramref name="env"/> looks up environment variables (default: the process environment).
    /// </summary>
    public static LoadResult Load(string path, StageRegistry registry, Func<string, string?>? env = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(registry);
        env ??= Environment.GetEnvironmentVariable;
        var errors = new List<ConfigError>();
        var files = new List<string>();

        if (System.IO.Directory.Exists(path))
        {
            files.AddRange(System.IO.Directory.EnumerateFiles(path)
                .Where(f => f.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".yml", StringComparison.OrdinalIgnoreCase))
                .Order(StringComparer.Ordinal));
            if (files.Count == 0)
                errors.Add(new ConfigError(path, 0, 0, "no pipeline files (*.yaml, *.yml) in this folder", "Give a pipeline file or a folder holding them."));
        }
        else if (File.Exists(path))
        {
            files.Add(path);
        }
        else
        {
            errors.Add(new ConfigError(path, 0, 0, "no such file or folder", "Give the path of a pipeline file (*.yaml) or of a folder of them."));
        }

        var pipelines = new List<LoadedPipeline>();
        var byName = new Dictionary<string, LoadedPipeline>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            string text;
            try
            {
                text = File.ReadAllText(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                errors.Add(new ConfigError(file, 0, 0, $"cannot read the file: {e.Message}"));
                continue;
            }

            var fileErrors = new List<ConfigError>();
            var loaded = LoadText(text, file, registry, env, fileErrors);
            if (loaded is not null && fileErrors.Count == 0)
            {
                if (byName.TryGetValue(loaded.Name, out var first))
                {
                    fileErrors.Add(new ConfigError(loaded.Locate("name"), $"duplicate pipeline name '{loaded.Name}': {first.File} has it too",
                        "Pipeline names must be unique (they name the consumer group, logs and metrics); set a different `name:` in one of the files."));
                }
                else
                {
                    byName[loaded.Name] = loaded;
                    pipelines.Add(loaded);
                }
            }
            errors.AddRange(fileErrors);
        }
        return new LoadResult { Pipelines = pipelines, Errors = errors };
    }

    /// <summary>
    /// Loads one pipeline from YAML text (<paramref name="file"/> names it in errors and gives its default name and
    /// folder). Returns null when the text has no mapping to bind; binding and validation errors are added to
    /// <paramref name="errors"/> and the (partly bound) pipeline is still returned.
    /// </summary>
    public static LoadedPipeline? LoadText(string text, string file, StageRegistry registry, Func<string, string?> env, List<ConfigError> errors)
    {
        var before = errors.Count;
        var root = YamlDocumentReader.Read(text, file, env, errors);
        if (root is null)
        {
            if (errors.Count == before)
                errors.Add(new ConfigError(file, 0, 0, "the file is empty", "A pipeline file needs at least `source:` and `sink:` sections."));
            return null;
        }
        if (root is not ConfigMapping)
        {
            var got = root is ConfigScalar { IsNull: true } ? "nothing" : root.Describe();
            errors.Add(new ConfigError(root.Location, $"the top level of a pipeline file must be a mapping of options, got {got}",
                "Start the file with `source:`, `sink:` and the other options, each at the start of a line."));
            return null;
        }

        var directory = Path.GetDirectoryName(Path.GetFullPath(file))!;
        var binder = new OptionsBinder(registry, errors, directory);
        var options = binder.Bind<PipelineOptions>(root, "the pipeline")!;
        options.Name ??= Path.GetFileNameWithoutExtension(file);
        if (string.IsNullOrWhiteSpace(options.Name))
            errors.Add(new ConfigError(binder.Locations.TryGetValue("name", out var at) ? at : root.Location, "the pipeline name is empty"));

        return new LoadedPipeline
        {
            Options = options,
            File = file,
            Directory = directory,
            Locations = binder.Locations,
        };
    }

    /// <summary>
    /// Binds one stage declaration written as YAML: a mapping (<c>type: x</c> ...) or a one-item list (<c>- type: x</c>),
    /// such as <see cref="StageSpec.Example"/>. Returns null and adds errors when it does not bind.
    /// </summary>
    public static StageDeclaration? LoadStage(string yaml, StageRegistry registry, List<ConfigError> errors, string file = "<stage>", Func<string, string?>? env = null)
    {
        var root = YamlDocumentReader.Read(yaml, file, env ?? (_ => null), errors);
        if (root is ConfigSequence { Items.Count: 1 } seq)
            root = seq.Items[0];
        if (root is null)
        {
            errors.Add(new ConfigError(file, 0, 0, "no stage declaration in the text"));
            return null;
        }
        var before = errors.Count;
        var decl = new OptionsBinder(registry, errors).BindStage(root, 0);
        return errors.Count == before ? decl : null;
    }
}

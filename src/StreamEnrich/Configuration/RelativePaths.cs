namespace StreamEnrich.Configuration;

/// <summary>
/// An options class with file paths that are relative to the pipeline file. The binder calls
/// <see cref="ResolvePaths"/> after validating it (validation checks the files with
/// <see cref="OptionsValidationContext.BaseDirectory"/>, so its messages show the path as written), so that every user
/// of the options sees absolute paths.
/// </summary>
internal interface IRelativePaths
{
    void ResolvePaths(string baseDirectory);
}

internal static class RelativePaths
{
    /// <summary><paramref name="path"/> made absolute against <paramref name="baseDirectory"/> (the pipeline file's folder; the
    /// working directory when null); null or empty stays as it is.</summary>
    public static string? Resolve(string? baseDirectory, string? path) =>
        string.IsNullOrEmpty(path) ? path : Path.GetFullPath(baseDirectory is null ? path : Path.Combine(baseDirectory, path));
}

namespace StreamEnrich.Stages.Lookup;

/// <summary>A lookup file that cannot be loaded; the message starts with <c>file:line:</c>.</summary>
internal sealed class LookupLoadException(string file, int line, string problem)
    : Exception(line > 0 ? $"{file}:{line}: {problem}" : $"{file}: {problem}")
{
    public string File { get; } = file;
    /// <summary>1-based line of the problem, 0 when it concerns the whole file.</summary>
    public int Line { get; } = line;
    public string Problem { get; } = problem;
}

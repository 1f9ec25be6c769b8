namespace StreamEnrich.Configuration;

/// <summary>
/// A problem in a pipeline file, at a 1-based line and column (0 when the problem is with the file as a whole).
/// <see cref="ToString"/> gives the compiler-style form a user reads at 3 a.m.:
/// <code>pipelines/web.yaml:12:5: error: unknown key 'max_row' in batch
///   hint: did you mean 'max_rows'?</code>
/// </summary>
internal sealed record ConfigError(string File, int Line, int Column, string Message, string? Hint = null)
{
    public ConfigError(SourceLocation at, string message, string? hint = null)
        : this(at.File, at.Line, at.Column, message, hint)
    {
    }

    public SourceLocation Location => new(File, Line, Column);

    public override string ToString()
    {
        var where = Line > 0 ? $"{File}:{Line}:{Column}" : File;
        return Hint is null ? $"{where}: error: {Message}" : $"{where}: error: {Message}\n  hint: {Hint}";
    }
}

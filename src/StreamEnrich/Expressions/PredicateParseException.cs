namespace StreamEnrich.Expressions;

/// <summary>A predicate that does not parse: says what was expected and where (1-based column).</summary>
internal sealed class PredicateParseException : Exception
{
    public PredicateParseException(string problem, int column, string expression, string? found = null)
        : base(found is null ? $"{problem} at column {column}" : $"{problem} at column {column} (found {found})")
    {
        Problem = problem;
        Column = column;
        Expression = expression;
    }

    /// <summary>What is wrong, e.g. <c>expected ')'</c>.</summary>
    public string Problem { get; }

    /// <summary>1-based column of the offending character in <see cref="Expression"/>.</summary>
    public int Column { get; }

    public string Expression { get; }
}

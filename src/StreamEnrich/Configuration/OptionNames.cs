using System.Text;

namespace StreamEnrich.Configuration;

/// <summary>snake_case names and "did you mean" suggestions for option keys, enum values and stage types.</summary>
internal static class OptionNames
{
    /// <summary><c>MaxWait</c> → <c>max_wait</c>, <c>TlsCaFile</c> → <c>tls_ca_file</c>, <c>HTTPPort</c> → <c>http_port</c>.</summary>
    public static string ToSnakeCase(string name)
    {
        var sb = new StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c))
            {
                var prevLowerOrDigit = i > 0 && (char.IsLower(name[i - 1]) || char.IsDigit(name[i - 1]));
                var acronymEnd = i > 0 && char.IsUpper(name[i - 1]) && i + 1 < name.Length && char.IsLower(name[i + 1]);
                if ((prevLowerOrDigit || acronymEnd) && sb.Length > 0 && sb[^1] != '_')
                    sb.Append('_');
                sb.Append(char.ToLowerInvariant(c));
            }
            else if (c == '-')
            {
                sb.Append('_');
            }
            else
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }

    /// <summary>
    /// The closest candidate to <paramref name="given"/>, or null when none is close enough to be a likely typo.
    /// <c>maxRows</c>, <c>MaxRows</c> and <c>max-rows</c> all find <c>max_rows</c>.
    /// </summary>
    public static string? Closest(string given, IEnumerable<string> candidates)
    {
        var normalized = ToSnakeCase(given);
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in candidates)
        {
            if (string.Equals(candidate, normalized, StringComparison.OrdinalIgnoreCase))
                return candidate;
            var d = Distance(normalized, candidate);
            if (d < bestDistance)
            {
                bestDistance = d;
                best = candidate;
            }
        }
        var limit = Math.Max(1, Math.Min(3, Math.Max(normalized.Length, best?.Length ?? 0) / 3));
        return bestDistance <= limit ? best : null;
    }

    /// <summary>A hint for an unknown name: "did you mean 'x'?" or the list of valid names.</summary>
    public static string SuggestionHint(string given, IReadOnlyCollection<string> candidates, string what)
    {
        if (candidates.Count == 0)
            return $"No {what}s are valid here.";
        var close = Closest(given, candidates);
        return close is not null ? $"did you mean '{close}'?" : $"valid {what}s: {string.Join(", ", candidates)}";
    }

    /// <summary>Optimal string alignment distance (Levenshtein plus adjacent transpositions), case-insensitive.</summary>
    public static int Distance(string a, string b)
    {
        a = a.ToLowerInvariant();
        b = b.ToLowerInvariant();
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                var v = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    v = Math.Min(v, d[i - 2, j - 2] + 1);
                d[i, j] = v;
            }
        }
        return d[a.Length, b.Length];
    }
}

using System.Text;

namespace StreamEnrich.Configuration;

/// <summary>
/// Replaces <c>${VAR}</c> and <c>${VAR:-default}</c> in scalar values with environment values (secrets stay out of
/// the files). <c>$${</c> is a literal <c>${</c>. As in a POSIX shell, the default is used when the variable is unset
/// or empty; <c>${VAR}</c> with VAR set to the empty string gives the empty string.
/// </summary>
internal static class EnvironmentSubstitution
{
    /// <summary>Returns the substituted text, or null with <paramref name="error"/> (and a hint) when a variable is undefined or the syntax is wrong.</summary>
    public static string? Substitute(string text, Func<string, string?> lookup, out string? error, out string? hint)
    {
        error = null;
        hint = null;
        if (!text.Contains('$', StringComparison.Ordinal))
            return text;

        var sb = new StringBuilder(text.Length);
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (c == '$' && i + 2 < text.Length && text[i + 1] == '$' && text[i + 2] == '{')
            {
                sb.Append("${");
                i += 3;
                continue;
            }
            if (c != '$' || i + 1 >= text.Length || text[i + 1] != '{')
            {
                sb.Append(c);
                i++;
                continue;
            }

            var close = text.IndexOf('}', i + 2);
            if (close < 0)
            {
                error = $"unterminated '${{' in '{text}'";
                hint = "Write ${NAME} or ${NAME:-default}; for a literal '${' write '$${'.";
                return null;
            }
            var body = text.AsSpan(i + 2, close - i - 2);
            var sep = body.IndexOf(":-", StringComparison.Ordinal);
            var name = (sep < 0 ? body : body[..sep]).ToString();
            string? fallback = sep < 0 ? null : body[(sep + 2)..].ToString();
            if (!IsValidName(name))
            {
                error = $"'${{{body}}}' is not a valid variable reference";
                hint = "Variable names are letters, digits and '_' (not starting with a digit): ${NAME} or ${NAME:-default}; for a literal '${' write '$${'.";
                return null;
            }

            var value = lookup(name);
            if (fallback is not null && string.IsNullOrEmpty(value))
                value = fallback;
            if (value is null)
            {
                error = $"environment variable '{name}' is not set";
                hint = $"Set {name} in the environment, or give a default: ${{{name}:-<value>}}.";
                return null;
            }
            sb.Append(value);
            i = close + 1;
        }
        return sb.ToString();
    }

    private static bool IsValidName(string name)
    {
        if (name.Length == 0 || char.IsAsciiDigit(name[0]))
            return false;
        foreach (var ch in name)
            if (!(char.IsAsciiLetterOrDigit(ch) || ch == '_'))
                return false;
        return true;
    }
}

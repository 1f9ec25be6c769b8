using System.Text;

namespace StreamEnrich.Stages.Set;

/// <summary>A parsed template: literal text and field placeholders in order.</summary>
internal static class SetTemplate
{
    /// <summary>A piece of a template: literal text, or (when <see cref="Field"/> is set) a placeholder.</summary>
    public readonly record struct Part(string? Text, string? Field);

    /// <exception cref="FormatException">Unclosed or empty placeholder.</exception>
    public static List<Part> Parse(string template)
    {
        var parts = new List<Part>();
        var text = new StringBuilder();
        for (var i = 0; i < template.Length; i++)
        {
            var c = template[i];
            // `{{` and `}}` are literal braces (`${...}` is taken by environment substitution in pipeline files).
            if ((c == '{' || c == '}') && i + 1 < template.Length && template[i + 1] == c)
            {
                text.Append(c);
                i++;
                continue;
            }
            if (c == '{')
            {
                var end = template.IndexOf('}', i + 1);
                if (end < 0) throw new FormatException($"template has an unclosed placeholder at column {i + 1}: {template}");
                var field = template[(i + 1)..end].Trim();
                if (field.Length == 0) throw new FormatException($"template has an empty placeholder at column {i + 1}: {template}");
                if (text.Length > 0) { parts.Add(new(text.ToString(), null)); text.Clear(); }
                parts.Add(new(null, field));
                i = end;
                continue;
            }
            text.Append(c);
        }
        if (text.Length > 0) parts.Add(new(text.ToString(), null));
        return parts;
    }
}

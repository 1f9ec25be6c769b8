using System.Globalization;
using System.Text;

namespace StreamEnrich.Expressions;

internal enum TokenKind
{
    End,
    Identifier,
    /// <summary>A keyword (and, or, not, in, true, false, null, exists, contains, starts_with, ends_with).</summary>
    Keyword,
    String,
    Number,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    AndAnd,
    OrOr,
    Bang,
    Eq,
    NotEq,
    Less,
    LessEq,
    Greater,
    GreaterEq,
}

/// <summary>One token; <see cref="Column"/> is 1-based.</summary>
internal readonly record struct Token(TokenKind Kind, string Text, int Column)
{
    public override string ToString() => Kind switch
    {
        TokenKind.End => "end of expression",
        TokenKind.String => $"string \"{Text}\"",
        _ => $"'{Text}'",
    };
}

/// <summary>Splits a predicate into tokens; reports bad characters and unterminated strings with their column.</summary>
internal static class PredicateLexer
{
    private static readonly HashSet<string> Keywords = new(StringComparer.Ordinal)
    {
        "and", "or", "not", "in", "true", "false", "null", "exists", "contains", "starts_with", "ends_with",
    };

    public static List<Token> Tokenize(string text)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (true)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i])) i++;
            if (i >= text.Length)
            {
                tokens.Add(new(TokenKind.End, "", text.Length + 1));
                return tokens;
            }
            var c = text[i];
            var col = i + 1;
            switch (c)
            {
                case '(': tokens.Add(new(TokenKind.LParen, "(", col)); i++; continue;
                case ')': tokens.Add(new(TokenKind.RParen, ")", col)); i++; continue;
                case '[': tokens.Add(new(TokenKind.LBracket, "[", col)); i++; continue;
                case ']': tokens.Add(new(TokenKind.RBracket, "]", col)); i++; continue;
                case ',': tokens.Add(new(TokenKind.Comma, ",", col)); i++; continue;
                case '&' when Peek(text, i + 1) == '&': tokens.Add(new(TokenKind.AndAnd, "&&", col)); i += 2; continue;
                case '|' when Peek(text, i + 1) == '|': tokens.Add(new(TokenKind.OrOr, "||", col)); i += 2; continue;
                case '=' when Peek(text, i + 1) == '=': tokens.Add(new(TokenKind.Eq, "==", col)); i += 2; continue;
                case '!' when Peek(text, i + 1) == '=': tokens.Add(new(TokenKind.NotEq, "!=", col)); i += 2; continue;
                case '!': tokens.Add(new(TokenKind.Bang, "!", col)); i++; continue;
                case '<' when Peek(text, i + 1) == '=': tokens.Add(new(TokenKind.LessEq, "<=", col)); i += 2; continue;
                case '<': tokens.Add(new(TokenKind.Less, "<", col)); i++; continue;
                case '>' when Peek(text, i + 1) == '=': tokens.Add(new(TokenKind.GreaterEq, ">=", col)); i += 2; continue;
                case '>': tokens.Add(new(TokenKind.Greater, ">", col)); i++; continue;
                case '=': throw new PredicateParseException("unexpected '=' (use '==' to compare)", col, text);
                case '\'' or '"': tokens.Add(ReadString(text, ref i)); continue;
                case '`': tokens.Add(ReadQuotedIdentifier(text, ref i)); continue;
            }
            if (char.IsAsciiDigit(c) || ((c is '-' or '+' or '.') && char.IsAsciiDigit(Peek(text, i + 1))))
            {
                tokens.Add(ReadNumber(text, ref i));
                continue;
            }
            if (char.IsAsciiLetter(c) || c == '_')
            {
                var start = i;
                while (i < text.Length && (char.IsAsciiLetterOrDigit(text[i]) || text[i] == '_' || text[i] == '.'))
                {
                    if (text[i] == '.' && !(char.IsAsciiLetterOrDigit(Peek(text, i + 1)) || Peek(text, i + 1) == '_'))
                        throw new PredicateParseException("expected a field name after '.'", i + 2, text);
                    i++;
                }
                var word = text[start..i];
                tokens.Add(new(Keywords.Contains(word) ? TokenKind.Keyword : TokenKind.Identifier, word, col));
                continue;
            }
            throw new PredicateParseException($"unexpected character '{c}'", col, text);
        }
    }

    private static char Peek(string text, int i) => i < text.Length ? text[i] : '\0';

    private static Token ReadNumber(string text, ref int i)
    {
        var start = i;
        if (text[i] is '-' or '+') i++;
        while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.')) i++;
        if (i < text.Length && text[i] is 'e' or 'E')
        {
            i++;
            if (i < text.Length && text[i] is '-' or '+') i++;
            while (i < text.Length && char.IsAsciiDigit(text[i])) i++;
        }
        if (i < text.Length && (char.IsAsciiLetter(text[i]) || text[i] == '_'))
            throw new PredicateParseException($"unexpected '{text[i]}' in number", i + 1, text);
        var s = text[start..i];
        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
            throw new PredicateParseException($"invalid number '{s}'", start + 1, text);
        return new(TokenKind.Number, s, start + 1);
    }

    private static Token ReadString(string text, ref int i)
    {
        var quote = text[i];
        var start = i;
        i++;
        var sb = new StringBuilder();
        while (true)
        {
            if (i >= text.Length) throw new PredicateParseException($"unterminated string (expected closing {quote})", start + 1, text);
            var c = text[i];
            if (c == quote) { i++; break; }
            if (c == '\\')
            {
                if (i + 1 >= text.Length) throw new PredicateParseException("expected an escape after '\\'", i + 2, text);
                var e = text[i + 1];
                switch (e)
                {
                    case '\\' or '\'' or '"' or '`': sb.Append(e); i += 2; break;
                    case 'n': sb.Append('\n'); i += 2; break;
                    case 't': sb.Append('\t'); i += 2; break;
                    case 'r': sb.Append('\r'); i += 2; break;
                    case '0': sb.Append('\0'); i += 2; break;
                    case 'u':
                        if (i + 6 > text.Length || !ushort.TryParse(text.AsSpan(i + 2, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code))
                            throw new PredicateParseException("expected 4 hex digits after '\\u'", i + 3, text);
                        sb.Append((char)code);
                        i += 6;
                        break;
                    default:
                        throw new PredicateParseException($"unknown escape '\\{e}' (use \\\\, \\', \\\", \\n, \\t, \\r, \\0 or \\uXXXX)", i + 1, text);
                }
                continue;
            }
            sb.Append(c);
            i++;
        }
        return new(TokenKind.String, sb.ToString(), start + 1);
    }

    private static Token ReadQuotedIdentifier(string text, ref int i)
    {
        var start = i;
        var end = text.IndexOf('`', i + 1);
        if (end < 0) throw new PredicateParseException("unterminated field name (expected closing `)", start + 1, text);
        if (end == i + 1) throw new PredicateParseException("empty field name", start + 1, text);
        i = end + 1;
        return new(TokenKind.Identifier, text[(start + 1)..end], start + 1);
    }
}

using System.Globalization;
using StreamEnrich.Records;

namespace StreamEnrich.Expressions;

/// <summary>
/// The predicate language used by <c>filter</c> (and other stages that take a condition).
/// <code>
/// or      := and (('or' | '||') and)*
/// and     := unary (('and' | '&amp;&amp;') unary)*
/// unary   := ('not' | '!') unary | primary
/// primary := '(' or ')' | 'exists' '(' field ')' | operand [test]
/// test    := ('==' | '!=' | '&lt;' | '&lt;=' | '&gt;' | '&gt;=') operand
///          | ['not'] 'in' '[' literal (',' literal)* ']'
///          | ('contains' | 'starts_with' | 'ends_with') operand
/// operand := field | literal
/// field   := name ('.' name)* | `any text`        e.g. user.id, _partition, `weird-name`
/// literal := number | 'string' | "string" | true | false | null
/// </code>
/// A bare field (no test) is true when it holds the boolean <c>true</c>. Missing fields are null: <c>x == null</c>
/// is true for missing and null, and every other comparison with null is false (so <c>x != 'a'</c> is true when x
/// is null). <c>exists(x)</c> is true when x is present, even if it is null. See <see cref="ValueComparer"/> for typing:
/// values of kinds that cannot be compared make the predicate <see cref="Truth.Invalid"/> (the record fails).
/// </summary>
internal static class Predicate
{
    /// <summary>Parses and compiles <paramref name="text"/>, resolving each field through <paramref name="slotOf"/>.</summary>
    /// <exception cref="PredicateParseException">The text is not a valid predicate.</exception>
    public static PredicateNode Compile(string text, Func<string, int> slotOf)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(slotOf);
        return new Parser(text, PredicateLexer.Tokenize(text), slotOf).ParseAll();
    }

    /// <summary>Checks the syntax only; returns null when valid, else the parse error.</summary>
    public static PredicateParseException? Check(string text)
    {
        try
        {
            Compile(text, static _ => 0);
            return null;
        }
        catch (PredicateParseException e)
        {
            return e;
        }
    }

    /// <summary>The field paths a predicate reads (for docs, lint and tests).</summary>
    public static IReadOnlyList<string> Fields(string text)
    {
        var fields = new List<string>();
        Compile(text, p => { if (!fields.Contains(p)) fields.Add(p); return 0; });
        return fields;
    }

    private sealed class Parser(string text, List<Token> tokens, Func<string, int> slotOf)
    {
        private int _pos;

        private Token Current => tokens[_pos];

        public PredicateNode ParseAll()
        {
            if (Current.Kind == TokenKind.End) throw Error("expected a condition", Current);
            var node = ParseOr();
            if (Current.Kind != TokenKind.End) throw Error("expected 'and', 'or' or end of expression", Current);
            return node;
        }

        private PredicateNode ParseOr()
        {
            var left = ParseAnd();
            while (Current.Kind == TokenKind.OrOr || IsKeyword(Current, "or"))
            {
                _pos++;
                left = new OrNode(left, ParseAnd());
            }
            return left;
        }

        private PredicateNode ParseAnd()
        {
            var left = ParseUnary();
            while (Current.Kind == TokenKind.AndAnd || IsKeyword(Current, "and"))
            {
                _pos++;
                left = new AndNode(left, ParseUnary());
            }
            return left;
        }

        private PredicateNode ParseUnary()
        {
            if (Current.Kind == TokenKind.Bang || IsKeyword(Current, "not"))
            {
                _pos++;
                return new NotNode(ParseUnary());
            }
            return ParsePrimary();
        }

        private PredicateNode ParsePrimary()
        {
            var t = Current;
            if (t.Kind == TokenKind.LParen)
            {
                _pos++;
                var inner = ParseOr();
                Expect(TokenKind.RParen, "expected ')'");
                return inner;
            }
            if (IsKeyword(t, "exists"))
            {
                _pos++;
                Expect(TokenKind.LParen, "expected '(' after exists");
                var field = Expect(TokenKind.Identifier, "expected a field name");
                Expect(TokenKind.RParen, "expected ')'");
                return new ExistsNode(slotOf(field.Text));
            }
            var left = ParseOperand("expected a field, a literal, 'not', 'exists' or '('");
            var op = Current;
            switch (op.Kind)
            {
                case TokenKind.Eq: _pos++; return new CompareNode(left, CompareOp.Eq, ParseOperand("expected a field or literal after '=='"));
                case TokenKind.NotEq: _pos++; return new CompareNode(left, CompareOp.NotEq, ParseOperand("expected a field or literal after '!='"));
                case TokenKind.Less: _pos++; return new CompareNode(left, CompareOp.Less, ParseOperand("expected a field or literal after '<'"));
                case TokenKind.LessEq: _pos++; return new CompareNode(left, CompareOp.LessEq, ParseOperand("expected a field or literal after '<='"));
                case TokenKind.Greater: _pos++; return new CompareNode(left, CompareOp.Greater, ParseOperand("expected a field or literal after '>'"));
                case TokenKind.GreaterEq: _pos++; return new CompareNode(left, CompareOp.GreaterEq, ParseOperand("expected a field or literal after '>='"));
            }
            if (IsKeyword(op, "in"))
            {
                _pos++;
                return new InNode(left, ParseList(), negate: false);
            }
            if (IsKeyword(op, "not") && IsKeyword(tokens[_pos + 1], "in"))
            {
                _pos += 2;
                return new InNode(left, ParseList(), negate: true);
            }
            if (IsKeyword(op, "contains")) { _pos++; return new StringOpNode(left, StringOp.Contains, ParseOperand("expected a string after 'contains'")); }
            if (IsKeyword(op, "starts_with")) { _pos++; return new StringOpNode(left, StringOp.StartsWith, ParseOperand("expected a string after 'starts_with'")); }
            if (IsKeyword(op, "ends_with")) { _pos++; return new StringOpNode(left, StringOp.EndsWith, ParseOperand("expected a string after 'ends_with'")); }

            // A bare operand is a condition by itself: a boolean field, or true/false.
            if (left is FieldOperand f) return new TruthyNode(f.Slot, f.Path);
            if (left.Literal!.Value.Kind == ValueKind.Bool) return new ConstantNode(left.Literal.Value.AsBool);
            throw Error("expected a comparison operator (==, !=, <, <=, >, >=, in, contains, starts_with, ends_with)", op);
        }

        private Literal[] ParseList()
        {
            Expect(TokenKind.LBracket, "expected '[' to start the list");
            var items = new List<Literal>();
            if (Current.Kind == TokenKind.RBracket) throw Error("expected at least one literal in the list", Current);
            while (true)
            {
                var operand = ParseOperand("expected a literal in the list");
                if (operand.Literal is null) throw Error("expected a literal in the list, not a field", tokens[_pos - 1]);
                items.Add(operand.Literal);
                if (Current.Kind == TokenKind.Comma) { _pos++; continue; }
                Expect(TokenKind.RBracket, "expected ',' or ']'");
                return [.. items];
            }
        }

        private Operand ParseOperand(string expected)
        {
            var t = Current;
            switch (t.Kind)
            {
                case TokenKind.Identifier:
                    _pos++;
                    return new FieldOperand(slotOf(t.Text), t.Text);
                case TokenKind.String:
                    _pos++;
                    return new LiteralOperand(new Literal(Value.FromString(t.Text)));
                case TokenKind.Number:
                    _pos++;
                    return new LiteralOperand(new Literal(ParseNumber(t.Text)));
                case TokenKind.Keyword when t.Text is "true" or "false":
                    _pos++;
                    return new LiteralOperand(new Literal(Value.FromBool(t.Text == "true")));
                case TokenKind.Keyword when t.Text == "null":
                    _pos++;
                    return new LiteralOperand(new Literal(Value.Null));
                case TokenKind.Keyword when t.Text is not ("and" or "or" or "not" or "in" or "exists"):
                    throw Error($"{expected} ('{t.Text}' is a keyword: write `{t.Text}` for a field of that name)", t);
                default:
                    throw Error(expected, t);
            }
        }

        private static Value ParseNumber(string s)
        {
            if (s.AsSpan().IndexOfAny('.', 'e', 'E') < 0)
            {
                if (long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) return Value.FromInt(l);
                if (ulong.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var u)) return Value.FromUInt(u);
            }
            return Value.FromFloat(double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture));
        }

        private Token Expect(TokenKind kind, string expected)
        {
            var t = Current;
            if (t.Kind != kind) throw Error(expected, t);
            _pos++;
            return t;
        }

        private static bool IsKeyword(Token t, string word) => t.Kind == TokenKind.Keyword && t.Text == word;

        private PredicateParseException Error(string problem, Token at) => new(problem, at.Column, text, at.ToString());
    }
}

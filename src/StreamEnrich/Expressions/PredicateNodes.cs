using System.Text;
using StreamEnrich.Records;
using StreamEnrich.Stages;
using StreamEnrich.Stages.Timestamp;

namespace StreamEnrich.Expressions;

/// <summary>
/// What a predicate says about a record. <see cref="Invalid"/>: a test met values it cannot compare (text with a
/// number, a number with a boolean, <c>contains</c> on a number...); the record fails with the reason from
/// <see cref="PredicateNode.Explain"/> instead of being kept or filtered out by a comparison that means nothing.
/// </summary>
internal enum Truth : byte { False, True, Invalid }

/// <summary>A compiled predicate: a tree of small nodes with field slots resolved; evaluation allocates nothing.</summary>
internal abstract class PredicateNode
{
    public abstract Truth Evaluate(Value[] fields);

    public Truth Evaluate(Record record) => Evaluate(record.Fields);

    /// <summary>Why <see cref="Evaluate(Value[])"/> is <see cref="Truth.Invalid"/> for these fields: the first test, in
    /// evaluation order, that cannot be evaluated, with its values; null when there is none. Only for failures (it allocates).</summary>
    public abstract string? Explain(Value[] fields);

    protected static Truth Of(bool b) => b ? Truth.True : Truth.False;
}

/// <summary>A literal with the alternative forms comparisons need, computed once at build time.</summary>
internal sealed class Literal
{
    public Literal(Value value)
    {
        Value = value;
        if (value.Kind != ValueKind.String) return;
        Text = value.AsString;
        Utf8 = Encoding.UTF8.GetBytes(Text);
        if (Iso8601.TryParse(Utf8, out var nanos, out _))
        {
            // A literal without offset is UTC.
            HasTimestamp = true;
            TimestampNanos = nanos;
            if (Utf8.Length == 10) { HasDate = true; Date = (int)(nanos / 86_400_000_000_000L); }
        }
        if (Guid.TryParse(Text, out var g))
        {
            var u = Value.FromGuid(g);
            HasUuid = true;
            UuidHigh = u.UuidHigh;
            UuidLow = u.UuidLow;
        }
    }

    public Value Value { get; }
    public string? Text { get; }
    public byte[]? Utf8 { get; }
    public bool HasTimestamp { get; }
    public long TimestampNanos { get; }
    public bool HasDate { get; }
    public int Date { get; }
    public bool HasUuid { get; }
    public ulong UuidHigh { get; }
    public ulong UuidLow { get; }

    public override string ToString() => Value.Kind == ValueKind.String ? "'" + Text + "'" : Value.ToString();
}

/// <summary>One side of a comparison: a field or a literal.</summary>
internal abstract class Operand
{
    public abstract Value Get(Value[] fields);
    /// <summary>The literal, for literal operands (its pre-computed forms speed up comparisons).</summary>
    public virtual Literal? Literal => null;
}

internal sealed class FieldOperand(int slot, string path) : Operand
{
    public int Slot { get; } = slot;
    public string Path { get; } = path;
    public override Value Get(Value[] fields) => fields[Slot];
    public override string ToString() => Path;
}

internal sealed class LiteralOperand(Literal literal) : Operand
{
    private readonly Value _value = literal.Value;
    public override Literal? Literal { get; } = literal;
    public override Value Get(Value[] fields) => _value;
    public override string ToString() => Literal!.ToString();
}

internal enum CompareOp { Eq, NotEq, Less, LessEq, Greater, GreaterEq }

internal sealed class CompareNode(Operand left, CompareOp op, Operand right) : PredicateNode
{
    public override Truth Evaluate(Value[] fields)
    {
        var a = left.Get(fields);
        var b = right.Get(fields);
        var r = ValueComparer.Compare(a, left.Literal, b, right.Literal);
        if (r == Ordering.Incomparable) return Truth.Invalid;
        return Of(op switch
        {
            CompareOp.Eq => r is Ordering.Equal or Ordering.BothNull,
            CompareOp.NotEq => r is not (Ordering.Equal or Ordering.BothNull),
            CompareOp.Less => r == Ordering.Less,
            CompareOp.LessEq => r is Ordering.Less or Ordering.Equal,
            CompareOp.Greater => r == Ordering.Greater,
            _ => r is Ordering.Greater or Ordering.Equal,
        });
    }

    public override string? Explain(Value[] fields) => Evaluate(fields) == Truth.Invalid
        ? $"cannot compare {Describe(left, fields)} with {Describe(right, fields)} ('{left} {Symbol} {right}')"
        : null;

    private string Symbol => op switch
    {
        CompareOp.Eq => "==",
        CompareOp.NotEq => "!=",
        CompareOp.Less => "<",
        CompareOp.LessEq => "<=",
        CompareOp.Greater => ">",
        _ => ">=",
    };

    internal static string Describe(Operand operand, Value[] fields) => operand is FieldOperand f
        ? $"{f.Path} = {StageValues.Describe(operand.Get(fields))}"
        : StageValues.Describe(operand.Get(fields));
}

internal sealed class InNode(Operand left, Literal[] items, bool negate) : PredicateNode
{
    public override Truth Evaluate(Value[] fields)
    {
        var a = left.Get(fields);
        var comparable = false;
        foreach (var item in items)
        {
            var r = ValueComparer.Compare(a, left.Literal, item.Value, item);
            if (r is Ordering.Equal or Ordering.BothNull) return Of(!negate);
            comparable |= r != Ordering.Incomparable;
        }
        // Not found; that means something only if some item could have matched (a list may mix kinds).
        return comparable ? Of(negate) : Truth.Invalid;
    }

    public override string? Explain(Value[] fields) => Evaluate(fields) == Truth.Invalid
        ? $"cannot compare {CompareNode.Describe(left, fields)} with the items of [{string.Join(", ", items.Select(i => i.ToString()))}] ('{left} {(negate ? "not in" : "in")} [...]')"
        : null;
}

internal enum StringOp { Contains, StartsWith, EndsWith }

internal sealed class StringOpNode(Operand left, StringOp op, Operand right) : PredicateNode
{
    public override Truth Evaluate(Value[] fields) =>
        ValueComparer.StringTest(left.Get(fields), left.Literal, right.Get(fields), right.Literal, op) switch
        {
            true => Truth.True,
            false => Truth.False,
            null => Truth.Invalid,
        };

    public override string? Explain(Value[] fields) => Evaluate(fields) == Truth.Invalid
        ? $"'{Name}' needs text on both sides, got {CompareNode.Describe(left, fields)} and {CompareNode.Describe(right, fields)}"
        : null;

    private string Name => op switch { StringOp.Contains => "contains", StringOp.StartsWith => "starts_with", _ => "ends_with" };
}

internal sealed class ExistsNode(int slot) : PredicateNode
{
    public override Truth Evaluate(Value[] fields) => Of(!fields[slot].IsMissing);

    public override string? Explain(Value[] fields) => null;
}

/// <summary>A bare field used as a condition: true when it holds the boolean <c>true</c>, false when it holds
/// <c>false</c>, is null or missing; any other value cannot be a condition.</summary>
internal sealed class TruthyNode(int slot, string path) : PredicateNode
{
    public override Truth Evaluate(Value[] fields)
    {
        ref readonly var v = ref fields[slot];
        if (v.Kind == ValueKind.Bool) return Of(v.AsBool);
        return v.IsNullOrMissing ? Truth.False : Truth.Invalid;
    }

    public override string? Explain(Value[] fields) => Evaluate(fields) == Truth.Invalid
        ? $"{path} = {StageValues.Describe(fields[slot])} is not a boolean, so it cannot be a condition by itself (compare it: '{path} == ...')"
        : null;
}

internal sealed class ConstantNode(bool value) : PredicateNode
{
    public override Truth Evaluate(Value[] fields) => Of(value);

    public override string? Explain(Value[] fields) => null;
}

internal sealed class NotNode(PredicateNode inner) : PredicateNode
{
    public override Truth Evaluate(Value[] fields) => inner.Evaluate(fields) switch
    {
        Truth.True => Truth.False,
        Truth.False => Truth.True,
        _ => Truth.Invalid,
    };

    public override string? Explain(Value[] fields) => inner.Explain(fields);
}

/// <summary>
/// <c>and</c> / <c>or</c>: the left side, then the right one only while the left says <paramref name="goOnWhen"/>
/// (true for <c>and</c>, false for <c>or</c>); an invalid left side stops there too.
/// </summary>
internal abstract class ShortCircuitNode(PredicateNode left, PredicateNode right, Truth goOnWhen) : PredicateNode
{
    public override Truth Evaluate(Value[] fields)
    {
        var l = left.Evaluate(fields);
        return l == goOnWhen ? right.Evaluate(fields) : l;
    }

    public override string? Explain(Value[] fields)
    {
        var l = left.Evaluate(fields);
        if (l == Truth.Invalid) return left.Explain(fields);
        return l == goOnWhen ? right.Explain(fields) : null;
    }
}

internal sealed class AndNode(PredicateNode left, PredicateNode right) : ShortCircuitNode(left, right, Truth.True);

internal sealed class OrNode(PredicateNode left, PredicateNode right) : ShortCircuitNode(left, right, Truth.False);

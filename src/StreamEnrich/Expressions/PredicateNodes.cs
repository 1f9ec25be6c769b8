using System.Text;
using StreamEnrich.Records;
using StreamEnrich.Stages.Timestamp;

namespace StreamEnrich.Expressions;

/// <summary>A compiled predicate: a tree of small nodes with field slots resolved; evaluation allocates nothing.</summary>
internal abstract class PredicateNode
{
    public abstract bool Evaluate(Value[] fields);

    public bool Evaluate(Record record) => Evaluate(record.Fields);
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
    public override bool Evaluate(Value[] fields)
    {
        var a = left.Get(fields);
        var b = right.Get(fields);
        var r = ValueComparer.Compare(a, left.Literal, b, right.Literal);
        return op switch
        {
            CompareOp.Eq => r is Ordering.Equal or Ordering.BothNull,
            CompareOp.NotEq => r is not (Ordering.Equal or Ordering.BothNull),
            CompareOp.Less => r == Ordering.Less,
            CompareOp.LessEq => r is Ordering.Less or Ordering.Equal,
            CompareOp.Greater => r == Ordering.Greater,
            _ => r is Ordering.Greater or Ordering.Equal,
        };
    }
}

internal sealed class InNode(Operand left, Literal[] items, bool negate) : PredicateNode
{
    public override bool Evaluate(Value[] fields)
    {
        var a = left.Get(fields);
        var found = false;
        foreach (var item in items)
        {
            if (ValueComparer.Compare(a, left.Literal, item.Value, item) is Ordering.Equal or Ordering.BothNull)
            {
                found = true;
                break;
            }
        }
        return found != negate;
    }
}

internal enum StringOp { Contains, StartsWith, EndsWith }

internal sealed class StringOpNode(Operand left, StringOp op, Operand right) : PredicateNode
{
    public override bool Evaluate(Value[] fields) =>
        ValueComparer.StringTest(left.Get(fields), left.Literal, right.Get(fields), right.Literal, op);
}

internal sealed class ExistsNode(int slot) : PredicateNode
{
    public override bool Evaluate(Value[] fields) => !fields[slot].IsMissing;
}

/// <summary>A bare field used as a condition: true only when it is the boolean <c>true</c>.</summary>
internal sealed class TruthyNode(int slot) : PredicateNode
{
    public override bool Evaluate(Value[] fields)
    {
        ref readonly var v = ref fields[slot];
        return v.Kind == ValueKind.Bool && v.AsBool;
    }
}

internal sealed class ConstantNode(bool value) : PredicateNode
{
    public override bool Evaluate(Value[] fields) => value;
}

internal sealed class NotNode(PredicateNode inner) : PredicateNode
{
    public override bool Evaluate(Value[] fields) => !inner.Evaluate(fields);
}

internal sealed class AndNode(PredicateNode left, PredicateNode right) : PredicateNode
{
    public override bool Evaluate(Value[] fields) => left.Evaluate(fields) && right.Evaluate(fields);
}

internal sealed class OrNode(PredicateNode left, PredicateNode right) : PredicateNode
{
    public override bool Evaluate(Value[] fields) => left.Evaluate(fields) || right.Evaluate(fields);
}

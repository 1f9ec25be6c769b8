using System.Text;
using StreamEnrich.Pipeline.Schema;
using StreamEnrich.Records;

namespace StreamEnrich.Stages.Set;

/// <summary>Sets a field to a constant, a copy of another field, or a template over other fields.</summary>
internal sealed class SetStage : IRecordStage, IOutputSchemaStage
{
    private readonly string? _fromName;
    [ThreadStatic] private static char[]? t_buffer;

    private readonly string _stageName;
    private readonly string _field;
    private readonly int _slot;
    private readonly bool _ifMissing;
    private readonly Mode _mode;
    private readonly Value _constant;
    private readonly int _fromSlot;
    private readonly string?[] _texts = [];
    private readonly int[] _slots = [];
    private readonly string?[] _names = [];
    private readonly bool _failOnMissing;

    private enum Mode { Constant, Copy, Template }

    public SetStage(SetStageOptions options, IStageBuildContext context)
    {
        _stageName = context.StageName;
        _field = options.Field;
        _slot = context.Field(options.Field);
        _ifMissing = options.IfMissing;
        _failOnMissing = options.OnMissing == TemplateMissingBehavior.Fail;
        if (options.From is not null)
        {
            _mode = Mode.Copy;
            _fromSlot = context.Field(options.From);
            _fromName = options.From;
        }
        else if (options.Template is not null)
        {
            _mode = Mode.Template;
            var parts = SetTemplate.Parse(options.Template);
            _texts = new string?[parts.Count];
            _slots = new int[parts.Count];
            _names = new string?[parts.Count];
            for (var i = 0; i < parts.Count; i++)
            {
                _texts[i] = parts[i].Text;
                _names[i] = parts[i].Field;
                _slots[i] = parts[i].Field is { } f ? context.Field(f) : -1;
            }
        }
        else
        {
            _mode = Mode.Constant;
            _constant = StageValues.FromObject(options.Value);
        }
    }

    public void Process(Record record)
    {
        var fields = record.Fields;
        if (_ifMissing && !fields[_slot].IsNullOrMissing) return;
        switch (_mode)
        {
            case Mode.Constant:
                fields[_slot] = _constant;
                break;
            case Mode.Copy:
                fields[_slot] = fields[_fromSlot];
                break;
            default:
                RenderTemplate(record);
                break;
        }
    }

    /// <summary>
    /// A constant types the field by its value (Int64, Float64, Bool, String...; null keeps the type and makes it
    /// Nullable); a copy takes the source's type; a template is String (never null: a missing placeholder either
    /// fails the record or renders empty).
    /// </summary>
    public void Apply(OutputSchema schema)
    {
        var existing = schema.Find(_field);
        string type;
        bool nullable;
        switch (_mode)
        {
            case Mode.Constant:
                type = OutputTypes.ForConstant(_constant) ?? existing?.Type ?? "String";
                nullable = _constant.IsNullOrMissing;
                break;
            case Mode.Copy:
                if (schema.Find(_fromName!) is { } source)
                {
                    (type, nullable) = (source.Type, source.Nullable);
                }
                else
                {
                    schema.Note($"set '{_field}': source '{_fromName}' is not in the input schema; typed Nullable(String)");
                    (type, nullable) = ("String", true);
                }
                break;
            default:
                (type, nullable) = ("String", false);
                break;
        }
        if (_ifMissing && existing is not null)
        {
            // Only missing/null values are replaced: a present value keeps its type.
            if (existing.Type != type)
                schema.Note($"set '{_field}' (if_missing): fills a {existing.Type} field with a {type} value; typed {existing.Type}");
            type = existing.Type;
            nullable = existing.Nullable && nullable;
        }
        schema.Set(_field, type, nullable);
    }

    private void RenderTemplate(Record record)
    {
        var fields = record.Fields;
        var buffer = t_buffer ??= new char[256];
        var length = 0;
        for (var i = 0; i < _texts.Length; i++)
        {
            if (_texts[i] is { } text)
            {
                Append(ref buffer, ref length, text.AsSpan());
                continue;
            }
            ref readonly var v = ref fields[_slots[i]];
            if (v.IsNullOrMissing)
            {
                if (_failOnMissing)
                {
                    record.Fail(_stageName, $"set '{_field}': template field '{_names[i]}' is {StageValues.Describe(v)}; expected a value (or set on_missing: empty).");
                    return;
                }
                continue;
            }
            if (v.Kind == ValueKind.String)
            {
                if (v.IsUtf8)
                {
                    var bytes = v.RawBytes;
                    Ensure(ref buffer, length, Encoding.UTF8.GetMaxCharCount(bytes.Length));
                    length += Encoding.UTF8.GetChars(bytes, buffer.AsSpan(length));
                }
                else
                {
                    Append(ref buffer, ref length, v.AsString.AsSpan());
                }
                continue;
            }
            int written;
            while (!StageValues.TryFormatScalar(v, buffer.AsSpan(length), out written))
            {
                if (v.Kind is not (ValueKind.Int or ValueKind.UInt or ValueKind.Float or ValueKind.Bool))
                {
                    Append(ref buffer, ref length, v.ToString().AsSpan());
                    written = 0;
                    break;
                }
                Ensure(ref buffer, length, 64);
            }
            length += written;
        }
        t_buffer = buffer;
        fields[_slot] = Value.FromString(new string(buffer, 0, length));
    }

    private static void Append(ref char[] buffer, ref int length, ReadOnlySpan<char> text)
    {
        Ensure(ref buffer, length, text.Length);
        text.CopyTo(buffer.AsSpan(length));
        length += text.Length;
    }

    private static void Ensure(ref char[] buffer, int length, int extra)
    {
        if (length + extra <= buffer.Length) return;
        var bigger = new char[Math.Max(buffer.Length * 2, length + extra)];
        buffer.AsSpan(0, length).CopyTo(bigger);
        buffer = bigger;
        t_buffer = bigger;
    }
}

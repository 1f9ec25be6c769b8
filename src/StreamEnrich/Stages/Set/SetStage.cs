using System.Text;
using StreamEnrich.Records;

namespace StreamEnrich.Stages.Set;

/// <summary>Sets a field to a constant, a copy of another field, or a template over other fields.</summary>
internal sealed class SetStage : IRecordStage
{
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

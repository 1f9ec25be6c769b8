using StreamEnrich.Records;

namespace StreamEnrich.Stages.Drop;

/// <summary>Removes fields: each listed field becomes missing.</summary>
internal sealed class DropStage(DropStageOptions options, IStageBuildContext context) : IRecordStage, IOutputSchemaStage
{
    private readonly int[] _slots = [.. options.Fields.Distinct(StringComparer.Ordinal).Select(context.Field)];

    public void Process(Record record)
    {
        var fields = record.Fields;
        foreach (var slot in _slots) fields[slot] = Value.Missing;
    }

    /// <summary>The dropped fields are no columns.</summary>
    public void Apply(OutputSchema schema)
    {
        foreach (var f in options.Fields) schema.Remove(f);
    }
}

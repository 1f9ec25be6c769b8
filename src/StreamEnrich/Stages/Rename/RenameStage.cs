using StreamEnrich.Records;

namespace StreamEnrich.Stages.Rename;

/// <summary>Moves field values to new paths.</summary>
internal sealed class RenameStage : IRecordStage, IOutputSchemaStage
{
    private readonly (string From, string To)[] _names;
    private readonly int[] _from;
    private readonly int[] _to;

    public RenameStage(RenameStageOptions options, IStageBuildContext context)
    {
        _from = new int[options.Fields.Count];
        _to = new int[options.Fields.Count];
        _names = [.. options.Fields.Select(kv => (kv.Key, kv.Value))];
        var i = 0;
        foreach (var (from, to) in options.Fields)
        {
            _from[i] = context.Field(from);
            _to[i] = context.Field(to);
            i++;
        }
    }

    public void Process(Record record)
    {
        var fields = record.Fields;
        for (var i = 0; i < _from.Length; i++)
        {
            ref var source = ref fields[_from[i]];
            if (source.IsMissing) continue;
            fields[_to[i]] = source;
            source = Value.Missing;
        }
    }

    /// <summary>Each field moves to its new name, keeping its type and position.</summary>
    public void Apply(OutputSchema schema)
    {
        foreach (var (from, to) in _names)
            if (!schema.Rename(from, to))
                schema.Note($"rename: '{from}' is not in the input schema, so '{to}' is not typed");
    }
}

using StreamEnrich.Records;

namespace StreamEnrich.Stages.Rename;

/// <summary>Moves field values to new paths.</summary>
internal sealed class RenameStage : IRecordStage
{
    private readonly int[] _from;
    private readonly int[] _to;

    public RenameStage(RenameStageOptions options, IStageBuildContext context)
    {
        _from = new int[options.Fields.Count];
        _to = new int[options.Fields.Count];
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
}

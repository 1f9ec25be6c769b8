using StreamEnrich.Records;

namespace StreamEnrich.Stages.Keep;

/// <summary>
/// Keeps only the listed fields (and Kafka metadata). Fields declared after this stage was built (by later
/// stages or the sink's columns) are cleared too: the set of slots to clear is computed from the frozen
/// layout on first use.
/// </summary>
internal sealed class KeepStage : IRecordStage, IOutputSchemaStage
{
    private readonly List<string> _names;
    private readonly RecordLayout _layout;
    private readonly HashSet<int> _keep;
    private int[]? _clear;

    public KeepStage(KeepStageOptions options, IStageBuildContext context)
    {
        _layout = context.Layout ?? throw new InvalidOperationException(
            $"Stage '{context.StageName}': keep needs the pipeline's record layout, but this host's IStageBuildContext.Layout is null.");
        _keep = [.. options.Fields.Select(context.Field)];
        _names = [.. options.Fields];
    }

    public void Process(Record record)
    {
        var clear = Volatile.Read(ref _clear) ?? Init(record);
        var fields = record.Fields;
        foreach (var slot in clear) fields[slot] = Value.Missing;
    }

    /// <summary>Only the listed fields stay (Kafka metadata is never a listed field of the schema, so it stays too).</summary>
    public void Apply(OutputSchema schema) => schema.RemoveAllExcept(_names);

    private int[] Init(Record record)
    {
        if (!_layout.IsFrozen)
            throw new InvalidOperationException("keep ran before the record layout was frozen; the pipeline must freeze the layout before the first record.");
        var names = _layout.Names;
        var clear = new List<int>();
        for (var slot = 0; slot < names.Count && slot < record.Fields.Length; slot++)
            if (!_keep.Contains(slot) && !MetadataFields.IsMetadata(names[slot])) clear.Add(slot);
        var result = clear.ToArray();
        Volatile.Write(ref _clear, result); // benign race: every thread computes the same array
        return result;
    }
}

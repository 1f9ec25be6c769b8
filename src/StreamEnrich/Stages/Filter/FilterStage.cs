using StreamEnrich.Expressions;
using StreamEnrich.Records;

namespace StreamEnrich.Stages.Filter;

/// <summary>Keeps records for which the predicate is true; filters out the rest.</summary>
internal sealed class FilterStage(FilterStageOptions options, IStageBuildContext context) : IRecordStage, IOutputSchemaStage
{
    private readonly PredicateNode _predicate = Predicate.Compile(options.Where, context.Field);

    public void Process(Record record)
    {
        if (!_predicate.Evaluate(record.Fields)) record.Filter();
    }

    /// <summary>Filtering removes records, not fields.</summary>
    public void Apply(OutputSchema schema)
    {
    }
}

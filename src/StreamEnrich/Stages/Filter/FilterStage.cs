using StreamEnrich.Expressions;
using StreamEnrich.Records;

namespace StreamEnrich.Stages.Filter;

/// <summary>
/// Keeps records for which the predicate is true; filters out the rest. A record whose values the predicate cannot
/// compare (text with a number...) fails with the reason, so a type mismatch is seen in the dead-letter path instead
/// of silently filtering records out.
/// </summary>
internal sealed class FilterStage(FilterStageOptions options, IStageBuildContext context) : IRecordStage, IOutputSchemaStage
{
    private readonly PredicateNode _predicate = Predicate.Compile(options.Where, context.Field);
    private readonly string _stageName = context.StageName;

    public void Process(Record record)
    {
        switch (_predicate.Evaluate(record.Fields))
        {
            case Truth.True:
                break;
            case Truth.False:
                record.Filter();
                break;
            default:
                record.Fail(_stageName, $"{_predicate.Explain(record.Fields)}. Convert the field first (a cast stage before this one) or compare it with a literal of its own kind.");
                break;
        }
    }

    /// <summary>Filtering removes records, not fields.</summary>
    public void Apply(OutputSchema schema)
    {
    }
}

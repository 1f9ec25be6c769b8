using System.Globalization;
using System.Text.Json;
using StreamEnrich.Configuration;

namespace StreamEnrich.Pipeline;

/// <summary>
/// Runs the tests a pipeline file carries (<c>tests:</c>): feeds the inputs through the dry-run engine and compares
/// the rows that would be inserted with the expected ones, column by column (only the columns listed). For a
/// <c>format: avro</c> pipeline, object inputs are first encoded with the test's writer schema (see
/// <see cref="Adapters.EncodeAvroTestInputs"/>).
/// </summary>
internal static class PipelineTests
{
    public static async Task<List<string>> RunAsync(DryRunner runner, LoadedPipeline pipeline, PipelineTestCase test, CancellationToken ct)
    {
        var problems = new List<string>();
        IReadOnlyList<byte[]?> messages = test.Input.Select(DryRunner.ToMessage).ToList();
        Func<Records.RecordLayout, Formats.IRecordDecoder>? decoder = null;
        if (pipeline.Options.Format.Type == "avro")
        {
            // Object inputs are encoded with the test's writer schema and read by the real Avro decoder, no registry.
            try
            {
                (messages, decoder) = Adapters.EncodeAvroTestInputs(pipeline, test);
            }
            catch (InvalidDataException ex)
            {
                problems.Add(ex.Message);
                return problems;
            }
        }
        else if (test.Schema is not null)
        {
            problems.Add($"`schema: {test.Schema}` is for tests of format avro pipelines; this pipeline's format is {pipeline.Options.Format.Type}.");
            return problems;
        }
        DryRunResult result;
        try
        {
            result = await runner.RunAsync(pipeline, messages, ct, decoder).ConfigureAwait(false);
        }
        catch (PipelineBuildException ex)
        {
            problems.AddRange(ex.Errors.Select(e => e.ToString()));
            return problems;
        }
        catch (PipelineFailedException ex)
        {
            problems.Add(ex.Message);
            return problems;
        }

        if (result.Rows.Count != test.Expect.Count)
            problems.Add($"expected {test.Expect.Count} row(s), got {result.Rows.Count}");
        for (var i = 0; i < Math.Min(result.Rows.Count, test.Expect.Count); i++)
        {
            using var actual = JsonDocument.Parse(result.Rows[i]);
            foreach (var (column, expected) in test.Expect[i])
            {
                if (!actual.RootElement.TryGetProperty(column, out var value))
                    problems.Add($"row {i + 1}: no column '{column}' (columns: {string.Join(", ", actual.RootElement.EnumerateObject().Select(p => p.Name))})");
                else if (!Matches(expected, value))
                    problems.Add($"row {i + 1}, column '{column}': expected {Render(expected)}, got {value.GetRawText()}");
            }
        }
        if (test.ExpectDeadLetters is { } n && n != result.DeadLetters.Count)
            problems.Add($"expected {n} dead-lettered record(s), got {result.DeadLetters.Count}{string.Concat(result.DeadLetters.Select(d => $"\n    message {d.Index + 1}: {d.Stage}: {d.Reason}"))}");
        if (test.ExpectDeadLetters is null && result.DeadLetters.Count > 0)
            problems.Add($"{result.DeadLetters.Count} record(s) were dead-lettered (add `expect_dead_letters: {result.DeadLetters.Count}` if intended){string.Concat(result.DeadLetters.Select(d => $"\n    message {d.Index + 1}: {d.Stage}: {d.Reason}"))}");
        return problems;
    }

    /// <summary>Loose equality between a YAML value and a JSON value: numbers numerically, text exactly, lists item by item.</summary>
    internal static bool Matches(object? expected, JsonElement actual) => expected switch
    {
        null => actual.ValueKind == JsonValueKind.Null,
        bool b => actual.ValueKind == (b ? JsonValueKind.True : JsonValueKind.False),
        long l => actual.ValueKind == JsonValueKind.Number ? actual.TryGetInt64(out var a) ? a == l : actual.GetDouble() == l
            : actual.ValueKind == JsonValueKind.String && actual.GetString() == l.ToString(CultureInfo.InvariantCulture),
        int n => Matches((long)n, actual),
        double d => actual.ValueKind == JsonValueKind.Number ? Math.Abs(actual.GetDouble() - d) <= 1e-9 * Math.Max(1, Math.Abs(d))
            : actual.ValueKind == JsonValueKind.String && double.TryParse(actual.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var p) && p == d,
        string s => actual.ValueKind == JsonValueKind.String ? actual.GetString() == s : actual.GetRawText() == s,
        IList<object?> list => actual.ValueKind == JsonValueKind.Array && actual.GetArrayLength() == list.Count
            && actual.EnumerateArray().Select((e, i) => Matches(list[i], e)).All(x => x),
        IDictionary<string, object?> map => actual.ValueKind == JsonValueKind.Object
            && map.All(kv => actual.TryGetProperty(kv.Key, out var v) && Matches(kv.Value, v)),
        _ => actual.ToString() == expected.ToString(),
    };

    private static string Render(object? v) => JsonText.ToString(v);
}

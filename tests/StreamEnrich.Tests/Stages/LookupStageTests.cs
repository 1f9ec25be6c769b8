using System.Text;
using StreamEnrich.Records;
using StreamEnrich.Stages.Lookup;
using static StreamEnrich.Tests.Stages.TestStageContext;
using Record = StreamEnrich.Records.Record;

namespace StreamEnrich.Tests.Stages;

public class CsvParserTests
{
    /// <summary>Every record as (line, fields).</summary>
    private static List<(int Line, string[] Fields)> ParseAll(string text)
    {
        var csv = new CsvParser(text);
        var records = new List<(int, string[])>();
        while (csv.Read()) records.Add((csv.Line, csv.Fields()));
        return records;
    }

    [Fact]
    public void Parse_QuotedFieldsWithCommasQuotesAndNewlines_Rfc4180()
    {
        var text = "\uFEFFid,name,note\r\n1,\"Smith, John\",\"said \"\"hi\"\"\"\r\n\r\n2,plain,\"two\nlines\"\n3,,\n";
        var records = ParseAll(text);
        Assert.Equal(4, records.Count);
        Assert.Equal(["id", "name", "note"], records[0].Fields);
        Assert.Equal(["1", "Smith, John", "said \"hi\""], records[1].Fields);
        Assert.Equal(["2", "plain", "two\nlines"], records[2].Fields);
        Assert.Equal(["3", "", ""], records[3].Fields);
        Assert.Equal([1, 2, 4, 6], records.Select(r => r.Line));
    }

    [Fact]
    public void Parse_NoTrailingNewline_LastRecordKept()
    {
        Assert.Equal(["a", "b"], ParseAll("x,y\na,b").Last().Fields);
    }

    [Theory]
    [InlineData("a,b\n1,\"open\n2,3\n", 2, "unterminated quoted field (a field opened with \" is never closed)")]
    [InlineData("a,b\n1,\"x\"y\n", 2, "unexpected 'y' after a closing quote (expected ',' or end of line)")]
    [InlineData("a,b\n\n1,x\"y\n", 3, "quote inside an unquoted field (quote the whole field and double the inner quotes: \"a \"\"b\"\"\")")]
    public void Parse_Malformed_ThrowsWithLine(string text, int line, string message)
    {
        var e = Assert.Throws<FormatException>(() => ParseAll(text));
        Assert.Equal(message, e.Message);
        Assert.Equal(line, e.Data["line"]);
    }

    /// <summary>
    /// The reader against the straightforward char-by-char parser it replaced (kept here as the reference): on random
    /// texts made of the characters that matter (separators, quotes, both line ends, a non-ASCII letter), both give the
    /// same records and lines, or the same error at the same line.
    /// </summary>
    [Fact]
    public void Read_RandomTexts_SameAsCharByCharReference()
    {
        var random = new Random(4180);
        const string alphabet = "ab,,\"\"\n\r é";
        for (var n = 0; n < 30_000; n++)
        {
            var chars = new char[random.Next(0, n < 1000 ? 12 : 80)];
            for (var i = 0; i < chars.Length; i++) chars[i] = alphabet[random.Next(alphabet.Length)];
            var text = new string(chars);
            var expected = Outcome(() => Reference.Parse(text).ToList());
            var actual = Outcome(() => ParseAll(text));
            Assert.True(expected == actual, $"text {System.Text.Json.JsonSerializer.Serialize(text)}:\nreference {expected}\nreader    {actual}");
        }
    }

    [Fact]
    public void Read_LongEscapedFieldsAndManyFields_BuffersGrow()
    {
        var longField = string.Concat(Enumerable.Repeat("x\"\"y,", 200)); // 1,200 chars, 200 doubled quotes
        var row = string.Join(",", Enumerable.Range(0, 40).Select(i => i % 2 == 0 ? $"\"{longField}{i}\"" : i.ToString()));
        var text = row + "\n" + row;
        var records = ParseAll(text);
        Assert.Equal(2, records.Count);
        var expected = Enumerable.Range(0, 40).Select(i => i % 2 == 0 ? longField.Replace("\"\"", "\"") + i : i.ToString()).ToArray();
        Assert.Equal(expected, records[0].Fields);
        Assert.Equal(expected, records[1].Fields);
    }

    private static string Outcome(Func<List<(int Line, string[] Fields)>> parse)
    {
        try
        {
            return string.Join(" | ", parse().Select(r => $"{r.Line}: [{string.Join(", ", r.Fields.Select(f => System.Text.Json.JsonSerializer.Serialize(f)))}]"));
        }
        catch (FormatException e)
        {
            return $"error at line {e.Data["line"]}: {e.Message}";
        }
    }

    /// <summary>The parser before the span-based reader: one char at a time through a StringBuilder.</summary>
    private static class Reference
    {
        public static IEnumerable<(int Line, string[] Fields)> Parse(string text)
        {
            var i = 0;
            var line = 1;
            var fields = new List<string>();
            var sb = new StringBuilder();
            if (text.Length > 0 && text[0] == '\uFEFF') i = 1;
            while (i < text.Length)
            {
                if (IsNewline(text, i, out var nl))
                {
                    i += nl;
                    line++;
                    continue;
                }
                var recordLine = line;
                fields.Clear();
                while (true)
                {
                    sb.Clear();
                    if (i < text.Length && text[i] == '"')
                    {
                        var quoteLine = line;
                        i++;
                        while (true)
                        {
                            if (i >= text.Length) throw Error(quoteLine, "unterminated quoted field (a field opened with \" is never closed)");
                            var c = text[i];
                            if (c == '"')
                            {
                                if (i + 1 < text.Length && text[i + 1] == '"')
                                {
                                    sb.Append('"');
                                    i += 2;
                                    continue;
                                }
                                i++;
                                break;
                            }
                            if (c == '\n') line++;
                            sb.Append(c);
                            i++;
                        }
                        if (i < text.Length && text[i] != ',' && !IsNewline(text, i, out _))
                            throw Error(line, $"unexpected '{text[i]}' after a closing quote (expected ',' or end of line)");
                    }
                    else
                    {
                        while (i < text.Length && text[i] != ',' && text[i] != '\n' && text[i] != '\r')
                        {
                            if (text[i] == '"') throw Error(line, "quote inside an unquoted field (quote the whole field and double the inner quotes: \"a \"\"b\"\"\")");
                            sb.Append(text[i]);
                            i++;
                        }
                    }
                    fields.Add(sb.ToString());
                    if (i < text.Length && text[i] == ',')
                    {
                        i++;
                        continue;
                    }
                    if (IsNewline(text, i, out nl))
                    {
                        i += nl;
                        line++;
                    }
                    break;
                }
                yield return (recordLine, [.. fields]);
            }
        }

        private static bool IsNewline(string text, int i, out int length)
        {
            length = 0;
            if (i >= text.Length) return false;
            if (text[i] == '\n') length = 1;
            else if (text[i] == '\r') length = i + 1 < text.Length && text[i + 1] == '\n' ? 2 : 1;
            return length > 0;
        }

        private static FormatException Error(int line, string message)
        {
            var e = new FormatException(message);
            e.Data["line"] = line;
            return e;
        }
    }
}

public sealed class LookupStageTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("lookup-tests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string CountriesCsv = "code,name,region\nDE,Germany,\"Europe, Central\"\nAT,Austria,Europe\n42,Answer,\"multi\nline\"\n";

    private string Write(string name, string content)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, content);
        return path;
    }

    private (TestStageContext Ctx, LookupStage Stage) Build(LookupStageOptions options, string stageName = "geo")
    {
        var ctx = new TestStageContext(stageName, _dir);
        return (ctx, ctx.Build<LookupStage>("lookup", options));
    }

    private static LookupStageOptions Countries(LookupMissBehavior onMiss = LookupMissBehavior.Keep) => new()
    {
        File = "countries.csv",
        KeyColumn = "code",
        Field = "country",
        Columns = new() { ["name"] = "country_name", ["region"] = "region" },
        OnMiss = onMiss,
    };

    [Fact]
    public void Process_CsvHit_CopiesColumnsAsStrings()
    {
        Write("countries.csv", CountriesCsv);
        var (ctx, stage) = Build(Countries());
        var r = ctx.NewRecord(("country", Utf8("DE")));
        stage.Process(r);
        Assert.Equal(Value.FromString("Germany"), ctx.Get(r, "country_name"));
        Assert.Equal(Value.FromString("Europe, Central"), ctx.Get(r, "region"));
        var s = ctx.NewRecord(("country", Value.FromString("AT")));
        stage.Process(s);
        Assert.Equal(Value.FromString("Austria"), ctx.Get(s, "country_name"));
    }

    [Fact]
    public void Process_IntegerField_MatchesIntegerKey()
    {
        Write("countries.csv", CountriesCsv);
        var (ctx, stage) = Build(Countries());
        var r = ctx.NewRecord(("country", Value.FromInt(42)));
        stage.Process(r);
        Assert.Equal(Value.FromString("multi\nline"), ctx.Get(r, "region"));
        var f = ctx.NewRecord(("country", Value.FromFloat(42.0)));
        stage.Process(f);
        Assert.Equal(Value.FromString("Answer"), ctx.Get(f, "country_name"));
        var s = ctx.NewRecord(("country", Utf8("42")));
        stage.Process(s);
        Assert.Equal(Value.FromString("Answer"), ctx.Get(s, "country_name"));
    }

    [Fact]
    public void Process_Hit_DoesNotAllocate()
    {
        Write("countries.csv", CountriesCsv);
        var (ctx, stage) = Build(Countries());
        var r = ctx.NewRecord(("country", Utf8("AT")));
        var i = ctx.NewRecord(("country", Value.FromInt(42)));
        stage.Process(r);
        stage.Process(i);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var k = 0; k < 100; k++)
        {
            stage.Process(r);
            stage.Process(i);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Process_JsonLines_KeepsJsonTypes()
    {
        Write("users.jsonl", "{\"id\": 7, \"name\": \"Ann\", \"score\": 1.5, \"vip\": true, \"tags\": [\"a\"]}\n\n{\"id\": \"x9\", \"name\": null}\r\n");
        var (ctx, stage) = Build(new LookupStageOptions
        {
            File = "users.jsonl", KeyColumn = "id", Field = "user",
            Columns = new() { ["name"] = "user_name", ["score"] = "score", ["vip"] = "vip", ["tags"] = "tags" },
        });
        var r = ctx.NewRecord(("user", Value.FromInt(7)));
        stage.Process(r);
        Assert.Equal(Value.FromString("Ann"), ctx.Get(r, "user_name"));
        Assert.Equal(Value.FromFloat(1.5), ctx.Get(r, "score"));
        Assert.Equal(Value.True, ctx.Get(r, "vip"));
        Assert.Equal(Value.FromString("[\"a\"]"), ctx.Get(r, "tags"));
        var s = ctx.NewRecord(("user", Utf8("x9")));
        stage.Process(s);
        Assert.Equal(ValueKind.Null, ctx.Get(s, "user_name").Kind);
        Assert.Equal(ValueKind.Null, ctx.Get(s, "score").Kind); // absent key in the object -> null
    }

    private const string OffersCsv = "id,discount,active,price,note\n1,15,true,9.99,a\n2,,no,0.5,\n";

    private static LookupStageOptions Offers(Dictionary<string, string> types) => new()
    {
        File = "offers.csv", KeyColumn = "id", Field = "offer",
        Columns = new() { ["discount"] = "discount", ["active"] = "active", ["price"] = "price", ["note"] = "note" },
        Types = types,
    };

    [Fact]
    public void Process_CsvTypedColumns_ConvertedAtLoadEmptyCellsNull()
    {
        Write("offers.csv", OffersCsv);
        var (ctx, stage) = Build(Offers(new() { ["discount"] = "int", ["active"] = "bool", ["price"] = "decimal(2)" }));
        var r = ctx.NewRecord(("offer", Value.FromInt(1)));
        stage.Process(r);
        Assert.Equal(Value.FromInt(15), ctx.Get(r, "discount"));
        Assert.Equal(Value.True, ctx.Get(r, "active"));
        Assert.Equal("9.99 (decimal)", StreamEnrich.Stages.StageValues.Describe(ctx.Get(r, "price")));
        Assert.Equal(Value.FromString("a"), ctx.Get(r, "note")); // untyped: text
        var s = ctx.NewRecord(("offer", Value.FromInt(2)));
        stage.Process(s);
        Assert.Equal(ValueKind.Null, ctx.Get(s, "discount").Kind); // empty cell of a typed column
        Assert.Equal(Value.False, ctx.Get(s, "active"));             // "no"
        Assert.Equal(Value.FromString(""), ctx.Get(s, "note"));       // empty cell of a text column stays text
    }

    [Fact]
    public void Process_TypedColumnThenFilter_ComparesAsNumbers()
    {
        // Without a type the filter cannot compare the text '15' with 10 (and fails the record); with one it can.
        Write("offers.csv", OffersCsv);
        var ctx = new TestStageContext("geo", _dir);
        var lookup = ctx.Build<LookupStage>("lookup", Offers(new() { ["discount"] = "int" }));
        var filter = ctx.Build("filter", new StreamEnrich.Stages.Filter.FilterStageOptions { Where = "discount > 10" });
        var r = ctx.NewRecord(("offer", Value.FromInt(1)));
        lookup.Process(r);
        filter.Process(r);
        Assert.Equal(RecordStatus.Active, r.Status);
    }

    [Fact]
    public void Build_TypedCellThatDoesNotConvert_FailsWithFileLineAndColumn()
    {
        var path = Write("offers.csv", "id,discount,active,price,note\n1,15,true,1,a\n2,lots,true,1,b\n");
        var e = Assert.Throws<LookupLoadException>(() => Build(Offers(new() { ["discount"] = "int" })));
        Assert.Equal($"{path}:3: column 'discount': cannot convert 'lots' (string) to int (see `types`)", e.Message);
    }

    [Fact]
    public void Process_JsonLinesTypedColumns_ConvertJsonValues()
    {
        Write("t.jsonl", "{\"k\": 1, \"n\": \"15\", \"s\": 15, \"z\": null}\n");
        var (ctx, stage) = Build(new LookupStageOptions
        {
            File = "t.jsonl", KeyColumn = "k", Field = "f",
            Columns = new() { ["n"] = "n", ["s"] = "s", ["z"] = "z" },
            Types = new() { ["n"] = "int", ["s"] = "string", ["z"] = "int" },
        });
        var r = ctx.NewRecord(("f", Value.FromInt(1)));
        stage.Process(r);
        Assert.Equal(Value.FromInt(15), ctx.Get(r, "n"));
        Assert.Equal(Value.FromString("15"), ctx.Get(r, "s"));
        Assert.Equal(ValueKind.Null, ctx.Get(r, "z").Kind);
    }

    [Fact]
    public void ReloadIfChanged_TypedCellThatDoesNotConvert_KeepsOldTable()
    {
        var path = Write("offers.csv", OffersCsv);
        var (ctx, stage) = Build(Offers(new() { ["discount"] = "int" }));
        File.WriteAllText(path, "id,discount,active,price,note\n1,x,true,1,a\n");
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(1));
        Assert.False(stage.ReloadIfChanged());
        Assert.Equal(2, stage.RowCount);
        Assert.Contains(ctx.Log.Messages, m => m.EndsWith($"{path}:2: column 'discount': cannot convert 'x' (string) to int (see `types`)", StringComparison.Ordinal));
    }

    [Fact]
    public void Process_OnMissKeep_LeavesTargets()
    {
        Write("countries.csv", CountriesCsv);
        var (ctx, stage) = Build(Countries(LookupMissBehavior.Keep));
        var r = ctx.NewRecord(("country", Utf8("FR")), ("country_name", Value.FromString("preset")));
        stage.Process(r);
        Assert.True(r.IsActive);
        Assert.Equal(Value.FromString("preset"), ctx.Get(r, "country_name"));
        Assert.True(ctx.Get(r, "region").IsMissing);
    }

    [Fact]
    public void Process_OnMissNull_SetsNull()
    {
        Write("countries.csv", CountriesCsv);
        var (ctx, stage) = Build(Countries(LookupMissBehavior.Null));
        var r = ctx.NewRecord(("country", Utf8("FR")), ("country_name", Value.FromString("preset")));
        stage.Process(r);
        Assert.Equal(ValueKind.Null, ctx.Get(r, "country_name").Kind);
        Assert.Equal(ValueKind.Null, ctx.Get(r, "region").Kind);
    }

    [Fact]
    public void Process_OnMissDefault_SetsDefaultsAndNullForOthers()
    {
        Write("countries.csv", CountriesCsv);
        var options = Countries(LookupMissBehavior.Default);
        options.Defaults = new() { ["country_name"] = "unknown" };
        var (ctx, stage) = Build(options);
        var r = ctx.NewRecord(("country", Value.Null));
        stage.Process(r);
        Assert.Equal(Value.FromString("unknown"), ctx.Get(r, "country_name"));
        Assert.Equal(ValueKind.Null, ctx.Get(r, "region").Kind);
    }

    [Fact]
    public void Process_OnMissDrop_FiltersRecord()
    {
        Write("countries.csv", CountriesCsv);
        var (ctx, stage) = Build(Countries(LookupMissBehavior.Drop));
        var r = ctx.NewRecord(("country", Utf8("FR")));
        stage.Process(r);
        Assert.Equal(RecordStatus.Filtered, r.Status);
    }

    [Fact]
    public void Process_OnMissFail_FailsNamingKeyAndFile()
    {
        var path = Write("countries.csv", CountriesCsv);
        var (ctx, stage) = Build(Countries(LookupMissBehavior.Fail), "enrich-geo");
        var r = ctx.NewRecord(("country", Utf8("FR")));
        stage.Process(r);
        Assert.Equal(RecordStatus.Failed, r.Status);
        Assert.Equal("enrich-geo", r.FailedStage);
        Assert.Equal($"lookup 'country': no row with key 'FR' (string) in column 'code' of {path}; expected a key present in the file (or set on_miss).", r.FailureReason);
        var m = ctx.NewRecord();
        stage.Process(m);
        Assert.Contains("no row with key <missing>", m.FailureReason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("code,name,region\nDE,Germany\n", 2, "expected 3 fields as in the header, found 2")]
    [InlineData("code,name,region\nDE,a,b\nAT,c,d\nDE,e,f\n", 4, "duplicate key 'DE' (first at line 2)")]
    // integer keys (indexed as numbers only): dense ids, and keys too far apart for direct indexing
    [InlineData("code,name,region\n1,a,b\n2,c,d\n\n1,e,f\n", 5, "duplicate key '1' (first at line 2)")]
    [InlineData("code,name,region\n-5,a,b\n9000000000000,c,d\n-5,e,f\n7,g,h\n", 4, "duplicate key '-5' (first at line 2)")]
    [InlineData("id,name,region\nDE,a,b\n", 1, "key column 'code' is not in the header (columns: id, name, region)")]
    [InlineData("code,name\nDE,a\n", 1, "column 'region' is not in the header (columns: code, name)")]
    [InlineData("code,name,region\n\"DE,a,b\n", 2, "unterminated quoted field (a field opened with \" is never closed)")]
    [InlineData("code,name,region\n,a,b\n", 2, "empty key")]
    public void Build_BadCsv_FailsWithFileAndLine(string content, int line, string problem)
    {
        var path = Write("countries.csv", content);
        var e = Assert.Throws<LookupLoadException>(() => Build(Countries()));
        Assert.Equal($"{path}:{line}: {problem}", e.Message);
    }

    [Fact]
    public void Build_BadJsonLines_FailsWithFileAndLine()
    {
        var path = Write("t.jsonl", "{\"k\": 1, \"v\": 2}\n{\"k\": 2, \"v\": \n");
        var e = Assert.Throws<LookupLoadException>(() => Build(new LookupStageOptions { File = "t.jsonl", KeyColumn = "k", Field = "f", Columns = new() { ["v"] = "v" } }));
        Assert.StartsWith($"{path}:2: invalid JSON", e.Message, StringComparison.Ordinal);
        Write("u.jsonl", "{\"k\": 1}\n{\"v\": 2}\n");
        e = Assert.Throws<LookupLoadException>(() => Build(new LookupStageOptions { File = "u.jsonl", KeyColumn = "k", Field = "f", Columns = new() { ["v"] = "v" } }));
        Assert.EndsWith("u.jsonl:2: the object has no key column 'k'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_MissingFile_FailsNamingFile()
    {
        var e = Assert.Throws<LookupLoadException>(() => Build(Countries()));
        Assert.StartsWith(Path.Combine(_dir, "countries.csv") + ": cannot read the lookup file", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReloadIfChanged_ChangedFile_SwapsTable()
    {
        var path = Write("countries.csv", CountriesCsv);
        var (ctx, stage) = Build(Countries(LookupMissBehavior.Null));
        Assert.False(stage.ReloadIfChanged()); // unchanged
        File.WriteAllText(path, "code,name,region\nDE,Deutschland,EU\nFR,France,EU\n");
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(1));
        Assert.True(stage.ReloadIfChanged());
        var r = ctx.NewRecord(("country", Utf8("FR")));
        stage.Process(r);
        Assert.Equal(Value.FromString("France"), ctx.Get(r, "country_name"));
        var at = ctx.NewRecord(("country", Utf8("AT")));
        stage.Process(at);
        Assert.Equal(ValueKind.Null, ctx.Get(at, "country_name").Kind);
        Assert.Contains(ctx.Log.Messages, m => System.Text.RegularExpressions.Regex.IsMatch(m, @"^Information: lookup geo: reloaded 2 rows from .+countries\.csv in \d+ ms$"));
        Assert.Contains(ctx.Log.Messages, m => System.Text.RegularExpressions.Regex.IsMatch(m, @"^Information: lookup geo: loaded 3 rows from .+countries\.csv in \d+ ms$"));
    }

    [Fact]
    public void ReloadIfChanged_BrokenFile_KeepsOldTableAndLogsFileAndLine()
    {
        var path = Write("countries.csv", CountriesCsv);
        var (ctx, stage) = Build(Countries());
        File.WriteAllText(path, "code,name,region\nDE,Deutschland,EU\nFR,\"France,EU\n");
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(1));
        Assert.False(stage.ReloadIfChanged());
        Assert.Equal(3, stage.RowCount);
        var r = ctx.NewRecord(("country", Utf8("DE")));
        stage.Process(r);
        Assert.Equal(Value.FromString("Germany"), ctx.Get(r, "country_name"));
        Assert.Contains(ctx.Log.Messages, m => m == $"Error: lookup geo: reload failed, keeping the previous table (3 rows): {path}:3: unterminated quoted field (a field opened with \" is never closed)");
        // The same broken state is not retried (no log spam); a fixed file is picked up.
        Assert.False(stage.ReloadIfChanged());
        File.WriteAllText(path, "code,name,region\nFR,France,EU\n");
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(2));
        Assert.True(stage.ReloadIfChanged());
        Assert.Equal(1, stage.RowCount);
    }

    [Fact]
    public async Task Reload_WithTimer_PicksUpChangedFileWhileProcessingConcurrently()
    {
        var path = Write("countries.csv", CountriesCsv);
        var options = Countries(LookupMissBehavior.Null);
        options.Reload = true;
        options.ReloadInterval = TimeSpan.FromMilliseconds(100);
        var (ctx, stage) = Build(options);
        using (stage)
        {
            var records = Enumerable.Range(0, 20_000).Select(_ => ctx.NewRecord(("country", Utf8("DE")))).ToArray();
            var worker = Task.Run(() => Parallel.ForEach(records, r => stage.Process(r)));
            File.WriteAllText(path, "code,name,region\nDE,Deutschland,EU\n");
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(1));
            await worker;
            // Every record saw either the old or the new row, never a mix or nothing.
            Assert.All(records, r =>
            {
                var name = ctx.Get(r, "country_name").AsString;
                var region = ctx.Get(r, "region").AsString;
                Assert.True((name, region) is ("Germany", "Europe, Central") or ("Deutschland", "EU"), $"{name}/{region}");
            });
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (stage.RowCount != 1 && DateTime.UtcNow < deadline) await Task.Delay(50);
            Assert.Equal(1, stage.RowCount);
            var after = ctx.NewRecord(("country", Utf8("DE")));
            stage.Process(after);
            Assert.Equal(Value.FromString("Deutschland"), ctx.Get(after, "country_name"));
        }
    }

    [Fact]
    public void Validate_Options_ReportsEachProblem()
    {
        Assert.Empty(TestStageContext.Validate(Countries()));
        var errors = TestStageContext.Validate(new LookupStageOptions { File = "t.txt", OnMiss = LookupMissBehavior.Default, Reload = true, ReloadInterval = TimeSpan.FromMilliseconds(10) });
        Assert.Contains(errors, e => e.Property == "Format" && e.Message == "cannot tell the format of 't.txt' from its extension.");
        Assert.Contains(errors, e => e.Property == "KeyColumn");
        Assert.Contains(errors, e => e.Property == "Field");
        Assert.Contains(errors, e => e.Property == "Columns");
        Assert.Contains(errors, e => e.Property == "Defaults" && e.Message == "on_miss is default but `defaults` is empty.");
        Assert.Contains(errors, e => e.Property == "ReloadInterval");
        var d = Countries(LookupMissBehavior.Default);
        d.Defaults = new() { ["nope"] = 1 };
        Assert.Contains(TestStageContext.Validate(d), e => e.Message == "default for 'nope', which is not a target field of `columns` (country_name, region).");
        Assert.Empty(TestStageContext.Validate(new LookupStageOptions { File = "t.txt", Format = LookupFileFormat.Jsonl, KeyColumn = "k", Field = "f", Columns = new() { ["a"] = "b" } }));
        var t = Countries();
        t.Types = new() { ["name"] = "int", ["nope"] = "int", ["region"] = "number" };
        var typeErrors = TestStageContext.Validate(t);
        Assert.Equal(2, typeErrors.Count);
        Assert.Contains(typeErrors, e => e.Property == "Types" && e.Message == "type for 'nope', which is not a file column of `columns` (name, region).");
        Assert.Contains(typeErrors, e => e.Property == "Types" && e.Message == "lookup column 'region': unknown type 'number'.");
    }
}

public sealed class LookupTableTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("lookup-table-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Find_ManyIntegerAndTextKeys_EveryRowFoundByEveryKeyForm()
    {
        // Negative, large and clustered keys exercise the integer index's probing; "007" is text only (not canonical).
        var keys = Enumerable.Range(0, 20_000).Select(i => (long)i * 1024).Concat([-1, -5_000_000_000, long.MaxValue, long.MinValue]).ToList();
        var path = Path.Combine(_dir, "t.csv");
        File.WriteAllLines(path, new[] { "id,plan,n" }.Concat(keys.Select(k => $"{k},{(k % 3 == 0 ? "pro" : "free")},v{k}")).Append("007,text-only,x"));
        var table = LookupTable.Load(path, LookupFileFormat.Csv, "id", ["plan", "n"]);

        Assert.Equal(keys.Count + 1, table.Count);
        foreach (var k in keys)
        {
            var byInt = table.Find(Value.FromInt(k));
            Assert.True(byInt >= 0, $"key {k} not found as an integer");
            Assert.Equal(byInt, table.Find(Value.FromUtf8(System.Text.Encoding.UTF8.GetBytes(k.ToString(System.Globalization.CultureInfo.InvariantCulture)))));
            Assert.Equal(byInt, table.Find(Value.FromString(k.ToString(System.Globalization.CultureInfo.InvariantCulture))));
            Assert.Equal(k % 3 == 0 ? "pro" : "free", table.Cell(byInt, 0).ToString());
            Assert.Equal("v" + k.ToString(System.Globalization.CultureInfo.InvariantCulture), table.Cell(byInt, 1).ToString());
        }
        Assert.Equal(-1, table.Find(Value.FromInt(1)));
        Assert.Equal(-1, table.Find(Value.FromInt(7)));
        Assert.Equal("text-only", table.Cell(table.Find(Value.FromString("007")), 0).ToString());
        Assert.Equal(table.Find(Value.FromInt(2048)), table.Find(Value.FromFloat(2048.0)));
        Assert.Equal(-1, table.Find(Value.Null));

        // Repeated texts share one UTF-8 buffer; the sink copies them as they are.
        var a = table.Cell(table.Find(Value.FromInt(0)), 0);
        var b = table.Cell(table.Find(Value.FromInt(3072)), 0);
        Assert.True(a.IsUtf8 && b.IsUtf8);
        Assert.True(a.RawBytes == b.RawBytes, "equal lookup values should share one buffer");
    }

    [Theory]
    [InlineData(1, 100_000)] // ids 1..N: indexed directly by key
    [InlineData(-50, 50)]
    [InlineData(long.MaxValue - 1000, long.MaxValue)]
    [InlineData(long.MinValue, long.MinValue + 1000)]
    public void Find_DenseIntegerKeys_EveryKeyFoundAndNeighboursMissed(long first, long last)
    {
        var keys = new List<long>();
        for (var k = first; ; k++)
        {
            if (k % 7 != 3) keys.Add(k); // a few gaps inside the range
            if (k == last) break;
        }
        var path = Path.Combine(_dir, "dense.csv");
        File.WriteAllLines(path, new[] { "id,n" }.Concat(keys.Select(k => $"{k},v{k}")));
        var table = LookupTable.Load(path, LookupFileFormat.Csv, "id", ["n"]);
        foreach (var k in keys)
            Assert.Equal("v" + k.ToString(System.Globalization.CultureInfo.InvariantCulture), table.Cell(table.Find(Value.FromInt(k)), 0).ToString());
        for (var k = first; ; k++)
        {
            if (k % 7 == 3) Assert.Equal(-1, table.Find(Value.FromInt(k)));
            if (k == last) break;
        }
        if (first > long.MinValue) Assert.Equal(-1, table.Find(Value.FromInt(first - 1)));
        if (last < long.MaxValue) Assert.Equal(-1, table.Find(Value.FromInt(last + 1)));
        Assert.Equal(-1, table.Find(Value.FromInt(first > 0 ? long.MinValue : long.MaxValue)));
    }

    [Fact]
    public void Load_JsonLinesValues_ComeBackExactlyIncludingNegativeZero()
    {
        var path = Path.Combine(_dir, "z.jsonl");
        File.WriteAllLines(path, ["{\"k\":1,\"v\":0.0}", "{\"k\":2,\"v\":-0.0}", "{\"k\":3,\"v\":0.0}", "{\"k\":4,\"v\":\"0.0\"}", "{\"k\":5,\"v\":0}"]);
        var table = LookupTable.Load(path, LookupFileFormat.Jsonl, "k", ["v"]);
        Assert.Equal(0L, BitConverter.DoubleToInt64Bits(table.Cell(table.Find(Value.FromInt(1)), 0).AsFloat));
        Assert.Equal(BitConverter.DoubleToInt64Bits(-0.0), BitConverter.DoubleToInt64Bits(table.Cell(table.Find(Value.FromInt(2)), 0).AsFloat));
        Assert.Equal(0L, BitConverter.DoubleToInt64Bits(table.Cell(table.Find(Value.FromInt(3)), 0).AsFloat));
        Assert.Equal(ValueKind.String, table.Cell(table.Find(Value.FromInt(4)), 0).Kind);
        Assert.Equal(ValueKind.Int, table.Cell(table.Find(Value.FromInt(5)), 0).Kind);
    }
}

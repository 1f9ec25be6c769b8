using StreamEnrich.Cli;
using Xunit;

namespace StreamEnrich.Tests.Cli;

public class BenchOptionsTests
{
    [Fact]
    public void KcatConfig_BecomesOneDashXPerProperty()
    {
        Assert.Equal(" -X queued.min.messages=10000000 -X fetch.wait.max.ms=100",
            BenchCommand.KcatOptions("queued.min.messages=10000000, fetch.wait.max.ms=100"));
    }

    [Fact]
    public void KcatConfig_AbsentMeansKcatAsItComes()
    {
        Assert.Equal("", BenchCommand.KcatOptions(null));
    }

    [Theory]
    [InlineData("queued.min.messages=1;rm -rf /")]
    [InlineData("a$(id)=1")]
    [InlineData("x=1 -X y=2")]
    [InlineData("noequals")]
    public void KcatConfig_RefusesWhatIsNotAPropertyAssignment(string text)
    {
        // The properties go into a shell command line, so anything beyond property characters is refused.
        var ex = Assert.Throws<UsageException>(() => BenchCommand.KcatOptions(text));
        Assert.Contains("--kcat-config", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseStartup_ReadsTheRuntimeStartedLineOfTheLog()
    {
        // The line as the run's log has it (RuntimeStats, logged by the host once the pipelines run).
        var stats = new StreamEnrich.Pipeline.RuntimeStats(TimeSpan.FromMilliseconds(234), TimeSpan.FromMilliseconds(291), 313, TimeSpan.FromMilliseconds(89),
            2, 2, 2, TimeSpan.FromMilliseconds(3), 15L << 20, 23L << 20);
        var line = $"2026-12-07T14:07:20.550Z info: StreamEnrich.Host[668226505] Runtime, started: {stats}";

        Assert.Equal((0.23, 0.29), BenchCommand.ParseStartup(line));
        Assert.Null(BenchCommand.ParseStartup(line.Replace("started", "stopping", StringComparison.Ordinal)));
        Assert.Null(BenchCommand.ParseStartup("2026-12-07T14:07:20.550Z info: StreamEnrich.Host[1] Running 1 pipeline(s): web-events"));
    }

    [Fact]
    public void ParseFailed_ReadsTheFailedCountOfAStatusLine()
    {
        // As the run logs it every --status-interval (PipelineRunner's status line).
        const string line = "2026-12-07T16:14:00.498Z info: StreamEnrich.Pipeline.web-events-avro[586737949] web-events-avro: 0 msg/s in, 0 rows/s out; " +
            "total 100000 consumed, 0 inserted, 0 filtered, 100000 failed; lag 0, 13 partitions, 1 rebalances; waited for the pipeline 0%, batches for ClickHouse 0% of the time; memory 419 MB managed, 702 MB resident, GC paused 0.0%";

        Assert.Equal(100000, BenchCommand.ParseFailed(line));
        Assert.Equal(0, BenchCommand.ParseFailed(line.Replace("100000 failed", "0 failed", StringComparison.Ordinal)));
        Assert.Null(BenchCommand.ParseFailed("2026-12-07T16:14:18.455Z info: StreamEnrich.Pipeline.web-events-avro[909935453] web-events-avro drained: 100000 consumed, 0 inserted, 0 filtered, 100000 dead-lettered, 0 skipped"));
    }

    [Fact]
    public void BenchAndImage_PublishWithTheSameProfile()
    {
        // The bench measures the build the container image runs: both publish with the Image profile, which is native
        // AOT (the Dockerfile then needs clang where it builds, a base without a runtime, and starts the executable).
        var root = StreamEnrich.Tests.Stages.JsonSchemaStageTests.RepoRoot();
        var dockerfile = File.ReadAllText(Path.Combine(root, "Dockerfile"));
        var bench = File.ReadAllText(Path.Combine(root, "scripts", "bench.sh"));
        var profile = System.Xml.Linq.XDocument.Load(Path.Combine(root, "src", "StreamEnrich", "Properties", "PublishProfiles", "Image.pubxml"));
        string? Property(string name) => profile.Descendants(name).SingleOrDefault()?.Value;
        Assert.Equal("true", Property("PublishAot"));
        Assert.Matches(@"apt-get install [^\n]*clang[^\n]*zlib1g-dev", dockerfile);
        Assert.Matches(@"RUN dotnet publish src/StreamEnrich/StreamEnrich\.csproj -p:PublishProfile=Image ", dockerfile);
        Assert.Matches(@"dotnet publish src/StreamEnrich/StreamEnrich\.csproj -p:PublishProfile=Image ", bench);
        Assert.Contains("FROM mcr.microsoft.com/dotnet/runtime-deps:", dockerfile, StringComparison.Ordinal);
        Assert.Contains("ENTRYPOINT [\"/app/streamenrich\"]", dockerfile, StringComparison.Ordinal);
    }

    [Fact]
    public void ImageRuntimeSettings_AreTheDockerfilesEnvLines()
    {
        // The bench runs StreamEnrich as the container image does: the same runtime settings, no more and no fewer.
        var dockerfile = File.ReadAllLines(Path.Combine(StreamEnrich.Tests.Stages.JsonSchemaStageTests.RepoRoot(), "Dockerfile"));
        var env = dockerfile.Where(l => l.StartsWith("ENV ", StringComparison.Ordinal))
            .Select(l => l[4..].Trim().Split('=', 2))
            .Select(kv => new KeyValuePair<string, string>(kv[0], kv[1]))
            .ToList();
        Assert.Equal(env, BenchCommand.ImageRuntimeSettings);
    }
}

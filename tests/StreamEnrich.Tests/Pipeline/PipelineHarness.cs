using System.Diagnostics;
using Microsoft.Extensions.Logging;
using StreamEnrich.Configuration;
using StreamEnrich.Pipeline;

namespace StreamEnrich.Tests.Pipeline;

/// <summary>
/// Runs a pipeline written as YAML text, with the real loader, builder and runner, in the background of a test.
/// </summary>
internal sealed class PipelineHarness : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _abort = new();

    private PipelineHarness(PipelineRunner runner, string directory)
    {
        Runner = runner;
        Directory = directory;
    }

    public PipelineRunner Runner { get; }
    public string Directory { get; }
    public Task Run { get; private set; } = Task.CompletedTask;

    public static ILoggerFactory Loggers { get; } = new StreamEnrich.Cli.ConsoleLoggerFactory(LogLevel.Warning);

    /// <summary>Writes the YAML to a temp folder (plus extra files), loads and builds it; throws with the config errors if any.</summary>
    public static async Task<PipelineHarness> BuildAsync(string yaml, IReadOnlyDictionary<string, string>? files = null)
    {
        var (pipeline, dir) = Load(yaml, files);
        var host = new PipelineHost(new PipelineBuilder(StageRegistry.CreateDefault(), Loggers, TimeProvider.System), Loggers, TimeProvider.System, TimeSpan.Zero);
        var runner = await host.BuildAsync(pipeline, [], CancellationToken.None);
        return new PipelineHarness(runner, dir);
    }

    public static (LoadedPipeline Pipeline, string Directory) Load(string yaml, IReadOnlyDictionary<string, string>? files = null)
    {
        var dir = Path.Combine(Path.GetTempPath(), "se-test-" + Guid.NewGuid().ToString("N")[..10]);
        System.IO.Directory.CreateDirectory(dir);
        foreach (var (name, text) in files ?? new Dictionary<string, string>()) File.WriteAllText(Path.Combine(dir, name), text);
        var path = Path.Combine(dir, "pipeline.yaml");
        File.WriteAllText(path, yaml);
        var result = PipelineLoader.Load(path, StageRegistry.CreateDefault());
        if (!result.Success) throw new InvalidOperationException(string.Join(Environment.NewLine, result.Errors));
        return (result.Pipelines[0], dir);
    }

    public static async Task<PipelineHarness> StartAsync(string yaml, IReadOnlyDictionary<string, string>? files = null)
    {
        var h = await BuildAsync(yaml, files);
        h.Start();
        return h;
    }

    public void Start() => Run = Task.Run(() => Runner.RunAsync(_stop.Token, _abort.Token));

    /// <summary>Graceful stop: drains, inserts, commits; rethrows a pipeline failure.</summary>
    public async Task StopAsync(TimeSpan? timeout = null)
    {
        await _stop.CancelAsync();
        await Run.WaitAsync(timeout ?? TimeSpan.FromSeconds(60));
    }

    public async ValueTask DisposeAsync()
    {
        if (!Run.IsCompleted)
        {
            await _stop.CancelAsync();
            _abort.CancelAfter(TimeSpan.FromSeconds(20));
            try { await Run; } catch (Exception) { /* the test already asserted what mattered */ }
        }
        _stop.Dispose();
        _abort.Dispose();
        try { System.IO.Directory.Delete(Directory, true); } catch (IOException) { }
    }

    /// <summary>Polls <paramref name="condition"/> until true; fails with <paramref name="what"/> and the last observation.</summary>
    public static async Task WaitUntilAsync(Func<Task<(bool Done, string State)>> condition, TimeSpan timeout, string what, Task? failFast = null)
    {
        var sw = Stopwatch.StartNew();
        var state = "";
        while (sw.Elapsed < timeout)
        {
            if (failFast is { IsFaulted: true }) await failFast; // surfaces the pipeline's own error
            (var done, state) = await condition();
            if (done) return;
            await Task.Delay(100);
        }
        throw new TimeoutException($"{what} did not happen within {timeout.TotalSeconds:F0} s; last state: {state}");
    }
}

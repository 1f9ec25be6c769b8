using System.Diagnostics;
using System.Globalization;
using System.Runtime;

namespace StreamEnrich.Pipeline;

/// <summary>
/// What the .NET runtime has spent since the process started: CPU, JIT compilation and garbage collection. Logged when
/// the pipelines start and when they stop, so that a slow start or a GC-bound pipeline shows in the log without a profiler.
/// </summary>
internal readonly record struct RuntimeStats(
    TimeSpan SinceStart, TimeSpan Cpu, long JitMethods, TimeSpan JitTime, int Gen0, int Gen1, int Gen2, TimeSpan GcPaused, long HeapBytes, long Allocated)
{
    public static RuntimeStats Now()
    {
        using var self = Process.GetCurrentProcess();
        var since = DateTime.Now - self.StartTime;
        return new(since, self.TotalProcessorTime, JitInfo.GetCompiledMethodCount(), JitInfo.GetCompilationTime(),
            GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration(), GC.GetGCMemoryInfo().HeapSizeBytes,
            GC.GetTotalAllocatedBytes());
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{SinceStart.TotalSeconds:F2} s since the process started, {Cpu.TotalSeconds:F2} s CPU; JIT {JitMethods} methods in {JitTime.TotalMilliseconds:F0} ms; " +
        $"GC {Gen0}/{Gen1}/{Gen2} (gen0/1/2), {GcPaused.TotalMilliseconds:F0} ms paused, heap {HeapBytes / (1024.0 * 1024):F0} MB, {Allocated / (1024.0 * 1024):F0} MB allocated");
}
